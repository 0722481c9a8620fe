//! LZO as the kernel's build uses it: an `lzop -9` file (the container that
//! lib/decompress_unlzo.c parses) whose blocks are LZO1X streams.
//!
//! The LZO1X decoder is our own, written from Documentation/staging/lzo.rst (the kernel's
//! description of what lib/lzo/lzo1x_decompress_safe.c accepts). We did not take the
//! `lzokay-native` crate (0.1.0): its decoder indexes the output with unchecked distances (a
//! crafted stream panics), has no output limit, and reads byte by byte through `io::Read`. Ours is
//! ~150 lines, checks every distance and length, and is bounded by the block size lzop declares.
//!
//! lzop container (lzop 1.04 `p_header`, read the same way by lib/decompress_unlzo.c):
//! magic (9), version u16 BE, library version u16, [version ≥ 0x0940: version needed u16],
//! method u8, [≥ 0x0940: level u8], flags u32, [F_H_FILTER: filter u32], mode u32, mtime low u32,
//! [≥ 0x0940: mtime high u32], name length u8 + name, header checksum u32,
//! [F_H_EXTRA_FIELD: length u32, data, checksum u32]. Then blocks: uncompressed size u32 BE
//! (0 ends the file), compressed size u32 BE, a checksum of the uncompressed data when
//! F_ADLER32_D or F_CRC32_D, a checksum of the compressed data when F_ADLER32_C or F_CRC32_C
//! and the block is compressed; the block is stored as is when both sizes are equal.

use crate::error::Problem;

