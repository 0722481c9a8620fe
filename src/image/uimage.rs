//! U-Boot legacy images (`uImage`, made by `mkimage -A ARCH -O linux -T kernel -C COMP`), as
//! U-Boot boards, OpenWrt and old vendor trees boot them. Layout from U-Boot's include/image.h
//! (`struct legacy_img_hdr`, all fields big-endian): magic 0x27051956, header CRC, time, data
//! size, load address, entry point, data CRC, then one byte each for OS, architecture, image
//! type and compression, and a 32-byte name: 64 bytes, the data right after.
//!
//! A multi-file image (`-T multi`) starts its data with a table of big-endian sizes ended by a
//! zero, then the files, each padded to 4 bytes; the kernel is the first.

use super::{Arch, Container, Detected, Hints, Payload};
use crate::bytes::be_u32;
use crate::decompress::Compression;
use crate::elf::Class;
use crate::error::Problem;

/// `IH_MAGIC`.
const MAGIC: u32 = 0x2705_1956;
/// Size of `struct legacy_img_hdr`.
const HEADER_SIZE: usize = 64;
/// The container's name in messages.
const NAME: &str = "U-Boot uImage";

/// `struct legacy_img_hdr`, the fields this reader needs.
#[derive(Debug, Clone, Copy)]
struct LegacyHeader {
    /// `ih_hcrc`: CRC-32 of the header with this field zeroed.
    header_crc: u32,
    /// `ih_size`: bytes of data after the header.
    data_size: u32,
    /// `ih_dcrc`: CRC-32 of the data.
    data_crc: u32,
    /// `ih_arch` (`IH_ARCH_*`).
    arch: u8,
    /// `ih_type` (`IH_TYPE_*`).
    image_type: u8,
    /// `ih_comp` (`IH_COMP_*`).
    compression: u8,
}

impl LegacyHeader {
    fn parse(data: &[u8]) -> Option<Self> {
        if be_u32(data, 0)? != MAGIC {
            return None;
        }
        let bytes = data.get(..HEADER_SIZE)?;
        Some(LegacyHeader {
            header_crc: be_u32(bytes, 4)?,
            data_size: be_u32(bytes, 12)?,
            data_crc: be_u32(bytes, 24)?,
            arch: bytes[29],
            image_type: bytes[30],
            compression: bytes[31],
        })
    }
}

/// `IH_TYPE_*` values that hold a kernel: `KERNEL` (2), `MULTI` (4, the kernel first),
/// `KERNEL_NOLOAD` (14).
const TYPE_KERNEL: u8 = 2;
const TYPE_MULTI: u8 = 4;
const TYPE_KERNEL_NOLOAD: u8 = 14;

/// The compression `IH_COMP_*` names: `None` for `IH_COMP_NONE`, an error for a value U-Boot
/// does not define. `IH_COMP_LZ4` is what U-Boot decodes with the LZ4 frame format
/// (lib/lz4_wrapper.c), but kernel builds also wrap their legacy-framed `Image.lz4`: the
/// header names the family, the payload's own magic decides the framing.
fn compression(value: u8) -> Result<Option<Compression>, Problem> {
    Ok(Some(match value {
        0 => return Ok(None),
        1 => Compression::Gzip,
        2 => Compression::Bzip2,
        3 => Compression::Lzma,
        4 => Compression::Lzo,
        5 => Compression::Lz4Frame,
        6 => Compression::Zstd,
        n => {
            return Err(Problem::BadHeaderField {
                container: NAME,
                field: "compression (ih_comp)",
                value: u64::from(n),
            })
        }
    }))
}

/// The architecture `IH_ARCH_*` names, with its word size where the name says it.
fn arch(value: u8) -> (Option<Arch>, Option<Class>) {
    match value {
        2 => (Some(Arch::Arm), Some(Class::Elf32)),
        3 => (Some(Arch::X86), Some(Class::Elf32)),
        5 => (Some(Arch::Mips), Some(Class::Elf32)),
        6 => (Some(Arch::Mips), Some(Class::Elf64)),
        7 => (Some(Arch::Powerpc), None),
        8 => (Some(Arch::S390), Some(Class::Elf64)),
        22 => (Some(Arch::Arm64), Some(Class::Elf64)),
        24 => (Some(Arch::X86), Some(Class::Elf64)),
        26 => (Some(Arch::Riscv), None),
        _ => (None, None),
    }
}

/// A uImage's kernel: the data (or a multi-file image's first file), stored or compressed as
/// the header says. Both CRCs are checked, as U-Boot does before booting: a damaged image is
/// an error, not a table read from damaged bytes.
pub(super) fn detect(data: &[u8]) -> Result<Option<Detected>, Problem> {
    let Some(header) = LegacyHeader::parse(data) else {
        return Ok(None);
    };
    let mut zeroed = [0u8; HEADER_SIZE];
    zeroed.copy_from_slice(&data[..HEADER_SIZE]);
    zeroed[4..8].fill(0);
    let actual = crc32(&zeroed);
    if actual != header.header_crc {
        return Err(Problem::ChecksumMismatch {
            container: NAME,
            what: "header",
            expected: header.header_crc,
            actual,
        });
    }
    let end = HEADER_SIZE.saturating_add(header.data_size as usize);
    let body = data.get(HEADER_SIZE..end).ok_or_else(|| {
        Problem::Truncated(format!(
            "{NAME} declares {} bytes of data, the file has {}",
            header.data_size,
            data.len().saturating_sub(HEADER_SIZE)
        ))
    })?;
    let actual = crc32(body);
    if actual != header.data_crc {
        return Err(Problem::ChecksumMismatch {
            container: NAME,
            what: "data",
            expected: header.data_crc,
            actual,
        });
    }
    let range = match header.image_type {
        TYPE_KERNEL | TYPE_KERNEL_NOLOAD => HEADER_SIZE..end,
        TYPE_MULTI => first_file(body)?,
        other => {
            return Err(Problem::BadHeaderField {
                container: NAME,
                field: "image type (ih_type), not a kernel",
                value: u64::from(other),
            })
        }
    };
    let (arch, class) = arch(header.arch);
    let hints = Hints {
        arch,
        class,
        endian: None,
    };
    let payload = match compression(header.compression)? {
        None => Payload::Stored { range },
        Some(named) => Payload::Compressed {
            // U-Boot's images carry no size trailer; a kernel build's payload inside one may.
            size_end: range.end,
            range,
            named: Some(named),
        },
    };
    Ok(Some(Detected::Layer {
        container: Container::UImage,
        payload,
        hints,
    }))
}

/// The file range (in the whole image) of a multi-file image's first file.
fn first_file(body: &[u8]) -> Result<std::ops::Range<usize>, Problem> {
    let mut count = 0usize;
    while be_u32(body, 4 * count).ok_or_else(|| {
        Problem::Truncated(format!("{NAME}: the multi-file size table has no end"))
    })? != 0
    {
        count += 1;
    }
    if count == 0 {
        return Err(Problem::EmptyPayload { container: NAME });
    }
    let first = be_u32(body, 0).unwrap_or(0) as usize;
    let start = HEADER_SIZE + 4 * (count + 1);
    Ok(start..start.saturating_add(first))
}

/// CRC-32 (IEEE, as zlib computes it), which U-Boot uses for both checksums.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}
