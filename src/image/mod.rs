//! Unwrapping a kernel image: container → (decompression) → kernel bytes.
//!
//! A kernel image is a container (x86 bzImage, EFI zboot, arm zImage, s390 image, MIPS
//! vmlinuz, Android boot.img, a bare compressed stream, or the kernel itself) around the kernel
//! proper: an ELF vmlinux (x86, ppc64, an unstripped vmlinux) or a raw memory image (arm64 and
//! RISC-V `Image`, the payload of an arm zImage or s390 image). Unwrapping repeats until the
//! bytes are a kernel, at most [`MAX_DEPTH`] times, so nested containers work (an `Image.gz`
//! inside a boot.img) and a crafted loop cannot recurse forever.
//!
//! The path is one-way: this module resolves containers and decompresses, and never reads
//! exports. When the innermost payload is an ELF kernel read through a stream (an x86 bzImage
//! with gzip, bzip2, xz, lzma or the LZ4 frame format), [`open`] hands it back still being decoded
//! ([`Unwrapping::Streaming`]), so that the caller decodes only as far as it needs
//! ([`crate::kernel`] stops once the export tables are found).
//!
//! Every container is one file with one `detect` function of the same shape (`Detect`),
//! listed once in `DETECTORS`; adding a container is one file and one entry there.

mod android;
mod bzimage;
mod compressed;
mod elf_file;
mod fit;
pub mod probe;
mod s390;
pub mod scan;
mod uimage;
mod zboot;
mod zimage;

use std::borrow::Cow;
use std::ops::Range;

use serde::Serialize;

use crate::bytes::{le_u32, Endian};
use crate::decompress::{Compression, Decoder};
use crate::elf::{self, Class};
use crate::error::Problem;

pub use probe::KernelKind;

/// How many container layers are unwrapped at most.
pub const MAX_DEPTH: usize = 4;

/// Default limit on an image's decompressed size, in bytes.
pub const DEFAULT_IMAGE_LIMIT: u64 = 1 << 30;

/// Bytes of a streamed ELF kernel decoded before [`open`] hands it back: an ELF file header and
/// program header table fit easily.
pub const EARLY_PROBE: usize = 1 << 12;

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
    /// A U-Boot legacy image (magic 0x27051956), single- or multi-file.
    UImage,
    /// A U-Boot FIT image (a flattened device tree with `/images`).
    Fit,
    /// A bare compressed stream (`Image.gz`, `vmlinux.xz`, …).
    Compressed,
    /// An unknown container in which a compressed kernel was found by scanning.
    Embedded,
    /// A raw kernel memory image (arm64 `Image`, …), no container.
    Raw,
}

/// The architecture a container or image header names (a hint for raw kernels, which have no
/// ELF header to say it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
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
    /// The kernel's name of the architecture family: the folder under `arch/`, which is kbuild's
    /// `ARCH` (x86 for i386 and x86_64, powerpc for ppc and ppc64, …).
    pub fn kbuild_name(self) -> &'static str {
        match self {
            Arch::X86 => "x86",
            Arch::Arm => "arm",
            Arch::Arm64 => "arm64",
            Arch::Riscv => "riscv",
            Arch::S390 => "s390",
            Arch::Mips => "mips",
            Arch::Loongarch => "loongarch",
            Arch::Powerpc => "powerpc",
        }
    }

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
    /// [`Streaming::stop`]).
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

/// What a container or image header says about the kernel inside (hints for raw kernels, which
/// have no ELF header to say it). Later layers override earlier ones.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Hints {
    arch: Option<Arch>,
    class: Option<Class>,
    endian: Option<Endian>,
}

impl Hints {
    fn update(&mut self, inner: Hints) {
        self.arch = inner.arch.or(self.arch);
        self.class = inner.class.or(self.class);
        self.endian = inner.endian.or(self.endian);
    }
}

/// What a detector recognised.
#[derive(Debug)]
pub(crate) enum Detected {
    /// The bytes are the kernel.
    Kernel(KernelKind),
    /// A container around a payload.
    Layer {
        /// Which container.
        container: Container,
        /// Where its payload is and how it is stored.
        payload: Payload,
        /// What its header says about the kernel.
        hints: Hints,
    },
}

