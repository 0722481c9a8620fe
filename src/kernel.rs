//! A kernel image file, end to end: read the file, unwrap it, read vmlinux's exports.

use std::path::Path;

use serde::Serialize;

use crate::elf::{Class, Elf, Endian};
use crate::error::{Error, Problem, Result};
use crate::exports::prefix::{PrefixReader, Want};
use crate::exports::raw::{self, RawExports};
use crate::exports::vmlinux::{self, VmlinuxExports};
use crate::image::{self, Streaming, Unwrapped, Unwrapping};

/// How the export tables were located in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableSource {
    /// By the ELF section names (`__ksymtab`, `__kcrctab`, …).
    Sections,
    /// By scanning a raw image for the tables' structure (no section headers).
    Scan,
    /// By scanning the start of an ELF vmlinux for the tables' structure: decoding stopped
    /// there, before the section headers (see [`crate::exports::prefix`]).
    PrefixScan,
    /// By scanning the `PT_LOAD` segments of an ELF vmlinux without section headers (stripped
    /// of them, or cut after its segments), laid out at their addresses like a raw image.
    Segments,
}

/// How much of a compressed ELF kernel to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Decode {
    /// Stop once the export tables are found with certainty, else decode it all.
    #[default]
    UpToTables,
    /// Decode the whole kernel and read its section headers.
    Whole,
}

/// The exports of a kernel image and everything detected on the way.
#[derive(Debug, Clone, Serialize)]
pub struct KernelExports {
    /// Container and compression.
    pub image: Unwrapped,
    /// Word size of the kernel.
    pub class: Class,
    /// Byte order of the kernel.
    pub endian: Endian,
    /// How the export tables were located.
    pub tables_located_by: TableSource,
    /// The load address a raw image's absolute pointers were solved against (`None` for ELF
    /// files and self-relative tables).
    pub load_base: Option<u64>,
    /// RELATIVE relocations of a raw image applied before its scan (s390x 6.1: the pointer
    /// words are zero on disk).
    pub relocations: usize,
    /// The exports and their layout.
    pub vmlinux: VmlinuxExports,
    /// `e_machine` of an ELF kernel (`None` for a raw image: see `image.arch`).
    pub machine: Option<u16>,
    /// The kernel's `linux_banner` (init/version.c), when the bytes read hold it: it says who
    /// built the kernel (Debian's builds: "(debian-kernel@lists.debian.org) … Debian 6.1.176-1
    /// (…)"), which tells a loader patched by the distribution.
    pub banner: Option<crate::banner::Banner>,
}

impl KernelExports {
    /// True when the kernel has CRC tables (CONFIG_MODVERSIONS).
    pub fn modversions(&self) -> bool {
        self.vmlinux.modversions()
    }

    /// The release the kernel's banner names (`uname -r` of the running kernel), when the
    /// banner was found and parses.
    pub fn release(&self) -> Option<String> {
        self.banner.as_ref().map(|b| b.release.clone())
    }

    /// The word size when the kernel shows it: an ELF header, absolute pointers whose load
    /// address was solved, or a container's header. `None` for a raw image of self-relative
    /// tables without such a header, whose [`KernelExports::class`] is a guess.
    pub fn certain_class(&self) -> Option<Class> {
        (self.image.is_elf || self.load_base.is_some() || self.image.class_hint.is_some())
            .then_some(self.class)
    }
}

/// Read the image file at `path` and return vmlinux's exports.
/// `limit` bounds the decompressed size of the kernel.
///
/// ```no_run
/// use std::path::Path;
/// let kernel = symvers::kernel::read_image(
///     Path::new("/boot/vmlinuz-6.1.0-50-amd64"),
///     symvers::image::DEFAULT_IMAGE_LIMIT,
/// )?;
/// println!("{} exports, CRCs: {}", kernel.vmlinux.exports.len(), kernel.modversions());
/// # Ok::<(), symvers::Error>(())
/// ```
pub fn read_image(path: &Path, limit: u64) -> Result<KernelExports> {
    // The file is never larger than the kernel it holds: `limit` bounds it too.
    let data = crate::input::read_regular(path, limit)?;
    read_image_bytes(&data, limit).map_err(|p| Error::format(path, p))
}

/// Like [`read_image`], on bytes already in memory.
pub fn read_image_bytes(data: &[u8], limit: u64) -> Result<KernelExports, Problem> {
    read_image_bytes_with(data, limit, Decode::UpToTables)
}

