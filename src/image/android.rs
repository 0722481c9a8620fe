//! Android boot images (`boot.img`, system/tools/mkbootimg/include/bootimg/bootimg.h): "ANDROID!"
//! at 0, the kernel size at 8, the kernel at the first page. Header versions 0–2 store the page
//! size at 36; versions 3 and 4 use a fixed 4096-byte page. The header version is at 40 in all.

use super::le_u32;
use crate::error::Problem;

/// The kernel inside an Android boot image as `(offset, size)`, `None` when `data` is not one.
pub(super) fn kernel(data: &[u8]) -> Result<Option<(usize, usize)>, Problem> {
    if !data.starts_with(b"ANDROID!") {
        return Ok(None);
    }
    let (Some(size), Some(version)) = (le_u32(data, 8), le_u32(data, 40)) else {
        return Err(Problem::Truncated("Android boot image header".into()));
    };
    // Before version 1, offset 40 was unused (or a vendor's device-tree size): anything but
    // 3 and 4 has the page size at 36.
    let page = match version {
        3 | 4 => 4096,
        _ => le_u32(data, 36)
            .ok_or_else(|| Problem::Truncated("Android boot image header".into()))?,
    };
    if !(2048..=(1 << 20)).contains(&page) || !page.is_power_of_two() {
        return Err(Problem::BadHeaderField {
            container: "Android boot image",
            field: "page size",
            value: u64::from(page),
        });
    }
    if size == 0 {
        return Err(Problem::EmptyPayload {
            container: "Android boot image",
        });
    }
    Ok(Some((page as usize, size as usize)))
}