/// Where a container keeps its payload.
#[derive(Debug)]
pub(crate) enum Payload {
    /// Compressed at `range`, the format sniffed from its magic (and, when the header names
    /// one, checked against `named`). The 4-byte little-endian uncompressed size the kernel's
    /// build appends ends at `size_end` (a gzip stream's own ISIZE trailer serves too).
    Compressed {
        range: Range<usize>,
        named: Option<Compression>,
        size_end: usize,
    },
    /// The next layer as is, at `range`.
    Stored { range: Range<usize> },
    /// A compressed kernel somewhere in `range`, to be found by scanning ([`scan`]); when none
    /// is found the bytes themselves must be a raw kernel (an uncompressed s390 image, say).
    Scan { range: Range<usize> },
}

/// One detector: `Ok(None)` when `data` is not its container, an error when it is but the
/// header is broken.
pub(crate) type Detect = fn(&[u8]) -> Result<Option<Detected>, Problem>;

/// The detectors, in the order they are tried; the first that recognises the bytes decides.
///
/// The order matters only where one file could match two: an ELF file is checked first (it
/// may be a decompressor or the kernel); the headers with a fixed magic at a fixed offset
/// (bzImage "HdrS", EFI zboot "MZ"+"zimg", "ANDROID!", the uImage magic, the device tree magic
/// of a FIT image) next; the arm64/RISC-V `Image` header before the arm zImage, so that a raw
/// `Image` is never scanned; the s390 entry point; a bare compressed stream (magic at offset
/// 0); and last the banner, which means a raw kernel but costs a look through the whole file.
/// Bytes no detector recognises are scanned for an embedded compressed kernel
/// ([`Container::Embedded`]).
pub(crate) const DETECTORS: [(&str, Detect); 11] = [
    ("ELF", elf_file::detect),
    ("bzImage", bzimage::detect),
    ("EFI zboot", zboot::detect),
    ("Android boot image", android::detect),
    ("U-Boot uImage", uimage::detect),
    ("FIT image", fit::detect),
    ("arm64/RISC-V Image header", probe::detect_image_header),
    ("arm zImage", zimage::detect),
    ("s390 image", s390::detect),
    ("compressed stream", compressed::detect),
    ("kernel banner", probe::detect_banner),
];

fn detect(data: &[u8]) -> Result<Detected, Problem> {
    for (_, detector) in DETECTORS {
        if let Some(found) = detector(data)? {
            return Ok(found);
        }
    }
    Ok(Detected::Layer {
        container: Container::Embedded,
        payload: Payload::Scan {
            range: 0..data.len(),
        },
        hints: Hints::default(),
    })
}

/// The result of [`open`]: the kernel bytes, or a kernel still being decompressed.
#[derive(Debug)]
pub enum Unwrapping<'a> {
    /// The whole kernel.
    Kernel(KernelBytes<'a>),
    /// An ELF kernel whose stream is being decoded: read as far as needed, then
    /// [`Streaming::stop`] or [`Streaming::finish`].
    Streaming(Streaming<'a>),
}

/// An ELF kernel being decompressed from the innermost payload of an image.
pub struct Streaming<'a> {
    decoder: Decoder<'a>,
    /// The layer being decoded (its output size is filled in at the end).
    layer: Layer,
    walk: Walk,
    depth: usize,
}

impl std::fmt::Debug for Streaming<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streaming")
            .field("layer", &self.layer)
            .field("decoded", &self.decoder.decoded().len())
            .finish()
    }
}

impl<'a> Streaming<'a> {
    /// The kernel's bytes decoded so far (at least [`EARLY_PROBE`], unless the stream is shorter).
    pub fn decoded(&self) -> &[u8] {
        self.decoder.decoded()
    }

    /// True once the whole kernel is decoded.
    pub fn ended(&self) -> bool {
        self.decoder.ended()
    }

    /// Decode until at least `len` bytes of the kernel are decoded (fewer when it ends first).
    pub fn fill_to(&mut self, len: usize) -> Result<&[u8], Problem> {
        let Streaming {
            decoder,
            layer,
            walk,
            ..
        } = self;
        decoder
            .fill_to(len)
            .map_err(|e| walk.within(e, Some(Step::of(layer))))
    }

