//! EFI zboot (Linux 6.1+, arm64, riscv, loongarch): a small EFI application that decompresses
//! the kernel's raw `Image`. Header (drivers/firmware/efi/libstub/zboot-header.S): "MZ" at 0,
//! "zimg" at 4, u32 LE payload offset at 8 and payload size at 12 (without the 4-byte size
//! trailer that non-gzip payloads carry, Makefile.zboot), the compression name (NUL-terminated)
//! at 24, and the PE header offset at 0x3c (whose machine field names the architecture).

use super::{Arch, Container, Detected, Hints, Payload};
use crate::bytes::{le_u16, le_u32};
use crate::decompress::Compression;
use crate::error::Problem;

/// The zboot header fields.
#[derive(Debug, Clone)]
struct ZbootHeader<'d> {
    /// File offset of the compressed payload.
    payload_offset: u32,
    /// Its size without the size trailer.
    payload_size: u32,
    /// The compression type string (`COMP_TYPE` in Makefile.zboot).
    comp_type: &'d [u8],
    /// The PE/COFF machine type, when the PE header is there.
    machine: Option<u16>,
}

impl<'d> ZbootHeader<'d> {
    fn parse(data: &'d [u8]) -> Result<Option<Self>, Problem> {
        if !data.starts_with(b"MZ") || data.get(4..8) != Some(b"zimg") {
            return Ok(None);
        }
        let (Some(payload_offset), Some(payload_size)) = (le_u32(data, 8), le_u32(data, 12)) else {
            return Err(Problem::Truncated("EFI zboot header".into()));
        };
        let name_field = data.get(24..0x38).unwrap_or_default();
        let comp_type = name_field.split(|&b| b == 0).next().unwrap_or_default();
        let machine = le_u32(data, 0x3c).and_then(|pe| le_u16(data, (pe as usize).checked_add(4)?));
        Ok(Some(ZbootHeader {
            payload_offset,
            payload_size,
            comp_type,
            machine,
        }))
    }
}

/// A zboot image's compressed `Image`.
pub(super) fn detect(data: &[u8]) -> Result<Option<Detected>, Problem> {
    let Some(header) = ZbootHeader::parse(data)? else {
        return Ok(None);
    };
    let compression = Compression::from_zboot_name(header.comp_type).ok_or_else(|| {
        Problem::UnknownCompressionName {
            container: "EFI zboot image",
            name: String::from_utf8_lossy(header.comp_type).into_owned(),
        }
    })?;
    // PE machine types (include/linux/pe.h).
    let arch = header.machine.and_then(|machine| match machine {
        0xaa64 => Some(Arch::Arm64),
        0x5032 | 0x5064 => Some(Arch::Riscv),
        0x6232 | 0x6264 => Some(Arch::Loongarch),
        _ => None,
    });
    let start = header.payload_offset as usize;
    let range = start..start.saturating_add(header.payload_size as usize);
    // The header's size leaves out the 4-byte size trailer, which gzip payloads lack (their
    // own ISIZE is the last 4 bytes of the payload).
    let trailer = if compression == Compression::Gzip {
        0
    } else {
        4
    };
    Ok(Some(Detected::Layer {
        container: Container::EfiZboot,
        payload: Payload::Compressed {
            size_end: range.end.saturating_add(trailer),
            range,
            named: Some(compression),
        },
        hints: Hints {
            arch,
            ..Hints::default()
        },
    }))
}
