//! The LZ4 legacy frame format as the kernel reads it (lib/decompress_unlz4.c).
//!
//! Layout: the magic `02 21 4C 18`, then blocks of `[u32 LE compressed size][data]`, each
//! decoding to at most 8 MiB. There is no end marker. A size equal to the magic starts a new
//! concatenated stream; the stream ends when fewer than 4 bytes remain, at a zero size (padding),
//! or at a size larger than any block can be (the 4-byte uncompressed-size trailer the kernel's
//! build appends, or other trailing data). The zero-size rule is the kernel's since 5.11
//! ("lib/decompress_unlz4.c: correctly handle zero-padding around initrds"); the kernel's
//! boot-time decompressor instead stops 4 bytes before the end of its input, which is what the
//! "only the trailer is left" rule below reproduces for kernels smaller than one block.

use crate::bytes::le_u32;
use crate::error::Problem;

const MAGIC: u32 = 0x184c_2102;
const BLOCK_OUT_MAX: usize = 8 << 20;

/// Decode a legacy LZ4 stream starting at `data[0]` into `out`, at most `limit` bytes (the
/// stream records no size: `_hint` is not needed).
pub(super) fn decode_into(
    data: &[u8],
    limit: u64,
    _hint: Option<usize>,
    out: &mut Vec<u8>,
) -> Result<(), Problem> {
    let fail = |detail: String| Problem::Decompress {
        format: "lz4-legacy",
        detail,
    };
    let start = out.len();
    // LZ4_COMPRESSBOUND of the largest block.
    let bound = BLOCK_OUT_MAX + BLOCK_OUT_MAX / 255 + 16;
    let mut pos = 4;
    if le_u32(data, 0) != Some(MAGIC) {
        return Err(fail("no legacy LZ4 magic".into()));
    }
    let mut blocks = 0usize;
    while let Some(size) = le_u32(data, pos) {
        if size == MAGIC {
            pos += 4;
            continue;
        }
        if size == 0 || size as usize > bound {
            break;
        }
        pos += 4;
        let Some(end) = pos.checked_add(size as usize).filter(|&e| e <= data.len()) else {
            // The 4-byte size trailer of a kernel smaller than one block's bound reads as a
            // plausible block size; the stream ended when only it (and zero padding) is left.
            if blocks > 0 && data[pos..].iter().all(|&b| b == 0) {
                break;
            }
            return Err(fail(format!(
                "block {blocks} runs past the end of the data"
            )));
        };
        let produced = out.len() - start;
        let room = (limit as usize).saturating_sub(produced).min(BLOCK_OUT_MAX);
        let old = out.len();
        out.resize(old + room, 0);
        let n = match lz4_flex::block::decompress_into(&data[pos..end], &mut out[old..]) {
            Ok(n) => n,
            Err(e) => {
                out.truncate(old);
                if room < BLOCK_OUT_MAX && produced as u64 + room as u64 >= limit {
                    out.truncate(start);
                    return Err(Problem::TooLarge {
                        format: "lz4-legacy",
                        limit,
                    });
                }
                return Err(fail(format!("block {blocks}: {e}")));
            }
        };
        out.truncate(old + n);
        pos = end;
        blocks += 1;
    }
    if blocks == 0 {
        return Err(fail("no data blocks".into()));
    }
    Ok(())
}