/// Like [`read_image_bytes`], deciding how much of a compressed ELF kernel to decode.
///
/// This is where the stages meet: [`image::open`] resolves the containers, and a kernel still
/// being decompressed is decoded only as far as the export reader asks
/// ([`PrefixReader::want`]), then either stopped or decoded whole and read by its sections.
pub fn read_image_bytes_with(
    data: &[u8],
    limit: u64,
    decode: Decode,
) -> Result<KernelExports, Problem> {
    let kernel = match image::open(data, limit) {
        Ok(Unwrapping::Kernel(kernel)) => kernel,
        Ok(Unwrapping::Streaming(mut stream)) => {
            if decode == Decode::UpToTables {
                if let Some(exports) = read_while_decoding(&mut stream)? {
                    let (header, found) = exports;
                    // The banner is in .rodata, before the export tables the prefix ends after.
                    let banner = crate::banner::find(stream.decoded());
                    return Ok(KernelExports {
                        image: stream.stop(),
                        class: header.class,
                        endian: header.endian,
                        tables_located_by: TableSource::PrefixScan,
                        load_base: found.load_base,
                        relocations: 0,
                        vmlinux: found.vmlinux,
                        machine: Some(header.machine),
                        banner,
                    });
                }
            }
            stream.finish()?
        }
        // Bytes of no known container may be a bare raw kernel (arm64 `Image`, a payload
        // unpacked by hand): the scan decides, and the original error stands if it fails.
        Err(unknown @ (Problem::UnknownFormat { .. } | Problem::Empty)) => {
            return read_raw(data, Unwrapped::bare_raw(data.len() as u64)).map_err(|_| unknown);
        }
        Err(e) => return Err(e),
    };
    read_kernel_bytes(&kernel.bytes, kernel.info)
}

/// Decode `stream` as far as a [`PrefixReader`] wants; the exports when it found them with
/// certainty before the end, `None` when the kernel must be decoded whole.
fn read_while_decoding(
    stream: &mut Streaming<'_>,
) -> Result<Option<(crate::elf::Header, RawExports)>, Problem> {
    let mut reader = PrefixReader::new();
    let mut want = reader.want(stream.decoded());
    loop {
        match want {
            Want::Bytes(len) => {
                let before = stream.decoded().len();
                let now = stream.fill_to(len)?.len();
                // Asking for no more than is there would ask forever; a stream that ended is
                // read whole, by its sections.
                if now <= before || stream.ended() {
                    return Ok(None);
                }
                want = reader.want(stream.decoded());
            }
            Want::Stop => return Ok(reader.into_found()),
            Want::All => return Ok(None),
        }
    }
}

/// The exports of kernel bytes already unwrapped (see [`image::unwrap`]): by section name for an
/// ELF vmlinux, by structure for a raw image or for an ELF vmlinux without section headers.
pub fn read_kernel_bytes(bytes: &[u8], info: Unwrapped) -> Result<KernelExports, Problem> {
    if !info.is_elf {
        return read_raw(bytes, info);
    }
    let elf = match Elf::parse(bytes) {
        Ok(elf) if !elf.sections.is_empty() => elf,
        // No section headers (e_shoff 0), or a table past the end of a file cut after its
        // segments: the segments still hold the tables.
        Ok(_) => return read_segments(bytes, info, None),
        Err(e) => return read_segments(bytes, info, Some(e)),
    };
    let exports = vmlinux::read_elf(&elf)?;
    Ok(KernelExports {
        image: info,
        class: elf.class,
        endian: elf.endian,
        tables_located_by: TableSource::Sections,
        load_base: None,
        relocations: 0,
        vmlinux: exports,
        machine: Some(elf.machine),
        banner: crate::banner::find(bytes),
    })
}

/// Read a raw kernel's exports by scanning for its tables.
fn read_raw(bytes: &[u8], info: Unwrapped) -> Result<KernelExports, Problem> {
    let found = raw::read(bytes)?;
    // Self-relative tables do not show the word size; a container or image header may.
    let class = match info.class_hint {
        Some(hint) if found.vmlinux.layout.ksymtab.is_relative() => hint,
        _ => found.class,
    };
    Ok(KernelExports {
        image: info,
        class,
        endian: found.endian,
        tables_located_by: TableSource::Scan,
        load_base: found.load_base,
        relocations: found.relocations,
        vmlinux: found.vmlinux,
        machine: None,
        banner: crate::banner::find(bytes),
    })
}

/// The release the banner of the image at `path` names, for choosing among images whose file
/// names do not say it (Raspberry Pi's `kernel8.img`, Alpine's `vmlinuz-lts`): the image is
/// unwrapped (decoded whole), not read for exports. `Ok(None)` when it has no banner.
pub fn image_release(path: &Path, limit: u64) -> Result<Option<String>> {
    let data = crate::input::read_regular(path, limit)?;
    let bytes = match image::unwrap(&data, limit) {
        Ok(kernel) => kernel.bytes.into_owned(),
        // A bare raw kernel of no known container: its bytes are the kernel.
        Err(Problem::UnknownFormat { .. }) => data,
        Err(p) => return Err(Error::format(path, p)),
    };
    Ok(crate::banner::find(&bytes).map(|b| b.release))
}

/// Largest gap between two `PT_LOAD` segments laid out in one address range: kernels place
/// their segments back to back (with alignment holes of a few MiB at most), except for a few
/// at far-away addresses (x86_64's per-CPU segment at 0), which form ranges of their own.
const SEGMENT_GAP_MAX: u64 = 64 << 20;

