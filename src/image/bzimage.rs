//! The x86 bzImage: a real-mode setup header followed by the protected-mode decompressor, which
//! carries the compressed vmlinux. Layout from Documentation/arch/x86/boot.rst (boot protocol
//! 2.08+ for the payload fields, Linux 2.6.26).

use super::{Arch, Container, Detected, Hints, Payload};
use crate::bytes::{le_u16, le_u32};
use crate::error::Problem;

/// The fields of `struct setup_header` (arch/x86/include/uapi/asm/bootparam.h) this reader
/// needs, at their offsets in the file.
#[derive(Debug, Clone, Copy)]
struct SetupHeader {
    /// 0x1f1 `setup_sects`: 512-byte sectors of real-mode code after the boot sector
    /// ("If this field is 0, the real value is 4").
    setup_sects: u8,
    /// 0x206 `version`: the boot protocol.
    version: u16,
    /// 0x248 `payload_offset`: from the start of the protected-mode code.
    payload_offset: u32,
    /// 0x24c `payload_length`.
    payload_length: u32,
}

/// The "HdrS" signature at 0x202.
const HEADER_MAGIC: usize = 0x202;

impl SetupHeader {
    /// The header of a bzImage, `None` when `data` has no "HdrS" signature, an error when it
    /// is cut short.
    fn parse(data: &[u8]) -> Result<Option<Self>, Problem> {
        if data.get(HEADER_MAGIC..HEADER_MAGIC + 4) != Some(b"HdrS") {
            return Ok(None);
        }
        let version = le_u16(data, 0x206).unwrap_or(0);
        if version < 0x208 {
            return Err(Problem::OldBootProtocol {
                major: (version >> 8) as u8,
                minor: (version & 0xff) as u8,
            });
        }
        let (Some(&setup_sects), Some(payload_offset), Some(payload_length)) =
            (data.get(0x1f1), le_u32(data, 0x248), le_u32(data, 0x24c))
        else {
            return Err(Problem::Truncated("bzImage setup header".into()));
        };
        Ok(Some(SetupHeader {
            setup_sects,
            version,
            payload_offset,
            payload_length,
        }))
    }
}

/// A bzImage's compressed payload (the decompressor's `input_data`).
pub(super) fn detect(data: &[u8]) -> Result<Option<Detected>, Problem> {
    let Some(header) = SetupHeader::parse(data)? else {
        return Ok(None);
    };
    debug_assert!(header.version >= 0x208);
    let sectors = match header.setup_sects {
        0 => 4,
        n => usize::from(n),
    };
    let protected_mode = (sectors + 1) * 512;
    let start = protected_mode
        .checked_add(header.payload_offset as usize)
        .ok_or_else(|| Problem::Truncated("bzImage payload offset overflows".into()))?;
    if header.payload_length == 0 {
        return Err(Problem::EmptyPayload {
            container: "bzImage",
        });
    }
    let end = start
        .checked_add(header.payload_length as usize)
        .ok_or_else(|| Problem::Truncated("bzImage payload length overflows".into()))?;
    Ok(Some(Detected::Layer {
        container: Container::BzImage,
        payload: Payload::Compressed {
            range: start..end,
            named: None,
            // The build appends the uncompressed size to the payload (a gzip stream's own
            // ISIZE trailer serves too).
            size_end: end,
        },
        hints: Hints {
            arch: Some(Arch::X86),
            ..Hints::default()
        },
    }))
}
