//! The Module.symvers table: records, text writer and strict parser.
//!
//! Text format (scripts/mod/modpost.c, `write_dump`): one line per export,
//! `0x%08x\tSYMBOL\tMODULE\tEXPORT_SYMBOL[_GPL]\tNAMESPACE\n` since 5.6 (5190044c2965);
//! 5.4–5.5 put the namespace second; 2.6.18–5.3 have no namespace column; before 2.6.18 (the
//! export type column came with "kbuild: export-type enhancement to modpost.c") there were three
//! columns, `0x%08x\tSYMBOL\tMODULE`. modpost writes `(unknown)` for an export whose type it did
//! not learn ([`ExportType::Unknown`]).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

#[cfg(doc)]
use crate::error::Problem;
use crate::error::Result;
use crate::exports::{Export, ExportKind};

mod name;
mod parse;

pub use name::{Interner, Name};

/// The export type column of a Module.symvers line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExportType {
    /// The export macro, as the kernel's tables say.
    Known(ExportKind),
    /// `(unknown)`: modpost (2.6.18 to 5.x, `export_unknown`) writes it for a symbol whose
    /// export type it did not learn, e.g. one it met only through its `__crc_` symbol or an
    /// older Module.symvers; a three-column line of modpost before 2.6.18 has no type either.
    /// Never read from a kernel's tables. Like modpost, nothing treats it as GPL-only; `diff`
    /// reports no export change against it, and `check` warns that it cannot tell.
    Unknown,
}

impl ExportType {
    /// The Module.symvers spelling (`EXPORT_SYMBOL_GPL`, …, `(unknown)`).
    pub fn as_str(self) -> &'static str {
        match self {
            ExportType::Known(kind) => kind.as_str(),
            ExportType::Unknown => "(unknown)",
        }
    }

    /// Parse the Module.symvers spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "(unknown)" => Some(ExportType::Unknown),
            _ => ExportKind::parse(text).map(ExportType::Known),
        }
    }

    /// The export macro, `None` for [`ExportType::Unknown`].
    pub fn kind(self) -> Option<ExportKind> {
        match self {
            ExportType::Known(kind) => Some(kind),
            ExportType::Unknown => None,
        }
    }

    /// True for kinds only GPL-compatible modules may use; false for `(unknown)`, as modpost
    /// has it.
    pub fn is_gpl_only(self) -> bool {
        self.kind().is_some_and(ExportKind::is_gpl_only)
    }
}

impl From<ExportKind> for ExportType {
    fn from(kind: ExportKind) -> Self {
        ExportType::Known(kind)
    }
}

impl PartialEq<ExportKind> for ExportType {
    fn eq(&self, other: &ExportKind) -> bool {
        *self == ExportType::Known(*other)
    }
}

impl Serialize for ExportType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One line of Module.symvers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The CRC (0 when the kernel has no MODVERSIONS).
    pub crc: u32,
    /// The exported symbol.
    pub symbol: String,
    /// `vmlinux` or the module's path without `.ko` (shared by the module's lines).
    pub module: Name,
    /// The export macro, or `(unknown)`.
    pub kind: ExportType,
    /// The namespace, empty for none.
    pub namespace: Name,
}

impl Entry {
    /// An entry from its five columns.
    pub fn new(
        crc: u32,
        symbol: &str,
        module: &str,
        kind: impl Into<ExportType>,
        namespace: &str,
    ) -> Self {
        Entry {
            crc,
            symbol: symbol.into(),
            module: module.into(),
            kind: kind.into(),
            namespace: namespace.into(),
        }
    }

    /// The entry for `export`, exported by `module`.
    pub fn from_export(export: &Export, module: &str) -> Self {
        Self::from_export_named(export, Name::from(module))
    }

    fn from_export_named(export: &Export, module: Name) -> Self {
        Entry {
            crc: export.crc.unwrap_or(0),
            symbol: export.name.clone(),
            module,
            kind: ExportType::Known(export.kind),
            namespace: Name::from(&export.namespace),
        }
    }
}

/// The column order of a Module.symvers file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Columns {
    /// 5.6+: crc, symbol, module, export, namespace.
    #[default]
    Modern,
    /// 5.4–5.5: crc, symbol, namespace, module, export.
    NamespaceSecond,
    /// 2.6.18–5.3: crc, symbol, module, export.
    NoNamespace,
    /// Before 2.6.18: crc, symbol, module (no export type; modpost of that era refuses a
    /// fourth column).
    NoExportType,
}

