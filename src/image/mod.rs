//! Unwrapping a kernel image: container → (decompression) → kernel bytes.
//!
//! A kernel image is a container (x86 bzImage, EFI zboot, a bare compressed stream, or the kernel
//! itself) around the kernel proper: an ELF vmlinux (x86, ppc64) or a raw memory image (arm64
//! `Image`). Unwrapping repeats until the bytes are a kernel, at most [`MAX_DEPTH`] times, so
//! nested containers work and a crafted loop cannot recurse forever.

mod bzimage;

use std::borrow::Cow;

use serde::Serialize;

use crate::decompress::{self, Compression};
use crate::elf;
use crate::error::Problem;

/// How many container layers are unwrapped at most.
pub const MAX_DEPTH: usize = 4;

/// Default limit on an image's decompressed size.
pub const DEFAULT_IMAGE_LIMIT: u64 = 1 << 30;

/// The outer format of a kernel image file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Container {
    /// An ELF vmlinux given as is.
    Elf,
    /// An x86 bzImage (boot protocol header "HdrS").
    BzImage,
    /// A bare compressed stream (`Image.gz`, `vmlinux.xz`, …).
    Compressed,
    /// A raw kernel memory image (arm64 `Image`, …), no container.
    Raw,
}

/// What unwrapping found, layer by layer.
#[derive(Debug, Clone, Serialize)]
pub struct Unwrapped {
    /// The outermost container.
    pub container: Container,
    /// The compression of the kernel inside, if it was compressed.
    pub compression: Option<Compression>,
    /// Size of the compressed payload in bytes (0 when not compressed).
    pub payload_size: u64,
    /// Size of the kernel bytes after unwrapping.
    pub kernel_size: u64,
    /// True when the kernel bytes are an ELF file.
    pub is_elf: bool,
}

/// The kernel bytes and how they were obtained.
#[derive(Debug)]
pub struct KernelBytes<'a> {
    /// The kernel: ELF vmlinux or raw image.
    pub bytes: Cow<'a, [u8]>,
    /// What was unwrapped.
    pub info: Unwrapped,
}

/// Unwrap an image file's bytes down to the kernel.
pub fn unwrap(data: &[u8], limit: u64) -> Result<KernelBytes<'_>, Problem> {
    let mut info = Unwrapped {
        container: Container::Raw,
        compression: None,
        payload_size: 0,
        kernel_size: 0,
        is_elf: false,
    };
    let mut current: Cow<[u8]> = Cow::Borrowed(data);
    for depth in 0..MAX_DEPTH {
        let step = classify(&current)?;
        if depth == 0 {
            info.container = step.container();
        }
        match step {
            Step::Kernel { elf } => {
                info.is_elf = elf;
                info.kernel_size = current.len() as u64;
                return Ok(KernelBytes {
                    bytes: current,
                    info,
                });
            }
            Step::Payload { offset, len, .. } => {
                let end = offset
                    .checked_add(len)
                    .filter(|&e| e <= current.len())
                    .ok_or_else(|| {
                        Problem::Truncated(format!(
                            "payload at {offset:#x}+{len:#x} runs past the end ({:#x} bytes)",
                            current.len()
                        ))
                    })?;
                let payload = &current[offset..end];
                let format = Compression::sniff(payload).ok_or_else(|| {
                    Problem::UnknownFormat(format!(
                        "{} (payload at {offset:#x} has no known compression magic)",
                        hex_prefix(payload)
                    ))
                })?;
                info.compression = Some(format);
                info.payload_size = len as u64;
                // Non-gzip kernel payloads end with the uncompressed size (gzip's own trailer
                // holds it too): a hint that lets the decoder size its output once.
                let hint = payload
                    .get(payload.len().saturating_sub(4)..)
                    .and_then(|b| b.try_into().ok())
                    .map(|b: [u8; 4]| u64::from(u32::from_le_bytes(b)));
                let out = decompress::decompress_sized(payload, format, limit, hint)?;
                current = Cow::Owned(out);
            }
        }
    }
    Err(Problem::UnknownFormat(format!(
        "{} (more than {MAX_DEPTH} nested containers)",
        hex_prefix(&current)
    )))
}

enum Step {
    /// These bytes are the kernel.
    Kernel { elf: bool },
    /// A compressed payload at `offset`, `len` bytes long, inside `container`.
    Payload {
        container: Container,
        offset: usize,
        len: usize,
    },
}

impl Step {
    fn container(&self) -> Container {
        match self {
            Step::Kernel { elf: true } => Container::Elf,
            Step::Kernel { elf: false } => Container::Raw,
            Step::Payload { container, .. } => *container,
        }
    }
}

fn classify(data: &[u8]) -> Result<Step, Problem> {
    if elf::is_elf(data) {
        return Ok(Step::Kernel { elf: true });
    }
    if let Some(found) = bzimage::payload(data)? {
        return Ok(found);
    }
    if Compression::sniff(data).is_some() {
        return Ok(Step::Payload {
            container: Container::Compressed,
            offset: 0,
            len: data.len(),
        });
    }
    Err(Problem::UnknownFormat(hex_prefix(data)))
}

/// The first bytes of `data` in hex, for error messages.
pub(crate) fn hex_prefix(data: &[u8]) -> String {
    let shown: Vec<String> = data.iter().take(8).map(|b| format!("{b:02x}")).collect();
    if shown.is_empty() {
        "none: the file is empty".into()
    } else {
        shown.join(" ")
    }
}

#[cfg(test)]
mod tests;
