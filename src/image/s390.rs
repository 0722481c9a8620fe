//! The s390 image (`arch/s390/boot`): a decompressor with the compressed kernel somewhere
//! inside, recognised by the "S390EP" entry-point string at EP_OFFSET 0x10008
//! (arch/s390/include/asm/setup.h), which kexec checks too.

use super::{Arch, Container, Detected, Hints, Payload};
use crate::bytes::Endian;
use crate::elf::Class;
use crate::error::Problem;

/// Offset of the "S390EP" string.
const EP_OFFSET: usize = 0x10008;

/// An s390 image, to be scanned for the compressed kernel (or read as the kernel itself when it
/// was built uncompressed).
pub(super) fn detect(data: &[u8]) -> Result<Option<Detected>, Problem> {
    if data.get(EP_OFFSET..EP_OFFSET + 6) != Some(b"S390EP") {
        return Ok(None);
    }
    Ok(Some(Detected::Layer {
        container: Container::S390,
        payload: Payload::Scan {
            range: 0..data.len(),
        },
        hints: Hints {
            arch: Some(Arch::S390),
            class: Some(Class::Elf64),
            endian: Some(Endian::Big),
        },
    }))
}
