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
//! The regions found feed the same [`vmlinux::decode`] as an ELF vmlinux's sections.

use serde::Serialize;

use super::vmlinux::{self, AddressSpace, Region, TableRegions, TableSet, VmlinuxExports};
use super::{is_symbol_name, ExportKind};
use crate::elf::{self, Class, Endian};
use crate::error::Problem;

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
}

/// Read the exports of a raw kernel image by finding its tables.
pub fn read(data: &[u8]) -> Result<RawExports, Problem> {
    let strings = StringRuns::build(data);
    let mut found = find_relative(data, &strings);
    // A kernel with PREL32 tables has thousands of records; only a poor result warrants the
    // slower search for absolute pointers.
    if found
        .as_ref()
        .is_none_or(|f| f.entries() < CONFIDENT_ENTRIES)
    {
        if let Some(absolute) = find_absolute(data, &strings) {
            if found
                .as_ref()
                .is_none_or(|f| f.entries() < absolute.entries())
            {
                found = Some(absolute);
            }
        }
    }
    let found = found.ok_or_else(|| {
        Problem::NoExports(format!(
            "no run of at least {MIN_ENTRIES} sorted kernel_symbol records naming strings of a \
             __ksymtab_strings-like area in this raw image ({} bytes)",
            data.len()
        ))
    })?;
    let class = found.class.unwrap_or(Class::Elf64);
    let space = RawImage::new(data, found.mode.base, found.mode.endian, class);
    let set = found.table_set(data, class)?;
    let vmlinux = vmlinux::decode(&space, &set)?;
    Ok(RawExports {
        vmlinux,
        class,
        endian: found.mode.endian,
        load_base: (!found.mode.relative).then_some(found.mode.base),
    })
}

/// Candidate pointer runs tried per layout when solving the load address.
const MAX_BASE_CANDIDATES: usize = 32;

/// Records from which a PREL32 result is trusted without also trying absolute pointers.
const CONFIDENT_ENTRIES: usize = 256;
/// Fewest records a table run must have: fewer could be chance.
const MIN_ENTRIES: usize = 4;
/// Shortest run of string bytes that may be `__ksymtab_strings`.
const MIN_STRING_RUN: usize = 16;
/// Largest gap between two `__ksymtab*` sections (output-section alignment).
const MAX_TABLE_GAP: usize = 16;

/// Bytes that occur in export names and namespaces (`module:kvm,kvm-amd` since 6.18) and NUL.
fn is_string_byte(b: u8) -> bool {
    b == 0 || b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'$' | b':' | b',' | b'-')
}

/// First byte of a C identifier.
fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

/// Where the image holds runs of string bytes long enough to be `__ksymtab_strings`.
struct StringRuns {
    /// One bit per byte of the image: inside such a run.
    mask: Vec<u64>,
    /// The runs as `(start, end)` offsets, ascending.
    runs: Vec<(usize, usize)>,
}

impl StringRuns {
    fn build(data: &[u8]) -> Self {
        let mut class = [false; 256];
        for (b, slot) in class.iter_mut().enumerate() {
            *slot = is_string_byte(b as u8);
        }
        let mut mask = vec![0u64; data.len().div_ceil(64)];
        let mut runs = Vec::new();
        let mut i = 0;
        while i < data.len() {
            if !class[usize::from(data[i])] {
                i += 1;
                continue;
            }
            let start = i;
            let (mut nul, mut alpha) = (false, false);
            while i < data.len() && class[usize::from(data[i])] {
                nul |= data[i] == 0;
                alpha |= data[i].is_ascii_alphabetic();
                i += 1;
            }
            if i - start >= MIN_STRING_RUN && nul && alpha {
                set_bits(&mut mask, start, i);
                runs.push((start, i));
            }
        }
        StringRuns { mask, runs }
    }

    fn contains(&self, at: usize) -> bool {
        self.mask
            .get(at / 64)
            .is_some_and(|w| (w >> (at % 64)) & 1 != 0)
    }
}

