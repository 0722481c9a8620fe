//! One interface in front of every compression the kernel uses for images and modules.
//!
//! The format is always sniffed from magic bytes, never taken from a file name. Every decoder
//! is bounded by a caller-given limit on the decompressed size, so a "zip bomb" fails fast.

mod lz4_legacy;
mod lzo;

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
/// Memory the xz/lzma decoders may use, mostly the dictionary a stream's header asks for. The
/// kernel's builds ask for at most 64 MiB (`lzma -9`; scripts/xz_wrap.sh uses 32 MiB, module
/// compression 1 MiB), while a crafted 13-byte header may ask for 4 GiB.
const LZMA_MEMLIMIT: u64 = 256 << 20;

/// Decompress `data` (which starts with a `format` stream) into a new buffer of at most `limit`
/// bytes. Data after the end of the stream (size trailers, padding) is ignored.
pub fn decompress(data: &[u8], format: Compression, limit: u64) -> Result<Vec<u8>, Problem> {
    decompress_sized(data, format, limit, None)
}

/// Like [`decompress`], with a hint of the decompressed size (such as the 4-byte trailer the
/// kernel's build appends to compressed images). A right hint saves memory and time; a wrong one
/// costs only a slower path, never a wrong result.
pub fn decompress_sized(
    data: &[u8],
    format: Compression,
    limit: u64,
    size_hint: Option<u64>,
) -> Result<Vec<u8>, Problem> {
    let hint = usable_hint(size_hint, limit);
    if format == Compression::Zstd {
        if let Some(size) = hint {
            if let Some(out) = zstd_bulk(data, size as u64)? {
                return Ok(out);
            }
        }
    }
    let mut out = Vec::with_capacity(hint.unwrap_or(0));
    decompress_into(data, format, limit, &mut out)?;
    Ok(out)
}

/// A size hint worth reserving: non-zero and within `limit`.
fn usable_hint(size_hint: Option<u64>, limit: u64) -> Option<usize> {
    size_hint
        .filter(|&h| h > 0 && h <= limit)
        .and_then(|h| usize::try_from(h).ok())
}

/// Like [`decompress`], appending to `out` so that a caller can reuse one buffer.
pub fn decompress_into(
    data: &[u8],
    format: Compression,
    limit: u64,
    out: &mut Vec<u8>,
) -> Result<(), Problem> {
    match format {
        Compression::Zstd => zstd_into(data, limit, out),
        Compression::Lz4Legacy => lz4_legacy::decompress_into(data, limit, out),
        Compression::Lzo => lzo::decompress_into(data, limit, out),
        Compression::Gzip | Compression::Bzip2 | Compression::Xz | Compression::Lzma => {
            let reader = stream_reader(data, format)?.ok_or(Problem::Decompress {
                format: format.name(),
                detail: "no streaming decoder".into(),
            })?;
            let stream = StreamDecoder::with_reader(reader, format, limit, std::mem::take(out));
            let (buffer, result) = stream.finish_keeping();
            *out = buffer;
            result
        }
    }
}

/// A reader decoding `data`, for the formats decoded through a stream.
fn stream_reader<'a>(
    data: &'a [u8],
    format: Compression,
) -> Result<Option<Box<dyn Read + 'a>>, Problem> {
    let fail = |detail: String| Problem::Decompress {
        format: format.name(),
        detail,
    };
    Ok(Some(match format {
        Compression::Gzip => Box::new(flate2::bufread::GzDecoder::new(data)),
        Compression::Bzip2 => Box::new(bzip2::bufread::BzDecoder::new(data)),
        Compression::Xz => {
            let stream = liblzma::stream::Stream::new_stream_decoder(LZMA_MEMLIMIT, 0)
                .map_err(|e| fail(e.to_string()))?;
            Box::new(liblzma::bufread::XzDecoder::new_stream(data, stream))
        }
        Compression::Lzma => {
            let stream = liblzma::stream::Stream::new_lzma_decoder(LZMA_MEMLIMIT)
                .map_err(|e| fail(e.to_string()))?;
            Box::new(liblzma::bufread::XzDecoder::new_stream(data, stream))
        }
        Compression::Zstd | Compression::Lz4Legacy | Compression::Lzo => return Ok(None),
    }))
}

/// A decompression that runs only as far as asked: the kernel's export tables lie in the first
/// third of an image, and a serial xz decode of the rest costs as much as all the modules.
///
/// Offered for the formats decoded through a reader (gzip, bzip2, xz, lzma). zstd, lz4 and lzo
/// are decoded in one call (see [`decompress_sized`]).
pub struct StreamDecoder<'a> {
    reader: Box<dyn Read + 'a>,
    format: Compression,
    limit: u64,
    out: Vec<u8>,
    /// Bytes of `out` that were there before decoding began (not counted against `limit`).
    skip: usize,
    ended: bool,
}

