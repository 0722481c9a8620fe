//! Android boot images (`boot.img`, system/tools/mkbootimg/include/bootimg/bootimg.h): "ANDROID!"
//! at 0, the kernel size at 8, the kernel at the first page. Header versions 0–2 store the page
//! size at 36; versions 3 and 4 use a fixed 4096-byte page. The header version is at 40 in all.

use super::{Container, Detected, Hints, Payload};
use crate::bytes::le_u32;
use crate::error::Problem;

/// The fields of `boot_img_hdr_v*` this reader needs.
#[derive(Debug, Clone, Copy)]
struct BootImageHeader {
    /// `kernel_size`.
    kernel_size: u32,
    /// `header_version` (offset 40 in every version; unused before version 1).
    header_version: u32,
    /// `page_size` at 36 (versions 0–2 only).
    page_size: Option<u32>,
}

impl BootImageHeader {
    fn parse(data: &[u8]) -> Result<Option<Self>, Problem> {
        if !data.starts_with(b"ANDROID!") {
            return Ok(None);
        }
        let (Some(kernel_size), Some(header_version)) = (le_u32(data, 8), le_u32(data, 40)) else {
            return Err(Problem::Truncated("Android boot image header".into()));
        };
        Ok(Some(BootImageHeader {
            kernel_size,
            header_version,
            page_size: le_u32(data, 36),
        }))
    }
}

/// The kernel inside an Android boot image, stored as is at the first page.
pub(super) fn detect(data: &[u8]) -> Result<Option<Detected>, Problem> {
    let Some(header) = BootImageHeader::parse(data)? else {
        return Ok(None);
    };
    // Before version 1, offset 40 was unused (or a vendor's device-tree size): anything but
    // 3 and 4 has the page size at 36.
    let page = match header.header_version {
        3 | 4 => 4096,
        _ => header
            .page_size
            .ok_or_else(|| Problem::Truncated("Android boot image header".into()))?,
    };
    if !(2048..=(1 << 20)).contains(&page) || !page.is_power_of_two() {
        return Err(Problem::BadHeaderField {
            container: "Android boot image",
            field: "page size",
            value: u64::from(page),
        });
    }
    if header.kernel_size == 0 {
        return Err(Problem::EmptyPayload {
            container: "Android boot image",
        });
    }
    let start = page as usize;
    Ok(Some(Detected::Layer {
        container: Container::AndroidBoot,
        payload: Payload::Stored {
            range: start..start.saturating_add(header.kernel_size as usize),
        },
        hints: Hints::default(),
    }))
}
