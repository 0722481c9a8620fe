//! One interface in front of every compression the kernel uses for images and modules.
//!
//! The format is always sniffed from magic bytes, never taken from a file name. Every format has
//! one back-end file (`gzip`, `bzip2`, `xz` for xz and LZMA-alone, `zstd`, `lz4`, `lzo`), and one
//! decoder, [`Decoder`], drives them all: it decodes as far as asked ([`Decoder::fill_to`]) or to
//! the end ([`Decoder::finish`]), bounded by a caller-given limit on the decompressed size, so a
//! "zip bomb" fails fast. Formats read through a stream (gzip, bzip2, xz, lzma) really stop
//! where asked; the others decode whole on the first call.
//!
//! Adding a compression: a variant of [`Compression`] with its magic and name, a back-end file
//! with either a `reader` (a [`std::io::Read`] over the data) or a `decode_into` (one call),
//! and one arm in [`Decoder::with_buffer`].

mod bzip2;
mod gzip;
mod lz4;
mod lzo;
mod xz;
mod zstd;

use std::io::Read;

use serde::Serialize;

use crate::error::Problem;

/// A compression format found in kernel images or module files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compression {
    /// gzip (RFC 1952), single member.
    Gzip,
    /// bzip2.
    Bzip2,
    /// LZMA "alone" format (`lzma -9`).
    Lzma,
    /// xz container (with the kernel's BCJ filters).
    Xz,
    /// lzop container of LZO1X blocks.
    Lzo,
    /// LZ4 legacy frame format (`lz4 -l`), as lib/decompress_unlz4.c reads it.
    Lz4Legacy,
    /// zstd, possibly with a large window (`zstd -22 --ultra`).
    Zstd,
}

impl Compression {
    /// Every format, in sniffing order.
    pub const ALL: [Compression; 7] = [
        Compression::Gzip,
        Compression::Xz,
        Compression::Zstd,
        Compression::Bzip2,
        Compression::Lz4Legacy,
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
            Compression::Lz4Legacy => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    /// The magic bytes that start a stream of this format.
    pub fn magic(self) -> &'static [u8] {
        match self {
            Compression::Gzip => &[0x1f, 0x8b],
            Compression::Bzip2 => b"BZh",
            // Properties byte 0x5d (lc=3 lp=0 pb=2) and a dictionary size below 16 MiB: what
            // `lzma -9` writes for the kernel.
            Compression::Lzma => &[0x5d, 0x00, 0x00],
            Compression::Xz => &[0xfd, b'7', b'z', b'X', b'Z', 0x00],
            Compression::Lzo => &[0x89, b'L', b'Z', b'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a],
            Compression::Lz4Legacy => &[0x02, 0x21, 0x4c, 0x18],
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

    /// The format whose magic starts `data`, if any.
    pub fn sniff(data: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|c| {
            data.starts_with(c.magic())
                && match c {
                    // "BZh" is followed by the block size digit '1'..'9'.
                    Compression::Bzip2 => data.get(3).is_some_and(|d| (b'1'..=b'9').contains(d)),
                    // Deflate is the only gzip method.
                    Compression::Gzip => data.get(2) == Some(&8),
                    Compression::Lzma => lzma_header_plausible(data),
                    _ => true,
                }
        })
    }
}

/// "5d 00 00" alone is common in machine code, and an LZMA decoder rarely detects garbage (it
/// decodes noise for megabytes), so the "alone" header must also look like `lzma -9` output: a
/// dictionary size of 2^n or 2^n + 2^(n-1) bytes (what liblzma's encoders write, 4 KiB to
/// 1.5 GiB) and an uncompressed size that is unknown (all ones, as when compressing a pipe,
/// which is how scripts/Makefile.lib runs `lzma -9`) or below 4 GiB.
fn lzma_header_plausible(data: &[u8]) -> bool {
    let Some(header) = data.get(..13) else {
        return false;
    };
    let dict = u32::from_le_bytes([header[1], header[2], header[3], header[4]]);
    let pow2 = dict.is_power_of_two();
    let pow2_and_half = dict.count_ones() == 2 && (dict >> dict.trailing_zeros()) == 3;
    let size = u64::from_le_bytes([
        header[5], header[6], header[7], header[8], header[9], header[10], header[11], header[12],
    ]);
    dict >= 4096 && (pow2 || pow2_and_half) && (size == u64::MAX || size < (1 << 32))
}

/// Decompress `data` (which starts with a `format` stream) into a new buffer of at most `limit`
/// bytes. Data after the end of the stream (size trailers, padding) is ignored.
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
            Compression::Gzip => Source::Stream(gzip::reader(data)),
            Compression::Bzip2 => Source::Stream(bzip2::reader(data)),
            Compression::Xz => Source::Stream(xz::xz_reader(data)?),
            Compression::Lzma => Source::Stream(xz::lzma_reader(data)?),
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