impl Columns {
    /// The column order modpost of a kernel whose tables have this era's layout reads.
    ///
    /// A layout without a namespace field is a kernel before 5.4: four columns. A namespaced
    /// layout is 5.4 or later; the data cannot tell 5.4–5.5 (namespace second) from 5.6+
    /// (namespace last, also backported to 5.4.y stable), so the current order is chosen:
    /// pass `--symvers-format 5.4` for an early 5.4/5.5 build tree.
    pub fn for_layout(layout: crate::exports::TableLayout) -> Self {
        if layout.ksymtab.has_namespace() {
            Columns::Modern
        } else {
            Columns::NoNamespace
        }
    }

    /// The column order modpost of this kernel reads: [`Columns::for_layout`] (5.6+ order when
    /// no layout is known), except that a release before 2.6.18 gets three columns. Tables of
    /// 2.6.x before 3.0 share one layout, so only the release (the banner's, or the located one)
    /// tells 2.6.17 from 2.6.18, whose modpost added the export type column ("kbuild:
    /// export-type enhancement to modpost.c"); the older modpost refuses a line with a fourth.
    pub fn for_kernel(layout: Option<crate::exports::TableLayout>, release: Option<&str>) -> Self {
        if release
            .and_then(release_version)
            .is_some_and(|version| version < (2, 6, 18))
        {
            return Columns::NoExportType;
        }
        layout.map_or(Columns::Modern, Columns::for_layout)
    }
}

/// The version a kernel release starts with: `(2, 6, 12)` for `2.6.12.1`, `(6, 1, 0)` for
/// `6.1.0-50-amd64`, `(3, 0, 0)` for `3.0-rc1`; `None` when it does not start with
/// `MAJOR.MINOR`.
pub fn release_version(release: &str) -> Option<(u32, u32, u32)> {
    let mut parts = release.split('.').map(|part| {
        let digits = part.len() - part.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        part[..digits].parse::<u32>().ok()
    });
    let major = parts.next()??;
    let minor = parts.next()??;
    let patch = parts.next().flatten().unwrap_or(0);
    Some((major, minor, patch))
}

/// A symbol exported by more than one line of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    /// The symbol.
    pub symbol: String,
    /// The module column of each line exporting it, in table order.
    pub modules: Vec<String>,
}

/// A Module.symvers table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Table {
    /// The lines, in output order.
    pub entries: Vec<Entry>,
}

impl Table {
    /// The entries by symbol; the first of duplicates wins, as in modpost (and as the loader's
    /// vmlinux-first search finds them).
    pub fn by_symbol(&self) -> HashMap<&str, &Entry> {
        let mut map = HashMap::with_capacity(self.entries.len());
        for e in &self.entries {
            map.entry(e.symbol.as_str()).or_insert(e);
        }
        map
    }

    /// Append the exports of one module (or `vmlinux`).
    pub fn extend_from_exports(&mut self, module: &str, exports: &[Export]) {
        let module = Name::from(module);
        self.entries.extend(
            exports
                .iter()
                .map(|e| Entry::from_export_named(e, module.clone())),
        );
    }

