//! "Are these bytes a kernel?": the one structural test used both to stop unwrapping and to
//! accept a candidate payload found by scanning a self-decompressor.
//!
//! The test is cheap and conservative:
//! - an ELF file is a kernel when it has `__ksymtab*` sections or carries the banner (below);
//!   an ELF with neither is a decompressor (the MIPS `vmlinuz`, whose compressed kernel sits in
//!   `.image`, or — as Debian's stripped 6.1 mips64el vmlinuz has it — merged into `.data`);
//! - a raw image is a kernel when it carries an arm64 or RISC-V `Image` header, or the
//!   `linux_banner` string `"Linux version <digit>"` that init/version.c puts in every kernel
//!   since 1.0. Decompressors do not carry the banner (they print none), and a payload that
//!   is not a kernel (the gzipped `.config` of CONFIG_IKCONFIG, an initramfs) does not either.

use serde::Serialize;

use super::{scan, Container, Detected, Hints, Payload};
use crate::elf::{self, Elf};
use crate::error::Problem;

/// What kind of kernel bytes a buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KernelKind {
    /// An ELF vmlinux.
    Elf,
    /// A raw arm64 `Image` (header magic "ARM\x64" at 0x38, Documentation/arch/arm64/booting.rst).
    Arm64Image,
    /// A raw RISC-V `Image` (magic2 "RSC\x05" at 0x38, arch/riscv/include/asm/image.h, 5.x;
    /// the older 8-byte "RISCV\0\0\0" magic at 0x30 is also accepted).
    RiscvImage,
    /// A raw memory image recognised by its banner (arm, s390, …).
    Raw,
}

/// Offset of the arm64 / RISC-V image header magic.
const IMAGE_MAGIC_AT: usize = 0x38;

/// The kind of kernel `data` is, or `None` when it is not (recognisably) a kernel.
pub fn kernel_kind(data: &[u8]) -> Option<KernelKind> {
    if elf::is_elf(data) {
        return match Elf::parse(data)
            .ok()
            .as_ref()
            .and_then(elf_decompressor_payload)
        {
            Some(_) => None,
            None => Some(KernelKind::Elf),
        };
    }
    image_header_kind(data).or_else(|| has_banner(data).then_some(KernelKind::Raw))
}

/// The kind a raw image's own header names (arm64 or RISC-V `Image`), without looking for the
/// banner through the whole file.
pub fn image_header_kind(data: &[u8]) -> Option<KernelKind> {
    match data.get(IMAGE_MAGIC_AT..IMAGE_MAGIC_AT + 4) {
        Some(b"ARM\x64") => Some(KernelKind::Arm64Image),
        Some(b"RSC\x05") => Some(KernelKind::RiscvImage),
        _ if data.get(0x30..0x38) == Some(b"RISCV\0\0\0") => Some(KernelKind::RiscvImage),
        _ => None,
    }
}

/// True when `data` holds "Linux version " followed by a digit (init/version.c `linux_banner`).
pub fn has_banner(data: &[u8]) -> bool {
    banner_at(data).is_some()
}

/// Where the first "Linux version <digit>" of `data` starts.
fn banner_at(data: &[u8]) -> Option<usize> {
    const BANNER: &[u8] = b"Linux version ";
    memchr::memmem::find_iter(data, BANNER).find(|&at| {
        data.get(at + BANNER.len())
            .is_some_and(|c| c.is_ascii_digit())
    })
}

/// For an ELF decompressor (an ELF that is not a kernel by the rules above), the file range in
/// which to look for the compressed kernel: the `.image` section when there is one
/// (arch/mips/boot/compressed/piggy.S), else the whole file. `None` for a kernel ELF.
pub fn elf_decompressor_payload(parsed: &Elf) -> Option<(usize, usize)> {
    let data = parsed.data;
    if parsed
        .sections
        .iter()
        .any(|s| s.name.starts_with(b"__ksymtab"))
        || has_banner(data)
    {
        return None;
    }
    let image = parsed.section_by_name(".image").and_then(|(_, image)| {
        let offset = usize::try_from(image.offset).ok()?;
        let size = usize::try_from(image.size).ok()?;
        offset
            .checked_add(size)
            .filter(|&end| end <= data.len() && size > 0)?;
        Some((offset, size))
    });
    Some(image.unwrap_or((0, data.len())))
}

/// A raw kernel recognised by its own `Image` header (arm64, RISC-V), without a look for the
/// banner through the whole file.
pub(super) fn detect_image_header(data: &[u8]) -> Result<Option<Detected>, Problem> {
    Ok(image_header_kind(data).map(Detected::Kernel))
}

/// A raw kernel recognised by its banner (an uncompressed arm or s390 memory image, a payload
/// unpacked by hand).
///
/// LZ4 and LZO store literals as they are (and gzip's stored blocks, zstd's raw literals
/// blocks may), so the banner of a kernel compressed inside an unknown container can show
/// through: when a compressed stream starts before the banner, the bytes are scanned for a
/// compressed kernel first, and are the raw kernel only if none is found
/// ([`super::Walk`]'s scan of [`Container::Embedded`]).
pub(super) fn detect_banner(data: &[u8]) -> Result<Option<Detected>, Problem> {
    let Some(at) = banner_at(data) else {
        return Ok(None);
    };
    if scan::candidates(data, 0..at).is_empty() {
        return Ok(Some(Detected::Kernel(KernelKind::Raw)));
    }
    Ok(Some(Detected::Layer {
        container: Container::Embedded,
        payload: Payload::Scan {
            range: 0..data.len(),
        },
        hints: Hints::default(),
    }))
}