fn set_bits(mask: &mut [u64], start: usize, end: usize) {
    for at in start..end {
        if at % 64 == 0 && at + 64 <= end {
            if let Some(w) = mask.get_mut(at / 64) {
                *w = u64::MAX;
            }
        } else if let Some(w) = mask.get_mut(at / 64) {
            *w |= 1 << (at % 64);
        }
    }
}

/// Field flags: the field could be a `value` (it leads near the image).
const VALUE: u8 = 1;
/// The field leads to the first byte of an identifier in a string run.
const NAME: u8 = 2;
/// The field leads into a string run or is zero (a 5.4 namespace-less entry).
const NAMESPACE: u8 = 4;

/// Flags of the field that leads to image offset `target` (`None`: to nowhere in the image).
fn target_flags(data: &[u8], strings: &StringRuns, target: i128) -> u8 {
    let len = data.len() as i128;
    let mut f = 0;
    // Exported variables may live in .bss, past the end of the file: allow one image length.
    if target >= -len && target < 2 * len {
        f |= VALUE;
    }
    if let Ok(t) = usize::try_from(target) {
        if strings.contains(t) {
            f |= NAMESPACE;
            if data.get(t).is_some_and(|&b| is_name_start(b)) {
                f |= NAME;
            }
        }
    }
    f
}

/// How the fields of one candidate table are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mode {
    endian: Endian,
    /// PREL32 (`&field + (s32)field`) or absolute pointers.
    relative: bool,
    /// Bytes per field: 4 for PREL32, the word size for pointers.
    field: usize,
    /// 3 with a namespace field (5.4+), else 2.
    fields: usize,
    /// The load address (0 for PREL32: offsets stand for addresses).
    base: u64,
}

impl Mode {
    fn entry_size(&self) -> usize {
        self.field * self.fields
    }

    /// The image offset the field at `at` leads to.
    fn target(&self, data: &[u8], at: usize) -> Option<i128> {
        let raw = elf::read_uint(data, at, self.field, self.endian)?;
        if raw == 0 {
            return None;
        }
        if self.relative {
            Some(at as i128 + i128::from(elf::sign_extend(raw, 4)))
        } else {
            Some(i128::from(raw) - i128::from(self.base))
        }
    }

    /// Flags of every field-aligned field of the image.
    fn flags(&self, data: &[u8], strings: &StringRuns) -> Vec<u8> {
        data.chunks_exact(self.field)
            .enumerate()
            .map(|(k, _)| match self.target(data, k * self.field) {
                None => NAMESPACE,
                Some(t) => target_flags(data, strings, t),
            })
            .collect()
    }
}

/// A run of consecutive records that look like `struct kernel_symbol`.
#[derive(Debug, Clone, Copy)]
struct Run {
    /// Image offset of the first record.
    start: usize,
    /// Number of records.
    entries: usize,
}

/// Runs of at least `min` records in `flags` (one flag byte per field).
fn record_runs(flags: &[u8], fields: usize, field: usize, min: usize) -> Vec<Run> {
    let ok = |k: usize| -> bool {
        let f = |i: usize| flags.get(k + i).copied().unwrap_or(0);
        f(0) & VALUE != 0 && f(1) & NAME != 0 && (fields == 2 || f(2) & NAMESPACE != 0)
    };
    let mut runs = Vec::new();
    for phase in 0..fields {
        let mut k = phase;
        let mut start = None;
        while k + fields <= flags.len() {
            match (ok(k), start) {
                (true, None) => start = Some(k),
                (false, Some(s)) => {
                    if (k - s) / fields >= min {
                        runs.push(Run {
                            start: s * field,
                            entries: (k - s) / fields,
                        });
                    }
                    start = None;
                }
                _ => {}
            }
            k += fields;
        }
        if let Some(s) = start {
            if (k - s) / fields >= min {
                runs.push(Run {
                    start: s * field,
                    entries: (k - s) / fields,
                });
            }
        }
    }
    runs.sort_by_key(|r| r.start);
    runs
}

