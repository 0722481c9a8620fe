//! Records that look like `struct kernel_symbol`: each field-aligned word of the image is
//! flagged by where it leads (near the image, to an identifier, into a string run), runs of
//! records with the right flags are collected, runs that follow each other form chains, and a
//! chain splits into tables where the name order restarts. PREL32 fields lead somewhere by
//! themselves; absolute pointers need the load address first ([`super::base`]).

use super::base::{names_land, pointer_runs, solve_base, ImageWords};
use super::strings::{is_name_start, StringRuns};
use crate::bytes::{self, Endian};
use crate::elf::Class;
use crate::exports::era::{EntryOrder, KsymtabLayout, MAX_OUTSIDE_NAMES};
use crate::exports::is_symbol_name;

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

/// One table of a chain, in image offsets.
#[derive(Debug, Clone, Copy)]
pub(super) struct Table {
    pub(super) start: usize,
    pub(super) entries: usize,
}

/// A chain of record runs that may be the export tables, in image offsets: a candidate, until
/// [`Found::validate`](super::tables) reads it as a whole.
#[derive(Debug)]
pub(super) struct Found {
    pub(super) mode: Mode,
    /// The tables in link order.
    pub(super) tables: Vec<Table>,
    /// Where the last table ends.
    pub(super) end: usize,
    /// Word size, when the scan determined it (absolute pointers).
    pub(super) class: Option<Class>,
    /// How the entries are ordered, which told where one table ends and the next begins.
    pub(super) order: EntryOrder,
    /// The string run (`start`, `end`) that holds most names: `__ksymtab_strings`. A name
    /// elsewhere is one of [`EntryOrder::LinkOrder`]'s names outside it.
    pub(super) strings_run: (usize, usize),
}

impl Found {
    pub(super) fn entries(&self) -> usize {
        self.tables.iter().map(|t| t.entries).sum()
    }
}

/// Most tables a kernel has (5.12: `__ksymtab`, `_gpl`, `_unused`, `_unused_gpl`, `_gpl_future`).
pub(super) const MAX_TABLES: usize = 5;

/// Split a chain into tables, or `None` when it is no export table: a record names no
/// identifier, or the order restarts more often than a kernel has tables. Tables sorted by name
/// ([`EntryOrder::ByName`], 3.0 on) split where the name order restarts; tables in link order
/// ([`EntryOrder::LinkOrder`], before 3.0, absolute two-field entries only) where the address
/// order of the names in `__ksymtab_strings` (the string run most names lie in) restarts.
pub(super) fn split_tables(
    data: &[u8],
    strings: &StringRuns,
    mode: &Mode,
    chain: &[Run],
) -> Option<(EntryOrder, Vec<Table>, (usize, usize))> {
    let entry = mode.entry_size();
    // (record offset, name offset, name) of every record.
    let mut records = Vec::with_capacity(chain.iter().map(|r| r.entries).sum());
    for run in chain {
        for i in 0..run.entries {
            let at = run.start + i * entry;
            let target = usize::try_from(mode.target(data, at + mode.field)?).ok()?;
            let name = bytes::c_str(data, target)?;
            if !is_symbol_name(name) {
                return None;
            }
            records.push((at, target, name));
        }
    }
    let run_of = |t: usize| {
        let i = strings.runs.partition_point(|&(_, end)| end <= t);
        strings
            .runs
            .get(i)
            .filter(|&&(start, _)| start <= t)
            .copied()
    };
    // The run holding most names; runs are few per chain, so a short list does.
    let mut counts: Vec<((usize, usize), usize)> = Vec::new();
    for &(_, target, _) in &records {
        if let Some(run) = run_of(target) {
            match counts.iter_mut().find(|(r, _)| *r == run) {
                Some((_, n)) => *n += 1,
                None => counts.push((run, 1)),
            }
        }
    }
    let (home, _) = counts.into_iter().max_by_key(|&(_, n)| n)?;
    let inside = |t: usize| t >= home.0 && t < home.1;
    // An exported symbol never lies in `__ksymtab_strings`: records whose value does are
    // other pointers that pair up like records (the end of kallsyms_addresses, which lists
    // the `__kstrtab_*` strings, just before the tables). Such records may lead or trail the
    // chain, not interrupt it.
    let value_inside = |at: usize| {
        mode.target(data, at)
            .and_then(|t| usize::try_from(t).ok())
            .is_some_and(inside)
    };
    let lead = records.iter().take_while(|r| value_inside(r.0)).count();
    let trail = records[lead..]
        .iter()
        .rev()
        .take_while(|r| value_inside(r.0))
        .count();
    records.truncate(records.len() - trail);
    records.drain(..lead);
    if records.is_empty() || records.iter().any(|r| value_inside(r.0)) {
        return None;
    }
    let split = |restarts: &dyn Fn(usize, usize) -> bool| -> Vec<Table> {
        let mut tables: Vec<Table> = Vec::new();
        let mut prev: Option<usize> = None;
        for (k, &(at, target, _)) in records.iter().enumerate() {
            let new_table = match tables.last() {
                None => true,
                // Runs of a chain may leave a gap (section alignment): a new table.
                Some(t) => {
                    t.start + t.entries * entry != at || prev.is_some_and(|p| restarts(p, k))
                }
            };
            if new_table {
                tables.push(Table {
                    start: at,
                    entries: 0,
                });
            }
            if let Some(t) = tables.last_mut() {
                t.entries += 1;
            }
            if inside(target) || !mode_allows_outside(mode) {
                prev = Some(k);
            }
        }
        tables
    };
    let everything_inside = records.iter().all(|&(_, t, _)| inside(t));
    if everything_inside {
        let tables = split(&|p, k| records[k].2 < records[p].2);
        if tables.len() <= MAX_TABLES {
            return Some((EntryOrder::ByName, tables, home));
        }
    }
    if !mode_allows_outside(mode) {
        return None;
    }
    let outside = records.iter().filter(|&&(_, t, _)| !inside(t)).count();
    if outside > MAX_OUTSIDE_NAMES {
        return None;
    }
    let tables = split(&|p, k| inside(records[k].1) && records[k].1 <= records[p].1);
    (tables.len() <= MAX_TABLES).then_some((EntryOrder::LinkOrder, tables, home))
}

