//! Which modules depmod's index lets a dump leave unread: those that export nothing.
//!
//! A module that depmod's symbol index ([`super::symbols`]) does not name exports nothing,
//! with one exception: depmod keeps one owner per symbol, the module it read last, so a module
//! all of whose exports are also exported by a module read after it is not named either. Within
//! one kernel build modpost rejects a symbol exported twice (older kernels only warned: a kernel
//! shipped despite that warning is the one case this cannot tell; the real-kernel test compares
//! every Debian kernel with the full read), and depmod reads the modules `modules.order` lists
//! (the kernel's own build) before all others. So a module may be left unread only when every module the index names as an
//! owner is one of the build's own, and the index describes the tree as it is now. The build's
//! own modules are those `modules.order` lists; a tree without it (Debian's 7.x packages ship
//! none) has them where `make modules_install` puts them, under `kernel/` (external modules go
//! to `extra/` or `updates/` by default, DKMS's to `updates/dkms`).
//!
//! Anything else is a [`Fallback`]: every module is read, as without an index.

use std::collections::HashMap;
use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::symbols::Exporters;
use super::Index;
use crate::modtree::ModuleFile;

/// Why every module is read although the tree may carry depmod's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// Asked for (`--no-index`), or the caller needs every module (imports for `--verify`).
    NotAsked(&'static str),
    /// More than one modules folder, or depmod.d `external` folders: each has its own index,
    /// and their owners may collide.
    SeveralFolders,
    /// Every copy of a module is read (`--all-copies`), and depmod indexes one.
    AllCopies,
    /// A module is installed more than once: the index covers the copy it chose only.
    Copies(String),
    /// No `modules.dep` / `modules.dep.bin`.
    NoDepIndex,
    /// No `modules.symbols` / `modules.symbols.bin`.
    NoSymbolIndex,
    /// An index file that cannot be read or parsed (the error's text).
    Unreadable(String),
    /// The index lists modules the tree lacks: depmod ran before they were removed.
    ListedMissing,
    /// The symbol index names an owner `modules.dep` does not list.
    UnknownOwner(String),
    /// A module outside the kernel's build (not in `modules.order`; without that file, not under
    /// `kernel/`) owns a symbol: it may have taken the listing of a module that exports the same
    /// name.
    OutsideBuild(String),
    /// A module file changed (modification or status change time) when or after the index was
    /// written: depmod did not see it as it is.
    Changed(PathBuf),
    /// A file at one of the build's own paths was written after the build (its modification
    /// time is later than `modules.order`'s; without that file, not the one time every other
    /// file of the build has): it may be another module copied there, exporting names another
    /// module owns in the index (the index keeps one owner per symbol, so the duplicate would
    /// be left out).
    AlteredBuild(PathBuf),
    /// A module file reached through a symbolic link (RPM's `weak-updates/`): the file it leads
    /// to may be another one than depmod read.
    Link(PathBuf),
    /// The modules read were built for several releases (`vermagic`): the ones not read count
    /// in which release the modules are.
    MixedVermagic,
    /// No module of this compression (`xz`, `zst`, …) owns a symbol: the depmod that wrote the
    /// index may not have been able to decompress them (a kmod built without that format lists
    /// such modules in `modules.dep` but reads no symbols from them).
    NoOwnerCompressed(&'static str),
}

impl fmt::Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fallback::NotAsked(why) => write!(f, "{why}"),
            Fallback::SeveralFolders => write!(f, "several modules folders are read"),
            Fallback::AllCopies => write!(f, "--all-copies reads copies depmod does not index"),
            Fallback::Copies(m) => write!(f, "{m} is installed more than once"),
            Fallback::NoDepIndex => write!(f, "no modules.dep or modules.dep.bin"),
            Fallback::NoSymbolIndex => write!(f, "no modules.symbols or modules.symbols.bin"),
            Fallback::Unreadable(e) => write!(f, "{e}"),
            Fallback::ListedMissing => {
                write!(
                    f,
                    "the index lists modules that are gone (depmod ran before)"
                )
            }
            Fallback::UnknownOwner(m) => {
                write!(
                    f,
                    "modules.symbols names {m}, which modules.dep does not list"
                )
            }
            Fallback::OutsideBuild(m) => write!(
                f,
                "{m} exports symbols and is not one of the kernel build's own modules (in \
                 modules.order, else under kernel/): depmod lists one owner per symbol"
            ),
            Fallback::Changed(p) => {
                write!(f, "{} changed after depmod last ran", p.display())
            }
            Fallback::AlteredBuild(p) => write!(
                f,
                "{} was written after the kernel build's other modules (another module \
                 copied into the build's tree?)",
                p.display()
            ),
            Fallback::Link(p) => write!(f, "{} is a symbolic link", p.display()),
            Fallback::MixedVermagic => {
                write!(f, "the modules read were built for several releases")
            }
            Fallback::NoOwnerCompressed(c) => write!(
                f,
                "no .ko.{c} module owns a symbol in it (could depmod decompress them?)"
            ),
        }
    }
}

