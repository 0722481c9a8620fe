//! gzip (RFC 1952) through flate2: `Image.gz`, bzImage payloads, `.ko.gz` modules.

use std::io::Read;

/// A reader of the gzip stream starting `data`.
pub(super) fn reader<'a>(data: &'a [u8]) -> Box<dyn Read + 'a> {
    Box::new(flate2::bufread::GzDecoder::new(data))
}
