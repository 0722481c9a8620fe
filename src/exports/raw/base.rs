//! Solving the load address of a raw image whose tables hold absolute pointers (32-bit arm,
//! kernels before 4.19): the base that makes a run of name pointers land on string starts.

use super::strings::{is_name_start, StringRuns};
use super::MIN_ENTRIES;
use crate::bytes::{self, Endian};

/// Candidate pointer runs tried per layout when solving the load address.
pub(super) const MAX_BASE_CANDIDATES: usize = 32;

/// A sequence of pointer-sized words: the image read in place, or a list of values.
pub(super) trait Words {
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
pub(super) struct ImageWords<'a> {
    pub(super) data: &'a [u8],
    pub(super) size: usize,
    pub(super) endian: Endian,
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
pub(super) fn pointer_runs<W: Words + ?Sized>(
    words: &W,
    fields: usize,
    span: u64,
) -> Vec<(usize, usize)> {
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

/// Name pointers tried per candidate run.
const NAMES_TRIED: usize = 64;

/// The name pointers of records `from..from + NAMES_TRIED` of the candidate run
/// `(first, entries)` of `fields`-word records.
fn run_names<W: Words + ?Sized>(
    words: &W,
    fields: usize,
    (first, entries): (usize, usize),
    from: usize,
) -> Vec<u64> {
    (from..entries.min(from + NAMES_TRIED))
        .filter_map(|i| {
            let k = first + i * fields + 1;
            (k < words.len()).then(|| words.at(k))
        })
        .collect()
}

/// Where in a run of `entries` records the names tried start: its first records, and its last
/// ones too, since a run may begin in other pointers that happen to pair up (the end of
/// kallsyms_addresses just before the tables).
fn name_windows(entries: usize) -> impl Iterator<Item = usize> {
    let last = entries.saturating_sub(NAMES_TRIED);
    std::iter::once(0).chain((last > 0).then_some(last))
}

/// True when at least nine in ten of `names` land on string starts (an identifier after a
/// NUL) once `base` is subtracted. A name may be the merged tail of a longer one: hence the
/// misses allowed. The lowest name may be the first string of `__ksymtab_strings`, after the
/// last CRC byte instead of a NUL.
fn lands(data: &[u8], strings: &StringRuns, names: &[u64], base: u64) -> bool {
    let Some(&lo) = names.iter().min() else {
        return false;
    };
    let string_start = |t: usize| {
        strings.contains(t)
            && data.get(t).is_some_and(|&b| is_name_start(b))
            && t.checked_sub(1)
                .and_then(|p| data.get(p))
                .is_some_and(|&b| b == 0)
    };
    let allowed_misses = names.len() / 10;
    names
        .iter()
        .filter(|&&p| {
            let Some(t) = p.checked_sub(base).and_then(|t| usize::try_from(t).ok()) else {
                return true;
            };
            let first =
                p == lo && strings.contains(t) && data.get(t).is_some_and(|&b| is_name_start(b));
            !(first || string_start(t))
        })
        .nth(allowed_misses)
        .is_none()
}

/// True when the names of the candidate run land on string starts with load address `base`
/// (see [`solve_base`]): the run needs no base of its own.
pub(super) fn names_land<W: Words + ?Sized>(
    data: &[u8],
    strings: &StringRuns,
    words: &W,
    fields: usize,
    run: (usize, usize),
    base: u64,
) -> bool {
    name_windows(run.1).any(|from| lands(data, strings, &run_names(words, fields, run, from), base))
}

/// The load address that makes the name pointers of the candidate run land on string starts
/// (an identifier after a NUL) of one string run: each string start of the runs wide enough
/// to hold them all is tried as the target of one of the first names.
pub(super) fn solve_base<W: Words + ?Sized>(
    data: &[u8],
    strings: &StringRuns,
    words: &W,
    fields: usize,
    word: usize,
    run: (usize, usize),
) -> Option<u64> {
    name_windows(run.1)
        .find_map(|from| solve_names(data, strings, &run_names(words, fields, run, from), word))
}

/// The load address that makes `names` land on string starts (see [`solve_base`]).
fn solve_names(data: &[u8], strings: &StringRuns, names: &[u64], word: usize) -> Option<u64> {
    let (lo, hi) = (*names.iter().min()?, *names.iter().max()?);
    let span = hi - lo;
    // Distinct names of a few bytes each spread at least this far; arrays of nearby pointers
    // (kallsyms-like tables) do not, and would cost a try of every string start.
    if span < 4 * names.len() as u64 {
        return None;
    }
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
                if base % word as u64 == 0 && lands(data, strings, names, base) {
                    return Some(base);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_makes_name_pointers_land_on_string_starts() {
        let mut data = vec![0xffu8; 64];
        let mut offsets = Vec::new();
        data.push(0);
        for name in [
            "alpha_one",
            "beta_two",
            "gamma_three",
            "delta_four",
            "epsilon_five",
        ] {
            offsets.push(data.len());
            data.extend_from_slice(name.as_bytes());
            data.push(0);
        }
        data.extend([0xff; 8]);
        let strings = StringRuns::build(&data);
        let base = 0xc000_8000u64;
        // `{value, name}` records whose names point at the strings once linked at `base`.
        let words: Vec<u64> = offsets
            .iter()
            .flat_map(|&o| [0xc010_0000, base + o as u64])
            .collect();
        let runs = pointer_runs(words.as_slice(), 2, 1 << 20);
        assert_eq!(runs, [(0, offsets.len())]);
        assert_eq!(
            solve_base(&data, &strings, words.as_slice(), 2, 4, runs[0]),
            Some(base)
        );
        // Pointers that land nowhere solve nothing.
        let noise: Vec<u64> = offsets
            .iter()
            .flat_map(|&o| [0, base + o as u64 + 1])
            .collect();
        assert_eq!(
            solve_base(&data, &strings, noise.as_slice(), 2, 4, (0, offsets.len())),
            None
        );
    }
}
