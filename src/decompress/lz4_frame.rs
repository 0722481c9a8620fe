//! The LZ4 frame format (lz4's doc/lz4_Frame_format.md): what plain `lz4` writes, and what
//! U-Boot reads for `IH_COMP_LZ4` uImages and FIT `compression = "lz4"` (lib/lz4_wrapper.c).
//! The kernel's own build writes the legacy framing instead ([`super::lz4`]).
//!
//! A frame: the magic `04 22 4D 18`, a descriptor (FLG and BD bytes, optional content size and
//! dictionary ID, a header checksum), blocks of `[u32 LE size, high bit = stored][data]
//! [optional block checksum]`, an end mark (size 0) and an optional content checksum.
//! Blocks are decoded by lz4_flex's frame decoder (independent and linked blocks, block and
//! content checksums, the content size checked); this file walks the frame's block sizes to
//! know where it ends, so that a frame cut short is an error rather than a short output, and so
//! that the next frame (or skippable frame, or the end of the data) can be looked for after it.

use std::io::{self, Read};

use lz4_flex::frame::FrameDecoder;

use super::members::{Concatenated, Member};
use super::Compression;
use crate::bytes::le_u32;
use crate::error::Problem;

/// True when `data` starts with a frame magic and a descriptor of the format's version 01,
/// reserved bits zero and a block maximum size code of 4–7 (64 KiB to 4 MiB).
pub(super) fn descriptor_plausible(data: &[u8]) -> bool {
    let (Some(&flg), Some(&bd)) = (data.get(4), data.get(5)) else {
        return false;
    };
    data.starts_with(Compression::Lz4Frame.magic())
        && flg >> 6 == 0b01
        && flg & 0b10 == 0
        && bd & 0x8f == 0
        && (4..=7).contains(&(bd >> 4))
}

/// The length of the frame starting `data`: its header, blocks, end mark and content checksum.
fn frame_len(data: &[u8]) -> Result<usize, String> {
    if !descriptor_plausible(data) {
        return Err("not an LZ4 frame descriptor".into());
    }
    let (flg, bd) = (data[4], data[5]);
    let block_checksums = flg & 0x10 != 0;
    let content_size = flg & 0x08 != 0;
    let content_checksum = flg & 0x04 != 0;
    let dict_id = flg & 0x01 != 0;
    let max_block = 1usize << (8 + 2 * (bd >> 4));
    let mut pos = 6 + 8 * usize::from(content_size) + 4 * usize::from(dict_id) + 1;
    let mut blocks = 0usize;
    loop {
        let word = le_u32(data, pos)
            .ok_or_else(|| format!("the frame is cut short after {blocks} blocks"))?;
        pos += 4;
        if word == 0 {
            break;
        }
        let size = (word & 0x7fff_ffff) as usize;
        if size > max_block {
            return Err(format!(
                "block {blocks} is {size} bytes, more than the frame's maximum of {max_block}"
            ));
        }
        pos = pos
            .saturating_add(size)
            .saturating_add(4 * usize::from(block_checksums));
        blocks += 1;
    }
    pos += 4 * usize::from(content_checksum);
    if pos > data.len() {
        return Err(format!("the frame is cut short after {blocks} blocks"));
    }
    Ok(pos)
}

/// One frame, decoded from exactly its bytes.
struct Frame<'a> {
    decoder: FrameDecoder<&'a [u8]>,
    rest: &'a [u8],
}

impl Read for Frame<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let n = self.decoder.read(buf)?;
            // lz4_flex also returns 0 for a block that decodes to nothing: the frame has ended
            // only when its bytes are used up (its end mark and checksum were read).
            if n > 0 || self.decoder.get_ref().is_empty() {
                return Ok(n);
            }
        }
    }
}

impl<'a> Member<'a> for Frame<'a> {
    fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

fn frame<'a>(data: &'a [u8]) -> io::Result<Box<dyn Member<'a> + 'a>> {
    let len = frame_len(data).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(Box::new(Frame {
        decoder: FrameDecoder::new(&data[..len]),
        rest: &data[len..],
    }))
}

/// A reader of the LZ4 frames starting `data` (after any skippable frames).
pub(super) fn reader<'a>(data: &'a [u8]) -> Result<Box<dyn Read + 'a>, Problem> {
    let start = super::members::skip_skippable_frames(data);
    let reader = Concatenated::new(start, Compression::Lz4Frame, frame).map_err(|e| {
        Problem::Decompress {
            format: "lz4-frame",
            detail: e.to_string(),
        }
    })?;
    Ok(Box::new(reader))
}