    /// The symbols listed on more than one line: for each, the indices of its entries in
    /// table order; the symbols in the order of their first line.
    ///
    /// Memory: 16 bytes per entry while it runs (a hash and an index each, sorted), whatever
    /// the names' lengths, instead of a map from names.
    pub fn repeats(&self) -> Vec<Vec<usize>> {
        let state = std::collections::hash_map::RandomState::new();
        let mut keys: Vec<(u64, usize)> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                (
                    std::hash::BuildHasher::hash_one(&state, e.symbol.as_str()),
                    i,
                )
            })
            .collect();
        keys.sort_unstable();
        let mut groups = Vec::new();
        // Equal hashes are neighbours, each run in table order; within a run, entries with
        // equal names form a group (two names with one hash are told apart here).
        for run in keys.chunk_by(|a, b| a.0 == b.0) {
            if run.len() < 2 {
                continue;
            }
            let mut left: Vec<usize> = run.iter().map(|&(_, i)| i).collect();
            while let Some(&first) = left.first() {
                let symbol = self.entries[first].symbol.as_str();
                let (same, other): (Vec<usize>, Vec<usize>) = left
                    .iter()
                    .partition(|&&i| self.entries[i].symbol == symbol);
                if same.len() > 1 {
                    groups.push(same);
                }
                left = other;
            }
        }
        groups.sort_unstable_by_key(|g| g[0]);
        groups
    }

    /// Every symbol that more than one line exports, with the modules of its lines in table
    /// order. modpost refuses such a table ("exported twice", scripts/mod/modpost.c) when the
    /// first owner is vmlinux or when it builds the kernel itself; the kernel's loader refuses the
    /// second module that offers a symbol already exported (kernel/module/main.c
    /// `verify_exported_symbols`). An installed tree has one when a module under `updates/` or
    /// `extra/` replaces one under `kernel/` without removing it, or when two packages ship the
    /// same module.
    pub fn duplicates(&self) -> Vec<Duplicate> {
        self.repeats()
            .into_iter()
            .map(|group| Duplicate {
                symbol: self.entries[group[0]].symbol.clone(),
                modules: group
                    .iter()
                    .map(|&i| self.entries[i].module.to_string())
                    .collect(),
            })
            .collect()
    }

    /// The table as Module.symvers text with the given column order.
    pub fn to_text(&self, columns: Columns) -> String {
        let mut out = String::with_capacity(self.entries.len() * 64);
        for e in &self.entries {
            // Writing to a String cannot fail.
            let _ = match columns {
                Columns::Modern => writeln!(
                    out,
                    "0x{:08x}\t{}\t{}\t{}\t{}",
                    e.crc,
                    e.symbol,
                    e.module,
                    e.kind.as_str(),
                    e.namespace
                ),
                Columns::NamespaceSecond => writeln!(
                    out,
                    "0x{:08x}\t{}\t{}\t{}\t{}",
                    e.crc,
                    e.symbol,
                    e.namespace,
                    e.module,
                    e.kind.as_str()
                ),
                Columns::NoNamespace => writeln!(
                    out,
                    "0x{:08x}\t{}\t{}\t{}",
                    e.crc,
                    e.symbol,
                    e.module,
                    e.kind.as_str()
                ),
                Columns::NoExportType => {
                    writeln!(out, "0x{:08x}\t{}\t{}", e.crc, e.symbol, e.module)
                }
            };
        }
        out
    }

    /// Parse Module.symvers text of any column order (detected per line by the position of
    /// the `EXPORT_*` column). `path` is used in error messages only.
    ///
    /// ```
    /// use std::path::Path;
    /// use symvers::symvers::{Columns, Table};
    ///
    /// // A 5.6+ line and a 5.4-style line (namespace second) in one file.
    /// let text = "0x09a34a2b\tcrc_itu_t\tlib/crc-itu-t\tEXPORT_SYMBOL\t\n\
    ///             0x11112222\tusb_foo\tUSB_STORAGE\tdrivers/usb/storage/usb-storage\tEXPORT_SYMBOL_GPL\n";
    /// let table = Table::parse(text, Path::new("Module.symvers"))?;
    /// assert_eq!(table.entries[1].namespace, "USB_STORAGE");
    /// assert_eq!(
    ///     table.to_text(Columns::NoNamespace),
    ///     "0x09a34a2b\tcrc_itu_t\tlib/crc-itu-t\tEXPORT_SYMBOL\n\
    ///      0x11112222\tusb_foo\tdrivers/usb/storage/usb-storage\tEXPORT_SYMBOL_GPL\n"
    /// );
    ///
    /// let err = Table::parse("0xZZ\tx\tvmlinux\tEXPORT_SYMBOL\t\n", Path::new("bad.symvers"))
    ///     .unwrap_err();
    /// assert_eq!(err.to_string(), "bad.symvers:1: CRC \"0xZZ\" is not a 32-bit hex number");
    /// # Ok::<(), symvers::Error>(())
    /// ```
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        Self::parse_numbered(text, path).map(|(table, _)| table)
    }

    /// Like [`Table::parse`], also giving the 1-based line number of each entry (for messages
    /// about a line, such as a symbol listed twice).
    ///
    /// # Errors
    /// [`Problem::Symvers`] naming the first line that modpost could not have written (see
    /// the module documentation of `symvers::parse`): a field count other than 3 to 5, a CRC
    /// other than `0x` and 8 lower-case hex digits, an unknown export type, an empty symbol or
    /// module column, a space or control character in a symbol or module column, a control
    /// character in a namespace, a line longer than [`MAX_LINE`] bytes.
    pub fn parse_numbered(text: &str, path: &Path) -> Result<(Self, Vec<usize>)> {
        parse::LineParser::new(path).text(text.as_bytes())
    }
}

pub use parse::MAX_LINE;

/// Default limit on the (decompressed) size of a Module.symvers file: Debian's are 2 MB.
pub const FILE_LIMIT: u64 = 1 << 30;

/// Read a Module.symvers file, plain or compressed (gzip, xz, zstd, …: sniffed from magic bytes,
/// as distributions ship `/boot/symvers-REL.gz`). `limit` bounds the decompressed size.
///
/// Memory: a plain file is parsed as it is read, one line at a time, so reading it costs the
/// table itself (about 1.7 times the text: each line's symbol has its own allocation, module
/// and namespace names are shared); a compressed file's text is decompressed whole first.
pub fn read_file(path: &Path, limit: u64) -> Result<Table> {
    read_file_numbered(path, limit).map(|(table, _)| table)
}

/// Like [`read_file`], also giving the 1-based line number of each entry.
pub fn read_file_numbered(path: &Path, limit: u64) -> Result<(Table, Vec<usize>)> {
    parse::read_file(path, limit)
}

#[cfg(test)]
mod tests;
