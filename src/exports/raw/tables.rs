//! From records to an era: where `__ksymtab_strings`, the `__kcrctab*` and `__kflagstab` of a
//! found chain of tables lie, and which [`TableLayout`] they make (the size of the gap between
//! the tables and the strings tells which of them exist, [`era::between_tables_and_strings`]).

use super::bounds;
use super::records::Found;
use super::{RawExports, RawImage};
use crate::bytes;
use crate::elf::Class;
use crate::error::Problem;
use crate::exports::era::{self, KsymtabLayout, TableKinds, TableLayout};
use crate::exports::vmlinux::{self, Region, TableRegions, TableSet};
use crate::exports::ExportKind;

impl Found {
    /// The word size the scan found, 64-bit when PREL32 tables did not show it.
    pub(super) fn class(&self) -> Class {
        self.class.unwrap_or(Class::Elf64)
    }

    /// The scanned bytes as kernel memory.
    pub(super) fn space<'d>(&self, image: &'d [u8]) -> RawImage<'d> {
        RawImage::new(image, self.mode.base, self.mode.endian, self.class())
    }

    /// Decode the exports of `set` in `image` (the bytes scanned, relocated when
    /// `relocations` were applied).
    pub(super) fn exports(
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

    /// Read the candidate as a kernel's export tables ([`Found::table_set`], then
    /// [`vmlinux::decode`], which checks every entry, the order and the strings): the exports,
    /// or why the candidate is not the export tables.
    pub(super) fn validate(&self, image: &[u8], relocations: usize) -> Result<RawExports, Problem> {
        let (set, layout) = self.table_set(image, &self.named_strings(image))?;
        self.exports(image, &set, layout, relocations)
    }

    /// Image offsets of every string in [`Found::strings_run`] a record names (name and
    /// namespace fields), ascending.
    pub(super) fn named_strings(&self, data: &[u8]) -> Vec<usize> {
        let m = &self.mode;
        let entry = m.entry_size();
        let (lo, hi) = self.strings_run;
        let mut named = Vec::with_capacity(self.entries() * (m.fields - 1));
        for table in &self.tables {
            for i in 0..table.entries {
                let at = table.start + i * entry;
                named.extend((1..m.fields).filter_map(|f| {
                    m.target(data, at + f * m.field)
                        .and_then(|t| usize::try_from(t).ok())
                        .filter(|&t| t >= lo && t < hi)
                }));
            }
        }
        named.sort_unstable();
        named.dedup();
        named
    }

    /// The tables of the chain as the kernel's own list of them gives them
    /// ([`bounds::find`]), when it has one: (kind, start, records) in address order.
    fn listed_tables(&self, data: &[u8]) -> Option<Vec<(ExportKind, usize, usize)>> {
        if self.mode.relative {
            return None;
        }
        let m = &self.mode;
        let entry = m.entry_size();
        let start = self.tables.first()?.start;
        let listed = bounds::find(data, (m.endian, m.field, m.base), (start, self.end, entry))?;
        Some(
            listed
                .iter()
                .map(|b| (b.kind, b.start, (b.end - b.start) / entry))
                .collect(),
        )
    }

    /// Split the chain into tables, find the strings, CRC and flag regions, and the era they
    /// make ([`TableLayout`]); `named` are the strings the records name
    /// ([`Found::named_strings`]).
    pub(super) fn table_set(
        &self,
        data: &[u8],
        named: &[usize],
    ) -> Result<(TableSet, TableLayout), Problem> {
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
        // The kernel's own list, where there is one, says where each table ends and which it
        // is; else the order of the entries split them and their count names them.
        let (crcs, flags, tables, list) = match self.listed_tables(data) {
            Some(list) => {
                let (crcs, flags) = era::between_tables_and_strings(gap, total, 5, word)
                    .filter(|&(_, flags)| !flags)
                    .ok_or_else(|| gap_error(gap, total, last))?;
                (crcs, flags, TableKinds::WithUnused, list)
            }
            None => {
                let (crcs, flags) =
                    era::between_tables_and_strings(gap, total, self.tables.len(), word)
                        .ok_or_else(|| gap_error(gap, total, last))?;
                let (tables, kinds) =
                    TableKinds::kinds_of(self.tables.len(), flags).ok_or_else(|| {
                        Problem::Exports(format!(
                            "found {} adjacent export tables; cannot tell which of __ksymtab, \
                             __ksymtab_gpl, __ksymtab_unused, __ksymtab_unused_gpl, \
                             __ksymtab_gpl_future they are",
                            self.tables.len()
                        ))
                    })?;
                let list = self
                    .tables
                    .iter()
                    .zip(kinds)
                    .map(|(t, &kind)| (kind, t.start, t.entries))
                    .collect();
                (crcs, flags, tables, list)
            }
        };
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
        for &(kind, start, entries) in &list {
            let crcs = crc_size.map(|size| {
                let r = Region {
                    addr: addr(crc_at),
                    len: (entries * size) as u64,
                };
                crc_at += entries * size;
                r
            });
            set.tables.push(TableRegions {
                kind,
                symbols: Region {
                    addr: addr(start),
                    len: (entries * entry) as u64,
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
            order: self.order,
        };
        if let Some(why) = layout.contradiction(word) {
            return Err(Problem::Exports(format!(
                "the export records do not read as any kernel's: {why}"
            )));
        }
        Ok((set, layout))
    }
}

/// The error for a gap between the tables and the strings that fits no era.
fn gap_error(gap: usize, total: usize, last: usize) -> Problem {
    Problem::Exports(format!(
        "{gap} bytes lie between the {total} export records (ending at image offset {last:#x}) \
         and __ksymtab_strings, which fits no __kcrctab/__kflagstab layout"
    ))
}