/// Read an ELF vmlinux that has no usable section headers by its program headers alone.
///
/// First as a streamed vmlinux is read ([`PrefixReader`]): the tables and their strings lie
/// just before the end of the note segment, and a scan of that window is used when it leaves
/// no doubt. Else each range of nearby `PT_LOAD` segments is laid out by `p_vaddr` (gaps
/// zero-filled), which is the kernel's memory as a raw image has it, so that self-relative
/// fields and absolute pointers both lead where they do at run time, and scanned for the
/// tables ([`raw::read`]), the largest range first. `parse_error` is why the section headers
/// could not be read, if they are there.
fn read_segments(
    bytes: &[u8],
    info: Unwrapped,
    parse_error: Option<Problem>,
) -> Result<KernelExports, Problem> {
    let header = crate::elf::Header::parse(bytes).map_err(|e| parse_error.clone().unwrap_or(e))?;
    let mut reader = PrefixReader::new();
    let mut want = reader.want(&bytes[..bytes.len().min(image::EARLY_PROBE)]);
    while let Want::Bytes(len) = want {
        if len > bytes.len() {
            break;
        }
        want = reader.want(&bytes[..len]);
    }
    if want == Want::Stop {
        if let Some((_, found)) = reader.into_found() {
            return Ok(KernelExports {
                image: info,
                class: header.class,
                endian: header.endian,
                tables_located_by: TableSource::Segments,
                load_base: found.load_base,
                relocations: found.relocations,
                vmlinux: found.vmlinux,
                machine: Some(header.machine),
                banner: crate::banner::find(bytes),
            });
        }
    }
    let mut loads: Vec<_> = header
        .program_headers
        .iter()
        .filter(|ph| ph.kind == crate::elf::consts::PT_LOAD && ph.filesz > 0)
        .collect();
    if loads.is_empty() {
        return Err(parse_error.unwrap_or_else(|| {
            Problem::NoExports(
                "the ELF file has neither section headers nor loadable segments".into(),
            )
        }));
    }
    for ph in &loads {
        let end = ph.offset.checked_add(ph.filesz);
        if end.is_none_or(|end| end > bytes.len() as u64) {
            return Err(Problem::Truncated(format!(
                "the PT_LOAD segment at file offset {:#x} ({:#x} bytes) runs past the end of the \
                 file ({:#x} bytes)",
                ph.offset,
                ph.filesz,
                bytes.len()
            )));
        }
    }
    loads.sort_by_key(|ph| ph.vaddr);
    // Ranges of segments no more than SEGMENT_GAP_MAX apart: (first, last + 1, bytes spanned).
    let mut ranges: Vec<(usize, usize, u64)> = Vec::new();
    let mut range_end = 0u64;
    for (i, ph) in loads.iter().enumerate() {
        let end = ph.vaddr.saturating_add(ph.filesz);
        match ranges.last_mut() {
            Some(r) if ph.vaddr <= range_end.saturating_add(SEGMENT_GAP_MAX) => {
                r.1 = i + 1;
                range_end = range_end.max(end);
                r.2 = range_end - loads[r.0].vaddr;
            }
            _ => {
                ranges.push((i, i + 1, ph.filesz));
                range_end = end;
            }
        }
    }
    ranges.sort_by_key(|r| std::cmp::Reverse(r.2));
    let mut first_error = None;
    for (first, last, span) in ranges {
        // Gaps are bounded, but many segments could still span more than the file could fill.
        let Some(span) = usize::try_from(span)
            .ok()
            .filter(|&s| s <= bytes.len().saturating_mul(4).saturating_add(1 << 26))
        else {
            continue;
        };
        let base = loads[first].vaddr;
        let mut memory = vec![0u8; span];
        for ph in &loads[first..last] {
            let at = (ph.vaddr - base) as usize;
            let (offset, size) = (ph.offset as usize, ph.filesz as usize);
            memory[at..at + size].copy_from_slice(&bytes[offset..offset + size]);
        }
        // Since 5.5 RO_DATA ends with the notes (include/asm-generic/vmlinux.lds.h), after
        // the tables and their strings; the data after them holds other arrays of pointers
        // that look like export records. Scan first with everything past the notes blanked
        // (addresses keep their meaning), then, for older layouts, everything.
        let note_end = header
            .program_headers
            .iter()
            .filter(|ph| ph.kind == crate::elf::consts::PT_NOTE && ph.filesz > 0)
            .filter_map(|ph| ph.vaddr.checked_add(ph.filesz)?.checked_sub(base))
            .filter_map(|end| usize::try_from(end).ok())
            .filter(|&end| end < memory.len())
            .max();
        let mut attempts = Vec::new();
        if let Some(end) = note_end {
            let mut blanked = memory.clone();
            blanked[end..].fill(0);
            attempts.push(blanked);
        }
        attempts.push(memory);
        for memory in attempts {
            match read_raw(&memory, info.clone()) {
                Ok(mut exports) => {
                    exports.class = header.class;
                    exports.endian = header.endian;
                    exports.machine = Some(header.machine);
                    exports.tables_located_by = TableSource::Segments;
                    return Ok(exports);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    Err(parse_error
        .or(first_error)
        .unwrap_or_else(|| Problem::NoExports("no PT_LOAD segments to scan".into())))
}

#[cfg(test)]
mod tests;
