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

use std::borrow::Cow;

use serde::Serialize;

use super::era::{self, KsymtabLayout, TableKinds, TableLayout};
use super::is_symbol_name;
use super::vmlinux::{self, AddressSpace, Region, TableRegions, TableSet, VmlinuxExports};
use crate::bytes;
use crate::elf::{Class, Endian};
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
    /// RELATIVE relocations applied from the image's own `.rela.dyn` before the scan (0 when
    /// the tables were readable as stored).
    pub relocations: usize,
}

/// Read the exports of a raw kernel image by finding its tables.
pub fn read(data: &[u8]) -> Result<RawExports, Problem> {
    let strings = StringRuns::build(data);
    let mut found = find(data, &strings, &BOTH_ENDIANS);
    let mut image = Cow::Borrowed(data);
    let mut relocations = 0;
    if found
        .as_ref()
        .is_none_or(|f| f.entries() < CONFIDENT_ENTRIES)
    {
        // A relocatable kernel whose pointer words are zero on disk (s390x 6.1, arm64
        // 4.6–4.18): apply the RELATIVE relocations it carries for its own startup code.
        if let Some((relocated, count)) = apply_relocations(data, &strings) {
            let strings = StringRuns::build(&relocated);
            let absolute = find_absolute(&relocated, &strings, &BOTH_ENDIANS);
            if absolute
                .as_ref()
                .is_some_and(|a| found.as_ref().is_none_or(|f| f.entries() < a.entries()))
            {
                found = absolute;
                image = Cow::Owned(relocated);
                relocations = count;
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
    let (set, layout) = found.table_set(&image, &found.named_strings(&image))?;
    found.exports(&image, &set, layout, relocations)
}

/// Read the exports of kernel memory known to be in byte order `endian` (from an ELF header)
/// only when the scan leaves no doubt, else `None`. Besides what [`read`] checks, the tables must
/// be complete: at least [`CONFIDENT_ENTRIES`] records, as many tables as the layout implies
/// (`__ksymtab` and `__ksymtab_gpl`; one with `__kflagstab`), every string of
/// `__ksymtab_strings` named by some record, and nothing within [`EDGE`] bytes of either end of
/// `data` (a table cut by the window would look shorter). For reading a part of an ELF vmlinux
/// whose section headers are not at hand.
pub fn read_confident(data: &[u8], endian: Endian) -> Option<RawExports> {
    let strings = StringRuns::build(data);
    let found = find(data, &strings, &[endian])?;
    let first = found.tables.first()?.start;
    if found.entries() < CONFIDENT_ENTRIES
        || first < EDGE
        || found.end.saturating_add(EDGE) > data.len()
    {
        return None;
    }
    let named = found.named_strings(data);
    let (set, layout) = found.table_set(data, &named).ok()?;
    let tables_expected = if layout.tables.has_flags() {
        [1, 1]
    } else {
        [2, 5]
    };
    if !tables_expected.contains(&found.tables.len()) || !Found::names_every_string(data, &named) {
        return None;
    }
    found.exports(data, &set, layout, 0).ok()
}

/// Bytes [`read_confident`] wants between the tables or their strings and either end of its
/// data.
pub const EDGE: usize = 1 << 12;

fn keep_larger(found: &mut Option<Found>, other: Option<Found>) {
    if let Some(other) = other {
        if found.as_ref().is_none_or(|f| f.entries() < other.entries()) {
            *found = Some(other);
        }
    }
}

/// Bytes scanned around a table found by its pointers, besides a few times its size.
const NEIGHBOURHOOD: usize = 1 << 16;

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
    /// Offsets of the string starts in the runs (an identifier byte after a NUL), ascending.
    starts: Vec<usize>,
}

impl StringRuns {
    fn build(data: &[u8]) -> Self {
        let mut class = [false; 256];
        for (b, slot) in class.iter_mut().enumerate() {
            *slot = is_string_byte(b as u8);
        }
        let mut mask = vec![0u64; data.len().div_ceil(64)];
        let mut runs = Vec::new();
        let mut starts = Vec::new();
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
                starts
                    .extend((start + 1..i).filter(|&t| data[t - 1] == 0 && is_name_start(data[t])));
            }
        }
        StringRuns { mask, runs, starts }
    }

    fn contains(&self, at: usize) -> bool {
        self.mask
            .get(at / 64)
            .is_some_and(|w| (w >> (at % 64)) & 1 != 0)
    }
}

