//! depmod's index of the installed modules: `modules.dep.bin`, else `modules.dep`.
//!
//! depmod writes both on the system itself after every package change (kmod's tools/depmod.c,
//! `output_deps` and `output_deps_bin`); modprobe finds a module by name in the binary one
//! (libkmod-module.c, `kmod_search_moddep`), busybox and Android in the text one. Each lists the
//! one copy of every module depmod chose, as a path relative to the modules folder (absolute for
//! `external` folders and in Android's files), followed by its dependencies:
//!
//! ```text
//! kernel/drivers/net/mii.ko.xz:
//! updates/dkms/foo.ko: kernel/lib/crc-itu-t.ko.xz
//! ```
//!
//! The binary file is kmod's index format (libkmod-index.c): a trie mapping each module name to
//! values sorted by priority, big-endian:
//!
//! ```text
//! u32 magic 0xB007F457; u32 version (major 2 in the high half); u32 root node offset
//! node at (offset & 0x0FFFFFFF), the offset's high bits saying which parts it has:
//!   0x80000000: prefix, a NUL-terminated string (the key's next characters)
//!   0x20000000: children: u8 first, u8 last, u32 offset × (last − first + 1), one per character
//!   0x40000000: values: u32 count, then count × (u32 priority, NUL-terminated string)
//! ```
//!
//! A module's value is its `modules.dep` line: `PATH: DEPENDENCY …`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use crate::bytes;
use crate::error::{Error, Problem, Result};

/// `modules.dep.bin`'s magic number ("BOOTFAST" in hexspeak).
const MAGIC: u32 = 0xB007_F457;
/// The index format's major version, the high half of the version word.
const MAJOR: u32 = 2;
/// Node offset flag bits and mask (libkmod-index.c, `enum node_offset`).
const HAS_PREFIX: u32 = 0x8000_0000;
const HAS_VALUES: u32 = 0x4000_0000;
const HAS_CHILDREN: u32 = 0x2000_0000;
const OFFSET_MASK: u32 = 0x0FFF_FFFF;
/// Longest key accepted: module names are at most 55 bytes (`MODULE_NAME_LEN`); anything
/// longer is damage. It also bounds the walk's memory: the keys waiting on its stack are at most
/// this long, at most 255 per level of at most this many levels (16 MiB).
const MAX_KEY: usize = 256;
/// Largest index file read; Debian's has ~6000 modules in ~600 KiB.
pub const FILE_LIMIT: u64 = 256 << 20;

/// What depmod's index lists: each module name with the path of the copy it chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// The file read (`…/modules.dep.bin` or `…/modules.dep`).
    pub path: PathBuf,
    /// Module name (kmod's, `crc_itu_t`) → path of the chosen copy as the index writes it.
    pub modules: BTreeMap<String, String>,
}

/// The index of the modules folder `dir`: `modules.dep.bin` when it exists (what modprobe
/// reads), else `modules.dep`; `None` when neither exists (a tree unpacked from packages, before
/// depmod ran). A file that exists but cannot be read or parsed is an error naming it.
pub fn read(dir: &Path) -> Result<Option<Index>> {
    let bin = dir.join("modules.dep.bin");
    if let Some(data) = read_if_present(&bin)? {
        let modules = parse_bin(&data).map_err(|p| Error::format(&bin, p))?;
        return Ok(Some(Index { path: bin, modules }));
    }
    let text = dir.join("modules.dep");
    if let Some(data) = read_if_present(&text)? {
        let modules = parse_text(&data).map_err(|p| Error::format(&text, p))?;
        return Ok(Some(Index {
            path: text,
            modules,
        }));
    }
    Ok(None)
}

pub(crate) fn read_if_present(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        _ => crate::input::read_regular(path, FILE_LIMIT).map(Some),
    }
}

/// The module path of a `modules.dep` line or value: the text before the first `:`.
fn module_path(line: &str) -> Option<&str> {
    let (path, _) = line.split_once(':')?;
    let path = path.trim();
    (!path.is_empty()).then_some(path)
}

/// Parse `modules.dep` text: one `PATH: DEPENDENCIES` line per module. Where a name appears
/// twice the first line counts, as in libkmod's text lookup. Errors name the line.
pub fn parse_text(data: &[u8]) -> Result<BTreeMap<String, String>, Problem> {
    let text = std::str::from_utf8(data)
        .map_err(|e| Problem::DepIndex(format!("not UTF-8 text ({e})")))?;
    let mut modules = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let path = module_path(line).ok_or_else(|| {
            Problem::DepIndex(format!("line {}: no \"PATH:\" at its start", i + 1))
        })?;
        modules
            .entry(crate::modtree::kmod_name(path))
            .or_insert_with(|| path.to_string());
    }
    Ok(modules)
}

