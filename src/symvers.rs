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

use crate::error::{Error, Problem, Result};
use crate::exports::{Export, ExportKind};

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
    /// `vmlinux` or the module's path without `.ko`.
    pub module: String,
    /// The export macro, or `(unknown)`.
    pub kind: ExportType,
    /// The namespace, empty for none.
    pub namespace: String,
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
        Entry {
            crc: export.crc.unwrap_or(0),
            symbol: export.name.clone(),
            module: module.to_string(),
            kind: ExportType::Known(export.kind),
            namespace: export.namespace.clone(),
        }
    }
}

/// The column order of a Module.symvers file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Columns {
    /// 5.6+: crc, symbol, module, export, namespace.
    #[default]
    #[value(name = "5.6")]
    Modern,
    /// 5.4–5.5: crc, symbol, namespace, module, export.
    #[value(name = "5.4")]
    NamespaceSecond,
    /// 2.6.18–5.3: crc, symbol, module, export.
    #[value(name = "4col")]
    NoNamespace,
    /// Before 2.6.18: crc, symbol, module (no export type; modpost of that era refuses a
    /// fourth column).
    #[value(name = "3col")]
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
        self.entries
            .extend(exports.iter().map(|e| Entry::from_export(e, module)));
    }

    /// Every symbol that more than one line exports, with the modules of its lines in table
    /// order. modpost refuses such a table ("exported twice", scripts/mod/modpost.c) when the
    /// first owner is vmlinux or when it builds the kernel itself; the kernel's loader refuses the
    /// second module that offers a symbol already exported (kernel/module/main.c
    /// `verify_exported_symbols`). An installed tree has one when a module under `updates/` or
    /// `extra/` replaces one under `kernel/` without removing it, or when two packages ship the
    /// same module.
    pub fn duplicates(&self) -> Vec<Duplicate> {
        let mut by_symbol: std::collections::HashMap<&str, Vec<&str>> =
            std::collections::HashMap::new();
        let mut order = Vec::new();
        for e in &self.entries {
            let owners = by_symbol.entry(e.symbol.as_str()).or_default();
            if owners.is_empty() {
                order.push(e.symbol.as_str());
            }
            owners.push(e.module.as_str());
        }
        order
            .into_iter()
            .filter_map(|symbol| {
                let owners = by_symbol.get(symbol)?;
                (owners.len() > 1).then(|| Duplicate {
                    symbol: symbol.to_string(),
                    modules: owners.iter().map(|m| m.to_string()).collect(),
                })
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
        let mut entries = Vec::new();
        // Lines end in "\n" or "\r\n"; unlike `str::lines`, a last line without its newline
        // loses a trailing "\r" too, so that parsing what `to_text` wrote gives the same table.
        for (index, line) in text.split_terminator('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let bad = |detail: String| Error::at_line(path, index + 1, detail);
            let fields: Vec<&str> = line.split('\t').collect();
            let (crc, symbol, module, kind, namespace) = match fields.as_slice() {
                [crc, sym, module, kind, ns] if ExportType::parse(kind).is_some() => {
                    (*crc, *sym, *module, *kind, *ns)
                }
                [crc, sym, ns, module, kind] if ExportType::parse(kind).is_some() => {
                    (*crc, *sym, *module, *kind, *ns)
                }
                // Neither order names a known type: say so, in 5.6+ terms.
                [crc, sym, module, kind, ns] => (*crc, *sym, *module, *kind, *ns),
                [crc, sym, module, kind] => (*crc, *sym, *module, *kind, ""),
                // modpost before 2.6.18: no export type.
                [crc, sym, module] => (*crc, *sym, *module, "(unknown)", ""),
                _ => {
                    return Err(bad(format!(
                        "expected 3 to 5 tab-separated fields, found {}",
                        fields.len()
                    )))
                }
            };
            let hex = crc
                .strip_prefix("0x")
                .ok_or_else(|| bad(format!("CRC {crc:?} does not start with 0x")))?;
            let crc = u32::from_str_radix(hex, 16)
                .map_err(|_| bad(format!("CRC {crc:?} is not a 32-bit hex number")))?;
            let kind = ExportType::parse(kind)
                .ok_or_else(|| bad(format!("unknown export type {kind:?}")))?;
            if symbol.is_empty() {
                return Err(bad("empty symbol name".into()));
            }
            entries.push(Entry {
                crc,
                symbol: symbol.to_string(),
                module: module.to_string(),
                kind,
                // In 5.6+ order the namespace ends the line, where a CR of a CRLF file is not
                // part of it; strip it in every order so that a table reads the same whichever
                // order it was written in (found by fuzzing).
                namespace: namespace.trim_end_matches('\r').to_string(),
            });
        }
        Ok(Table { entries })
    }
}

/// Default limit on the (decompressed) size of a Module.symvers file: Debian's are 2 MB.
pub const FILE_LIMIT: u64 = 1 << 30;

/// Read a Module.symvers file, plain or compressed (gzip, xz, zstd, …: sniffed from magic bytes,
/// as distributions ship `/boot/symvers-REL.gz`). `limit` bounds the decompressed size.
pub fn read_file(path: &Path, limit: u64) -> Result<Table> {
    let data = crate::input::read_regular(path, limit)?;
    let text = match crate::decompress::Compression::sniff(&data) {
        Some(format) => crate::decompress::decompress(&data, format, limit)
            .map_err(|p| Error::format(path, p))?,
        None => data,
    };
    let text = String::from_utf8(text).map_err(|e| {
        Error::format(
            path,
            Problem::Symvers {
                line: 0,
                detail: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
            },
        )
    })?;
    Table::parse(&text, path)
}

#[cfg(test)]
mod tests;
