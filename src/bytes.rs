//! Reading fixed-size integers and C strings out of byte slices, bounds-checked: the toolkit
//! every reader of kernel data uses (ELF files, container headers, export tables).
//!
//! Every function returns `None` instead of panicking when the bytes asked for are not there.

/// Byte order of a file or of the kernel it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Endian {
    /// Little endian.
    Little,
    /// Big endian.
    Big,
}

/// Read an unsigned integer of `size` bytes at `at` with byte order `endian`.
#[inline]
pub fn read_uint(bytes: &[u8], at: usize, size: usize, endian: Endian) -> Option<u64> {
    let field = bytes.get(at..at.checked_add(size)?)?;
    // The common sizes in one load each (the raw scan reads every word of an image).
    match (size, endian) {
        (4, Endian::Little) => return Some(u64::from(u32::from_le_bytes(field.try_into().ok()?))),
        (4, Endian::Big) => return Some(u64::from(u32::from_be_bytes(field.try_into().ok()?))),
        (8, Endian::Little) => return Some(u64::from_le_bytes(field.try_into().ok()?)),
        (8, Endian::Big) => return Some(u64::from_be_bytes(field.try_into().ok()?)),
        _ => {}
    }
    let mut value = 0u64;
    match endian {
        Endian::Little => {
            for &b in field.iter().rev() {
                value = (value << 8) | u64::from(b);
            }
        }
        Endian::Big => {
            for &b in field {
                value = (value << 8) | u64::from(b);
            }
        }
    }
    Some(value)
}

/// The little-endian `u16` at `at` (container headers: bzImage, zboot, Android, …).
pub fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    read_uint(bytes, at, 2, Endian::Little).map(|v| v as u16)
}

/// The little-endian `u32` at `at`.
pub fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    read_uint(bytes, at, 4, Endian::Little).map(|v| v as u32)
}

/// Sign-extend the low `size` bytes of `raw`.
pub fn sign_extend(raw: u64, size: usize) -> i64 {
    match size {
        1 => raw as u8 as i8 as i64,
        2 => raw as u16 as i16 as i64,
        4 => raw as u32 as i32 as i64,
        _ => raw as i64,
    }
}

/// The NUL-terminated string starting at `at` in `bytes`.
pub fn c_str(bytes: &[u8], at: usize) -> Option<&[u8]> {
    let tail = bytes.get(at..)?;
    let end = tail.iter().position(|&b| b == 0)?;
    Some(&tail[..end])
}

/// The big-endian `u32` at `at` (U-Boot headers, FDT).
pub fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    read_uint(bytes, at, 4, Endian::Big).map(|v| v as u32)
}
