//! Unwrapping a kernel image: container → (decompression) → kernel bytes.
//!
//! A kernel image is a container (x86 bzImage, EFI zboot, arm zImage, s390 image, MIPS
//! vmlinuz, Android boot.img, a bare compressed stream, or the kernel itself) around the kernel
//! proper: an ELF vmlinux (x86, ppc64, an unstripped vmlinux) or a raw memory image (arm64 and
//! RISC-V `Image`, the payload of an arm zImage or s390 image). Unwrapping repeats until the
//! bytes are a kernel ([`probe::kernel_kind`]), at most [`MAX_DEPTH`] times, so nested
//! containers work (an `Image.gz` inside a boot.img) and a crafted loop cannot recurse forever.

mod android;
mod bzimage;
pub mod probe;
pub mod scan;
mod zboot;
mod zimage;

use std::borrow::Cow;
use std::ops::Range;

use serde::Serialize;

use crate::bytes::{le_u16, le_u32};
use crate::decompress::{self, Compression};
use crate::elf::{self, Class, Endian};
use crate::error::Problem;

pub use probe::KernelKind;

/// How many container layers are unwrapped at most.
pub const MAX_DEPTH: usize = 4;

/// Default limit on an image's decompressed size.
pub const DEFAULT_IMAGE_LIMIT: u64 = 1 << 30;

/// The format of one layer of a kernel image file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Container {
    /// An ELF vmlinux given as is.
    Elf,
    /// An x86 bzImage (boot protocol header "HdrS").
    BzImage,
    /// An EFI zboot image ("MZ" + "zimg"; arm64, riscv, loongarch since 6.1).
    EfiZboot,
    /// A 32-bit arm zImage (magic 0x016F2818 at 0x24).
    ArmZimage,
    /// An s390 image ("S390EP" at 0x10008) whose decompressor carries the kernel.
    S390,
    /// An ELF decompressor (MIPS vmlinuz) with the compressed kernel inside (`.image`).
    ElfDecompressor,
    /// An Android boot image ("ANDROID!").
    AndroidBoot,
    /// A bare compressed stream (`Image.gz`, `vmlinux.xz`, …).
    Compressed,
    /// An unknown container in which a compressed kernel was found by scanning.
    Embedded,
    /// A raw kernel memory image (arm64 `Image`, …), no container.
    Raw,
}

/// The architecture a container or image header names (a hint for raw kernels, which have no
/// ELF header to say it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    /// x86 (bzImage: i386 or x86_64).
    X86,
    /// 32-bit arm.
    Arm,
    /// arm64.
    Arm64,
    /// RISC-V.
    Riscv,
    /// s390x.
    S390,
    /// MIPS.
    Mips,
    /// LoongArch.
    Loongarch,
    /// PowerPC.
    Powerpc,
}

impl Arch {
    /// The architecture of an ELF `e_machine` (include/uapi/linux/elf-em.h).
    pub fn from_elf_machine(machine: u16) -> Option<Self> {
        Some(match machine {
            3 | 62 => Arch::X86,
            40 => Arch::Arm,
            183 => Arch::Arm64,
            243 => Arch::Riscv,
            22 => Arch::S390,
            8 | 10 => Arch::Mips,
            258 => Arch::Loongarch,
            20 | 21 => Arch::Powerpc,
            _ => return None,
        })
    }
}

/// One unwrapped layer, outermost first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layer {
    /// The format of this layer.
    pub container: Container,
    /// The compression of the payload it holds (`None`: stored as is).
    pub compression: Option<Compression>,
    /// Offset of the payload in this layer's bytes.
    pub payload_offset: u64,
    /// Size of the payload in bytes (for a scanned payload: up to the end of the scanned range).
    pub payload_size: u64,
    /// Size of the bytes the payload unwrapped to.
    pub output_size: u64,
}