/// True for the record shape whose tables may be in link order
/// ([`KsymtabLayout::admits_link_order`]).
fn mode_allows_outside(mode: &Mode) -> bool {
    KsymtabLayout::new(mode.relative, mode.fields == 3).admits_link_order()
}

/// Add to `candidates` every chain of `runs` that splits into tables.
pub(super) fn consider(
    candidates: &mut Vec<Found>,
    data: &[u8],
    strings: &StringRuns,
    mode: Mode,
    runs: &[Run],
    class: Option<Class>,
) {
    let entry = mode.entry_size();
    for chain in chains(runs, entry) {
        if let Some((order, tables, strings_run)) = split_tables(data, strings, &mode, &chain) {
            let end = tables.last().map_or(0, |t| t.start + t.entries * entry);
            candidates.push(Found {
                mode,
                tables,
                end,
                class,
                order,
                strings_run,
            });
        }
    }
}

/// Candidates kept for validation, largest first: more would be noise.
pub(super) const MAX_CANDIDATES: usize = 16;

/// Sort `candidates` largest first (the same chain found in two modes: the first found) and
/// keep the [`MAX_CANDIDATES`] largest.
pub(super) fn rank(candidates: &mut Vec<Found>) {
    candidates.sort_by_key(|f| std::cmp::Reverse(f.entries()));
    candidates.truncate(MAX_CANDIDATES);
}

/// Both byte orders, for a scan that has no header to say which.
pub(super) const BOTH_ENDIANS: [Endian; 2] = [Endian::Little, Endian::Big];

/// The candidate table chains in the byte orders `endians`, largest first: PREL32 first (a
/// kernel with PREL32 tables has thousands of records), and only after a poor result the slower
/// search for absolute pointers.
pub(super) fn find(data: &[u8], strings: &StringRuns, endians: &[Endian]) -> Vec<Found> {
    let mut found = find_relative(data, strings, endians);
    if found
        .first()
        .is_none_or(|f| f.entries() < CONFIDENT_ENTRIES)
    {
        found.extend(find_absolute(data, strings, endians));
        rank(&mut found);
    }
    found
}

/// Look for PREL32 tables in the byte orders `endians`, with and without a namespace field;
/// the candidates, largest first.
pub(super) fn find_relative(data: &[u8], strings: &StringRuns, endians: &[Endian]) -> Vec<Found> {
    let mut candidates = Vec::new();
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
            consider(&mut candidates, data, strings, mode, &runs, None);
        }
    }
    rank(&mut candidates);
    candidates
}

/// Distinct load addresses tried per record shape: the base of the tables and of a decoy or
/// two (kallsyms_addresses holds pointer pairs that land on the strings too).
const MAX_BASES: usize = 4;

/// Look for absolute-pointer tables in the byte orders `endians`: solve load addresses from
/// runs of records whose name pointers stay within one string run's span (a run whose names
/// already land with a base found is not solved again), then scan the image with each. The
/// candidates, largest first.
pub(super) fn find_absolute(data: &[u8], strings: &StringRuns, endians: &[Endian]) -> Vec<Found> {
    let longest = strings.runs.iter().map(|&(s, e)| e - s).max().unwrap_or(0) as u64;
    if longest == 0 {
        return Vec::new();
    }
    let mut candidates = Vec::new();
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
                let mut bases: Vec<u64> = Vec::new();
                for run in pointer_runs(&words, fields, longest) {
                    if bases.len() >= MAX_BASES {
                        break;
                    }
                    if bases
                        .iter()
                        .any(|&b| names_land(data, strings, &words, fields, run, b))
                    {
                        continue;
                    }
                    if let Some(base) = solve_base(data, strings, &words, fields, word, run) {
                        bases.push(base);
                    }
                }
                for base in bases {
                    let mode = Mode {
                        endian,
                        relative: false,
                        field: word,
                        fields,
                        base,
                    };
                    let flags = mode.flags(data, strings, 0, data.len());
                    let runs = record_runs(&flags, 0, fields, word, MIN_ENTRIES);
                    consider(&mut candidates, data, strings, mode, &runs, Some(class));
                }
            }
        }
    }
    rank(&mut candidates);
    candidates
}
