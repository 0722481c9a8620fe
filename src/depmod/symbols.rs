//! depmod's index of which module exports what: `modules.symbols.bin`, else `modules.symbols`.
//!
//! depmod (kmod's tools/depmod.c, `depmod_load_modules` and `output_symbols`) collects every
//! string of each module's `__ksymtab_strings` section (symbol names, and on 5.4–6.x the
//! namespace names stored there too; without that section, the `__ksymtab_`-prefixed symbols
//! of `.symtab`) and writes one line per symbol, naming the module that owns it:
//!
//! ```text
//! alias symbol:crc_itu_t crc_itu_t
//! ```
//!
//! The binary file is the same kmod trie as `modules.dep.bin` ([`super::index`]), keyed by
//! `symbol:NAME`, each value a module name. depmod keeps one owner per symbol (`hash_add`
//! replaces): when two modules export one name, only the one it read last is listed. A module
//! absent from this index therefore exports nothing *unless* every one of its exports is also
//! exported by a module depmod read after it; [`super::skip`] accounts for that.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Problem, Result};

/// The modules depmod's symbol index names as owners of some symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exporters {
    /// The file read (`…/modules.symbols.bin` or `…/modules.symbols`).
    pub path: PathBuf,
    /// kmod module names (`crc_itu_t`) that own at least one symbol.
    pub modules: HashSet<String>,
}

/// The symbol index of the modules folder `dir`: `modules.symbols.bin` when it exists, else
/// `modules.symbols`; `None` when neither exists. A file that exists but cannot be read or
/// parsed is an error naming it.
pub fn read(dir: &Path) -> Result<Option<Exporters>> {
    let bin = dir.join("modules.symbols.bin");
    if let Some(data) = super::index::read_if_present(&bin)? {
        let modules = parse_bin(&data).map_err(|p| Error::format(&bin, p))?;
        return Ok(Some(Exporters { path: bin, modules }));
    }
    let text = dir.join("modules.symbols");
    if let Some(data) = super::index::read_if_present(&text)? {
        let modules = parse_text(&data).map_err(|p| Error::format(&text, p))?;
        return Ok(Some(Exporters {
            path: text,
            modules,
        }));
    }
    Ok(None)
}

/// Parse `modules.symbols.bin`: every value of every `symbol:` key. A key of another kind means
/// the file is not a symbol index.
pub fn parse_bin(data: &[u8]) -> Result<HashSet<String>, Problem> {
    let mut modules = HashSet::new();
    for (key, values) in super::index::read_trie(data)? {
        if !key.starts_with("symbol:") {
            return Err(Problem::DepIndex(format!(
                "key {key:?} is not \"symbol:NAME\": not a modules.symbols index"
            )));
        }
        for (_, module) in values {
            if module.is_empty() || module.contains(char::is_whitespace) {
                return Err(Problem::DepIndex(format!(
                    "the owner of {key:?} is not a module name: {module:?}"
                )));
            }
            modules.insert(module);
        }
    }
    Ok(modules)
}

/// Parse `modules.symbols` text: `alias symbol:NAME MODULE` lines and `#` comments; anything
/// else is an error naming the line.
pub fn parse_text(data: &[u8]) -> Result<HashSet<String>, Problem> {
    let text = std::str::from_utf8(data)
        .map_err(|e| Problem::DepIndex(format!("not UTF-8 text ({e})")))?;
    let mut modules = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next(), words.next()) {
            (Some("alias"), Some(key), Some(module), None) if key.starts_with("symbol:") => {
                modules.insert(module.to_string());
            }
            _ => {
                return Err(Problem::DepIndex(format!(
                    "line {}: not \"alias symbol:NAME MODULE\"",
                    i + 1
                )))
            }
        }
    }
    Ok(modules)
}

#[cfg(test)]
mod tests;
