//! Export records and the kernel's export-table layouts.
//!
//! `vmlinux` (a linked kernel, ELF or raw) and `module` (a relocatable `.ko`) read the same tables
//! in two different address models; this module holds what they share: the record they produce
//! and the export kinds. The layouts of the tables across kernel eras are in [`era`].

pub mod era;
pub mod module;
pub mod prefix;
pub mod raw;
pub mod vmlinux;

pub use era::{CrcStorage, EntryOrder, KsymtabLayout, TableKinds, TableLayout};

use serde::Serialize;

/// One exported symbol as the kernel records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Export {
    /// The symbol's name.
    pub name: String,
    /// The CRC from `__kcrctab*`, or `None` when the kernel has no CRC tables (no MODVERSIONS).
    pub crc: Option<u32>,
    /// How it is exported.
    pub kind: ExportKind,
    /// The symbol namespace (empty for none).
    pub namespace: String,
}

/// The export macro a symbol was exported with, as written in Module.symvers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ExportKind {
    /// `EXPORT_SYMBOL`: `__ksymtab`.
    #[serde(rename = "EXPORT_SYMBOL")]
    Plain,
    /// `EXPORT_SYMBOL_GPL`: `__ksymtab_gpl`, or bit 0 of `__kflagstab` (7.x).
    #[serde(rename = "EXPORT_SYMBOL_GPL")]
    Gpl,
    /// `EXPORT_SYMBOL_GPL_FUTURE`: `__ksymtab_gpl_future` (removed in 5.13).
    #[serde(rename = "EXPORT_SYMBOL_GPL_FUTURE")]
    GplFuture,
    /// `EXPORT_UNUSED_SYMBOL`: `__ksymtab_unused` (removed in 5.13).
    #[serde(rename = "EXPORT_UNUSED_SYMBOL")]
    Unused,
    /// `EXPORT_UNUSED_SYMBOL_GPL`: `__ksymtab_unused_gpl` (removed in 5.13).
    #[serde(rename = "EXPORT_UNUSED_SYMBOL_GPL")]
    UnusedGpl,
}

impl ExportKind {
    /// Every kind, in the kernel's table order.
    pub const ALL: [ExportKind; 5] = [
        ExportKind::Plain,
        ExportKind::Gpl,
        ExportKind::GplFuture,
        ExportKind::Unused,
        ExportKind::UnusedGpl,
    ];

    /// The Module.symvers spelling (`EXPORT_SYMBOL_GPL`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Plain => "EXPORT_SYMBOL",
            ExportKind::Gpl => "EXPORT_SYMBOL_GPL",
            ExportKind::GplFuture => "EXPORT_SYMBOL_GPL_FUTURE",
            ExportKind::Unused => "EXPORT_UNUSED_SYMBOL",
            ExportKind::UnusedGpl => "EXPORT_UNUSED_SYMBOL_GPL",
        }
    }

    /// Parse the Module.symvers spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The section holding this kind's `struct kernel_symbol` records.
    pub fn ksymtab_section(self) -> &'static str {
        match self {
            ExportKind::Plain => "__ksymtab",
            ExportKind::Gpl => "__ksymtab_gpl",
            ExportKind::GplFuture => "__ksymtab_gpl_future",
            ExportKind::Unused => "__ksymtab_unused",
            ExportKind::UnusedGpl => "__ksymtab_unused_gpl",
        }
    }

    /// The section holding this kind's CRCs.
    pub fn kcrctab_section(self) -> &'static str {
        match self {
            ExportKind::Plain => "__kcrctab",
            ExportKind::Gpl => "__kcrctab_gpl",
            ExportKind::GplFuture => "__kcrctab_gpl_future",
            ExportKind::Unused => "__kcrctab_unused",
            ExportKind::UnusedGpl => "__kcrctab_unused_gpl",
        }
    }

    /// True for kinds that only GPL-compatible modules may use.
    pub fn is_gpl_only(self) -> bool {
        matches!(self, ExportKind::Gpl | ExportKind::UnusedGpl)
    }
}