    /// Stop decoding: what was unwrapped, the kernel decoded only in part
    /// ([`Unwrapped::partial`]).
    pub fn stop(self) -> Unwrapped {
        let Streaming {
            decoder,
            mut layer,
            mut walk,
            ..
        } = self;
        let prefix = decoder.decoded();
        layer.output_size = prefix.len() as u64;
        walk.hints.arch = elf::machine(prefix)
            .and_then(Arch::from_elf_machine)
            .or(walk.hints.arch);
        walk.layers.push(layer);
        let mut info = unwrapped(KernelKind::Elf, prefix.len() as u64, walk);
        info.partial = true;
        info
    }

    /// Decode the rest and go on unwrapping (the payload may still turn out to be a
    /// decompressor).
    pub fn finish(self) -> Result<KernelBytes<'a>, Problem> {
        let Streaming {
            decoder,
            mut layer,
            mut walk,
            depth,
        } = self;
        let out = decoder
            .finish()
            .map_err(|e| walk.within(e, Some(Step::of(&layer))))?;
        layer.output_size = out.len() as u64;
        walk.layers.push(layer);
        match walk.run(Cow::Owned(out), depth + 1, false)? {
            Unwrapping::Kernel(kernel) => Ok(kernel),
            Unwrapping::Streaming(_) => Err(Problem::Truncated(
                "a decoded payload was handed back undecoded".into(),
            )),
        }
    }
}

/// Unwrap an image file's bytes down to the kernel, decoding it whole. `limit` bounds every
/// decompression, in bytes.
pub fn unwrap(data: &[u8], limit: u64) -> Result<KernelBytes<'_>, Problem> {
    match open(data, limit)? {
        Unwrapping::Kernel(kernel) => Ok(kernel),
        Unwrapping::Streaming(stream) => stream.finish(),
    }
}

/// Resolve an image file's containers down to the kernel. When the innermost payload is an ELF
/// file decompressed through a stream (gzip, bzip2, xz, lzma, LZ4 frames), it is handed back after its
/// first [`EARLY_PROBE`] bytes, still being decoded; every other kernel comes back whole.
/// `limit` bounds every decompression, in bytes.
pub fn open(data: &[u8], limit: u64) -> Result<Unwrapping<'_>, Problem> {
    Walk {
        layers: Vec::new(),
        hints: Hints::default(),
        limit,
    }
    .run(Cow::Borrowed(data), 0, true)
}

/// The state of one unwrapping: the layers so far and what they said.
#[derive(Debug)]
struct Walk {
    layers: Vec<Layer>,
    hints: Hints,
    limit: u64,
}

