//! Records that look like `struct kernel_symbol`: each field-aligned word of the image is
//! flagged by where it leads (near the image, to an identifier, into a string run), runs of
//! records with the right flags are collected, runs that follow each other form chains, and a
//! chain splits into tables where the name order restarts. PREL32 fields lead somewhere by
//! themselves; absolute pointers need the load address first ([`super::base`]).

use super::base::{pointer_runs, solve_base, ImageWords};
use super::strings::{is_name_start, StringRuns};
use crate::bytes::{self, Endian};
use crate::elf::Class;
use crate::exports::is_symbol_name;

/// Bytes scanned around a table found by its pointers, besides a few times its size.
pub(super) const NEIGHBOURHOOD: usize = 1 << 16;

/// Records from which a PREL32 result is trusted without also trying absolute pointers.
pub(super) const CONFIDENT_ENTRIES: usize = 256;
/// Fewest records a table run must have: fewer could be chance.
pub(super) const MIN_ENTRIES: usize = 4;
/// Largest gap between two `__ksymtab*` sections (output-section alignment).
pub(super) const MAX_TABLE_GAP: usize = 16;

/// Field flags: the field could be a `value` (it leads near the image).
pub(super) const VALUE: u8 = 1;
/// The field leads to the first byte of an identifier in a string run.
pub(super) const NAME: u8 = 2;
/// The field leads into a string run or is zero (a 5.4 namespace-less entry).
pub(super) const NAMESPACE: u8 = 4;

/// Flags of the field that leads to image offset `target`.
#[inline]
pub(super) fn target_flags(data: &[u8], strings: &StringRuns, target: i64) -> u8 {
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
pub(super) struct Mode {
    pub(super) endian: Endian,
    /// PREL32 (`&field + (s32)field`) or absolute pointers.
    pub(super) relative: bool,
    /// Bytes per field: 4 for PREL32, the word size for pointers.
    pub(super) field: usize,
    /// 3 with a namespace field (5.4+), else 2.
    pub(super) fields: usize,
    /// The load address (0 for PREL32: offsets stand for addresses).
    pub(super) base: u64,
}

impl Mode {
    pub(super) fn entry_size(&self) -> usize {
        self.field * self.fields
    }

    /// The image offset the field at `at` leads to.
    pub(super) fn target(&self, data: &[u8], at: usize) -> Option<i64> {
        let raw = bytes::read_uint(data, at, self.field, self.endian)?;
        self.target_of(at, raw)
    }

    /// Where the field at `at` holding `raw` leads (`None` for zero). Far-off targets wrap
    /// to values no check accepts.
    #[inline]
    pub(super) fn target_of(&self, at: usize, raw: u64) -> Option<i64> {
        if raw == 0 {
            None
        } else if self.relative {
            Some((at as i64).wrapping_add(i64::from(raw as u32 as i32)))
        } else {
            Some(raw.wrapping_sub(self.base) as i64)
        }
    }

    /// Flags of the field-aligned fields of `data[from..to]` (`from` field-aligned).
    pub(super) fn flags(
        &self,
        data: &[u8],
        strings: &StringRuns,
        from: usize,
        to: usize,
    ) -> Vec<u8> {
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
pub(super) struct Run {
    /// Image offset of the first record.
    pub(super) start: usize,
    /// Number of records.
    pub(super) entries: usize,
}

/// Runs of at least `min` records in `flags` (one flag byte per field, the first at image
/// offset `origin`).
pub(super) fn record_runs(
    flags: &[u8],
    origin: usize,
    fields: usize,
    field: usize,
    min: usize,
) -> Vec<Run> {
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
pub(super) fn chains(runs: &[Run], entry: usize) -> Vec<Vec<Run>> {
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
pub(super) struct Table {
    pub(super) start: usize,
    pub(super) entries: usize,
}

/// Export tables found by the scan, in image offsets.
#[derive(Debug)]
pub(super) struct Found {
    pub(super) mode: Mode,
    /// The tables in link order.
    pub(super) tables: Vec<Table>,
    /// Where the last table ends.
    pub(super) end: usize,
    /// Word size, when the scan determined it (absolute pointers).
    pub(super) class: Option<Class>,
}

impl Found {
    pub(super) fn entries(&self) -> usize {
        self.tables.iter().map(|t| t.entries).sum()
    }
}

/// Most tables a kernel has (5.12: `__ksymtab`, `_gpl`, `_unused`, `_unused_gpl`, `_gpl_future`).
pub(super) const MAX_TABLES: usize = 5;

/// Split a chain into tables where the name order restarts (each table is sorted, duplicates
/// allowed: arm64 5.10 exports memcpy twice), or `None` when it is no export table: a record
/// names no identifier, or the order restarts more often than a kernel has tables.
pub(super) fn split_tables(data: &[u8], mode: &Mode, chain: &[Run]) -> Option<Vec<Table>> {
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
pub(super) fn consider(
    best: &mut Option<Found>,
    data: &[u8],
    mode: Mode,
    runs: &[Run],
    class: Option<Class>,
) {
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

/// Keep in `found` the larger of the two.
pub(super) fn keep_larger(found: &mut Option<Found>, other: Option<Found>) {
    if let Some(other) = other {
        if found.as_ref().is_none_or(|f| f.entries() < other.entries()) {
            *found = Some(other);
        }
    }
}

/// Both byte orders, for a scan that has no header to say which.
pub(super) const BOTH_ENDIANS: [Endian; 2] = [Endian::Little, Endian::Big];

/// The best table chain in the byte orders `endians`: PREL32 first (a kernel with PREL32 tables
/// has thousands of records), and only after a poor result the slower search for absolute
/// pointers.
pub(super) fn find(data: &[u8], strings: &StringRuns, endians: &[Endian]) -> Option<Found> {
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
pub(super) fn find_relative(
    data: &[u8],
    strings: &StringRuns,
    endians: &[Endian],
) -> Option<Found> {
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
pub(super) fn find_absolute(
    data: &[u8],
    strings: &StringRuns,
    endians: &[Endian],
) -> Option<Found> {
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
