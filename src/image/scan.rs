//! Finding a compressed kernel inside a self-decompressor (arm `zImage`, s390 `bzImage`, MIPS
//! `vmlinuz`, anything else) when no header says where it is.
//!
//! Every position where a compression magic starts is a candidate, in file order. Machine code
//! and data contain false magics (Debian 6.1 s390x has a false xz magic in the decompressor
//! before the real stream, KERNEL-FORMATS.md §6.6; an arm zImage's payload contains other
//! magics inside its compressed bytes), so a candidate counts only when it decodes and the
//! result is a kernel ([`probe::kernel_kind`]). Cost is bounded: at most [`MAX_ATTEMPTS`]
//! candidates with a magic and [`MAX_HEADER_ATTEMPTS`] LZMA-alone headers (which have no magic)
//! are decoded, each first for `QUICK_PREFIX` bytes only (garbage fails there, or decodes to
//! one repeated byte, which no kernel starts with), and a full decode is bounded by the
//! caller's limit.

use std::ops::Range;

use crate::decompress::{self, Compression};
use crate::error::Problem;

use super::probe;

/// How many candidates with a magic are decoded at most.
pub const MAX_ATTEMPTS: usize = 64;

/// How many LZMA-alone headers are decoded at most. A header with any properties byte has no
/// magic to find, so tables of small integers in a decompressor (PE/COFF headers, s390 lowcore,
/// symbol tables) hold dozens that pass the header check; they fail within microseconds, and
/// are tried after the candidates with a magic so that they never crowd those out.
pub const MAX_HEADER_ATTEMPTS: usize = 1024;

/// Candidates are first decoded this far; only those that get there are decoded fully.
const QUICK_PREFIX: u64 = 64 << 10;

/// Magic hits collected per format before candidates are filtered and ordered.
const MAX_HITS_PER_FORMAT: usize = 4096;

/// A compressed kernel found by scanning.
#[derive(Debug)]
pub struct Found {
    /// Offset of the stream in the scanned buffer.
    pub offset: usize,
    /// Bytes from the stream's start to the end of the scanned range (the stream's exact
    /// length is not known without a header; decoders stop at its end).
    pub available: usize,
    /// Its compression.
    pub compression: Compression,
    /// The decoded kernel.
    pub kernel: Vec<u8>,
    /// What kind of kernel it is.
    pub kind: super::KernelKind,
}

/// Candidate payload offsets in `range` of `data`, in file order, each with the format whose
/// magic (and header check, [`Compression::sniff`]) matches there.
pub fn candidates(data: &[u8], range: Range<usize>) -> Vec<(usize, Compression)> {
    let Some(region) = data.get(range.clone()) else {
        return Vec::new();
    };
    let mut hits = Vec::new();
    for format in Compression::ALL {
        let found: Box<dyn Iterator<Item = usize>> = match format {
            Compression::Lzma => Box::new(lzma_headers(region)),
            _ => Box::new(memchr::memmem::find_iter(region, format.magic())),
        };
        for at in found
            .filter(|&at| Compression::sniff(&region[at..]) == Some(format))
            .take(MAX_HITS_PER_FORMAT)
        {
            hits.push((range.start + at, format));
        }
    }
    hits.sort_by_key(|&(at, _)| at);
    hits
}

/// Offsets in `region` where an LZMA-alone header may start. The header has no magic (its
/// first byte is the properties byte, any of 225 values), but the dictionary size an encoder
/// writes is at least 4 KiB with no bit set below its highest two, so its low byte, the
/// header's second, is always 0: every 0 byte is a place to look, and
/// [`Compression::sniff`]'s header check decides.
fn lzma_headers(region: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr_iter(0, region.get(1..).unwrap_or_default())
        .filter(move |&at| crate::decompress::lzma_header_plausible(&region[at..]))
}

/// The first candidate in `range` of `data` that decodes to a kernel, or `Ok(None)` when none
/// does. A candidate whose output passes `limit` is skipped, but if no candidate succeeds that
/// error is returned, since it most likely was the kernel.
pub fn find_kernel(data: &[u8], range: Range<usize>, limit: u64) -> Result<Option<Found>, Problem> {
    let mut too_large = None;
    let (headers, magics): (Vec<_>, Vec<_>) = candidates(data, range.clone())
        .into_iter()
        .partition(|&(_, c)| c == Compression::Lzma);
    for (offset, compression) in magics
        .into_iter()
        .take(MAX_ATTEMPTS)
        .chain(headers.into_iter().take(MAX_HEADER_ATTEMPTS))
    {
        let stream = &data[offset..range.end];
        let Some(decoded) = decode_candidate(stream, compression, limit) else {
            continue;
        };
        let kernel = match decoded {
            Ok(k) => k,
            Err(e @ Problem::TooLarge { .. }) => {
                too_large.get_or_insert(e);
                continue;
            }
            Err(_) => continue,
        };
        if let Some(kind) = probe::kernel_kind(&kernel) {
            return Ok(Some(Found {
                offset,
                available: stream.len(),
                compression,
                kernel,
                kind,
            }));
        }
    }
    match too_large {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

/// Decode a candidate: `None` when it fails within its first [`QUICK_PREFIX`] bytes (garbage
/// fails there) or those bytes are one value repeated (an LZMA decoder fed zeros decodes zeros
/// without end, and no kernel starts that way), else the result of decoding it whole. A
/// streamed format goes on from where the quick look stopped; the others are decoded again
/// from the start.
fn decode_candidate(
    stream: &[u8],
    compression: Compression,
    limit: u64,
) -> Option<Result<Vec<u8>, Problem>> {
    let quick = QUICK_PREFIX.min(limit);
    let mut decoder = decompress::Decoder::new(stream, compression, limit, None).ok()?;
    match decoder.fill_to(quick as usize) {
        Ok(prefix) if prefix.len() >= 4096 && prefix.iter().all(|&b| b == prefix[0]) => None,
        Ok(_) => Some(decoder.finish()),
        Err(e @ Problem::TooLarge { .. }) => Some(Err(e)),
        Err(_) => None,
    }
}