/// What unwrapping found.
#[derive(Debug, Clone, Serialize)]
pub struct Unwrapped {
    /// The outermost container.
    pub container: Container,
    /// The compression of the kernel inside, if it was compressed (innermost compressed layer).
    pub compression: Option<Compression>,
    /// Offset of that compressed payload in the layer that held it.
    pub payload_offset: u64,
    /// Size of that compressed payload in bytes (0 when not compressed).
    pub payload_size: u64,
    /// Size of the kernel bytes after unwrapping (when `partial`: the bytes decoded).
    pub kernel_size: u64,
    /// True when decoding stopped early, once the kernel's export tables were read (see
    /// [`unwrap_early`]).
    pub partial: bool,
    /// True when the kernel bytes are an ELF file.
    pub is_elf: bool,
    /// What the kernel bytes are.
    pub kind: KernelKind,
    /// Architecture named by a container or image header, if any.
    pub arch: Option<Arch>,
    /// Word size of a raw kernel as its container or header says (`None` for ELF kernels,
    /// whose header says it, and when unknown).
    pub class_hint: Option<Class>,
    /// Byte order of a raw kernel as its container or header says (`None` as for `class_hint`).
    pub endian_hint: Option<Endian>,
    /// Every layer, outermost first (empty when the file is the kernel).
    pub layers: Vec<Layer>,
}

/// The kernel bytes and how they were obtained.
#[derive(Debug)]
pub struct KernelBytes<'a> {
    /// The kernel: ELF vmlinux or raw image.
    pub bytes: Cow<'a, [u8]>,
    /// What was unwrapped.
    pub info: Unwrapped,
}

/// What one layer holds.
enum Step {
    /// These bytes are the kernel.
    Kernel(KernelKind),
    /// A payload at a known place: compressed (its format sniffed or named by the header) or,
    /// with `stored`, the next layer as is.
    Payload {
        container: Container,
        range: Range<usize>,
        named: Option<Compression>,
        stored: bool,
        /// Where the 4-byte little-endian uncompressed size the kernel's build appends ends (a
        /// gzip stream's own ISIZE trailer serves too): the payload's end, except for EFI zboot,
        /// whose header leaves the trailer out of the payload size.
        size_end: usize,
    },
    /// A compressed kernel somewhere in `range`, to be found by scanning; if none is found,
    /// the bytes themselves must be a raw kernel (an uncompressed s390 image, say).
    Scan {
        container: Container,
        range: Range<usize>,
    },
}

/// Hints gathered on the way down.
#[derive(Default)]
struct Hints {
    arch: Option<Arch>,
    class: Option<Class>,
    endian: Option<Endian>,
}

/// What the caller of [`unwrap_early`] wants once it has seen the start of an ELF kernel
/// being decompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Decode at least this many bytes of the kernel and ask again.
    Bytes(usize),
    /// Enough has been read: stop decoding.
    Stop,
    /// Decode the whole kernel.
    All,
}

/// Kernel bytes, or what was learned when decoding stopped early.
#[derive(Debug)]
pub enum Unwrapping<'a> {
    /// The whole kernel.
    Whole(KernelBytes<'a>),
    /// The caller said [`Want::Stop`]: the kernel was decoded only in part.
    Stopped(Unwrapped),
}

/// Bytes of a kernel decoded before [`unwrap_early`] first asks: an ELF file header and
/// program header table fit easily.
pub const EARLY_PROBE: usize = 1 << 12;

/// Unwrap an image file's bytes down to the kernel. `limit` bounds every decompression.
pub fn unwrap(data: &[u8], limit: u64) -> Result<KernelBytes<'_>, Problem> {
    match unwrap_early(data, limit, |_| Want::All)? {
        Unwrapping::Whole(kernel) => Ok(kernel),
        Unwrapping::Stopped(_) => Err(Problem::Truncated(
            "decoding stopped early though the whole kernel was wanted".into(),
        )),
    }
}

