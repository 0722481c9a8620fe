//! The 32-bit arm `zImage` (arch/arm/boot/compressed/head.S): a position-independent
//! decompressor with the compressed raw kernel (`piggy_data`, with a 4-byte LE size trailer)
//! somewhere inside. Header words: magic 0x016F2818 at 0x24, start and end addresses at 0x28
//! and 0x2c (`end - start` is the zImage size; a device tree may be appended after it), and an
//! endianness marker 0x04030201 at 0x30 as the running kernel reads it.

use super::{Arch, Container, Detected, Hints, Payload};
use crate::bytes::{le_u32, Endian};
use crate::elf::Class;
use crate::error::Problem;

/// The zImage header words.
#[derive(Debug, Clone, Copy)]
struct ZImageHeader {
    /// `_start` at 0x28.
    start: u32,
    /// `_edata` at 0x2c.
    end: u32,
    /// The endianness marker at 0x30, as stored.
    marker: [u8; 4],
}

impl ZImageHeader {
    fn parse(data: &[u8]) -> Option<Self> {
        if le_u32(data, 0x24)? != 0x016f_2818 {
            return None;
        }
        Some(ZImageHeader {
            start: le_u32(data, 0x28)?,
            end: le_u32(data, 0x2c)?,
            marker: data.get(0x30..0x34)?.try_into().ok()?,
        })
    }
}

/// A zImage's decompressor, to be scanned for the compressed kernel.
pub(super) fn detect(data: &[u8]) -> Result<Option<Detected>, Problem> {
    let Some(header) = ZImageHeader::parse(data) else {
        return Ok(None);
    };
    let declared = header.end.checked_sub(header.start).map(|n| n as usize);
    let size = declared
        .filter(|&n| n > 0x30 && n <= data.len())
        .unwrap_or(data.len());
    // The marker is the native word 0x04030201: a little-endian kernel's bytes read
    // 01 02 03 04 (seen in Debian armmp), a big-endian (BE8) one's 04 03 02 01.
    let endian = match header.marker {
        [0x04, 0x03, 0x02, 0x01] => Endian::Big,
        _ => Endian::Little,
    };
    Ok(Some(Detected::Layer {
        container: Container::ArmZimage,
        payload: Payload::Scan { range: 0..size },
        hints: Hints {
            arch: Some(Arch::Arm),
            class: Some(Class::Elf32),
            endian: Some(endian),
        },
    }))
}