impl Walk {
    /// Unwrap `current` (at nesting depth `depth`) down to the kernel; with `lazy`, a streamed
    /// ELF payload of the original bytes comes back undecoded.
    fn run(
        mut self,
        mut current: Cow<'_, [u8]>,
        depth: usize,
        lazy: bool,
    ) -> Result<Unwrapping<'_>, Problem> {
        for depth in depth..=MAX_DEPTH {
            let (container, payload) = match detect(&current).map_err(|e| self.within(e, None))? {
                Detected::Kernel(kind) => {
                    return Ok(Unwrapping::Kernel(finish(current, kind, self)));
                }
                _ if depth == MAX_DEPTH => break,
                Detected::Layer {
                    container,
                    payload,
                    hints,
                } => {
                    self.hints.update(hints);
                    (container, payload)
                }
            };
            let (layer, next) = match payload {
                Payload::Stored { range } => {
                    let layer = Layer {
                        container,
                        compression: None,
                        payload_offset: range.start as u64,
                        payload_size: range.len() as u64,
                        output_size: range.len() as u64,
                    };
                    let next = match current {
                        Cow::Borrowed(d) => Cow::Borrowed(
                            payload_in(d, &range, container).map_err(|e| self.within(e, None))?,
                        ),
                        Cow::Owned(ref v) => Cow::Owned(
                            payload_in(v, &range, container)
                                .map_err(|e| self.within(e, None))?
                                .to_vec(),
                        ),
                    };
                    (layer, next)
                }
                Payload::Compressed {
                    range,
                    named,
                    size_end,
                } => {
                    let hint = le_u32(&current, size_end.saturating_sub(4)).map(u64::from);
                    // Only bytes of the file itself can outlive this call while being decoded.
                    if let (true, Cow::Borrowed(data)) = (lazy, &current) {
                        let payload = payload_in(data, &range, container)
                            .and_then(|p| {
                                Ok((p, payload_format(p, named, container, range.start)?))
                            })
                            .map_err(|e| self.within(e, None))?;
                        let (payload, format) = payload;
                        let layer = Layer {
                            container,
                            compression: Some(format),
                            payload_offset: range.start as u64,
                            payload_size: range.len() as u64,
                            output_size: 0,
                        };
                        let step = Step::of(&layer);
                        let mut decoder = Decoder::new(payload, format, self.limit, hint)
                            .map_err(|e| self.within(e, Some(step.clone())))?;
                        let prefix = decoder
                            .fill_to(EARLY_PROBE)
                            .map_err(|e| self.within(e, Some(step.clone())))?;
                        if elf::is_elf(prefix) && !decoder.ended() {
                            return Ok(Unwrapping::Streaming(Streaming {
                                decoder,
                                layer,
                                walk: self,
                                depth,
                            }));
                        }
                        let out = decoder
                            .finish()
                            .map_err(|e| self.within(e, Some(step.clone())))?;
                        (
                            Layer {
                                output_size: out.len() as u64,
                                ..layer
                            },
                            Cow::Owned(out),
                        )
                    } else {
                        let (payload, format) = payload_in(&current, &range, container)
                            .and_then(|p| {
                                Ok((p, payload_format(p, named, container, range.start)?))
                            })
                            .map_err(|e| self.within(e, None))?;
                        let mut layer = Layer {
                            container,
                            compression: Some(format),
                            payload_offset: range.start as u64,
                            payload_size: range.len() as u64,
                            output_size: 0,
                        };
                        let out = Decoder::new(payload, format, self.limit, hint)
                            .and_then(Decoder::finish)
                            .map_err(|e| self.within(e, Some(Step::of(&layer))))?;
                        layer.output_size = out.len() as u64;
                        (layer, Cow::Owned(out))
                    }
                }
                Payload::Scan { range } => {
                    return self.scan(current, container, range).map(Unwrapping::Kernel);
                }
            };
            self.layers.push(layer);
            current = next;
        }
        Err(Problem::TooDeep {
            depth: MAX_DEPTH,
            first_bytes: hex_prefix(&current),
        })
    }

    /// Find the compressed kernel in `range` of a self-decompressor by scanning.
    fn scan<'d>(
        mut self,
        current: Cow<'d, [u8]>,
        container: Container,
        range: Range<usize>,
    ) -> Result<KernelBytes<'d>, Problem> {
        let found = scan::find_kernel(&current, range.clone(), self.limit).map_err(|e| {
            let step = Step {
                container,
                what: format!("scanned for a compressed kernel from {:#x}", range.start),
            };
            self.within(e, Some(step))
        })?;
        match found {
            Some(found) => {
                self.layers.push(Layer {
                    container,
                    compression: Some(found.compression),
                    payload_offset: found.offset as u64,
                    payload_size: found.available as u64,
                    output_size: found.kernel.len() as u64,
                });
                // The scan accepted it as a kernel: no need to detect it again.
                Ok(finish(Cow::Owned(found.kernel), found.kind, self))
            }
            // An ELF without exports or banner and without a payload: let the export reader
            // say what it lacks rather than call it unknown.
            None if container == Container::ElfDecompressor => {
                Ok(finish(current, KernelKind::Elf, self))
            }
            // No detector recognised it, or only its banner did (which a compressed kernel's
            // literals can show): a raw kernel if the banner says so, else unknown.
            None if container == Container::Embedded => match probe::kernel_kind(&current) {
                Some(kind) => Ok(finish(current, kind, self)),
                None => Err(self.within(unknown_format(&current), None)),
            },
            None => match probe::kernel_kind(&current) {
                Some(kind) => Ok(finish(current, kind, self)),
                None => Err(self.within(
                    Problem::NoKernelInside {
                        container: container_name(container),
                        candidates: scan::candidates(&current, range).len(),
                        first_bytes: hex_prefix(&current),
                    },
                    None,
                )),
            },
        }
    }
}