/// Like [`unwrap`], but when the kernel is an ELF file decompressed through a stream (an x86
/// bzImage with gzip, bzip2, xz or lzma), `early` sees its first [`EARLY_PROBE`] bytes and then
/// as many as it asks for, and may stop the decoding there. Formats decoded in one call (zstd,
/// lz4, lzo) and raw kernels are always decoded whole.
pub fn unwrap_early(
    data: &[u8],
    limit: u64,
    mut early: impl FnMut(&[u8]) -> Want,
) -> Result<Unwrapping<'_>, Problem> {
    let mut layers: Vec<Layer> = Vec::new();
    let mut hints = Hints::default();
    let mut current: Cow<[u8]> = Cow::Borrowed(data);
    for depth in 0..=MAX_DEPTH {
        let (layer, next) = match classify(&current, &mut hints)? {
            Step::Kernel(kind) => {
                return Ok(Unwrapping::Whole(finish(current, kind, layers, hints)))
            }
            _ if depth == MAX_DEPTH => break,
            Step::Payload {
                container,
                range,
                named,
                stored,
                size_end,
            } => {
                let payload = current.get(range.clone()).ok_or_else(|| {
                    Problem::Truncated(format!(
                        "{} payload at {:#x}+{:#x} runs past the end ({:#x} bytes)",
                        container_name(container),
                        range.start,
                        range.len(),
                        current.len()
                    ))
                })?;
                if stored {
                    let layer = Layer {
                        container,
                        compression: None,
                        payload_offset: range.start as u64,
                        payload_size: range.len() as u64,
                        output_size: range.len() as u64,
                    };
                    let next = match &current {
                        Cow::Borrowed(d) => Cow::Borrowed(&d[range]),
                        Cow::Owned(v) => Cow::Owned(v[range].to_vec()),
                    };
                    (layer, next)
                } else {
                    let format =
                        Compression::sniff(payload).ok_or_else(|| Problem::NoCompressionMagic {
                            container: container_name(container),
                            offset: range.start as u64,
                            first_bytes: hex_prefix(payload),
                        })?;
                    if let Some(named) = named.filter(|&n| n != format) {
                        return Err(Problem::CompressionMismatch {
                            container: container_name(container),
                            named: named.name(),
                            found: format.name(),
                            offset: range.start as u64,
                        });
                    }
                    // Non-gzip kernel payloads end with the uncompressed size (gzip's own
                    // trailer holds it too): a hint that lets the decoder size its output once
                    // (for zstd it also avoids a window buffer as large as the kernel).
                    let hint = le_u32(&current, size_end.saturating_sub(4)).map(u64::from);
                    let mut layer = Layer {
                        container,
                        compression: Some(format),
                        payload_offset: range.start as u64,
                        payload_size: range.len() as u64,
                        output_size: 0,
                    };
                    match decode_payload(payload, format, limit, hint, &mut early)? {
                        Decoded::Whole(out) => {
                            layer.output_size = out.len() as u64;
                            (layer, Cow::Owned(out))
                        }
                        Decoded::Stopped { machine, decoded } => {
                            layer.output_size = decoded;
                            layers.push(layer);
                            hints.arch = machine.and_then(Arch::from_elf_machine).or(hints.arch);
                            let mut info = unwrapped(KernelKind::Elf, decoded, layers, hints);
                            info.partial = true;
                            return Ok(Unwrapping::Stopped(info));
                        }
                    }
                }
            }
            Step::Scan { container, range } => {
                match scan::find_kernel(&current, range.clone(), limit)? {
                    Some(found) => {
                        let layer = Layer {
                            container,
                            compression: Some(found.compression),
                            payload_offset: found.offset as u64,
                            payload_size: found.available as u64,
                            output_size: found.kernel.len() as u64,
                        };
                        // The scan accepted it as a kernel: no need to classify it again.
                        layers.push(layer);
                        let kernel = Cow::Owned(found.kernel);
                        return Ok(Unwrapping::Whole(finish(kernel, found.kind, layers, hints)));
                    }
                    // An ELF without exports or banner and without a payload: let the
                    // export reader say what it lacks rather than call it unknown.
                    None if container == Container::ElfDecompressor => {
                        return Ok(Unwrapping::Whole(finish(
                            current,
                            KernelKind::Elf,
                            layers,
                            hints,
                        )));
                    }
                    // classify found it no kernel before choosing to scan it.
                    None if container == Container::Embedded => {
                        return Err(unknown_format(&current));
                    }
                    None => {
                        if let Some(kind) = probe::kernel_kind(&current) {
                            return Ok(Unwrapping::Whole(finish(current, kind, layers, hints)));
                        }
                        return Err(Problem::NoKernelInside {
                            container: container_name(container),
                            candidates: scan::candidates(&current, range).len(),
                            first_bytes: hex_prefix(&current),
                        });
                    }
                }
            }
        };
        layers.push(layer);
        current = next;
    }
    Err(Problem::TooDeep {
        depth: MAX_DEPTH,
        first_bytes: hex_prefix(&current),
    })
}

