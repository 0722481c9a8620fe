//! bzip2 through the bzip2 crate: bzImage payloads (CONFIG_KERNEL_BZIP2), `.ko.bz2`.

use std::io::Read;

/// A reader of the bzip2 stream starting `data`.
pub(super) fn reader<'a>(data: &'a [u8]) -> Box<dyn Read + 'a> {
    Box::new(::bzip2::bufread::BzDecoder::new(data))
}