impl<'a> StreamDecoder<'a> {
    /// Start decoding `data` (a `format` stream), with room reserved for `size_hint` bytes, or
    /// `None` when the format is not decoded through a stream.
    pub fn open(
        data: &'a [u8],
        format: Compression,
        limit: u64,
        size_hint: Option<u64>,
    ) -> Result<Option<Self>, Problem> {
        let Some(reader) = stream_reader(data, format)? else {
            return Ok(None);
        };
        let out = Vec::with_capacity(usable_hint(size_hint, limit).unwrap_or(0));
        Ok(Some(Self::with_reader(reader, format, limit, out)))
    }

    fn with_reader(
        reader: Box<dyn Read + 'a>,
        format: Compression,
        limit: u64,
        out: Vec<u8>,
    ) -> Self {
        StreamDecoder {
            reader,
            format,
            limit,
            skip: out.len(),
            out,
            ended: false,
        }
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
            let missing = want - have;
            self.out
                .reserve(usize::try_from(missing).unwrap_or(usize::MAX));
            let read = (&mut self.reader)
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

/// zstd: decode in one call straight into a buffer of `size` bytes, or `None` when the data
/// turns out larger. The streaming decoder would also allocate a window as large as the kernel
/// (`zstd -22 --ultra`), doubling peak memory.
fn zstd_bulk(data: &[u8], size: u64) -> Result<Option<Vec<u8>>, Problem> {
    let fail = |detail: String| Problem::Decompress {
        format: "zstd",
        detail,
    };
    let frame_len = zstd::zstd_safe::find_frame_compressed_size(data)
        .map_err(|code| fail(zstd::zstd_safe::get_error_name(code).to_string()))?;
    let mut decoder = zstd::bulk::Decompressor::new().map_err(|e| fail(e.to_string()))?;
    decoder
        .set_parameter(zstd::zstd_safe::DParameter::WindowLogMax(31))
        .map_err(|e| fail(e.to_string()))?;
    let mut out = Vec::new();
    if out
        .try_reserve_exact(usize::try_from(size).unwrap_or(usize::MAX))
        .is_err()
    {
        return Ok(None);
    }
    match decoder.decompress_to_buffer(&data[..frame_len], &mut out) {
        Ok(_) => Ok(Some(out)),
        // Most likely "destination buffer too small": the hint was wrong; stream instead.
        Err(_) => Ok(None),
    }
}

/// Inputs from this size on are decoded in one call even without a recorded content size.
const ZSTD_BULK_MIN_INPUT: usize = 1 << 20;

/// zstd with the frame's own content size when it records one, else streaming.
fn zstd_into(data: &[u8], limit: u64, out: &mut Vec<u8>) -> Result<(), Problem> {
    let fail = |detail: String| Problem::Decompress {
        format: "zstd",
        detail,
    };
    if let Ok(Some(size)) = zstd::zstd_safe::get_frame_content_size(data) {
        if size > limit {
            return Err(Problem::TooLarge {
                format: "zstd",
                limit,
            });
        }
        if let Some(frame) = zstd_bulk(data, size)? {
            out.extend_from_slice(&frame);
            return Ok(());
        }
    } else if data.len() >= ZSTD_BULK_MIN_INPUT && out.is_empty() {
        // A kernel payload with no recorded size (s390's, say): reserve the limit as address
        // space, which costs no memory until written, and decode in one call. Streaming would
        // allocate the frame's whole window (128 MiB for `zstd -22 --ultra`) besides the output.
        if let Some(mut frame) = zstd_bulk(data, limit)? {
            frame.shrink_to_fit();
            *out = frame;
            return Ok(());
        }
        // Too large or damaged: the streaming decoder below says which, precisely.
    }
    let mut decoder = zstd::stream::read::Decoder::with_buffer(data)
        .map_err(|e| fail(e.to_string()))?
        .single_frame();
    // The kernel compresses images with `zstd -22 --ultra`, whose window exceeds the decoder's
    // default limit.
    decoder
        .window_log_max(31)
        .map_err(|e| fail(e.to_string()))?;
    read_limited(decoder, Compression::Zstd, limit, out)
}

fn read_limited(
    reader: impl Read,
    format: Compression,
    limit: u64,
    out: &mut Vec<u8>,
) -> Result<(), Problem> {
    let start = out.len();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(out)
        .map_err(|e| Problem::Decompress {
            format: format.name(),
            detail: e.to_string(),
        })?;
    if (out.len() - start) as u64 > limit {
        out.truncate(start);
        return Err(Problem::TooLarge {
            format: format.name(),
            limit,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