/// A decompressed payload, whole or stopped early.
enum Decoded {
    Whole(Vec<u8>),
    /// Stopped after `decoded` bytes of an ELF file for machine `machine`.
    Stopped {
        machine: Option<u16>,
        decoded: u64,
    },
}

/// Decompress one payload; if it is an ELF file decoded through a stream, let `early` decide
/// how far.
fn decode_payload(
    payload: &[u8],
    format: Compression,
    limit: u64,
    hint: Option<u64>,
    early: &mut impl FnMut(&[u8]) -> Want,
) -> Result<Decoded, Problem> {
    let mut stream = decompress::Decoder::new(payload, format, limit, hint)?;
    let mut want = Want::Bytes(EARLY_PROBE);
    loop {
        match want {
            Want::Bytes(len) => {
                let before = stream.decoded().len();
                stream.fill_to(len)?;
                let prefix = stream.decoded();
                // Asking for no more than is there would ask forever.
                if stream.ended() || prefix.len() <= before || !elf::is_elf(prefix) {
                    break;
                }
                want = early(prefix);
            }
            Want::Stop => {
                let prefix = stream.decoded();
                return Ok(Decoded::Stopped {
                    machine: elf::machine(prefix),
                    decoded: prefix.len() as u64,
                });
            }
            Want::All => break,
        }
    }
    stream.finish().map(Decoded::Whole)
}

fn finish(
    bytes: Cow<'_, [u8]>,
    kind: KernelKind,
    layers: Vec<Layer>,
    mut hints: Hints,
) -> KernelBytes<'_> {
    // The raw image headers say more than the container.
    match kind {
        KernelKind::Arm64Image => {
            hints.arch = Some(Arch::Arm64);
            hints.class = Some(Class::Elf64);
            // Image header flags at 0x18, bit 0: kernel endianness, 1 = big
            // (Documentation/arch/arm64/booting.rst).
            let be = bytes.get(0x18).is_some_and(|f| f & 1 == 1);
            hints.endian = Some(if be { Endian::Big } else { Endian::Little });
        }
        KernelKind::RiscvImage => {
            hints.arch = Some(Arch::Riscv);
            hints.endian = Some(Endian::Little);
        }
        KernelKind::Elf => {
            hints.class = None;
            hints.endian = None;
            hints.arch = elf::machine(&bytes)
                .and_then(Arch::from_elf_machine)
                .or(hints.arch);
        }
        KernelKind::Raw => {}
    }
    let info = unwrapped(kind, bytes.len() as u64, layers, hints);
    KernelBytes { bytes, info }
}

/// What unwrapping found: `kernel_size` bytes of a `kind` kernel under `layers`.
fn unwrapped(kind: KernelKind, kernel_size: u64, layers: Vec<Layer>, hints: Hints) -> Unwrapped {
    let innermost = layers.iter().rev().find(|l| l.compression.is_some());
    let bare = if kind == KernelKind::Elf {
        Container::Elf
    } else {
        Container::Raw
    };
    Unwrapped {
        container: layers.first().map_or(bare, |l| l.container),
        compression: innermost.and_then(|l| l.compression),
        payload_offset: innermost.map_or(0, |l| l.payload_offset),
        payload_size: innermost.map_or(0, |l| l.payload_size),
        kernel_size,
        partial: false,
        is_elf: kind == KernelKind::Elf,
        kind,
        arch: hints.arch,
        class_hint: hints.class,
        endian_hint: hints.endian,
        layers,
    }
}

impl Unwrapped {
    /// What unwrapping says of `len` bytes that are a raw kernel themselves, with no container.
    pub fn bare_raw(len: u64) -> Self {
        unwrapped(KernelKind::Raw, len, Vec::new(), Hints::default())
    }
}

