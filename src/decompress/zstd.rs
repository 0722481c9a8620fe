//! zstd through the zstd crate (libzstd): bzImage, EFI zboot and s390 payloads
//! (CONFIG_KERNEL_ZSTD, `zstd -22 --ultra`), `.ko.zst` modules.
//!
//! Decoded in one call: the streaming decoder would allocate a window as large as the kernel
//! (`--ultra` windows reach 128 MiB) besides the output, doubling peak memory.
//!
//! Several frames decode to their concatenation and skippable frames are skipped, before,
//! between and after them (RFC 8878 §3.1, as `zstd -d` reads a file).

use std::io::Read;

use super::members::{next_stream, skip_skippable_frames};
use super::Compression;
use crate::error::Problem;

/// Largest window a kernel image's frame uses (`zstd -22 --ultra`), beyond the decoder's default.
const WINDOW_LOG_MAX: u32 = 31;

/// Inputs from this size on are decoded in one call even without a recorded content size.
const BULK_MIN_INPUT: usize = 1 << 20;

fn fail(detail: String) -> Problem {
    Problem::Decompress {
        format: "zstd",
        detail,
    }
}

/// Decode the zstd frames starting `data` (after any skippable frames) into `out` (appended),
/// at most `limit` bytes in all. `hint` is the size of all of them (the kernel build's size
/// trailer).
pub(super) fn decode_into(
    data: &[u8],
    limit: u64,
    hint: Option<usize>,
    out: &mut Vec<u8>,
) -> Result<(), Problem> {
    let start = out.len();
    let mut rest = skip_skippable_frames(data);
    let mut hint = hint;
    loop {
        let frame_len = zstd::zstd_safe::find_frame_compressed_size(rest)
            .map_err(|code| fail(zstd::zstd_safe::get_error_name(code).to_string()))?;
        let produced = (out.len() - start) as u64;
        decode_frame(&rest[..frame_len], limit - produced, hint.take(), out).map_err(
            |e| match e {
                Problem::TooLarge { format, .. } => Problem::TooLarge { format, limit },
                other => other,
            },
        )?;
        rest = next_stream(&rest[frame_len..], Compression::Zstd);
        if rest.is_empty() {
            return Ok(());
        }
    }
}

/// Decode the one zstd frame `frame` into `out` (appended), at most `limit` bytes, with the
/// frame's own content size when it records one, else `hint`, else streaming.
fn decode_frame(
    data: &[u8],
    limit: u64,
    hint: Option<usize>,
    out: &mut Vec<u8>,
) -> Result<(), Problem> {
    if let Some(size) = hint {
        if let Some(frame) = bulk(data, size as u64)? {
            append(out, frame);
            return Ok(());
        }
    }
    if let Ok(Some(size)) = zstd::zstd_safe::get_frame_content_size(data) {
        if size > limit {
            return Err(Problem::TooLarge {
                format: "zstd",
                limit,
            });
        }
        if let Some(frame) = bulk(data, size)? {
            append(out, frame);
            return Ok(());
        }
    } else if data.len() >= BULK_MIN_INPUT && out.is_empty() {
        // A kernel payload with no recorded size (s390's, say): reserve the limit as address
        // space, which costs no memory until written, and decode in one call.
        if let Some(mut frame) = bulk(data, limit)? {
            frame.shrink_to_fit();
            *out = frame;
            return Ok(());
        }
        // Too large or damaged: the streaming decoder below says which, precisely.
    }
    let mut decoder = zstd::stream::read::Decoder::with_buffer(data)
        .map_err(|e| fail(e.to_string()))?
        .single_frame();
    decoder
        .window_log_max(WINDOW_LOG_MAX)
        .map_err(|e| fail(e.to_string()))?;
    let start = out.len();
    decoder
        .take(limit.saturating_add(1))
        .read_to_end(out)
        .map_err(|e| {
            out.truncate(start);
            fail(e.to_string())
        })?;
    if (out.len() - start) as u64 > limit {
        out.truncate(start);
        return Err(Problem::TooLarge {
            format: "zstd",
            limit,
        });
    }
    Ok(())
}

fn append(out: &mut Vec<u8>, frame: Vec<u8>) {
    if out.is_empty() {
        *out = frame;
    } else {
        out.extend_from_slice(&frame);
    }
}

/// Decode the frame `data` in one call straight into a buffer of `size` bytes, or `None` when
/// the data turns out larger (or the buffer cannot be had).
fn bulk(data: &[u8], size: u64) -> Result<Option<Vec<u8>>, Problem> {
    let mut decoder = zstd::bulk::Decompressor::new().map_err(|e| fail(e.to_string()))?;
    decoder
        .set_parameter(zstd::zstd_safe::DParameter::WindowLogMax(WINDOW_LOG_MAX))
        .map_err(|e| fail(e.to_string()))?;
    let mut out = Vec::new();
    if out
        .try_reserve_exact(usize::try_from(size).unwrap_or(usize::MAX))
        .is_err()
    {
        return Ok(None);
    }
    match decoder.decompress_to_buffer(data, &mut out) {
        Ok(_) => Ok(Some(out)),
        // Most likely "destination buffer too small": the size was wrong; go on another way.
        Err(_) => Ok(None),
    }
}