/// The records of one export table: `entries` are (name, namespace) in table order, `crcs` the
/// index-parallel `__kcrctab*`, and `flags` the 7.x `__kflagstab`, which is index-parallel to the
/// plain `__ksymtab` and marks GPL-only exports with bit 0.
pub(crate) fn table_exports<'a>(
    kind: ExportKind,
    entries: &[(&'a [u8], &'a [u8])],
    crcs: Option<&[u32]>,
    flags: Option<&[u8]>,
) -> Result<Vec<Export>, crate::error::Problem> {
    let flags = flags.filter(|_| kind == ExportKind::Plain);
    if let Some(f) = flags {
        if f.len() != entries.len() {
            return Err(crate::error::Problem::Exports(format!(
                "__kflagstab has {} entries but __ksymtab has {}",
                f.len(),
                entries.len()
            )));
        }
    }
    Ok(entries
        .iter()
        .enumerate()
        .map(|(i, (name, namespace))| {
            let gpl_flag = flags.is_some_and(|f| f.get(i).is_some_and(|b| b & 1 != 0));
            Export {
                name: String::from_utf8_lossy(name).into_owned(),
                crc: crcs.and_then(|c| c.get(i).copied()),
                kind: if gpl_flag { ExportKind::Gpl } else { kind },
                namespace: String::from_utf8_lossy(namespace).into_owned(),
            }
        })
        .collect())
}

/// True for a plausible C identifier (what export names and namespaces are made of).
pub(crate) fn is_symbol_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'$')
}

/// What to do with a symbol exported a second time, identically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Identical {
    /// Keep the first: arm64 5.10's vmlinux exports memcpy, memset, clear_page, copy_page,
    /// __memcpy and __memset twice (from two objects), one line each in Module.symvers.
    Merge,
    /// Refuse, as for any duplicate (a module).
    Refuse,
    /// Keep the one the loader finds first, identical or not: before 3.0
    /// ([`EntryOrder::LinkOrder`]) each `__ksymtab_NAME` was a static object, so two objects
    /// could export one name (2.6.12 arm exports `sys_open` from armksyms.c and, GPL-only,
    /// from fs/open.c), and the loader's linear search took the first in the order of
    /// `struct symsearch`: plain, GPL, GPL-future, unused, unused GPL ([`ExportKind::ALL`]),
    /// then link order.
    FirstFound,
}

/// Make every name unique in `exports` (one vmlinux or one module): a symbol exported twice
/// differently is an error, an identical repeat is dropped or refused as `identical` says.
/// Within one linked object a second `EXPORT_SYMBOL(foo)` redefines `__ksymtab_foo` and fails
/// the link, and modpost rejects "exported twice" (scripts/mod/modpost.c), so a built kernel
/// never has one: such a duplicate means the tables were misread or the file was tampered with.
pub(crate) fn unique_exports(
    exports: &mut Vec<Export>,
    identical: Identical,
) -> Result<(), crate::error::Problem> {
    use std::collections::hash_map::{Entry, HashMap};
    if identical == Identical::FirstFound {
        // A stable sort by kind puts the loader's search order first, link order within it.
        let mut seen = std::collections::HashSet::with_capacity(exports.len());
        let mut order: Vec<usize> = (0..exports.len()).collect();
        order.sort_by_key(|&i| exports[i].kind);
        let keep: std::collections::HashSet<usize> = order
            .into_iter()
            .filter(|&i| seen.insert(exports[i].name.clone()))
            .collect();
        let mut i = 0;
        exports.retain(|_| {
            i += 1;
            keep.contains(&(i - 1))
        });
        return Ok(());
    }
    let mut first: HashMap<&str, &Export> = HashMap::with_capacity(exports.len());
    let mut repeats = Vec::new();
    for (i, e) in exports.iter().enumerate() {
        match first.entry(e.name.as_str()) {
            Entry::Vacant(slot) => {
                slot.insert(e);
            }
            Entry::Occupied(seen) if identical == Identical::Merge && *seen.get() == e => {
                repeats.push(i);
            }
            Entry::Occupied(_) => {
                return Err(crate::error::Problem::Exports(format!(
                    "symbol {} is exported twice",
                    e.name
                )));
            }
        }
    }
    for i in repeats.into_iter().rev() {
        exports.remove(i);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
