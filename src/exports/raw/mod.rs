//! Exports of a raw kernel image (no ELF headers), found by the structure of the tables.
//!
//! `objcopy -O binary` (arm64 `Image`, the payload of an arm `zImage`, riscv, s390) keeps the
//! kernel's memory from its first loadable byte on and drops every section name, so the export
//! tables must be recognised by what they look like:
//!
//! 1. `__ksymtab_strings` is a dense run of NUL-separated identifiers;
//! 2. every `struct kernel_symbol` names a string of that run, so `__ksymtab` and
//!    `__ksymtab_gpl` are long runs of equal-sized records whose name field leads into it. A
//!    PREL32 field (4.19+ on arm64, riscv, s390, x86, powerpc: 7290d5809571) leads there by
//!    `&field + (s32)field` and needs no load address at all; an absolute pointer (32-bit arm,
//!    older kernels) leads there once the load address is solved from the data: the base that
//!    makes a run of name pointers land on string starts;
//! 3. the tables are sorted by name (`SORT(___ksymtab+*)`), so a table boundary is where the
//!    name order restarts;
//! 4. the linker script (include/asm-generic/vmlinux.lds.h) places `__kcrctab*` (one u32 per
//!    entry since 4.10, an `unsigned long` before) and `__kflagstab` (7.x, one byte per entry)
//!    between the last `__ksymtab*` and `__ksymtab_strings`, so the size of that gap tells
//!    which of them exist.
//!
//! The regions found feed the same `vmlinux::decode` as an ELF vmlinux's sections.
//!
//! The ideas, one file each: `strings` (the string index), `records` (record runs, chains
//! and tables), `base` (solving the load address of absolute pointers), `relocate` (applying
//! the image's own RELATIVE relocations) and `tables` (from the tables found to their era).

mod base;
mod bounds;
mod records;
mod relocate;
mod strings;
mod tables;

use serde::Serialize;

use super::vmlinux::{AddressSpace, VmlinuxExports};
use crate::bytes::Endian;
use crate::elf::Class;
use crate::error::Problem;
use records::{find, find_absolute, Found, BOTH_ENDIANS, CONFIDENT_ENTRIES, MIN_ENTRIES};
use relocate::apply_relocations;
use strings::StringRuns;

/// A raw kernel image: byte `i` of the file is the kernel's memory at `base + i`.
#[derive(Debug, Clone, Copy)]
pub struct RawImage<'a> {
    data: &'a [u8],
    base: u64,
    endian: Endian,
    class: Class,
}

impl<'a> RawImage<'a> {
    /// View `data` as the kernel's memory from `base` on.
    pub fn new(data: &'a [u8], base: u64, endian: Endian, class: Class) -> Self {
        RawImage {
            data,
            base,
            endian,
            class,
        }
    }
}

impl AddressSpace for RawImage<'_> {
    fn bytes_at(&self, addr: u64, len: u64) -> Option<&[u8]> {
        let start = usize::try_from(addr.checked_sub(self.base)?).ok()?;
        let len = usize::try_from(len).ok()?;
        self.data.get(start..start.checked_add(len)?)
    }
    fn endian(&self) -> Endian {
        self.endian
    }
    fn word_size(&self) -> usize {
        self.class.word_size()
    }
}

/// The exports of a raw image and what the scan learned about the kernel.
#[derive(Debug, Clone, Serialize)]
pub struct RawExports {
    /// The exports, as from an ELF vmlinux.
    pub vmlinux: VmlinuxExports,
    /// Word size of the kernel.
    pub class: Class,
    /// Byte order of the kernel.
    pub endian: Endian,
    /// The load address solved from absolute name pointers; `None` for self-relative (PREL32)
    /// tables, which do not depend on it.
    pub load_base: Option<u64>,
    /// RELATIVE relocations applied from the image's own `.rela.dyn` before the scan (0 when
    /// the tables were readable as stored).
    pub relocations: usize,
}

/// Read the exports of a raw kernel image by finding its tables.
///
/// Several runs of records may look like export tables (pointer pairs of kallsyms_addresses
/// land on the strings too): every candidate is read as a whole, largest first, and the first
/// one that reads as a kernel's tables (`Found::validate`: the era fits, every entry names a
/// string of `__ksymtab_strings`, every string is named, the order holds) is the answer. A
/// candidate that does not read is never returned; when none reads, the largest one's problem
/// is the error.
pub fn read(data: &[u8]) -> Result<RawExports, Problem> {
    let strings = StringRuns::build(data);
    let found = find(data, &strings, &BOTH_ENDIANS);
    let mut relocated = None;
    if found
        .first()
        .is_none_or(|f| f.entries() < CONFIDENT_ENTRIES)
    {
        // A relocatable kernel whose pointer words are zero on disk (s390x 6.1, arm64
        // 4.6–4.18): apply the RELATIVE relocations it carries for its own startup code.
        if let Some((image, count)) = apply_relocations(data, &strings) {
            let strings = StringRuns::build(&image);
            let more = find_absolute(&image, &strings, &BOTH_ENDIANS);
            relocated = Some((image, count, more));
        }
    }
    let mut candidates: Vec<(&[u8], usize, &Found)> = found.iter().map(|f| (data, 0, f)).collect();
    if let Some((image, count, more)) = &relocated {
        candidates.extend(more.iter().map(|f| (image.as_slice(), *count, f)));
    }
    candidates.sort_by_key(|&(_, _, f)| std::cmp::Reverse(f.entries()));
    let mut first_problem = None;
    for (image, relocations, candidate) in candidates {
        match candidate.validate(image, relocations) {
            Ok(exports) => return Ok(exports),
            Err(problem) => {
                first_problem.get_or_insert(problem);
            }
        }
    }
    Err(first_problem.unwrap_or_else(|| {
        Problem::NoExports(format!(
            "no run of at least {MIN_ENTRIES} sorted kernel_symbol records naming strings of a \
             __ksymtab_strings-like area in this raw image ({} bytes)",
            data.len()
        ))
    }))
}

/// Read the exports of kernel memory known to be in byte order `endian` (from an ELF header)
/// only when the scan leaves no doubt, else `None`. Besides what [`read`] checks, the tables must
/// be complete: at least `CONFIDENT_ENTRIES` records, as many tables as the layout implies
/// (`__ksymtab` and `__ksymtab_gpl`; one with `__kflagstab`), and nothing within [`EDGE`] bytes
/// of either end of `data` (a table cut by the window would look shorter). For reading a part
/// of an ELF vmlinux whose section headers are not at hand.
pub fn read_confident(data: &[u8], endian: Endian) -> Option<RawExports> {
    let strings = StringRuns::build(data);
    let found = find(data, &strings, &[endian]);
    let (found, exports) = found
        .iter()
        .find_map(|f| f.validate(data, 0).ok().map(|e| (f, e)))?;
    let first = found.tables.first()?.start;
    let tables_expected = if exports.vmlinux.layout.tables.has_flags() {
        [1, 1]
    } else {
        [2, 5]
    };
    let complete = found.entries() >= CONFIDENT_ENTRIES
        && first >= EDGE
        && found.end.saturating_add(EDGE) <= data.len()
        && tables_expected.contains(&found.tables.len());
    complete.then_some(exports)
}

/// Bytes [`read_confident`] wants between the tables or their strings and either end of its
/// data.
pub const EDGE: usize = 1 << 12;

#[cfg(test)]
mod tests;
