//! One interface in front of every compression the kernel uses for images and modules.
//!
//! The format is always sniffed from magic bytes, never taken from a file name. Every format has
//! one back-end file (`gzip`, `bzip2`, `xz` for xz and LZMA-alone, `zstd`, `lz4` for the
//! kernel's legacy framing, `lz4_frame`, `lzo`), and one decoder, [`Decoder`], drives them all:
//! it decodes as far as asked ([`Decoder::fill_to`]) or to the end ([`Decoder::finish`]),
//! bounded by a caller-given limit on the decompressed size, so a "zip bomb" fails fast.
//! Formats read through a stream (gzip, bzip2, xz, lzma, the LZ4 frame format) really stop
//! where asked; the others decode whole on the first call.
//!
//! Concatenated streams decode to their concatenation, as `gzip -d`, `zstd -d`, `xz -d`,
//! `bzip2 -d`, `lz4 -d` and kmod do: several gzip members, bzip2 or xz streams (with xz stream
//! padding between them), zstd or LZ4 frames (with skippable frames anywhere, also first), LZ4
//! legacy streams. What follows the last complete stream and does not start another one (the
//! size trailer the kernel's build appends, padding, a device tree appended to `Image.gz`) ends
//! the data cleanly; a stream that starts but does not decode is an error
//! (`members`).
//!
//! Adding a compression: a variant of [`Compression`] with its magic and name, a back-end file
//! with either a `reader` (a [`std::io::Read`] over the data) or a `decode_into` (one call),
//! and one arm in [`Decoder::with_buffer`].

mod bzip2;
mod gzip;
mod lz4;
mod lz4_frame;
mod lzo;
mod members;
mod xz;
mod zstd;

use std::io::Read;

use serde::Serialize;

use crate::error::Problem;

/// A compression format found in kernel images or module files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compression {
    /// gzip (RFC 1952), one member or several.
    Gzip,
    /// bzip2.
    Bzip2,
    /// LZMA "alone" format (`lzma -9`, or OpenWrt's `lzma e -lc1 -lp2 -pb2`: any properties).
    Lzma,
    /// xz container (with the kernel's BCJ filters).
    Xz,
    /// lzop container of LZO1X blocks.
    Lzo,
    /// LZ4 legacy frame format (`lz4 -l`), as lib/decompress_unlz4.c reads it: what the
    /// kernel's build writes (CONFIG_KERNEL_LZ4).
    Lz4Legacy,
    /// LZ4 frame format (what plain `lz4` writes; U-Boot's `IH_COMP_LZ4` and FIT
    /// `compression = "lz4"`, lib/lz4_wrapper.c).
    Lz4Frame,
    /// zstd, possibly with a large window (`zstd -22 --ultra`).
    Zstd,
}

impl Compression {
    /// Every format, in sniffing order (LZMA-alone last: its header is the weakest magic).
    pub const ALL: [Compression; 8] = [
        Compression::Gzip,
        Compression::Xz,
        Compression::Zstd,
        Compression::Bzip2,
        Compression::Lz4Legacy,
        Compression::Lz4Frame,
        Compression::Lzo,
        Compression::Lzma,
    ];

    /// Lower-case name as used in messages and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Bzip2 => "bzip2",
            Compression::Lzma => "lzma",
            Compression::Xz => "xz",
            Compression::Lzo => "lzo",
            Compression::Lz4Legacy => "lz4-legacy",
            Compression::Lz4Frame => "lz4-frame",
            Compression::Zstd => "zstd",
        }
    }

    /// The compression family, as a container header names it: `lz4` for both LZ4 framings
    /// (a U-Boot or FIT header that says lz4 does not say which framing; the payload's magic
    /// does), else [`name`](Self::name).
    pub fn family(self) -> &'static str {
        match self {
            Compression::Lz4Legacy | Compression::Lz4Frame => "lz4",
            other => other.name(),
        }
    }

    /// The magic bytes that start a stream of this format.
    pub fn magic(self) -> &'static [u8] {
        match self {
            Compression::Gzip => &[0x1f, 0x8b],
            Compression::Bzip2 => b"BZh",
            // Properties byte 0x5d (lc=3 lp=0 pb=2) and a dictionary of at least 64 KiB: what
            // `lzma -9` writes for the kernel. Only a hint for scanning ([`Compression::sniff`]
            // accepts every properties byte, and the scanner looks for every one).
            Compression::Lzma => &[0x5d, 0x00, 0x00],
            Compression::Xz => &[0xfd, b'7', b'z', b'X', b'Z', 0x00],
            Compression::Lzo => &[0x89, b'L', b'Z', b'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a],
            Compression::Lz4Legacy => &[0x02, 0x21, 0x4c, 0x18],
            Compression::Lz4Frame => &[0x04, 0x22, 0x4d, 0x18],
            Compression::Zstd => &[0x28, 0xb5, 0x2f, 0xfd],
        }
    }

    /// The format named by an EFI zboot header's compression type string (`COMP_TYPE` in
    /// drivers/firmware/efi/libstub/Makefile.zboot, Linux 6.1).
    pub fn from_zboot_name(name: &[u8]) -> Option<Self> {
        Some(match name {
            b"gzip" => Compression::Gzip,
            b"lz4" => Compression::Lz4Legacy,
            b"lzma" => Compression::Lzma,
            b"lzo" => Compression::Lzo,
            b"xzkern" | b"xz" => Compression::Xz,
            b"zstd22" | b"zstd" => Compression::Zstd,
            b"bzip2" => Compression::Bzip2,
            _ => return None,
        })
    }

    /// The format whose magic starts `data`, if any. Skippable frames (zstd and the LZ4 frame
    /// format share them) are skipped: the frame after them decides.
    pub fn sniff(data: &[u8]) -> Option<Self> {
        let after = members::skip_skippable_frames(data);
        if after.len() < data.len() {
            return Self::sniff_one(after)
                .filter(|c| matches!(c, Compression::Zstd | Compression::Lz4Frame));
        }
        Self::sniff_one(data)
    }

    /// The format whose magic (and header check) starts `data`, without skipping anything.
    fn sniff_one(data: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|&c| c.starts(data))
    }

    /// True when `data` starts with this format's magic and its header checks out.
    fn starts(self, data: &[u8]) -> bool {
        match self {
            // Any properties byte: only the header check decides.
            Compression::Lzma => lzma_header_plausible(data),
            _ if !data.starts_with(self.magic()) => false,
            // "BZh" is followed by the block size digit '1'..'9'.
            Compression::Bzip2 => data.get(3).is_some_and(|d| (b'1'..=b'9').contains(d)),
            // Deflate is the only gzip method.
            Compression::Gzip => data.get(2) == Some(&8),
            Compression::Lz4Frame => lz4_frame::descriptor_plausible(data),
            _ => true,
        }
    }
}

