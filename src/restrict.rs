//! Restricting a table: to the symbols one external module needs, to the modules' exports, or
//! to what another table does not already list.
//!
//! kbuild reads `KBUILD_EXTRA_SYMBOLS` files in addition to the headers tree's own
//! Module.symvers; a symbol listed in both is reported by modpost as "exported twice"
//! (scripts/mod/modpost.c, `sym_add_exported`). A table meant for `KBUILD_EXTRA_SYMBOLS`
//! should therefore hold only what the module actually uses: the undefined symbols of its
//! object, which are exactly the names modpost looks up.

use std::collections::BTreeSet;
use std::path::Path;

use crate::elf::{self, Elf};
use crate::error::{Error, Problem, Result};
use crate::symvers::Table;

/// The symbols the module or object file at `path` needs from elsewhere (its global and weak
/// undefined symbols), sorted. Compressed modules (`.ko.xz`, `.ko.zst`, …) are decompressed
/// first, up to `limit` bytes.
///
/// ```no_run
/// let needed = symvers::restrict::undefined_symbols_of(
///     std::path::Path::new("hello.ko"),
///     symvers::modtree::DEFAULT_MODULE_LIMIT,
/// )?;
/// println!("hello.ko uses {} symbols", needed.len());
/// # Ok::<(), symvers::Error>(())
/// ```
pub fn undefined_symbols_of(path: &Path, limit: u64) -> Result<Vec<String>> {
    let data = crate::input::read_regular(path, limit)?;
    undefined_symbols_of_bytes(&data, limit).map_err(|p| Error::format(path, p))
}

/// Like [`undefined_symbols_of`], on the bytes of the file.
pub fn undefined_symbols_of_bytes(data: &[u8], limit: u64) -> Result<Vec<String>, Problem> {
    let mut buffer = Vec::new();
    let elf = Elf::parse(crate::modtree::module_elf(data, limit, &mut buffer)?)?;
    if elf.file_type != elf::consts::ET_REL {
        return Err(Problem::Elf(format!(
            "ELF type {} is not a relocatable object (.ko or .o)",
            elf.file_type
        )));
    }
    let mut names: Vec<String> = elf
        .undefined_symbols()?
        .into_iter()
        .map(|i| i.name)
        .collect();
    names.sort_unstable();
    Ok(names)
}

/// Keep only the entries of `table` whose symbol is in `wanted`, in their order. Returns the
/// wanted names that no entry exports, sorted: for a module's undefined symbols these are the
/// ones modpost would report as undefined (or that another object of the same module defines).
///
/// ```
/// use std::collections::BTreeSet;
/// use std::path::Path;
/// use symvers::symvers::{Columns, Table};
///
/// let text = "0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n\
///             0x9abcdef0\tkfree\tvmlinux\tEXPORT_SYMBOL\t\n";
/// let mut table = Table::parse(text, Path::new("Module.symvers"))?;
/// let wanted: BTreeSet<String> = ["kfree", "my_helper"].map(String::from).into();
/// let missing = symvers::restrict::retain_symbols(&mut table, &wanted);
/// assert_eq!(table.to_text(Columns::Modern), "0x9abcdef0\tkfree\tvmlinux\tEXPORT_SYMBOL\t\n");
/// assert_eq!(missing, ["my_helper"]);
/// # Ok::<(), symvers::Error>(())
/// ```
pub fn retain_symbols(table: &mut Table, wanted: &BTreeSet<String>) -> Vec<String> {
    table.entries.retain(|e| wanted.contains(&e.symbol));
    let present: BTreeSet<&str> = table.entries.iter().map(|e| e.symbol.as_str()).collect();
    wanted
        .iter()
        .filter(|name| !present.contains(name.as_str()))
        .cloned()
        .collect()
}

/// Drop vmlinux's entries: a table of the modules' exports alone, for `KBUILD_EXTRA_SYMBOLS`
/// (modpost reports "exported twice" for a vmlinux symbol the headers tree's table lists too).
/// Returns how many entries were dropped.
pub fn retain_modules(table: &mut Table) -> usize {
    let before = table.entries.len();
    table.entries.retain(|e| e.module != "vmlinux");
    before - table.entries.len()
}

/// Drop every entry whose symbol `listed` also has (the headers tree's own Module.symvers, say:
/// modpost refuses a symbol listed in both). Returns how many entries were dropped.
///
/// ```
/// use std::path::Path;
/// use symvers::symvers::Table;
///
/// let mut ours = Table::parse(
///     "0x00000001\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n0x00000002\tcrc_itu_t\tlib/crc-itu-t\tEXPORT_SYMBOL\t\n",
///     Path::new("ours"),
/// )?;
/// let headers = Table::parse("0x00000001\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n", Path::new("theirs"))?;
/// assert_eq!(symvers::restrict::remove_listed(&mut ours, &headers), 1);
/// assert_eq!(ours.entries[0].symbol, "crc_itu_t");
/// # Ok::<(), symvers::Error>(())
/// ```
pub fn remove_listed(table: &mut Table, listed: &Table) -> usize {
    let names: BTreeSet<&str> = listed.entries.iter().map(|e| e.symbol.as_str()).collect();
    let before = table.entries.len();
    table.entries.retain(|e| !names.contains(e.symbol.as_str()));
    before - table.entries.len()
}

#[cfg(test)]
mod tests;
