//! FIT images (U-Boot's Flattened Image Tree, `.itb`, made by `mkimage -f image.its`), as
//! U-Boot, ChromeOS and Yocto boards boot them: a flattened device tree (magic `d0 0d fe ed`)
//! whose `/images` node holds one node per image (kernel, device trees, ramdisk…) and whose
//! `/configurations` node says which of them boot together. Layout from U-Boot's
//! doc/usage/fit/source_file_format.rst and boot/image-fit.c:
//!
//! - an image node has `type` (`kernel`, `kernel_noload`, `flat_dt`, `ramdisk`…), `arch`,
//!   `compression` (`none`, `gzip`, `bzip2`, `lzma`, `lzo`, `lz4`, `zstd`) and its bytes: in a
//!   `data` property, or outside the tree (`mkimage -E`) at `data-offset` bytes after the tree
//!   (its `totalsize` rounded up to 4), or at the absolute `data-position` (`mkimage -p`), both
//!   with `data-size`;
//! - the kernel is the one the default configuration names (`/configurations/default` → that
//!   configuration's `kernel`), else the first image of a kernel type.
//!
//! The tree is read with dtoolkit, which checks the whole structure block before anything is
//! looked up. A device tree without `/images` is a board's `.dtb`, not a FIT image: an error
//! that says so, never a raw kernel.

use dtoolkit::fdt::{Fdt, FdtNode};
use dtoolkit::{Node, Property};

use super::{Arch, Container, Detected, Hints, Payload};
use crate::bytes::be_u32;
use crate::decompress::Compression;
use crate::elf::Class;
use crate::error::Problem;

/// `FDT_MAGIC`.
const MAGIC: [u8; 4] = [0xd0, 0x0d, 0xfe, 0xed];
/// The container's name in messages.
const NAME: &str = "FIT image";
/// What the bytes are called before they are known to be a FIT image.
const DEVICE_TREE: &str = "flattened device tree";

fn bad(detail: impl Into<String>) -> Problem {
    Problem::Container {
        container: NAME,
        detail: detail.into(),
    }
}

/// A FIT image's kernel, stored or compressed as its `compression` property says.
pub(super) fn detect(data: &[u8]) -> Result<Option<Detected>, Problem> {
    if !data.starts_with(&MAGIC) {
        return Ok(None);
    }
    let total = be_u32(data, 4).unwrap_or(0) as usize;
    let tree = data.get(..total).ok_or_else(|| {
        Problem::Truncated(format!(
            "the flattened device tree header declares {total} bytes, the file has {}",
            data.len()
        ))
    })?;
    // Until /images is found, this is any device tree.
    let fdt = Fdt::new(tree).map_err(|e| Problem::Container {
        container: DEVICE_TREE,
        detail: format!("not a valid device tree: {e}"),
    })?;
    let images = fdt.find_node("/images").ok_or_else(|| Problem::Container {
        container: DEVICE_TREE,
        detail: "it has no /images node: a board's device tree (.dtb), not a FIT image with a \
                 kernel"
            .into(),
    })?;
    let node = kernel_node(&fdt, &images)?;
    let name = node.name();
    let image_type = string(&node, "type");
    if !matches!(image_type, Some("kernel" | "kernel_noload")) {
        return Err(bad(format!(
            "image {name:?} is of type {}, not a kernel",
            image_type.map_or_else(|| "(none)".into(), |t| format!("{t:?}"))
        )));
    }
    let range = data_range(data, tree, &node)?;
    let (arch, class) = string(&node, "arch").map_or((None, None), arch);
    let hints = Hints {
        arch,
        class,
        endian: None,
    };
    let payload = match string(&node, "compression").unwrap_or("none") {
        "none" => Payload::Stored { range },
        other => Payload::Compressed {
            named: Some(compression(other)?),
            // mkimage adds no size trailer; a kernel build's payload inside one may have one.
            size_end: range.end,
            range,
        },
    };
    Ok(Some(Detected::Layer {
        container: Container::Fit,
        payload,
        hints,
    }))
}

