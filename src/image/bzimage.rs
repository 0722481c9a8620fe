//! The x86 bzImage: a real-mode setup header followed by the protected-mode decompressor, which
//! carries the compressed vmlinux. Layout from Documentation/arch/x86/boot.rst (boot protocol
//! 2.08+ for the payload fields, Linux 2.6.26).

use std::ops::Range;

use super::{le_u16, le_u32};
use crate::error::Problem;

const SETUP_SECTS: usize = 0x1f1;
const HEADER_MAGIC: usize = 0x202;
const VERSION: usize = 0x206;
const PAYLOAD_OFFSET: usize = 0x248;
const PAYLOAD_LENGTH: usize = 0x24c;

/// The file range of a bzImage's compressed payload, `None` when `data` is not a bzImage.
pub(super) fn payload(data: &[u8]) -> Result<Option<Range<usize>>, Problem> {
    if data.get(HEADER_MAGIC..HEADER_MAGIC + 4) != Some(b"HdrS") {
        return Ok(None);
    }
    let version = le_u16(data, VERSION).unwrap_or(0);
    if version < 0x208 {
        return Err(Problem::OldBootProtocol {
            major: (version >> 8) as u8,
            minor: (version & 0xff) as u8,
        });
    }
    let setup_sects = match data[SETUP_SECTS] {
        // "If this field is 0, the real value is 4."
        0 => 4,
        n => usize::from(n),
    };
    let protected_mode = (setup_sects + 1) * 512;
    let (Some(offset), Some(len)) = (le_u32(data, PAYLOAD_OFFSET), le_u32(data, PAYLOAD_LENGTH))
    else {
        return Err(Problem::Truncated("bzImage setup header".into()));
    };
    let start = protected_mode
        .checked_add(offset as usize)
        .ok_or_else(|| Problem::Truncated("bzImage payload offset overflows".into()))?;
    if len == 0 {
        return Err(Problem::EmptyPayload {
            container: "bzImage",
        });
    }
    let end = start
        .checked_add(len as usize)
        .ok_or_else(|| Problem::Truncated("bzImage payload length overflows".into()))?;
    Ok(Some(start..end))
}