/// Groups of runs that follow each other with at most [`MAX_TABLE_GAP`] bytes between them
/// (`__ksymtab` then `__ksymtab_gpl`, each output section aligned).
fn chains(runs: &[Run], entry: usize) -> Vec<Vec<Run>> {
    let mut out: Vec<Vec<Run>> = Vec::new();
    for &run in runs {
        let follows = out.last().and_then(|c| c.last()).is_some_and(|last| {
            let end = last.start + last.entries * entry;
            run.start >= end && run.start - end <= MAX_TABLE_GAP
        });
        match out.last_mut() {
            Some(chain) if follows => chain.push(run),
            _ => out.push(vec![run]),
        }
    }
    out
}

/// One sorted table of a chain, in image offsets.
#[derive(Debug, Clone, Copy)]
struct Table {
    start: usize,
    entries: usize,
}

/// Export tables found by the scan, in image offsets.
#[derive(Debug)]
struct Found {
    mode: Mode,
    /// The tables in link order.
    tables: Vec<Table>,
    /// Where the last table ends.
    end: usize,
    /// Word size, when the scan determined it (absolute pointers).
    class: Option<Class>,
}

impl Found {
    fn entries(&self) -> usize {
        self.tables.iter().map(|t| t.entries).sum()
    }
}

/// Most tables a kernel has (5.12: `__ksymtab`, `_gpl`, `_unused`, `_unused_gpl`, `_gpl_future`).
const MAX_TABLES: usize = 5;

/// Split a chain into tables where the name order restarts (each table is sorted, duplicates
/// allowed: arm64 5.10 exports memcpy twice), or `None` when it is no export table: a record
/// names no identifier, or the order restarts more often than a kernel has tables.
fn split_tables(data: &[u8], mode: &Mode, chain: &[Run]) -> Option<Vec<Table>> {
    let entry = mode.entry_size();
    let mut tables = Vec::new();
    for run in chain {
        let mut prev: Option<&[u8]> = None;
        let mut table = Table {
            start: run.start,
            entries: 0,
        };
        for i in 0..run.entries {
            let at = run.start + i * entry;
            let name = mode.target(data, at + mode.field)?;
            let name = elf::c_str(data, usize::try_from(name).ok()?)?;
            if !is_symbol_name(name) {
                return None;
            }
            if prev.is_some_and(|p| name < p) {
                tables.push(table);
                table = Table {
                    start: at,
                    entries: 0,
                };
            }
            prev = Some(name);
            table.entries += 1;
        }
        tables.push(table);
    }
    (tables.len() <= MAX_TABLES).then_some(tables)
}

/// Keep in `best` the largest valid table chain of `runs`.
fn consider(best: &mut Option<Found>, data: &[u8], mode: Mode, runs: &[Run], class: Option<Class>) {
    let entry = mode.entry_size();
    for chain in chains(runs, entry) {
        let entries: usize = chain.iter().map(|r| r.entries).sum();
        if best.as_ref().is_some_and(|b| b.entries() >= entries) {
            continue;
        }
        if let Some(tables) = split_tables(data, &mode, &chain) {
            let end = chain.last().map_or(0, |r| r.start + r.entries * entry);
            *best = Some(Found {
                mode,
                tables,
                end,
                class,
            });
        }
    }
}

/// Look for PREL32 tables in both byte orders, with and without a namespace field.
fn find_relative(data: &[u8], strings: &StringRuns) -> Option<Found> {
    let mut best = None;
    for endian in [Endian::Little, Endian::Big] {
        let probe = Mode {
            endian,
            relative: true,
            field: 4,
            fields: 3,
            base: 0,
        };
        let flags = probe.flags(data, strings);
        for fields in [3, 2] {
            let mode = Mode { fields, ..probe };
            let runs = record_runs(&flags, fields, 4, MIN_ENTRIES);
            consider(&mut best, data, mode, &runs, None);
        }
    }
    best
}