fn set_bits(mask: &mut [u64], start: usize, end: usize) {
    let mut at = start;
    while at < end {
        let bit = at % 64;
        let take = (64 - bit).min(end - at);
        let ones = if take == 64 {
            u64::MAX
        } else {
            ((1u64 << take) - 1) << bit
        };
        if let Some(w) = mask.get_mut(at / 64) {
            *w |= ones;
        }
        at += take;
    }
}

/// Field flags: the field could be a `value` (it leads near the image).
const VALUE: u8 = 1;
/// The field leads to the first byte of an identifier in a string run.
const NAME: u8 = 2;
/// The field leads into a string run or is zero (a 5.4 namespace-less entry).
const NAMESPACE: u8 = 4;

/// Flags of the field that leads to image offset `target`.
#[inline]
fn target_flags(data: &[u8], strings: &StringRuns, target: i64) -> u8 {
    let len = data.len() as i64;
    let mut f = 0;
    // Exported variables may live in .bss, past the end of the file, and s390x per-cpu ones
    // at small addresses below the image: allow one image length either side.
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
    fn target(&self, data: &[u8], at: usize) -> Option<i64> {
        let raw = bytes::read_uint(data, at, self.field, self.endian)?;
        self.target_of(at, raw)
    }

    /// Where the field at `at` holding `raw` leads (`None` for zero). Far-off targets wrap
    /// to values no check accepts.
    #[inline]
    fn target_of(&self, at: usize, raw: u64) -> Option<i64> {
        if raw == 0 {
            None
        } else if self.relative {
            Some((at as i64).wrapping_add(i64::from(raw as u32 as i32)))
        } else {
            Some(raw.wrapping_sub(self.base) as i64)
        }
    }

    /// Flags of the field-aligned fields of `data[from..to]` (`from` field-aligned).
    fn flags(&self, data: &[u8], strings: &StringRuns, from: usize, to: usize) -> Vec<u8> {
        data.get(from..to.min(data.len()))
            .unwrap_or_default()
            .chunks_exact(self.field)
            .enumerate()
            .map(|(k, chunk)| {
                let raw = bytes::read_uint(chunk, 0, self.field, self.endian).unwrap_or(0);
                match self.target_of(from + k * self.field, raw) {
                    // A zero value is an exported per-cpu variable at the start of
                    // .data..percpu (s390x links per-cpu data at 0); a zero namespace is 5.4's
                    // "none".
                    None => VALUE | NAMESPACE,
                    // Any PREL32 value can be right: x86_64 links its per-cpu variables at
                    // small addresses, about 2 GiB below the tables that export them.
                    Some(t) if self.relative => VALUE | target_flags(data, strings, t),
                    Some(t) => target_flags(data, strings, t),
                }
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

/// Runs of at least `min` records in `flags` (one flag byte per field, the first at image
/// offset `origin`).
fn record_runs(flags: &[u8], origin: usize, fields: usize, field: usize, min: usize) -> Vec<Run> {
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
                            start: origin + s * field,
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
                    start: origin + s * field,
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
            let name = bytes::c_str(data, usize::try_from(name).ok()?)?;
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

/// Both byte orders, for a scan that has no header to say which.
const BOTH_ENDIANS: [Endian; 2] = [Endian::Little, Endian::Big];

/// The best table chain in the byte orders `endians`: PREL32 first (a kernel with PREL32 tables
/// has thousands of records), and only after a poor result the slower search for absolute
/// pointers.
fn find(data: &[u8], strings: &StringRuns, endians: &[Endian]) -> Option<Found> {
    let mut found = find_relative(data, strings, endians);
    if found
        .as_ref()
        .is_none_or(|f| f.entries() < CONFIDENT_ENTRIES)
    {
        keep_larger(&mut found, find_absolute(data, strings, endians));
    }
    found
}

/// Look for PREL32 tables in the byte orders `endians`, with and without a namespace field.
fn find_relative(data: &[u8], strings: &StringRuns, endians: &[Endian]) -> Option<Found> {
    let mut best = None;
    for &endian in endians {
        let probe = Mode {
            endian,
            relative: true,
            field: 4,
            fields: 3,
            base: 0,
        };
        let flags = probe.flags(data, strings, 0, data.len());
        for fields in [3, 2] {
            let mode = Mode { fields, ..probe };
            let runs = record_runs(&flags, 0, fields, 4, MIN_ENTRIES);
            consider(&mut best, data, mode, &runs, None);
        }
    }
    best
}

/// Look for absolute-pointer tables: first solve the load address from runs of records whose
/// name pointers stay within one string run's span, then scan with it.
/// Look for absolute-pointer tables in the byte orders `endians`.
fn find_absolute(data: &[u8], strings: &StringRuns, endians: &[Endian]) -> Option<Found> {
    let longest = strings.runs.iter().map(|&(s, e)| e - s).max().unwrap_or(0) as u64;
    if longest == 0 {
        return None;
    }
    let mut best = None;
    for (word, class) in [(8, Class::Elf64), (4, Class::Elf32)] {
        for &endian in endians {
            // Read in place: a decoded copy of every word would cost twice the image for
            // 32-bit words (72 MB for a 36 MB riscv64 Image).
            let words = ImageWords {
                data,
                size: word,
                endian,
            };
            for fields in [3, 2] {
                let Some((base, (first, entries))) = pointer_runs(&words, fields, longest)
                    .into_iter()
                    .find_map(|run| {
                        solve_base(data, strings, &words, fields, word, run).map(|b| (b, run))
                    })
                else {
                    continue;
                };
                let mode = Mode {
                    endian,
                    relative: false,
                    field: word,
                    fields,
                    base,
                };
                // The other tables lie next to the run that gave the base: scan a window of
                // a few times its size, not the whole image, for every base tried.
                let size = entries * mode.entry_size();
                let from = (first * word).saturating_sub(4 * size + NEIGHBOURHOOD);
                let from = from - from % (fields * word);
                let to = first * word + 5 * size + NEIGHBOURHOOD;
                let flags = mode.flags(data, strings, from, to);
                let runs = record_runs(&flags, from, fields, word, MIN_ENTRIES);
                consider(&mut best, data, mode, &runs, Some(class));
            }
        }
    }
    best
}
/// A sequence of pointer-sized words: the image read in place, or a list of values.
trait Words {
    /// How many words there are.
    fn len(&self) -> usize;
    /// Word `k` (0 past the end).
    fn at(&self, k: usize) -> u64;
}

impl Words for [u64] {
    fn len(&self) -> usize {
        <[u64]>::len(self)
    }
    fn at(&self, k: usize) -> u64 {
        self.get(k).copied().unwrap_or(0)
    }
}

/// The image's bytes as `size`-byte words of one byte order.
struct ImageWords<'a> {
    data: &'a [u8],
    size: usize,
    endian: Endian,
}

impl Words for ImageWords<'_> {
    fn len(&self) -> usize {
        self.data.len() / self.size
    }
    fn at(&self, k: usize) -> u64 {
        k.checked_mul(self.size)
            .and_then(|at| bytes::read_uint(self.data, at, self.size, self.endian))
            .unwrap_or(0)
    }
}

/// Candidate runs (word index of the first record, records) of `fields`-word records whose
/// name pointers are non-zero and never jump further than `span` bytes: what a table of
/// pointers into one string area looks like before its base is known. Longest first.
fn pointer_runs<W: Words + ?Sized>(words: &W, fields: usize, span: u64) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    for phase in 0..fields {
        let mut k = phase;
        let mut start: Option<usize> = None;
        while k + 2 * fields <= words.len() {
            let (a, b) = (words.at(k + 1), words.at(k + fields + 1));
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

/// The load address that makes the name pointers of the candidate run land on string starts
/// (an identifier after a NUL) of one string run: each string start of the runs wide enough
/// to hold them all is tried as the target of one of the first names.
fn solve_base<W: Words + ?Sized>(
    data: &[u8],
    strings: &StringRuns,
    words: &W,
    fields: usize,
    word: usize,
    (first, entries): (usize, usize),
) -> Option<u64> {
    let names: Vec<u64> = (0..entries.min(64))
        .filter_map(|i| {
            let k = first + i * fields + 1;
            (k < words.len()).then(|| words.at(k))
        })
        .collect();
    let (lo, hi) = (*names.iter().min()?, *names.iter().max()?);
    let span = hi - lo;
    // Distinct names of a few bytes each spread at least this far; arrays of nearby pointers
    // (kallsyms-like tables) do not, and would cost a try of every string start.
    if span < 4 * names.len() as u64 {
        return None;
    }
    let string_start = |t: usize| {
        strings.contains(t)
            && data.get(t).is_some_and(|&b| is_name_start(b))
            && t.checked_sub(1)
                .and_then(|p| data.get(p))
                .is_some_and(|&b| b == 0)
    };
    // A name may be the merged tail of a longer one: allow a few misses. The lowest name may
    // be the first string of __ksymtab_strings, after the last CRC byte instead of a NUL.
    let allowed_misses = names.len() / 10;
    let lands = |base: u64| -> bool {
        names
            .iter()
            .filter(|&&p| {
                let Some(t) = p.checked_sub(base).and_then(|t| usize::try_from(t).ok()) else {
                    return true;
                };
                let first = p == lo
                    && strings.contains(t)
                    && data.get(t).is_some_and(|&b| is_name_start(b));
                !(first || string_start(t))
            })
            .nth(allowed_misses)
            .is_none()
    };
    for &reference in names.iter().take(2) {
        for &(s, e) in &strings.runs {
            if ((e - s) as u64) < span {
                continue;
            }
            // All names land in this run: `reference` lands where `lo` stays at or after
            // its start and `hi` before its end.
            let (below, above) = ((reference - lo) as usize, (hi - reference) as usize);
            let first = s + below;
            let last = e.saturating_sub(above);
            let from = strings.starts.partition_point(|&t| t < first);
            let lowest = (reference == lo).then_some(first);
            let starts = strings.starts[from..].iter().take_while(|&&t| t < last);
            for t in lowest.into_iter().chain(starts.copied()) {
                let Some(base) = reference.checked_sub(t as u64) else {
                    continue;
                };
                if base % word as u64 == 0 && lands(base) {
                    return Some(base);
                }
            }
        }
    }
    None
}

impl Found {
    /// The word size the scan found, 64-bit when PREL32 tables did not show it.
    fn class(&self) -> Class {
        self.class.unwrap_or(Class::Elf64)
    }

    /// The scanned bytes as kernel memory.
    fn space<'d>(&self, image: &'d [u8]) -> RawImage<'d> {
        RawImage::new(image, self.mode.base, self.mode.endian, self.class())
    }

    /// Decode the exports of `set` in `image` (the bytes scanned, relocated when
    /// `relocations` were applied).
    fn exports(
        &self,
        image: &[u8],
        set: &TableSet,
        layout: TableLayout,
        relocations: usize,
    ) -> Result<RawExports, Problem> {
        Ok(RawExports {
            vmlinux: vmlinux::decode(&self.space(image), set, layout)?,
            class: self.class(),
            endian: self.mode.endian,
            load_base: (!self.mode.relative).then_some(self.mode.base),
            relocations,
        })
    }

    /// Image offsets of every string a record names (name and namespace fields), ascending.
    fn named_strings(&self, data: &[u8]) -> Vec<usize> {
        let m = &self.mode;
        let entry = m.entry_size();
        let mut named = Vec::with_capacity(self.entries() * (m.fields - 1));
        for table in &self.tables {
            for i in 0..table.entries {
                let at = table.start + i * entry;
                named.extend((1..m.fields).filter_map(|f| {
                    m.target(data, at + f * m.field)
                        .and_then(|t| usize::try_from(t).ok())
                }));
            }
        }
        named.sort_unstable();
        named.dedup();
        named
    }

    /// True when every string from the lowest of `named` (see [`Found::named_strings`]) to the
    /// end of the highest is in `named`: `__ksymtab_strings` holds only export names and namespaces, so a string
    /// nobody names means a table or record was missed.
    fn names_every_string(data: &[u8], named: &[usize]) -> bool {
        let (Some(&lo), Some(&last)) = (named.first(), named.last()) else {
            return false;
        };
        let Some(hi) = bytes::c_str(data, last).map(|s| last + s.len()) else {
            return false;
        };
        // Empty strings are left out: the linker may keep a "" namespace apart or merge it
        // into any string's NUL.
        (lo + 1..hi)
            .filter(|&p| data[p - 1] == 0 && data[p] != 0)
            .all(|p| named.binary_search(&p).is_ok())
    }

    /// Split the chain into tables, find the strings, CRC and flag regions, and the era they
    /// make ([`TableLayout`]); `named` are the strings the records name
    /// ([`Found::named_strings`]).
    fn table_set(&self, data: &[u8], named: &[usize]) -> Result<(TableSet, TableLayout), Problem> {
        let m = &self.mode;
        let entry = m.entry_size();
        // `__ksymtab_strings` spans from the lowest string any record names to the end of the
        // highest one (strings share at most a tail, so the highest start ends last): every
        // string in it belongs to some export.
        let (Some(&lo), Some(&top)) = (named.first(), named.last()) else {
            return Err(Problem::Exports(
                "the export records name no strings".into(),
            ));
        };
        let hi = top + bytes::c_str(data, top).map_or(0, <[u8]>::len) + 1;
        let last = self.end;
        let total = self.entries();
        let gap = lo.checked_sub(last).ok_or_else(|| {
            Problem::Exports(format!(
                "the names of the export records (ending at image offset {last:#x}) start before \
                 them, at {lo:#x}"
            ))
        })?;
        let word = self.class().word_size();
        let (crcs, flags) = era::between_tables_and_strings(gap, total, self.tables.len(), word)
            .ok_or_else(|| {
                Problem::Exports(format!(
                    "{gap} bytes lie between the {total} export records (ending at image offset \
                 {last:#x}) and __ksymtab_strings, which fits no __kcrctab/__kflagstab layout"
                ))
            })?;
        let (tables, kinds) = TableKinds::kinds_of(self.tables.len(), flags).ok_or_else(|| {
            Problem::Exports(format!(
                "found {} adjacent sorted export tables; cannot tell which of __ksymtab, \
                 __ksymtab_gpl, __ksymtab_unused, __ksymtab_unused_gpl, __ksymtab_gpl_future they are",
                self.tables.len()
            ))
        })?;
        let crc_size = crcs.entry_size(word);
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
        for (table, &kind) in self.tables.iter().zip(kinds) {
            let crcs = crc_size.map(|size| {
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
        if flags {
            set.flags = Some(Region {
                addr: addr(crc_at),
                len: total as u64,
            });
        }
        // Only the contents tell CONFIG_MODULE_REL_CRCS from plain u32 CRCs: look at the
        // largest table.
        let crcs = match set
            .tables
            .iter()
            .filter_map(|t| Some((t.crcs?, t.symbols.len as usize / entry)))
            .max_by_key(|&(_, count)| count)
        {
            Some((region, count)) => vmlinux::crc_storage(&self.space(data), region, count, crcs),
            None => crcs,
        };
        let layout = TableLayout {
            ksymtab: KsymtabLayout::new(m.relative, m.fields == 3),
            crcs,
            tables,
        };
        Ok((set, layout))
    }
}

/// `R_*_RELATIVE` types of 64-bit kernels linked `-pie` (RELOCATABLE), by `e_machine`:
/// x86_64 8, ppc64 22, aarch64 1027, riscv 3, s390 12 (each arch's include/uapi or elf.h).
const RELATIVE_TYPES: [u64; 5] = [8, 22, 1027, 3, 12];
/// Fewest consecutive RELA records taken for a `.rela.dyn`.
const MIN_RELOCATIONS: usize = 64;

/// Find the image's own `.rela.dyn` (s390 6.1 arch/s390/kernel/vmlinux.lds.S keeps it in the
/// image for the decompressor's `handle_relocs()`; arm64 4.6–4.18 for `__relocate_kernel`):
/// the longest run of 24-byte `Elf64_Rela` records of one RELATIVE type. Solve the load address
/// from the addends that name exported strings, and return a copy of the image with every
/// addend written where its record points, and the number written.
fn apply_relocations(data: &[u8], strings: &StringRuns) -> Option<(Vec<u8>, usize)> {
    let (endian, relocs) = find_relocations(data)?;
    // The addends in link order, a gap where the relocated words are not consecutive, read
    // like the words of the image when solving the base from pointer runs.
    let mut sorted = relocs.clone();
    sorted.sort_unstable();
    let mut words = Vec::with_capacity(sorted.len());
    let mut prev: Option<u64> = None;
    for &(at, addend) in &sorted {
        if prev.is_some_and(|p| p.checked_add(8) != Some(at)) {
            words.push(0);
        }
        words.push(addend);
        prev = Some(at);
    }
    let longest = strings.runs.iter().map(|&(s, e)| e - s).max().unwrap_or(0) as u64;
    let base = [3, 2].into_iter().find_map(|fields| {
        pointer_runs(words.as_slice(), fields, longest)
            .into_iter()
            .find_map(|run| solve_base(data, strings, words.as_slice(), fields, 8, run))
    })?;
    let mut image = data.to_vec();
    let mut applied = 0;
    for &(at, addend) in &relocs {
        let Some(slot) = at
            .checked_sub(base)
            .and_then(|o| usize::try_from(o).ok())
            .and_then(|o| image.get_mut(o..o.checked_add(8)?))
        else {
            continue;
        };
        slot.copy_from_slice(&match endian {
            Endian::Little => addend.to_le_bytes(),
            Endian::Big => addend.to_be_bytes(),
        });
        applied += 1;
    }
    Some((image, applied))
}

/// The longest run of RELATIVE `Elf64_Rela` records (`r_offset`, `r_info` = type with symbol
/// 0, `r_addend`) as `(r_offset, r_addend)` pairs, with its byte order.
fn find_relocations(data: &[u8]) -> Option<(Endian, Vec<(u64, u64)>)> {
    let mut best: Option<(Endian, usize, usize)> = None;
    for endian in [Endian::Little, Endian::Big] {
        let info = |k: usize| bytes::read_uint(data, k * 8, 8, endian);
        let n = data.len() / 8;
        let mut k = 1;
        while k < n {
            let Some(kind) = info(k).filter(|t| RELATIVE_TYPES.contains(t)) else {
                k += 1;
                continue;
            };
            let first = k - 1;
            let mut count = 0;
            while info(first + count * 3 + 1) == Some(kind) {
                count += 1;
            }
            if count >= MIN_RELOCATIONS && best.is_none_or(|(_, _, c)| count > c) {
                best = Some((endian, first * 8, count));
            }
            k = first + count * 3 + 2;
        }
    }
    let (endian, start, count) = best?;
    let relocs = (0..count)
        .filter_map(|i| {
            let at = start + i * 24;
            Some((
                bytes::read_uint(data, at, 8, endian)?,
                bytes::read_uint(data, at + 16, 8, endian)?,
            ))
        })
        .collect();
    Some((endian, relocs))
}

#[cfg(test)]
mod tests;