/// A file's time as (seconds, nanoseconds).
type Time = (i64, i64);

/// For each of `files` (the copies that count, of the one modules folder `dir`), whether depmod's
/// index says it exports nothing, so that it need not be read; or why the index cannot be
/// trusted for that. `order` is `modules.order` (module names as [`crate::modtree::module_name`]
/// gives them), empty when the tree has none.
///
/// # Errors
/// The [`Fallback`] that rules the index out.
pub fn plan(
    dir: &Path,
    index: &Index,
    exporters: &Exporters,
    files: &[ModuleFile],
    order: &HashMap<String, usize>,
) -> Result<Vec<bool>, Fallback> {
    // One of the kernel build's own modules, by its path in the modules folder.
    let in_build = |path: &str| {
        if order.is_empty() {
            path.starts_with("kernel/")
        } else {
            crate::modtree::module_name(path).is_some_and(|n| order.contains_key(&n))
        }
    };
    for owner in &exporters.modules {
        let path = index
            .modules
            .get(owner)
            .ok_or_else(|| Fallback::UnknownOwner(owner.clone()))?;
        if !in_build(path) {
            return Err(Fallback::OutsideBuild(path.clone()));
        }
    }
    let written = |path: &Path| -> Result<Time, Fallback> {
        let meta = std::fs::metadata(path)
            .map_err(|e| Fallback::Unreadable(format!("{}: {e}", path.display())))?;
        Ok((meta.mtime(), meta.mtime_nsec()))
    };
    // The build's modules are trusted not to export one name twice (modpost refuses that) only
    // while they are the build's: written no later than its modules.order (a package keeps
    // the build's times, a reproducible one gives every file the same), or, without that file,
    // all at one time.
    let build_time = if order.is_empty() {
        None
    } else {
        Some(written(&dir.join("modules.order"))?)
    };
    let mut common_time: Option<Time> = None;
    // The older of the two files: both must postdate every module.
    let index_time = written(&index.path)?.min(written(&exporters.path)?);
    // Per compression: (modules listed, of which owners).
    let mut kinds: Vec<(&'static str, usize, usize)> = Vec::new();
    let mut skip = Vec::with_capacity(files.len());
    for file in files {
        let walked = dir.join(&file.rel);
        if std::fs::symlink_metadata(&walked).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Fallback::Link(walked));
        }
        let Ok(meta) = std::fs::metadata(&file.path) else {
            // The reader names the problem.
            skip.push(false);
            continue;
        };
        // A status change too: unpacking keeps a package's modification times, older than
        // the index, but sets the change time.
        let changed = (meta.mtime(), meta.mtime_nsec()).max((meta.ctime(), meta.ctime_nsec()));
        // Equal times are not "before": a coarse clock may give both the same tick.
        if changed >= index_time {
            return Err(Fallback::Changed(file.path.clone()));
        }
        let ours = in_build(&file.rel);
        if ours {
            let modified = (meta.mtime(), meta.mtime_nsec());
            let altered = match build_time {
                Some(built) => modified > built,
                None => *common_time.get_or_insert(modified) != modified,
            };
            if altered {
                return Err(Fallback::AlteredBuild(file.path.clone()));
            }
        }
        let name = file.kmod_name();
        let listed = index
            .modules
            .get(&name)
            .is_some_and(|p| super::lists(p, &file.rel));
        let owner = exporters.modules.contains(&name);
        if listed {
            let kind = crate::modtree::suffix_compression(Path::new(&file.rel));
            match kinds.iter_mut().find(|(k, _, _)| *k == kind) {
                Some(entry) => {
                    entry.1 += 1;
                    entry.2 += usize::from(owner);
                }
                None => kinds.push((kind, 1, usize::from(owner))),
            }
        }
        // A module outside the build may export a name a build module owns in the index: read.
        skip.push(listed && !owner && ours);
    }
    // depmod reads an uncompressed module whatever it was built with.
    if let Some((kind, _, _)) = kinds
        .iter()
        .find(|(k, _, owners)| *k != "none" && *owners == 0)
    {
        return Err(Fallback::NoOwnerCompressed(kind));
    }
    Ok(skip)
}

#[cfg(test)]
mod tests;
