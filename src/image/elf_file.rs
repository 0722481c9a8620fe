//! An ELF file given as the image: the kernel itself (a vmlinux, stripped or not), or an ELF
//! self-decompressor (the MIPS `vmlinuz`, arch/mips/boot/compressed) that carries the
//! compressed kernel, in its `.image` section or merged into another.

use super::probe::{self, KernelKind};
use super::{Arch, Container, Detected, Hints, Payload};
use crate::elf::{self, Elf};
use crate::error::Problem;

/// An ELF kernel, or an ELF decompressor to be scanned for the compressed kernel.
pub(super) fn detect(data: &[u8]) -> Result<Option<Detected>, Problem> {
    if !elf::is_elf(data) {
        return Ok(None);
    }
    // A file whose headers do not parse is left to the export reader, which says what is wrong.
    let Ok(parsed) = Elf::parse(data) else {
        return Ok(Some(Detected::Kernel(KernelKind::Elf)));
    };
    let Some((offset, size)) = probe::elf_decompressor_payload(&parsed) else {
        return Ok(Some(Detected::Kernel(KernelKind::Elf)));
    };
    Ok(Some(Detected::Layer {
        container: Container::ElfDecompressor,
        payload: Payload::Scan {
            range: offset..offset + size,
        },
        hints: Hints {
            arch: Arch::from_elf_machine(parsed.machine),
            class: Some(parsed.class),
            endian: Some(parsed.endian),
        },
    }))
}