impl Walk {
    /// `problem`, met under the layers unwrapped so far and, when given, in the `step` being
    /// unwrapped: with the containers that led there ([`Problem::Inside`]). A problem met
    /// before any layer, or in bare compressed streams only, is left as it is: its own message
    /// says all there is.
    fn within(&self, problem: Problem, step: Option<Step>) -> Problem {
        let steps: Vec<Step> = self.layers.iter().map(Step::of).chain(step).collect();
        if steps.iter().all(|s| s.container == Container::Compressed) {
            return problem;
        }
        let path: Vec<String> = steps.iter().map(Step::to_string).collect();
        Problem::Inside {
            path: path.join(" → "),
            problem: Box::new(problem),
        }
    }
}

/// One step of an unwrapping in messages: "U-Boot uImage (lzma payload at 0x40)".
#[derive(Debug, Clone)]
struct Step {
    container: Container,
    /// What was done with its payload.
    what: String,
}

impl Step {
    fn of(layer: &Layer) -> Self {
        let how = layer.compression.map_or("stored", Compression::name);
        Step {
            container: layer.container,
            what: format!("{how} payload at {:#x}", layer.payload_offset),
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", container_name(self.container), self.what)
    }
}

/// The names of the detectors, in the order they are tried, for messages that say what was
/// tried.
pub fn detector_names() -> String {
    let names: Vec<&str> = DETECTORS.iter().map(|(name, _)| *name).collect();
    names.join(", ")
}

/// The payload bytes of `range` in a `container`'s bytes `data`.
fn payload_in<'d>(
    data: &'d [u8],
    range: &Range<usize>,
    container: Container,
) -> Result<&'d [u8], Problem> {
    data.get(range.clone()).ok_or_else(|| {
        Problem::Truncated(format!(
            "{} payload at {:#x}+{:#x} runs past the end ({:#x} bytes)",
            container_name(container),
            range.start,
            range.len(),
            data.len()
        ))
    })
}

/// The compression of a payload by its magic, which must be of the family the header names (a
/// header that says lz4 takes either LZ4 framing: [`Compression::family`]).
fn payload_format(
    payload: &[u8],
    named: Option<Compression>,
    container: Container,
    offset: usize,
) -> Result<Compression, Problem> {
    let format = Compression::sniff(payload).ok_or_else(|| Problem::NoCompressionMagic {
        container: container_name(container),
        offset: offset as u64,
        first_bytes: hex_prefix(payload),
    })?;
    match named {
        Some(named) if named.family() != format.family() => Err(Problem::CompressionMismatch {
            container: container_name(container),
            named: named.family(),
            found: format.name(),
            offset: offset as u64,
        }),
        _ => Ok(format),
    }
}

fn finish(bytes: Cow<'_, [u8]>, kind: KernelKind, mut walk: Walk) -> KernelBytes<'_> {
    // The raw image headers say more than the container.
    match kind {
        KernelKind::Arm64Image => {
            walk.hints.arch = Some(Arch::Arm64);
            walk.hints.class = Some(Class::Elf64);
            // Image header flags at 0x18, bit 0: kernel endianness, 1 = big
            // (Documentation/arch/arm64/booting.rst).
            let be = bytes.get(0x18).is_some_and(|f| f & 1 == 1);
            walk.hints.endian = Some(if be { Endian::Big } else { Endian::Little });
        }
        KernelKind::RiscvImage => {
            walk.hints.arch = Some(Arch::Riscv);
            walk.hints.endian = Some(Endian::Little);
        }
        KernelKind::Elf => {
            walk.hints.class = None;
            walk.hints.endian = None;
            walk.hints.arch = elf::machine(&bytes)
                .and_then(Arch::from_elf_machine)
                .or(walk.hints.arch);
        }
        KernelKind::Raw => {}
    }
    let info = unwrapped(kind, bytes.len() as u64, walk);
    KernelBytes { bytes, info }
}

/// What unwrapping found: `kernel_size` bytes of a `kind` kernel under `walk`'s layers.
fn unwrapped(kind: KernelKind, kernel_size: u64, walk: Walk) -> Unwrapped {
    let Walk { layers, hints, .. } = walk;
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
        unwrapped(
            KernelKind::Raw,
            len,
            Walk {
                layers: Vec::new(),
                hints: Hints::default(),
                limit: 0,
            },
        )
    }
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
        Container::UImage => "U-Boot uImage",
        Container::Fit => "FIT image",
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