/// The LZMA-alone header (13 bytes: properties, dictionary size, uncompressed size) has no
/// magic, and an LZMA decoder rarely detects garbage (it decodes noise for megabytes), so the
/// header must look like an encoder's output in every field:
///
/// - the properties byte `(pb * 5 + lp) * 9 + lc` with pb ≤ 4 (below 225) and lc + lp ≤ 4, the
///   limit liblzma's decoder accepts: `lzma -9` writes 0x5d (lc=3 lp=0 pb=2), OpenWrt's
///   `lzma e -lc1 -lp2 -pb2` 0x6d, `xz --format=lzma --lzma1=lc=0,lp=0,pb=0` 0x00;
/// - a dictionary size of 2^n or 2^n + 2^(n-1) bytes (what liblzma's and the LZMA SDK's
///   encoders write, from 4 KiB; a larger one than the decoder may allocate fails there);
/// - an uncompressed size that is unknown (all ones, as when compressing a pipe, which is how
///   scripts/Makefile.lib runs `lzma -9`) or below 4 GiB;
/// - then the range coder's first byte, which every encoder writes as 0.
pub(crate) fn lzma_header_plausible(data: &[u8]) -> bool {
    let Some(header) = data.get(..14) else {
        return false;
    };
    let props = header[0];
    let (lc, lp) = (props % 9, (props / 9) % 5);
    let dict = u32::from_le_bytes([header[1], header[2], header[3], header[4]]);
    let pow2 = dict.is_power_of_two();
    let pow2_and_half = dict.count_ones() == 2 && (dict >> dict.trailing_zeros()) == 3;
    let size = u64::from_le_bytes([
        header[5], header[6], header[7], header[8], header[9], header[10], header[11], header[12],
    ]);
    props < 225
        && lc + lp <= 4
        && dict >= 4096
        && (pow2 || pow2_and_half)
        && (size == u64::MAX || size < (1 << 32))
        && header[13] == 0
}

/// Decompress `data` (which starts with a `format` stream) into a new buffer of at most `limit`
/// bytes. Concatenated streams of the format decode to their concatenation; data after the
/// last one (size trailers, padding) is ignored.
pub fn decompress(data: &[u8], format: Compression, limit: u64) -> Result<Vec<u8>, Problem> {
    Decoder::new(data, format, limit, None)?.finish()
}

/// Like [`decompress`], appending to `out` so that a caller can reuse one buffer. On failure
/// `out` holds what it held before.
pub fn decompress_into(
    data: &[u8],
    format: Compression,
    limit: u64,
    out: &mut Vec<u8>,
) -> Result<(), Problem> {
    let decoder = Decoder::with_buffer(data, format, limit, None, std::mem::take(out))?;
    let (buffer, result) = decoder.finish_keeping();
    *out = buffer;
    result
}

/// A size hint worth acting on: non-zero and within `limit`.
fn usable_hint(size_hint: Option<u64>, limit: u64) -> Option<usize> {
    size_hint
        .filter(|&h| h > 0 && h <= limit)
        .and_then(|h| usize::try_from(h).ok())
}

