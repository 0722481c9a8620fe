//! EFI zboot (Linux 6.1+, arm64, riscv, loongarch): a small EFI application that decompresses
//! the kernel's raw `Image`. Header (drivers/firmware/efi/libstub/zboot-header.S): "MZ" at 0,
//! "zimg" at 4, u32 LE payload offset at 8 and payload size at 12 (without the 4-byte size
//! trailer that non-gzip payloads carry, Makefile.zboot), the compression name (NUL-terminated)
//! at 24, and the PE header offset at 0x3c (whose machine field names the architecture).

use super::{le_u16, le_u32, Arch};
use crate::decompress::Compression;
use crate::error::Problem;

/// A zboot image's payload.
pub(super) struct Zboot {
    /// File offset of the compressed payload.
    pub offset: usize,
    /// Its size without the size trailer.
    pub len: usize,
    /// The compression the header names.
    pub compression: Compression,
    /// The architecture the PE header's machine field names.
    pub arch: Option<Arch>,
}

/// The payload of a zboot image, `None` when `data` is not one.
pub(super) fn payload(data: &[u8]) -> Result<Option<Zboot>, Problem> {
    if !data.starts_with(b"MZ") || data.get(4..8) != Some(b"zimg") {
        return Ok(None);
    }
    let (Some(offset), Some(len)) = (le_u32(data, 8), le_u32(data, 12)) else {
        return Err(Problem::Truncated("EFI zboot header".into()));
    };
    let name_field = data.get(24..0x38).unwrap_or_default();
    let name = name_field.split(|&b| b == 0).next().unwrap_or_default();
    let compression =
        Compression::from_zboot_name(name).ok_or_else(|| Problem::UnknownCompressionName {
            container: "EFI zboot image",
            name: String::from_utf8_lossy(name).into_owned(),
        })?;
    // PE machine types (include/linux/pe.h).
    let arch = le_u32(data, 0x3c)
        .and_then(|pe| le_u16(data, (pe as usize).checked_add(4)?))
        .and_then(|machine| match machine {
            0xaa64 => Some(Arch::Arm64),
            0x5032 | 0x5064 => Some(Arch::Riscv),
            0x6232 | 0x6264 => Some(Arch::Loongarch),
            _ => None,
        });
    Ok(Some(Zboot {
        offset: offset as usize,
        len: len as usize,
        compression,
        arch,
    }))
}
