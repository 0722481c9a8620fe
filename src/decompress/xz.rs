//! xz and LZMA-alone through liblzma: bzImage and zImage payloads (CONFIG_KERNEL_XZ,
//! CONFIG_KERNEL_LZMA), `.ko.xz` modules.

use std::io::Read;

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

/// A reader of the xz stream starting `data`.
pub(super) fn xz_reader<'a>(data: &'a [u8]) -> Result<Box<dyn Read + 'a>, Problem> {
    let stream =
        liblzma::stream::Stream::new_stream_decoder(MEMLIMIT, 0).map_err(|e| fail("xz", e))?;
    Ok(Box::new(liblzma::bufread::XzDecoder::new_stream(
        data, stream,
    )))
}

/// A reader of the LZMA-alone stream starting `data`.
pub(super) fn lzma_reader<'a>(data: &'a [u8]) -> Result<Box<dyn Read + 'a>, Problem> {
    let stream =
        liblzma::stream::Stream::new_lzma_decoder(MEMLIMIT).map_err(|e| fail("lzma", e))?;
    Ok(Box::new(liblzma::bufread::XzDecoder::new_stream(
        data, stream,
    )))
}