/// Look for absolute-pointer tables: first solve the load address from runs of records whose
/// name pointers stay within one string run's span, then scan with it.
fn find_absolute(data: &[u8], strings: &StringRuns) -> Option<Found> {
    let longest = strings.runs.iter().map(|&(s, e)| e - s).max().unwrap_or(0) as u64;
    if longest == 0 {
        return None;
    }
    let mut best = None;
    for (word, class) in [(8, Class::Elf64), (4, Class::Elf32)] {
        for endian in [Endian::Little, Endian::Big] {
            let words: Vec<u64> = data
                .chunks_exact(word)
                .map(|c| elf::read_uint(c, 0, word, endian).unwrap_or(0))
                .collect();
            for fields in [3, 2] {
                let base = pointer_runs(&words, fields, longest)
                    .into_iter()
                    .find_map(|run| solve_base(data, strings, &words, fields, word, run));
                let Some(base) = base else {
                    continue;
                };
                let mode = Mode {
                    endian,
                    relative: false,
                    field: word,
                    fields,
                    base,
                };
                let flags = mode.flags(data, strings);
                let runs = record_runs(&flags, fields, word, MIN_ENTRIES);
                consider(&mut best, data, mode, &runs, Some(class));
            }
        }
    }
    best
}
/// Candidate runs (word index of the first record, records) of `fields`-word records whose
/// name pointers are non-zero and never jump further than `span` bytes: what a table of
/// pointers into one string area looks like before its base is known. Longest first.
fn pointer_runs(words: &[u64], fields: usize, span: u64) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    for phase in 0..fields {
        let mut k = phase;
        let mut start: Option<usize> = None;
        while k + 2 * fields <= words.len() {
            let (a, b) = (words[k + 1], words[k + fields + 1]);
            let close = a != 0 && b != 0 && a != b && a.abs_diff(b) < span;
            match (close, start) {
                (true, None) => start = Some(k),
                (false, Some(s)) => {
                    runs.push((s, (k - s) / fields + 1));
                    start = None;
                }
                _ => {}
            }
            k += fields;
        }
        if let Some(s) = start {
            runs.push((s, (k - s) / fields + 1));
        }
    }
    runs.retain(|&(_, n)| n >= MIN_ENTRIES);
    runs.sort_by_key(|r| std::cmp::Reverse(r.1));
    runs.truncate(MAX_BASE_CANDIDATES);
    runs
}

/// The load address that makes the name pointers of the candidate run land on identifiers of
/// one string run: tried against every string start of the runs wide enough to hold them all.
fn solve_base(
    data: &[u8],
    strings: &StringRuns,
    words: &[u64],
    fields: usize,
    word: usize,
    (first, entries): (usize, usize),
) -> Option<u64> {
    let names: Vec<u64> = (0..entries.min(64))
        .filter_map(|i| words.get(first + i * fields + 1).copied())
        .collect();
    let lo = *names.iter().min()?;
    let hi = *names.iter().max()?;
    let allowed_misses = names.len() / 10;
    let lands = |base: u64| -> bool {
        names
            .iter()
            .filter(|&&p| {
                !p.checked_sub(base)
                    .and_then(|t| usize::try_from(t).ok())
                    .is_some_and(|t| {
                        strings.contains(t)
                            && data.get(t).is_some_and(|&b| is_name_start(b))
                            && t.checked_sub(1)
                                .and_then(|p| data.get(p))
                                .is_some_and(|&b| b == 0)
                    })
            })
            .nth(allowed_misses)
            .is_none()
    };
    for &(s, e) in &strings.runs {
        if ((e - s) as u64) < hi - lo {
            continue;
        }
        for t in s..e {
            if !(data[t] != 0 && t > 0 && data[t - 1] == 0) {
                continue;
            }
            // `lo` is the lowest name: it starts somewhere in this run.
            let Some(base) = lo.checked_sub(t as u64) else {
                continue;
            };
            if base % word as u64 == 0 && lands(base) {
                return Some(base);
            }
        }
    }
    None
}

