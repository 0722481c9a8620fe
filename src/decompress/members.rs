//! Concatenated streams: several gzip members, bzip2 or xz streams, zstd or LZ4 frames one after
//! the other decode to the concatenation of their contents, as `gzip -d`, `bzip2 -d`, `xz -d`,
//! `zstd -d`, `lz4 -d` and kmod's decompressors (libkmod-file.c) read them.
//!
//! A kernel image's payload is usually followed by something that is not a stream: the 4-byte
//! size trailer the kernel's build appends (scripts/Makefile.lib `size_append`), alignment
//! padding, a device tree appended to `Image.gz` (Android's `Image.gz-dtb`). So after a complete
//! stream, the next one is decoded only when the following bytes start one (after the padding
//! and skippable frames the format allows there); anything else ends the data cleanly. A
//! stream that starts but does not decode is an error, as it is for the tools.

use std::io::{self, Read};

use super::Compression;

/// One stream of a format, decoded from a byte slice: once [`Read::read`] returns 0, [`rest`]
/// is what follows it.
///
/// [`rest`]: Member::rest
pub(super) trait Member<'a>: Read {
    /// The input after the stream, once it has ended.
    fn rest(&self) -> &'a [u8];
}

/// Starts the member at the beginning of `data` (which starts with the format's magic).
pub(super) type Start<'a> = fn(&'a [u8]) -> io::Result<Box<dyn Member<'a> + 'a>>;

/// A reader of one stream and of every stream of the same format that follows it.
pub(super) struct Concatenated<'a> {
    current: Box<dyn Member<'a> + 'a>,
    /// Bytes of input from the start of the current stream on.
    current_len: usize,
    format: Compression,
    start: Start<'a>,
}

impl<'a> Concatenated<'a> {
    /// Read `data`, a `format` stream and whatever streams of the format follow it.
    pub(super) fn new(data: &'a [u8], format: Compression, start: Start<'a>) -> io::Result<Self> {
        Ok(Concatenated {
            current: start(data)?,
            current_len: data.len(),
            format,
            start,
        })
    }
}

impl Read for Concatenated<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let n = self.current.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            let rest = next_stream(self.current.rest(), self.format);
            if rest.is_empty() {
                return Ok(0);
            }
            // Every stream has a header: one that ended without consuming input cannot be.
            if rest.len() >= self.current_len {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a stream ended without consuming its header",
                ));
            }
            self.current = (self.start)(rest)?;
            self.current_len = rest.len();
        }
    }
}

/// What follows one complete stream of `format`: the next stream of the format (past the
/// padding or skippable frames the format allows between streams), or nothing.
pub(super) fn next_stream(rest: &[u8], format: Compression) -> &[u8] {
    let rest = match format {
        // xz: stream padding, null bytes in multiples of four (xz file format 1.2.1, §2.2).
        Compression::Xz => {
            let mut rest = rest;
            while rest.len() >= 4 && rest[..4] == [0; 4] {
                rest = &rest[4..];
            }
            rest
        }
        Compression::Zstd | Compression::Lz4Frame => skip_skippable_frames(rest),
        _ => rest,
    };
    if format.starts(rest) {
        rest
    } else {
        &[]
    }
}

/// `data` after the skippable frames it starts with (zstd RFC 8878 §3.1.2 and the LZ4 frame
/// format share them: magic 0x184D2A50–0x184D2A5F, a u32 LE size, that many bytes). A frame
/// that runs past the end is not skipped.
pub(super) fn skip_skippable_frames(mut data: &[u8]) -> &[u8] {
    while let (Some(magic), Some(size)) =
        (crate::bytes::le_u32(data, 0), crate::bytes::le_u32(data, 4))
    {
        if magic & 0xffff_fff0 != 0x184d_2a50 {
            break;
        }
        match data.get(8usize.saturating_add(size as usize)..) {
            Some(after) => data = after,
            None => break,
        }
    }
    data
}
