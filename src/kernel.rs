//! A kernel image file, end to end: read the file, unwrap it, read vmlinux's exports.

use std::path::Path;

use serde::Serialize;

use crate::elf::{Class, Elf, Endian};
use crate::error::{Error, Problem, Result};
use crate::exports::prefix::{PrefixReader, Want};
use crate::exports::raw::{self, RawExports};
use crate::exports::vmlinux::{self, VmlinuxExports};
use crate::image::{self, Streaming, Unwrapped, Unwrapping};

/// How the export tables were located in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableSource {
    /// By the ELF section names (`__ksymtab`, `__kcrctab`, …).
    Sections,
    /// By scanning a raw image for the tables' structure (no section headers).
    Scan,
    /// By scanning the start of an ELF vmlinux for the tables' structure: decoding stopped
    /// there, before the section headers (see [`crate::exports::prefix`]).
    PrefixScan,
}

/// How much of a compressed ELF kernel to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Decode {
    /// Stop once the export tables are found with certainty, else decode it all.
    #[default]
    UpToTables,
    /// Decode the whole kernel and read its section headers.
    Whole,
}

/// The exports of a kernel image and everything detected on the way.
#[derive(Debug, Clone, Serialize)]
pub struct KernelExports {
    /// Container and compression.
    pub image: Unwrapped,
    /// Word size of the kernel.
    pub class: Class,
    /// Byte order of the kernel.
    pub endian: Endian,
    /// How the export tables were located.
    pub tables_located_by: TableSource,
    /// The load address a raw image's absolute pointers were solved against (`None` for ELF
    /// files and self-relative tables).
    pub load_base: Option<u64>,
    /// RELATIVE relocations of a raw image applied before its scan (s390x 6.1: the pointer
    /// words are zero on disk).
    pub relocations: usize,
    /// The exports and their layout.
    pub vmlinux: VmlinuxExports,
}

impl KernelExports {
    /// True when the kernel has CRC tables (CONFIG_MODVERSIONS).
    pub fn modversions(&self) -> bool {
        self.vmlinux.modversions()
    }

    /// The word size when the kernel shows it: an ELF header, absolute pointers whose load
    /// address was solved, or a container's header. `None` for a raw image of self-relative
    /// tables without such a header, whose [`KernelExports::class`] is a guess.
    pub fn certain_class(&self) -> Option<Class> {
        (self.image.is_elf || self.load_base.is_some() || self.image.class_hint.is_some())
            .then_some(self.class)
    }
}

/// Read the image file at `path` and return vmlinux's exports.
/// `limit` bounds the decompressed size of the kernel.
///
/// ```no_run
/// use std::path::Path;
/// let kernel = symvers::kernel::read_image(
///     Path::new("/boot/vmlinuz-6.1.0-50-amd64"),
///     symvers::image::DEFAULT_IMAGE_LIMIT,
/// )?;
/// println!("{} exports, CRCs: {}", kernel.vmlinux.exports.len(), kernel.modversions());
/// # Ok::<(), symvers::Error>(())
/// ```
pub fn read_image(path: &Path, limit: u64) -> Result<KernelExports> {
    // The file is never larger than the kernel it holds: `limit` bounds it too.
    let data = crate::input::read_regular(path, limit)?;
    read_image_bytes(&data, limit).map_err(|p| Error::format(path, p))
}

/// Like [`read_image`], on bytes already in memory.
pub fn read_image_bytes(data: &[u8], limit: u64) -> Result<KernelExports, Problem> {
    read_image_bytes_with(data, limit, Decode::UpToTables)
}

/// Like [`read_image_bytes`], deciding how much of a compressed ELF kernel to decode.
///
/// This is where the stages meet: [`image::open`] resolves the containers, and a kernel still
/// being decompressed is decoded only as far as the export reader asks
/// ([`PrefixReader::want`]), then either stopped or decoded whole and read by its sections.
pub fn read_image_bytes_with(
    data: &[u8],
    limit: u64,
    decode: Decode,
) -> Result<KernelExports, Problem> {
    let kernel = match image::open(data, limit) {
        Ok(Unwrapping::Kernel(kernel)) => kernel,
        Ok(Unwrapping::Streaming(mut stream)) => {
            if decode == Decode::UpToTables {
                if let Some(exports) = read_while_decoding(&mut stream)? {
                    let (header, found) = exports;
                    return Ok(KernelExports {
                        image: stream.stop(),
                        class: header.class,
                        endian: header.endian,
                        tables_located_by: TableSource::PrefixScan,
                        load_base: found.load_base,
                        relocations: 0,
                        vmlinux: found.vmlinux,
                    });
                }
            }
            stream.finish()?
        }
        // Bytes of no known container may be a bare raw kernel (arm64 `Image`, a payload
        // unpacked by hand): the scan decides, and the original error stands if it fails.
        Err(unknown @ (Problem::UnknownFormat { .. } | Problem::Empty)) => {
            return read_raw(data, Unwrapped::bare_raw(data.len() as u64)).map_err(|_| unknown);
        }
        Err(e) => return Err(e),
    };
    read_kernel_bytes(&kernel.bytes, kernel.info)
}

/// Decode `stream` as far as a [`PrefixReader`] wants; the exports when it found them with
/// certainty before the end, `None` when the kernel must be decoded whole.
fn read_while_decoding(
    stream: &mut Streaming<'_>,
) -> Result<Option<(crate::elf::Header, RawExports)>, Problem> {
    let mut reader = PrefixReader::new();
    let mut want = reader.want(stream.decoded());
    loop {
        match want {
            Want::Bytes(len) => {
                let before = stream.decoded().len();
                let now = stream.fill_to(len)?.len();
                // Asking for no more than is there would ask forever; a stream that ended is
                // read whole, by its sections.
                if now <= before || stream.ended() {
                    return Ok(None);
                }
                want = reader.want(stream.decoded());
            }
            Want::Stop => return Ok(reader.into_found()),
            Want::All => return Ok(None),
        }
    }
}

/// The exports of kernel bytes already unwrapped (see [`image::unwrap`]): by section name for an
/// ELF vmlinux, by structure for a raw image.
pub fn read_kernel_bytes(bytes: &[u8], info: Unwrapped) -> Result<KernelExports, Problem> {
    if !info.is_elf {
        return read_raw(bytes, info);
    }
    let elf = Elf::parse(bytes)?;
    let exports = vmlinux::read_elf(&elf)?;
    Ok(KernelExports {
        image: info,
        class: elf.class,
        endian: elf.endian,
        tables_located_by: TableSource::Sections,
        load_base: None,
        relocations: 0,
        vmlinux: exports,
    })
}

/// Read a raw kernel's exports by scanning for its tables.
fn read_raw(bytes: &[u8], info: Unwrapped) -> Result<KernelExports, Problem> {
    let found = raw::read(bytes)?;
    // Self-relative tables do not show the word size; a container or image header may.
    let class = match info.class_hint {
        Some(hint) if found.vmlinux.layout.ksymtab.is_relative() => hint,
        _ => found.class,
    };
    Ok(KernelExports {
        image: info,
        class,
        endian: found.endian,
        tables_located_by: TableSource::Scan,
        load_base: found.load_base,
        relocations: found.relocations,
        vmlinux: found.vmlinux,
    })
}
