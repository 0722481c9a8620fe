//! Symbol lists: the kernel symbols a set of modules imports, and the allow-lists distributions
//! promise to keep stable.
//!
//! Formats read: one symbol a line, `#` comments, INI section headers (`[name]`), leading white
//! space ignored. That covers Android's KMI symbol lists (`android/abi_gki_aarch64_*`:
//! `[abi_symbol_list]`, then one indented symbol a line) and Red Hat's stablelists
//! (`kabi_stablelist_ARCH`: `[rhel9_x86_64_stablelist]`, then one symbol a line), and a plain
//! list. Written: a plain list, or Android's form.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use crate::check::ARCH_SPECIAL;
use crate::error::{Error, Result};
use crate::exports::Export;
use crate::modinfo::ModuleInfo;

/// Largest list read (Android's full KMI list is about 300 KiB).
pub const LIST_LIMIT: u64 = 64 << 20;

/// A symbol list read from a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SymbolList {
    /// Where it was read.
    pub path: PathBuf,
    /// The INI section headers it has, in order (`abi_symbol_list`, `rhel9_x86_64_stablelist`).
    pub sections: Vec<String>,
    /// The symbols.
    pub symbols: HashSet<String>,
}

impl SymbolList {
    /// Parse a list's text; `path` names it in errors (`path:line: …`).
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let mut list = SymbolList {
            path: path.to_path_buf(),
            ..SymbolList::default()
        };
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                list.sections.push(section.trim().to_string());
                continue;
            }
            if line.split_whitespace().nth(1).is_some() {
                return Err(Error::at_line(
                    path,
                    i + 1,
                    format!("expected one symbol a line, found {line:?}"),
                ));
            }
            list.symbols.insert(line.to_string());
        }
        Ok(list)
    }

    /// Read and parse a list (plain or compressed; at most [`LIST_LIMIT`] bytes).
    pub fn read(path: &Path) -> Result<Self> {
        let data = crate::input::read_regular(path, LIST_LIMIT)?;
        let text = match crate::decompress::Compression::sniff(&data) {
            Some(format) => crate::decompress::decompress(&data, format, LIST_LIMIT)
                .map_err(|p| Error::format(path, p))?,
            None => data,
        };
        let text = String::from_utf8(text).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
            Error::at_line(path, line, "not UTF-8 text".into())
        })?;
        Self::parse(&text, path)
    }
}

/// The symbols a set of modules needs from the kernel: every undefined symbol of every module
/// (weak ones included) that no module of the set exports, without the ones the loader resolves
/// itself ([`ARCH_SPECIAL`]). Sorted.
pub fn kernel_imports<'a>(
    set: impl IntoIterator<Item = (&'a ModuleInfo, &'a [Export])> + Clone,
) -> BTreeSet<String> {
    let exported: HashSet<&str> = set
        .clone()
        .into_iter()
        .flat_map(|(_, exports)| exports.iter().map(|e| e.name.as_str()))
        .collect();
    set.into_iter()
        .flat_map(|(info, _)| info.imports.iter().map(|i| i.name.as_str()))
        .filter(|name| !exported.contains(name) && !ARCH_SPECIAL.contains(name))
        .map(str::to_string)
        .collect()
}

/// One symbol a line.
pub fn to_plain(symbols: &BTreeSet<String>) -> String {
    symbols.iter().map(|s| format!("{s}\n")).collect()
}

/// Android's KMI symbol-list form: the `[abi_symbol_list]` header, then one symbol a line,
/// indented by two spaces (as build/abi/extract_symbols writes them).
pub fn to_android(symbols: &BTreeSet<String>) -> String {
    let mut out = String::from("[abi_symbol_list]\n");
    for s in symbols {
        out.push_str("  ");
        out.push_str(s);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