/// Where a [`Decoder`] gets its bytes from.
enum Source<'a> {
    /// A format read through a stream: decoding stops where asked.
    Stream(Box<dyn Read + 'a>),
    /// A format decoded in one call, on the first [`Decoder::fill_to`].
    Whole {
        data: &'a [u8],
        decode: OneCall,
        hint: Option<usize>,
    },
}

/// A back-end that decodes all of `data` into `out` (appending) at once, at most `limit` bytes,
/// with an optional hint of the decoded size. On failure it may leave partial output behind:
/// the [`Decoder`] cuts it.
type OneCall = fn(&[u8], u64, Option<usize>, &mut Vec<u8>) -> Result<(), Problem>;

/// A decompression that runs only as far as asked: the kernel's export tables lie in the first
/// third of an image, and a serial xz decode of the rest costs as much as all the modules.
pub struct Decoder<'a> {
    source: Source<'a>,
    format: Compression,
    limit: u64,
    out: Vec<u8>,
    /// Bytes of `out` that were there before decoding began (not counted against `limit`).
    skip: usize,
    ended: bool,
}

impl<'a> Decoder<'a> {
    /// Start decoding `data` (a `format` stream). `size_hint` is the decompressed size if known
    /// (the 4-byte trailer the kernel's build appends to compressed images): a right hint saves
    /// memory and time, a wrong one costs only a slower path, never a wrong result.
    pub fn new(
        data: &'a [u8],
        format: Compression,
        limit: u64,
        size_hint: Option<u64>,
    ) -> Result<Self, Problem> {
        Self::with_buffer(data, format, limit, size_hint, Vec::new())
    }

    /// Like [`Decoder::new`], appending to `buffer` (whose bytes are kept before the decoded
    /// ones and do not count against the limit).
    pub fn with_buffer(
        data: &'a [u8],
        format: Compression,
        limit: u64,
        size_hint: Option<u64>,
        mut buffer: Vec<u8>,
    ) -> Result<Self, Problem> {
        let hint = usable_hint(size_hint, limit);
        let whole = |decode: OneCall| Source::Whole { data, decode, hint };
        let source = match format {
            Compression::Gzip => Source::Stream(gzip::reader(data)?),
            Compression::Bzip2 => Source::Stream(bzip2::reader(data)?),
            Compression::Xz => Source::Stream(xz::xz_reader(data)?),
            Compression::Lzma => Source::Stream(xz::lzma_reader(data)?),
            Compression::Lz4Frame => Source::Stream(lz4_frame::reader(data)?),
            Compression::Zstd => whole(zstd::decode_into),
            Compression::Lz4Legacy => whole(lz4::decode_into),
            Compression::Lzo => whole(lzo::decode_into),
        };
        if let (Source::Stream(_), Some(h)) = (&source, hint) {
            buffer.reserve(h);
        }
        Ok(Decoder {
            source,
            format,
            limit,
            skip: buffer.len(),
            out: buffer,
            ended: false,
        })
    }

    /// The compression being decoded.
    pub fn format(&self) -> Compression {
        self.format
    }

    /// The bytes decoded so far.
    pub fn decoded(&self) -> &[u8] {
        &self.out[self.skip..]
    }

    /// True once the stream has ended: [`decoded`](Self::decoded) is all there is.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Decode until at least `len` bytes are decoded (fewer when the stream ends first, more
    /// than the limit never), and return them.
    pub fn fill_to(&mut self, len: usize) -> Result<&[u8], Problem> {
        let want = (len as u64).min(self.limit.saturating_add(1));
        let have = self.decoded().len() as u64;
        if !self.ended && have < want {
            match &mut self.source {
                Source::Stream(reader) => {
                    let missing = want - have;
                    self.out
                        .reserve(usize::try_from(missing).unwrap_or(usize::MAX));
                    let read = reader
                        .take(missing)
                        .read_to_end(&mut self.out)
                        .map_err(|e| Problem::Decompress {
                            format: self.format.name(),
                            detail: e.to_string(),
                        })?;
                    self.ended = (read as u64) < missing;
                    if self.decoded().len() as u64 > self.limit {
                        return Err(Problem::TooLarge {
                            format: self.format.name(),
                            limit: self.limit,
                        });
                    }
                }
                Source::Whole { data, decode, hint } => {
                    decode(data, self.limit, *hint, &mut self.out)?;
                    self.ended = true;
                }
            }
        }
        Ok(self.decoded())
    }

    /// Decode the rest and return the whole buffer (with whatever it held before).
    pub fn finish(self) -> Result<Vec<u8>, Problem> {
        let (out, result) = self.finish_keeping();
        result.map(|()| out)
    }

    /// Decode the rest; the buffer comes back either way, cut back to what it held before
    /// when decoding failed.
    fn finish_keeping(mut self) -> (Vec<u8>, Result<(), Problem>) {
        let mut step = 1usize << 24;
        while !self.ended {
            let target = self.decoded().len().saturating_add(step);
            if let Err(e) = self.fill_to(target) {
                self.out.truncate(self.skip);
                return (self.out, Err(e));
            }
            step = step.saturating_mul(2);
        }
        (self.out, Ok(()))
    }
}

#[cfg(test)]
mod tests;