/// Parse a `modules.dep.bin` index: every key with the path of its first value by priority (what
/// `index_search` returns to modprobe).
pub fn parse_bin(data: &[u8]) -> Result<BTreeMap<String, String>, Problem> {
    let mut modules = BTreeMap::new();
    for (key, values) in read_trie(data)? {
        // Lowest priority number first, the file's order among equals (libkmod's `add_value`).
        let first = values.iter().min_by_key(|(priority, _)| *priority);
        let Some((_, value)) = first else { continue };
        let path = module_path(value).ok_or_else(|| {
            Problem::DepIndex(format!(
                "the value of {key:?} has no \"PATH:\" at its start"
            ))
        })?;
        modules.insert(key, path.to_string());
    }
    Ok(modules)
}

/// One key of a kmod index and its values: (priority, text), in file order.
pub type Entry = (String, Vec<(u32, String)>);

/// Every key of a kmod index with its values, in key order.
pub fn read_trie(data: &[u8]) -> Result<Vec<Entry>, Problem> {
    let word = |at: usize| -> Result<u32, Problem> {
        bytes::be_u32(data, at).ok_or_else(|| {
            Problem::DepIndex(format!("truncated: a word at {at:#x} is past the end"))
        })
    };
    if word(0)? != MAGIC {
        return Err(Problem::DepIndex(format!(
            "magic {:#010x}, expected {MAGIC:#010x}",
            word(0)?
        )));
    }
    let version = word(4)?;
    if version >> 16 != MAJOR {
        return Err(Problem::DepIndex(format!(
            "format version {}.{}, this reader knows {MAJOR}.x",
            version >> 16,
            version & 0xffff
        )));
    }
    let mut out = Vec::new();
    // (node offset word, key so far); each node is reached once, so a crafted file whose
    // children point back up cannot loop.
    let mut stack: Vec<(u32, Vec<u8>)> = vec![(word(8)?, Vec::new())];
    let mut seen = HashSet::new();
    while let Some((offset_word, mut key)) = stack.pop() {
        let offset = (offset_word & OFFSET_MASK) as usize;
        if offset == 0 {
            continue;
        }
        if !seen.insert(offset) {
            return Err(Problem::DepIndex(format!(
                "node at {offset:#x} is reached twice"
            )));
        }
        let mut at = offset;
        if offset_word & HAS_PREFIX != 0 {
            let prefix = c_string(data, at)?;
            key.extend_from_slice(prefix);
            at += prefix.len() + 1;
        }
        if key.len() > MAX_KEY {
            return Err(Problem::DepIndex(format!(
                "a key longer than {MAX_KEY} bytes at {offset:#x}"
            )));
        }
        let mut children = Vec::new();
        if offset_word & HAS_CHILDREN != 0 {
            let (first, last) = match (data.get(at), data.get(at + 1)) {
                (Some(&f), Some(&l)) => (f, l),
                _ => return Err(Problem::DepIndex(format!("truncated node at {offset:#x}"))),
            };
            if first > last {
                return Err(Problem::DepIndex(format!(
                    "node at {offset:#x}: child range {first:#x}..{last:#x} is reversed"
                )));
            }
            at += 2;
            for ch in first..=last {
                children.push((ch, word(at)?));
                at += 4;
            }
        }
        if offset_word & HAS_VALUES != 0 {
            let count = word(at)? as usize;
            at += 4;
            // Each value takes at least 5 bytes: a count past the end is damage, not a reason
            // to reserve memory.
            if count > data.len().saturating_sub(at) / 5 {
                return Err(Problem::DepIndex(format!(
                    "node at {offset:#x} claims {count} values, more than the file holds"
                )));
            }
            let mut values = Vec::with_capacity(count);
            for _ in 0..count {
                let priority = word(at)?;
                let text = c_string(data, at + 4)?;
                at += 4 + text.len() + 1;
                let text = std::str::from_utf8(text)
                    .map_err(|_| Problem::DepIndex(format!("a value at {at:#x} is not UTF-8")))?;
                values.push((priority, text.to_string()));
            }
            let name = String::from_utf8(key.clone())
                .map_err(|_| Problem::DepIndex(format!("the key at {offset:#x} is not UTF-8")))?;
            out.push((name, values));
        }
        // Reversed, so that the smallest character is read next: keys come out in order.
        for (ch, child) in children.into_iter().rev() {
            if child & OFFSET_MASK != 0 {
                let mut child_key = key.clone();
                child_key.push(ch);
                stack.push((child, child_key));
            }
        }
    }
    Ok(out)
}

/// The NUL-terminated string at `at`.
fn c_string(data: &[u8], at: usize) -> Result<&[u8], Problem> {
    let rest = data.get(at..).ok_or_else(|| {
        Problem::DepIndex(format!("truncated: a string at {at:#x} is past the end"))
    })?;
    let len = memchr::memchr(0, rest)
        .ok_or_else(|| Problem::DepIndex(format!("truncated: the string at {at:#x} has no end")))?;
    Ok(&rest[..len])
}

#[cfg(test)]
mod tests;
