//! bzip2 through the bzip2 crate: bzImage payloads (CONFIG_KERNEL_BZIP2), `.ko.bz2`. Several
//! streams decode to their concatenation (`bzip2 -d`, pbzip2's output).

use std::io::{self, Read};

use super::members::{Concatenated, Member};
use super::Compression;
use crate::error::Problem;

/// One bzip2 stream over a slice (the bufread decoder consumes exactly the stream's bytes).
struct BzStream<'a>(::bzip2::bufread::BzDecoder<&'a [u8]>);

impl Read for BzStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<'a> Member<'a> for BzStream<'a> {
    fn rest(&self) -> &'a [u8] {
        self.0.get_ref()
    }
}

fn stream<'a>(data: &'a [u8]) -> io::Result<Box<dyn Member<'a> + 'a>> {
    Ok(Box::new(BzStream(::bzip2::bufread::BzDecoder::new(data))))
}

/// A reader of the bzip2 streams starting `data`.
pub(super) fn reader<'a>(data: &'a [u8]) -> Result<Box<dyn Read + 'a>, Problem> {
    let reader =
        Concatenated::new(data, Compression::Bzip2, stream).map_err(|e| Problem::Decompress {
            format: "bzip2",
            detail: e.to_string(),
        })?;
    Ok(Box::new(reader))
}