const MAGIC: [u8; 9] = [0x89, b'L', b'Z', b'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a];
const F_ADLER32_D: u32 = 0x0000_0001;
const F_ADLER32_C: u32 = 0x0000_0002;
const F_H_EXTRA_FIELD: u32 = 0x0000_0040;
const F_CRC32_D: u32 = 0x0000_0100;
const F_CRC32_C: u32 = 0x0000_0200;
const F_H_FILTER: u32 = 0x0000_0800;
/// lzop never writes blocks larger than 64 MiB (`MAX_BLOCK_SIZE` in lzop's conf.h); the kernel's
/// build uses 256 KiB blocks.
const MAX_BLOCK: usize = 64 << 20;

/// Decode an lzop file starting at `data[0]` into `out`, at most `limit` bytes.
/// Data after the end-of-file block (the kernel's size trailer, padding) is ignored.
pub(super) fn decode_into(
    data: &[u8],
    limit: u64,
    _hint: Option<usize>,
    out: &mut Vec<u8>,
) -> Result<(), Problem> {
    let start = out.len();
    let result = decode_file(data, limit, out, start);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn fail(detail: impl Into<String>) -> Problem {
    Problem::Decompress {
        format: "lzo",
        detail: detail.into(),
    }
}

fn decode_file(data: &[u8], limit: u64, out: &mut Vec<u8>, start: usize) -> Result<(), Problem> {
    let mut r = Reader { data, pos: 0 };
    if r.take(MAGIC.len())? != MAGIC {
        return Err(fail("no lzop magic"));
    }
    let version = r.u16()?;
    r.skip(2)?; // library version
    if version >= 0x0940 {
        r.skip(2)?; // version needed to extract
    }
    let method = r.u8()?;
    // 1, 2, 3 = LZO1X-1, LZO1X-1(15), LZO1X-999: all decode with LZO1X.
    if !(1..=3).contains(&method) {
        return Err(fail(format!("lzop method {method} is not LZO1X")));
    }
    if version >= 0x0940 {
        r.skip(1)?; // level
    }
    let flags = r.u32()?;
    if flags & F_H_FILTER != 0 {
        return Err(fail("lzop files with a filter are not supported"));
    }
    r.skip(8)?; // mode, mtime low
    if version >= 0x0940 {
        r.skip(4)?; // mtime high
    }
    let name_len = usize::from(r.u8()?);
    r.skip(name_len)?;
    r.skip(4)?; // header checksum
    if flags & F_H_EXTRA_FIELD != 0 {
        let len = r.u32()? as usize;
        r.skip(len)?;
        r.skip(4)?;
    }
    let mut blocks = 0usize;
    loop {
        let dst_len = r.u32()? as usize;
        if dst_len == 0 {
            return Ok(());
        }
        if dst_len > MAX_BLOCK {
            return Err(fail(format!(
                "block {blocks} declares {dst_len} bytes, more than lzop's 64 MiB"
            )));
        }
        let src_len = r.u32()? as usize;
        if src_len == 0 || src_len > dst_len {
            return Err(fail(format!(
                "block {blocks}: compressed size {src_len} for {dst_len} bytes"
            )));
        }
        let d_check = if flags & (F_ADLER32_D | F_CRC32_D) != 0 {
            Some(r.u32()?)
        } else {
            None
        };
        if src_len < dst_len && flags & (F_ADLER32_C | F_CRC32_C) != 0 {
            r.skip(4)?;
        }
        let block = r.take(src_len)?;
        let produced = (out.len() - start) as u64;
        if produced.saturating_add(dst_len as u64) > limit {
            return Err(Problem::TooLarge {
                format: "lzo",
                limit,
            });
        }
        let block_start = out.len();
        if src_len == dst_len {
            out.extend_from_slice(block);
        } else {
            lzo1x_decompress(block, dst_len, out)
                .map_err(|e| fail(format!("block {blocks}: {e}")))?;
        }
        if let Some(expected) = d_check {
            let written = &out[block_start..];
            let actual = if flags & F_ADLER32_D != 0 {
                adler32(written)
            } else {
                let mut crc = flate2::Crc::new();
                crc.update(written);
                crc.sum()
            };
            if actual != expected {
                return Err(fail(format!(
                    "block {blocks}: checksum {actual:#010x}, expected {expected:#010x}"
                )));
            }
        }
        blocks += 1;
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Problem> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| fail(format!("truncated at byte {}", self.pos)))?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }
    fn skip(&mut self, n: usize) -> Result<(), Problem> {
        self.take(n).map(|_| ())
    }
    fn u8(&mut self) -> Result<u8, Problem> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, Problem> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, Problem> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Adler-32 (RFC 1950), lzop's default block checksum.
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 is the largest n for which the sums cannot overflow u32 before the modulo.
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// Decode one LZO1X block that must produce exactly `expected` bytes, appended to `out`.
/// Matches may only reach back into this block's own output (lzop compresses blocks
/// independently).
fn lzo1x_decompress(src: &[u8], expected: usize, out: &mut Vec<u8>) -> Result<(), String> {
    let base = out.len();
    out.reserve(expected);
    let mut ip = 0usize;
    let next = |ip: &mut usize| -> Result<u8, String> {
        let b = *src.get(*ip).ok_or("input ends inside an instruction")?;
        *ip += 1;
        Ok(b)
    };
    // A length of `bits` bits, extended by zero bytes (255 each) and a final byte.
    let extend = |ip: &mut usize, mask: usize| -> Result<usize, String> {
        let mut len = mask;
        loop {
            let b = *src.get(*ip).ok_or("input ends inside a length")?;
            *ip += 1;
            if b != 0 {
                return Ok(len + usize::from(b));
            }
            len += 255;
            if len > expected {
                return Err("length runs past the block".into());
            }
        }
    };
    let literals = |ip: &mut usize, n: usize, out: &mut Vec<u8>| -> Result<(), String> {
        let end = ip
            .checked_add(n)
            .filter(|&e| e <= src.len())
            .ok_or("literal run past the end of the input")?;
        if out.len() - base + n > expected {
            return Err("output larger than the block size".into());
        }
        out.extend_from_slice(&src[*ip..end]);
        *ip = end;
        Ok(())
    };
    // Literals copied by the previous instruction: 0, 1..3, or 4 for "4 or more".
    let mut state: usize = 0;
    // First byte: 18..255 is a literal run with no match before it.
    if let Some(&first) = src.first() {
        if first > 17 {
            ip = 1;
            let n = usize::from(first - 17);
            literals(&mut ip, n, out)?;
            state = n.min(4);
        }
    }
    loop {
        let t = usize::from(next(&mut ip)?);
        let (len, dist, next_state);
        if t < 16 {
            match state {
                0 => {
                    let n = if t == 0 { extend(&mut ip, 15)? } else { t } + 3;
                    literals(&mut ip, n, out)?;
                    state = 4;
                    continue;
                }
                1..=3 => {
                    let h = usize::from(next(&mut ip)?);
                    (len, dist, next_state) = (2, (h << 2) + (t >> 2) + 1, t & 3);
                }
                _ => {
                    let h = usize::from(next(&mut ip)?);
                    (len, dist, next_state) = (3, (h << 2) + (t >> 2) + 2049, t & 3);
                }
            }
        } else if t < 32 {
            let l = if t & 7 == 0 {
                extend(&mut ip, 7)?
            } else {
                t & 7
            } + 2;
            let d = usize::from(next(&mut ip)?) | usize::from(next(&mut ip)?) << 8;
            let far = ((t & 8) << 11) + (d >> 2);
            if far == 0 {
                // Distance 16384: the end-of-stream marker, always `11 00 00`.
                if l != 3 {
                    return Err("malformed end-of-stream marker".into());
                }
                if ip != src.len() {
                    return Err(format!("{} bytes after the end marker", src.len() - ip));
                }
                if out.len() - base != expected {
                    return Err(format!(
                        "decoded {} bytes, the block declares {expected}",
                        out.len() - base
                    ));
                }
                return Ok(());
            }
            (len, dist, next_state) = (l, 16384 + far, d & 3);
        } else if t < 64 {
            let l = if t & 31 == 0 {
                extend(&mut ip, 31)?
            } else {
                t & 31
            } + 2;
            let d = usize::from(next(&mut ip)?) | usize::from(next(&mut ip)?) << 8;
            (len, dist, next_state) = (l, (d >> 2) + 1, d & 3);
        } else {
            let h = usize::from(next(&mut ip)?);
            // 64..127: 3 or 4 bytes; 128..255: 5 to 8 bytes.
            (len, dist, next_state) = ((t >> 5) + 1, (h << 3) + ((t >> 2) & 7) + 1, t & 3);
        }
        let produced = out.len() - base;
        if dist > produced {
            return Err(format!(
                "match distance {dist} reaches before the block start"
            ));
        }
        if produced + len > expected {
            return Err("output larger than the block size".into());
        }
        let from = out.len() - dist;
        if dist >= len {
            out.extend_from_within(from..from + len);
        } else {
            // Overlapping copy: repeats the last `dist` bytes.
            for i in 0..len {
                let b = out[from + i];
                out.push(b);
            }
        }
        literals(&mut ip, next_state, out)?;
        state = next_state;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_known_value() {
        // RFC 1950 example value for "Wikipedia".
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    }

    #[test]
    fn empty_stream_is_the_end_marker() {
        let mut out = Vec::new();
        lzo1x_decompress(&[0x11, 0, 0], 0, &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn short_literal_then_match() {
        // First byte 17+4: four literals "abcd"; then M2 (64..127 with L=1: 4 bytes) at
        // distance 4: t = 0b0110_1100 → len 4, D = 3 → dist (0<<3)+3+1 = 4, state 0.
        let src = [21, b'a', b'b', b'c', b'd', 0x6c, 0x00, 0x11, 0, 0];
        let mut out = Vec::new();
        lzo1x_decompress(&src, 8, &mut out).unwrap();
        assert_eq!(out, b"abcdabcd");
    }

    #[test]
    fn overlapping_match_repeats() {
        // "ab" as literals is too short for the first-byte run (needs 18..21 → 1..3 literals):
        // 19 = two literals, state 2; then M1 (t<16, state 1..3): len 2, dist (0<<2)+(t>>2)+1.
        // t = 0b0000_0100 → dist 2, next state 0. Then M3 len 6 dist 2 → "abababab".
        let src = [19, b'a', b'b', 0x04, 0x00, 0x24, 0x04, 0x00, 0x11, 0, 0];
        let mut out = Vec::new();
        lzo1x_decompress(&src, 10, &mut out).unwrap();
        assert_eq!(out, b"ababababab");
    }

    #[test]
    fn distance_before_block_start_is_an_error() {
        let src = [21, b'a', b'b', b'c', b'd', 0x6c, 0x01, 0x11, 0, 0];
        let err = lzo1x_decompress(&src, 8, &mut Vec::new()).unwrap_err();
        assert_eq!(err, "match distance 12 reaches before the block start");
    }

    #[test]
    fn output_past_declared_size_is_an_error() {
        let src = [21, b'a', b'b', b'c', b'd', 0x6c, 0x00, 0x11, 0, 0];
        let err = lzo1x_decompress(&src, 6, &mut Vec::new()).unwrap_err();
        assert_eq!(err, "output larger than the block size");
    }

    #[test]
    fn truncated_input_is_an_error() {
        let err = lzo1x_decompress(&[21, b'a', b'b'], 4, &mut Vec::new()).unwrap_err();
        assert_eq!(err, "literal run past the end of the input");
    }
}
