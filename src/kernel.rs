//! A kernel image file, end to end: read the file, unwrap it, read vmlinux's exports.

use std::path::Path;

use serde::Serialize;

use crate::elf::{Class, Elf, Endian};
use crate::error::{Error, Problem, Result};
use crate::exports::vmlinux::{self, VmlinuxExports};
use crate::image::{self, Unwrapped};

/// The exports of a kernel image and everything detected on the way.
#[derive(Debug, Clone, Serialize)]
pub struct KernelExports {
    /// Container and compression.
    pub image: Unwrapped,
    /// Word size of the kernel.
    pub class: Class,
    /// Byte order of the kernel.
    pub endian: Endian,
    /// The exports and their layout.
    pub vmlinux: VmlinuxExports,
}

impl KernelExports {
    /// True when the kernel has CRC tables (CONFIG_MODVERSIONS).
    pub fn modversions(&self) -> bool {
        self.vmlinux.crc_storage != crate::exports::CrcStorage::None
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
    let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    read_image_bytes(&data, limit).map_err(|p| Error::format(path, p))
}

/// Like [`read_image`], on bytes already in memory.
pub fn read_image_bytes(data: &[u8], limit: u64) -> Result<KernelExports, Problem> {
    let kernel = image::unwrap(data, limit)?;
    if !kernel.info.is_elf {
        return Err(Problem::NoExports(
            "the kernel is a raw image without ELF headers; reading raw images is not supported yet"
                .into(),
        ));
    }
    let elf = Elf::parse(&kernel.bytes)?;
    let exports = vmlinux::read_elf(&elf)?;
    Ok(KernelExports {
        image: kernel.info,
        class: elf.class,
        endian: elf.endian,
        vmlinux: exports,
    })
}
