//! xz and LZMA-alone through liblzma: bzImage and zImage payloads (CONFIG_KERNEL_XZ,
//! CONFIG_KERNEL_LZMA), `.ko.xz` modules.
//!
//! Several xz streams (with stream padding between them) decode to their concatenation, as
//! `xz -d` reads them. liblzma's own `LZMA_CONCATENATED` flag would do that too, but it fails on
//! anything after the last stream that is not padding, and a kernel payload is followed by its
//! size trailer: the streams are chained here instead ([`super::members`]). LZMA-alone has no
//! concatenation (`xz -d` does not read one either).

use std::io::{self, Read};

use super::members::{Concatenated, Member};
use super::Compression;
use crate::error::Problem;

/// Memory the xz/lzma decoders may use, mostly the dictionary a stream's header asks for. The
/// kernel's builds ask for at most 64 MiB (`lzma -9`; scripts/xz_wrap.sh uses 32 MiB, module
/// compression 1 MiB), while a crafted 13-byte header may ask for 4 GiB.
const MEMLIMIT: u64 = 256 << 20;

fn fail(format: &'static str, e: liblzma::stream::Error) -> Problem {
    Problem::Decompress {
        format,
        detail: e.to_string(),
    }
}

/// One xz stream over a slice (the bufread decoder consumes exactly the stream's bytes).
struct XzStream<'a>(liblzma::bufread::XzDecoder<&'a [u8]>);

impl Read for XzStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<'a> Member<'a> for XzStream<'a> {
    fn rest(&self) -> &'a [u8] {
        self.0.get_ref()
    }
}

fn xz_stream<'a>(data: &'a [u8]) -> io::Result<Box<dyn Member<'a> + 'a>> {
    let stream = liblzma::stream::Stream::new_stream_decoder(MEMLIMIT, 0)?;
    Ok(Box::new(XzStream(liblzma::bufread::XzDecoder::new_stream(
        data, stream,
    ))))
}

/// A reader of the xz streams starting `data`.
pub(super) fn xz_reader<'a>(data: &'a [u8]) -> Result<Box<dyn Read + 'a>, Problem> {
    let reader =
        Concatenated::new(data, Compression::Xz, xz_stream).map_err(|e| Problem::Decompress {
            format: "xz",
            detail: e.to_string(),
        })?;
    Ok(Box::new(reader))
}

/// A reader of the LZMA-alone stream starting `data`.
pub(super) fn lzma_reader<'a>(data: &'a [u8]) -> Result<Box<dyn Read + 'a>, Problem> {
    let stream =
        liblzma::stream::Stream::new_lzma_decoder(MEMLIMIT).map_err(|e| fail("lzma", e))?;
    Ok(Box::new(liblzma::bufread::XzDecoder::new_stream(
        data, stream,
    )))
}