impl Found {
    /// Split the chain into tables, find the strings, CRC and flag regions.
    fn table_set(&self, data: &[u8], class: Class) -> Result<TableSet, Problem> {
        let m = &self.mode;
        let entry = m.entry_size();
        // `__ksymtab_strings` spans from the lowest string any record names to the end of the
        // highest one: every string in it belongs to some export.
        let (mut lo, mut hi) = (usize::MAX, 0usize);
        for table in &self.tables {
            for i in 0..table.entries {
                let at = table.start + i * entry;
                for f in 1..m.fields {
                    let Some(t) = m
                        .target(data, at + f * m.field)
                        .and_then(|t| usize::try_from(t).ok())
                    else {
                        continue;
                    };
                    lo = lo.min(t);
                    let len = elf::c_str(data, t).map_or(0, <[u8]>::len);
                    hi = hi.max(t + len + 1);
                }
            }
        }
        let last = self.end;
        let total = self.entries();
        let gap = lo.checked_sub(last).ok_or_else(|| {
            Problem::Exports(format!(
                "the names of the export records (ending at image offset {last:#x}) start before \
                 them, at {lo:#x}"
            ))
        })?;
        let kinds = table_kinds(self.tables.len())?;
        let extras =
            after_tables(gap, total, self.tables.len(), class.word_size()).ok_or_else(|| {
                Problem::Exports(format!(
                    "{gap} bytes lie between the {total} export records (ending at image offset \
                 {last:#x}) and __ksymtab_strings, which fits no __kcrctab/__kflagstab layout"
                ))
            })?;
        let addr = |off: usize| m.base.wrapping_add(off as u64);
        let mut crc_at = last;
        let mut set = TableSet {
            strings: Some(Region {
                addr: addr(lo),
                len: (hi - lo) as u64,
            }),
            tables: Vec::new(),
            flags: None,
        };
        for (table, kind) in self.tables.iter().zip(kinds) {
            let crcs = extras.crc_size.map(|size| {
                let r = Region {
                    addr: addr(crc_at),
                    len: (table.entries * size) as u64,
                };
                crc_at += table.entries * size;
                r
            });
            set.tables.push(TableRegions {
                kind,
                symbols: Region {
                    addr: addr(table.start),
                    len: (table.entries * entry) as u64,
                },
                crcs,
            });
        }
        if extras.flags {
            set.flags = Some(Region {
                addr: addr(crc_at),
                len: total as u64,
            });
        }
        Ok(set)
    }
}

/// What lies between the last `__ksymtab*` and `__ksymtab_strings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Extras {
    /// Bytes per `__kcrctab*` entry, when there are CRC tables.
    crc_size: Option<usize>,
    /// A `__kflagstab` (7.x) follows the CRC tables.
    flags: bool,
}

/// Tell the sections between the tables and the strings from the size of the gap: `total`
/// records in `tables` tables, `word`-byte pointers.
fn after_tables(gap: usize, total: usize, tables: usize, word: usize) -> Option<Extras> {
    let mut options = vec![
        // 4.10+: u32 CRCs (71810db27c1c).
        (4 * total, Some(4), false),
        // No CONFIG_MODVERSIONS.
        (0, None, false),
    ];
    if tables == 1 {
        // 7.x: one table, its flags after the CRCs (kflagstab series).
        options.push((5 * total, Some(4), true));
        options.push((total, None, true));
    }
    if word != 4 {
        // Before 4.10: one `unsigned long` per CRC.
        options.push((word * total, Some(word), false));
    }
    options
        .into_iter()
        .find(|&(size, _, _)| size == gap)
        .map(|(_, crc_size, flags)| Extras { crc_size, flags })
}

/// Export kinds of `n` adjacent tables in link order (vmlinux.lds.h: `__ksymtab`,
/// `__ksymtab_gpl`, and before 5.13 `__ksymtab_unused`, `__ksymtab_unused_gpl`,
/// `__ksymtab_gpl_future`). With 3 or 4 tables some in between are empty and the kinds cannot
/// be told apart.
fn table_kinds(n: usize) -> Result<Vec<ExportKind>, Problem> {
    use ExportKind::*;
    match n {
        1 => Ok(vec![Plain]),
        2 => Ok(vec![Plain, Gpl]),
        5 => Ok(vec![Plain, Gpl, Unused, UnusedGpl, GplFuture]),
        _ => Err(Problem::Exports(format!(
            "found {n} adjacent sorted export tables; cannot tell which of __ksymtab, \
             __ksymtab_gpl, __ksymtab_unused, __ksymtab_unused_gpl, __ksymtab_gpl_future they are"
        ))),
    }
}

#[cfg(test)]
mod tests;
