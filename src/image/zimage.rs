//! The 32-bit arm `zImage` (arch/arm/boot/compressed/head.S): a position-independent
//! decompressor with the compressed raw kernel (`piggy_data`, with a 4-byte LE size trailer)
//! somewhere inside. Header words: magic 0x016F2818 at 0x24, start and end addresses at 0x28
//! and 0x2c (`end - start` is the zImage size; a device tree may be appended after it), and an
//! endianness marker 0x04030201 at 0x30 as the running kernel reads it.

use super::le_u32;
use crate::elf::Endian;

/// What the header says about a zImage.
pub(super) struct ZImage {
    /// Bytes of the zImage proper, without an appended device tree.
    pub size: usize,
    /// Byte order of the kernel inside.
    pub endian: Endian,
}

/// The header of an arm zImage, `None` when `data` is not one.
pub(super) fn header(data: &[u8]) -> Option<ZImage> {
    if le_u32(data, 0x24)? != 0x016f_2818 {
        return None;
    }
    let (start, end) = (le_u32(data, 0x28)?, le_u32(data, 0x2c)?);
    let declared = end.checked_sub(start).map(|n| n as usize);
    let size = declared
        .filter(|&n| n > 0x30 && n <= data.len())
        .unwrap_or(data.len());
    // The marker is the native word 0x04030201: a little-endian kernel's bytes read
    // 01 02 03 04 (seen in Debian armmp), a big-endian (BE8) one's 04 03 02 01.
    let endian = match data.get(0x30..0x34) {
        Some([0x04, 0x03, 0x02, 0x01]) => Endian::Big,
        _ => Endian::Little,
    };
    Some(ZImage { size, endian })
}
