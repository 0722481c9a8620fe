//! The kernel's own list of its export tables ([`era::symsearch`]): where a raw image with
//! absolute pointers holds it, the bounds and kinds of the tables are read from it instead of
//! being inferred from the order of the entries.

use crate::bytes::{self, Endian};
use crate::exports::era::symsearch;
use crate::exports::ExportKind;

/// One table as the array gives it, in image offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Bounds {
    pub(super) kind: ExportKind,
    pub(super) start: usize,
    pub(super) end: usize,
    /// Where its `__kcrctab*` starts (equal to the tables' end without CONFIG_MODVERSIONS).
    pub(super) crcs: usize,
}

/// The non-empty tables, in address order, of the `struct symsearch` array of an image read
/// with load address `base`, whose records span the image offsets `start..end` in
/// `entry`-byte records of `word`-byte pointers; `None` when the image holds no array
/// describing exactly that span.
pub(super) fn find(
    data: &[u8],
    (endian, word, base): (Endian, usize, u64),
    (start, end, entry): (usize, usize, usize),
) -> Option<Vec<Bounds>> {
    let first = base.checked_add(start as u64)?;
    let stride = symsearch::stride(word);
    let read = |at: usize, size: usize| bytes::read_uint(data, at, size, endian);
    let needle = match (word, endian) {
        (4, Endian::Little) => (first as u32).to_le_bytes().to_vec(),
        (4, Endian::Big) => (first as u32).to_be_bytes().to_vec(),
        (_, Endian::Little) => first.to_le_bytes().to_vec(),
        (_, Endian::Big) => first.to_be_bytes().to_vec(),
    };
    let offset = |addr: u64| -> Option<usize> { usize::try_from(addr.checked_sub(base)?).ok() };
    let parse = |at: usize| -> Option<Vec<Bounds>> {
        let mut tables = Vec::new();
        let mut kinds = Vec::new();
        for i in 0..symsearch::ENTRIES[1] {
            let e = at + i * stride;
            let parsed = (|| {
                let lo = offset(read(e, word)?)?;
                let hi = offset(read(e + word, word)?)?;
                let crcs = offset(read(e + 2 * word, word)?)?;
                let licence = read(e + 3 * word, 4)? as u32;
                let unused = read(e + 3 * word + 4, 1)? as u8;
                let kind = symsearch::kind(licence, unused)?;
                let inside = start <= lo && lo <= hi && hi <= end && (hi - lo) % entry == 0;
                inside.then_some(Bounds {
                    kind,
                    start: lo,
                    end: hi,
                    crcs,
                })
            })();
            match parsed {
                Some(b) if !kinds.contains(&b.kind) => {
                    kinds.push(b.kind);
                    tables.push(b);
                }
                _ if symsearch::ENTRIES.contains(&i) => break,
                _ => return None,
            }
        }
        if !symsearch::ENTRIES.contains(&kinds.len()) {
            return None;
        }
        tables.retain(|b| b.end > b.start);
        tables.sort_by_key(|b| b.start);
        // The tables follow each other and cover the records exactly.
        let mut at = start;
        for b in &tables {
            if b.start != at {
                return None;
            }
            at = b.end;
        }
        (at == end).then_some(tables)
    };
    let mut at = 0;
    while let Some(hit) = memchr::memmem::find(data.get(at..)?, &needle) {
        let pos = at + hit;
        if pos % word == 0 {
            if let Some(tables) = parse(pos) {
                return Some(tables);
            }
        }
        at = pos + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 32-bit little-endian `struct symsearch` entry.
    fn entry(start: u32, stop: u32, crcs: u32, licence: u32, unused: u8) -> Vec<u8> {
        let mut out = Vec::new();
        for v in [start, stop, crcs, licence] {
            out.extend(v.to_le_bytes());
        }
        out.extend([unused, 0, 0, 0]);
        out
    }

    #[test]
    fn the_array_gives_bounds_and_kinds_of_the_tables() {
        let base = 0xc000_8000u32;
        let (start, gpl, unused, end) = (0x100u32, 0x140, 0x180, 0x188);
        let a = |off: u32| base + off;
        let mut data = vec![0u8; 0x100];
        // A decoy word with the same value first (as in kallsyms_addresses).
        data[0x10..0x14].copy_from_slice(&a(start).to_le_bytes());
        data.extend(vec![0x11; 0x88]);
        let at = data.len();
        data.extend(entry(a(start), a(gpl), a(0x188), 0, 0));
        data.extend(entry(a(gpl), a(unused), a(0x198), 1, 0));
        data.extend(entry(a(end), a(end), a(0x1a8), 2, 0));
        data.extend(entry(a(unused), a(end), a(0x1a8), 0, 1));
        data.extend(entry(a(end), a(end), a(0x1a8), 1, 1));
        data.extend(b"2.6.32 vermagic");
        let got = find(
            &data,
            (Endian::Little, 4, u64::from(base)),
            (start as usize, end as usize, 8),
        )
        .unwrap();
        let kinds: Vec<(ExportKind, usize, usize)> =
            got.iter().map(|b| (b.kind, b.start, b.end)).collect();
        assert_eq!(
            kinds,
            [
                (ExportKind::Plain, 0x100, 0x140),
                (ExportKind::Gpl, 0x140, 0x180),
                (ExportKind::Unused, 0x180, 0x188)
            ]
        );
        assert!(at.is_multiple_of(4));
        // Records that end elsewhere are not what the array describes.
        assert_eq!(
            find(
                &data,
                (Endian::Little, 4, u64::from(base)),
                (start as usize, 0x180, 8)
            ),
            None
        );
    }
}
