//! gzip (RFC 1952) through flate2: `Image.gz`, bzImage payloads, `.ko.gz` modules. Several
//! members decode to their concatenation (RFC 1952 §2.2, `gzip -d`).

use std::io::{self, Read};

use super::members::{Concatenated, Member};
use super::Compression;
use crate::error::Problem;

/// One gzip member over a slice (the bufread decoder consumes exactly the member's bytes).
struct GzMember<'a>(flate2::bufread::GzDecoder<&'a [u8]>);

impl Read for GzMember<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<'a> Member<'a> for GzMember<'a> {
    fn rest(&self) -> &'a [u8] {
        self.0.get_ref()
    }
}

fn member<'a>(data: &'a [u8]) -> io::Result<Box<dyn Member<'a> + 'a>> {
    Ok(Box::new(GzMember(flate2::bufread::GzDecoder::new(data))))
}

/// A reader of the gzip members starting `data`.
pub(super) fn reader<'a>(data: &'a [u8]) -> Result<Box<dyn Read + 'a>, Problem> {
    let reader =
        Concatenated::new(data, Compression::Gzip, member).map_err(|e| Problem::Decompress {
            format: "gzip",
            detail: e.to_string(),
        })?;
    Ok(Box::new(reader))
}