/// The kernel's image node: the default configuration's `kernel`, else the first image whose
/// `type` is a kernel.
fn kernel_node<'a>(fdt: &Fdt<'a>, images: &FdtNode<'a>) -> Result<FdtNode<'a>, Problem> {
    let configured = fdt.find_node("/configurations").and_then(|configurations| {
        let default = string(&configurations, "default")?;
        let configuration = configurations.child(default)?;
        string(&configuration, "kernel").map(str::to_owned)
    });
    match configured {
        Some(name) => images.child(&name).ok_or_else(|| {
            bad(format!(
                "the default configuration names kernel {name:?}, which /images does not have"
            ))
        }),
        None => images
            .children()
            .find(|n| matches!(string(n, "type"), Some("kernel" | "kernel_noload")))
            .ok_or_else(|| bad("no image in /images is a kernel")),
    }
}

/// The file range of an image node's bytes: its `data` property, or `data-size` bytes at
/// `data-position`, or at `data-offset` after the tree.
fn data_range(
    data: &[u8],
    tree: &[u8],
    node: &FdtNode<'_>,
) -> Result<std::ops::Range<usize>, Problem> {
    if let Some(inline) = node.property("data") {
        let value = inline.value();
        // The property's bytes are a part of `tree`, which starts `data`.
        let start = (value.as_ptr() as usize).wrapping_sub(tree.as_ptr() as usize);
        return Ok(start..start + value.len());
    }
    let size = u32_property(node, "data-size").ok_or_else(|| {
        bad(format!(
            "image {:?} has neither data nor data-size",
            node.name()
        ))
    })?;
    let start = match (
        u32_property(node, "data-position"),
        u32_property(node, "data-offset"),
    ) {
        (Some(position), _) => position as usize,
        (None, Some(offset)) => tree.len().next_multiple_of(4) + offset as usize,
        (None, None) => {
            return Err(bad(format!(
                "image {:?} has data-size but neither data-offset nor data-position",
                node.name()
            )))
        }
    };
    let range = start..start.saturating_add(size as usize);
    if range.end > data.len() {
        return Err(Problem::Truncated(format!(
            "{NAME}: the kernel's external data at {start:#x}+{size:#x} runs past the end ({:#x} \
             bytes)",
            data.len()
        )));
    }
    Ok(range)
}

/// A string property (NUL-terminated UTF-8).
fn string<'n>(node: &'n FdtNode<'_>, name: &str) -> Option<&'n str> {
    node.property(name)?.value_as::<&str>().ok()
}

/// A one-cell (`u32`) property.
fn u32_property(node: &FdtNode<'_>, name: &str) -> Option<u32> {
    node.property(name)?.value_as::<u32>().ok()
}

/// The compression a FIT `compression` property names (U-Boot's `uimage_comp` table, the
/// same names `mkimage -C` takes). `lz4` is U-Boot's frame format, but the payload's magic
/// decides the framing.
fn compression(name: &str) -> Result<Compression, Problem> {
    Ok(match name {
        "gzip" => Compression::Gzip,
        "bzip2" => Compression::Bzip2,
        "lzma" => Compression::Lzma,
        "lzo" => Compression::Lzo,
        "lz4" => Compression::Lz4Frame,
        "zstd" => Compression::Zstd,
        other => {
            return Err(Problem::UnknownCompressionName {
                container: NAME,
                name: other.into(),
            })
        }
    })
}

/// The architecture an `arch` property names (U-Boot's `uimage_arch` short names), with its
/// word size where the name says it.
fn arch(name: &str) -> (Option<Arch>, Option<Class>) {
    match name {
        "arm" => (Some(Arch::Arm), Some(Class::Elf32)),
        "arm64" => (Some(Arch::Arm64), Some(Class::Elf64)),
        "x86" => (Some(Arch::X86), Some(Class::Elf32)),
        "x86_64" => (Some(Arch::X86), Some(Class::Elf64)),
        "mips" => (Some(Arch::Mips), Some(Class::Elf32)),
        "mips64" => (Some(Arch::Mips), Some(Class::Elf64)),
        "powerpc" | "ppc" => (Some(Arch::Powerpc), None),
        "s390" => (Some(Arch::S390), Some(Class::Elf64)),
        "riscv" => (Some(Arch::Riscv), None),
        _ => (None, None),
    }
}