/// Offset of the "S390EP" entry-point string of an s390 image (EP_OFFSET,
/// arch/s390/include/asm/setup.h), which kexec checks too.
const S390_EP_OFFSET: usize = 0x10008;

fn classify(data: &[u8], hints: &mut Hints) -> Result<Step, Problem> {
    if elf::is_elf(data) {
        let parsed = elf::Elf::parse(data).ok();
        if let Some((parsed, (offset, size))) = parsed
            .as_ref()
            .and_then(|p| Some((p, probe::elf_decompressor_payload(p)?)))
        {
            hints.arch = Arch::from_elf_machine(parsed.machine).or(hints.arch);
            hints.class = Some(parsed.class);
            hints.endian = Some(parsed.endian);
            return Ok(Step::Scan {
                container: Container::ElfDecompressor,
                range: offset..offset + size,
            });
        }
        return Ok(Step::Kernel(KernelKind::Elf));
    }
    if let Some(range) = bzimage::payload(data)? {
        hints.arch = Some(Arch::X86);
        return Ok(Step::Payload {
            container: Container::BzImage,
            size_end: range.end,
            range,
            named: None,
            stored: false,
        });
    }
    if let Some(z) = zboot::payload(data)? {
        hints.arch = z.arch.or(hints.arch);
        let range = z.offset..z.offset.saturating_add(z.len);
        let trailer = if z.compression == Compression::Gzip {
            0
        } else {
            4
        };
        return Ok(Step::Payload {
            container: Container::EfiZboot,
            size_end: range.end.saturating_add(trailer),
            range,
            named: Some(z.compression),
            stored: false,
        });
    }
    if let Some((offset, size)) = android::kernel(data)? {
        return Ok(Step::Payload {
            container: Container::AndroidBoot,
            range: offset..offset.saturating_add(size),
            named: None,
            stored: true,
            size_end: 0,
        });
    }
    // Before the zImage test: an arm64 Image has no zImage magic, but check the kernel
    // headers first so that a raw Image is never scanned.
    if let Some(kind) = probe::image_header_kind(data) {
        return Ok(Step::Kernel(kind));
    }
    if let Some(z) = zimage::header(data) {
        hints.arch = Some(Arch::Arm);
        hints.class = Some(Class::Elf32);
        hints.endian = Some(z.endian);
        return Ok(Step::Scan {
            container: Container::ArmZimage,
            range: 0..z.size,
        });
    }
    if data.get(S390_EP_OFFSET..S390_EP_OFFSET + 6) == Some(b"S390EP") {
        hints.arch = Some(Arch::S390);
        hints.class = Some(Class::Elf64);
        hints.endian = Some(Endian::Big);
        return Ok(Step::Scan {
            container: Container::S390,
            range: 0..data.len(),
        });
    }
    if Compression::sniff(data).is_some() {
        return Ok(Step::Payload {
            container: Container::Compressed,
            range: 0..data.len(),
            named: None,
            stored: false,
            size_end: data.len(),
        });
    }
    if let Some(kind) = probe::kernel_kind(data) {
        return Ok(Step::Kernel(kind));
    }
    Ok(Step::Scan {
        container: Container::Embedded,
        range: 0..data.len(),
    })
}

/// A container's name in messages.
pub fn container_name(c: Container) -> &'static str {
    match c {
        Container::Elf => "ELF",
        Container::BzImage => "bzImage",
        Container::EfiZboot => "EFI zboot",
        Container::ArmZimage => "arm zImage",
        Container::S390 => "s390 image",
        Container::ElfDecompressor => "ELF decompressor",
        Container::AndroidBoot => "Android boot image",
        Container::Compressed => "compressed stream",
        Container::Embedded => "unknown container",
        Container::Raw => "raw image",
    }
}

/// [`Problem::UnknownFormat`] for `data`, or [`Problem::Empty`].
pub(crate) fn unknown_format(data: &[u8]) -> Problem {
    if data.is_empty() {
        Problem::Empty
    } else {
        Problem::UnknownFormat {
            first_bytes: hex_prefix(data),
        }
    }
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
