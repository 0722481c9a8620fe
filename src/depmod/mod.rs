//! Which copy of a module counts. A modules folder may hold one module several times: a DKMS or
//! vendor build in `updates/` or `extra/` next to the kernel's own in `kernel/`, RPM's
//! `weak-updates/` links. depmod lists one copy of each name in its index and modprobe loads
//! that one; the others are never loaded, and their exports are not the kernel's.
//!
//! The choice follows kmod's tools/depmod.c (`depmod_module_is_higher_priority`), with the
//! configuration of [`config`]: an `override` line naming a copy's folder wins; otherwise the
//! copy in the folder listed first by `search` (default: `updates`, then everything else); among
//! equals, whichever its walk settles on, which depends on the order the file system lists
//! folders in (here: the copies met in path order, and said so). When the tree carries depmod's own [`index`], the copy
//! it lists is the one modprobe loads, and it decides.

pub mod config;
pub mod index;
pub mod skip;
pub mod symbols;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, Problem};
use crate::modtree::ModuleFile;

pub use config::{Config, Search};
pub use index::Index;

/// Why one copy of a module was chosen over the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// An `override` line of depmod.d (file, 1-based line).
    Override(PathBuf, usize),
    /// The `search` order of depmod.d: its first `search` line (file, 1-based line), or `None`
    /// for depmod's default (`updates` before the rest).
    Search(Option<(PathBuf, usize)>),
    /// depmod's index lists this copy: it is the one modprobe loads.
    Index(PathBuf),
    /// The copies rank equal (or depmod's rules contradict themselves for them): which one
    /// depmod keeps depends on the order its walk meets them, which is the file system's; this is
    /// the one its rules keep when the copies are met in path order.
    WalkOrder,
}

/// One module found more than once, and the copy that counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadowing {
    /// The module's kmod name (`crc_itu_t`).
    pub module: String,
    /// The copy that counts (an index into the files resolved).
    pub chosen: usize,
    /// The copies it hides.
    pub shadowed: Vec<usize>,
    /// Why.
    pub reason: Reason,
    /// When depmod's index lists another copy than the configuration chooses (an index older
    /// than the last change): the configuration's choice. The index's copy counts, as it is the
    /// one modprobe loads until depmod runs again.
    pub configured: Option<usize>,
}

/// The outcome of resolving a folder's copies against its configuration and index.
#[derive(Debug, Default)]
pub struct Resolution {
    /// Per file: true when it is the copy that counts (or the only one).
    pub keep: Vec<bool>,
    /// Every module found more than once.
    pub shadowings: Vec<Shadowing>,
    /// Modules the index lists that the walk did not find, one error each (naming the index).
    pub missing: Vec<Error>,
    /// Files of the folder the index does not list (installed after depmod last ran; modprobe
    /// does not find them by name).
    pub unlisted: Vec<usize>,
}

/// Decide which copies of `files` count. `folders[i]` is the configuration and index of
/// modules folder `i` ([`ModuleFile::folder`]); copies are compared within one folder only.
pub fn resolve(files: &[ModuleFile], folders: &[(&Config, Option<&Index>)]) -> Resolution {
    let mut out = Resolution {
        keep: vec![true; files.len()],
        ..Resolution::default()
    };
    // (folder, kmod name) → indices, in path order.
    let mut groups: BTreeMap<(usize, String), Vec<usize>> = BTreeMap::new();
    for (i, file) in files.iter().enumerate() {
        groups
            .entry((file.folder, file.kmod_name()))
            .or_default()
            .push(i);
    }
    for ((folder, name), copies) in &mut groups {
        copies.sort_by(|&a, &b| files[a].rel.as_bytes().cmp(files[b].rel.as_bytes()));
        let Some(&(config, index)) = folders.get(*folder) else {
            continue;
        };
        let listed = index.and_then(|ix| ix.modules.get(name).map(|p| (ix, p)));
        if copies.len() == 1 && listed.is_none_or(|(_, p)| lists(p, &files[copies[0]].rel)) {
            continue;
        }
        let (configured, reason) = choose(files, copies, config);
        let (chosen, reason, stale) = match listed {
            None => (configured, reason, None),
            Some((ix, path)) => match copies
                .iter()
                .copied()
                .filter(|&c| lists(path, &files[c].rel))
                .max_by_key(|&c| files[c].rel.len())
            {
                Some(c) => {
                    // An order-dependent choice is settled by the index, no staleness.
                    let stale =
                        (c != configured && reason != Reason::WalkOrder).then_some(configured);
                    (c, Reason::Index(ix.path.clone()), stale)
                }
                None => {
                    out.missing.push(missing(ix, name, path, files, copies));
                    (configured, reason, None)
                }
            },
        };
        if copies.len() > 1 {
            for &c in copies.iter() {
                out.keep[c] = c == chosen;
            }
            out.shadowings.push(Shadowing {
                module: name.clone(),
                chosen,
                shadowed: copies.iter().copied().filter(|&c| c != chosen).collect(),
                reason,
                configured: stale,
            });
        }
    }
    // Listed modules not found at all, and found modules not listed.
    for (folder, (_, index)) in folders.iter().enumerate() {
        let Some(ix) = index else { continue };
        for (name, path) in &ix.modules {
            if !groups.contains_key(&(folder, name.clone())) {
                out.missing.push(missing(ix, name, path, files, &[]));
            }
        }
        for (i, file) in files.iter().enumerate() {
            if file.folder == folder && !ix.modules.contains_key(&file.kmod_name()) {
                out.unlisted.push(i);
            }
        }
    }
    out
}

/// Whether an index path names the copy at `rel`: the same path, or (an absolute path, as
/// Android's files and `external` folders write them) one ending in `/rel`.
pub(crate) fn lists(listed: &str, rel: &str) -> bool {
    listed == rel
        || (listed.starts_with('/')
            && listed
                .strip_suffix(rel)
                .is_some_and(|head| head.ends_with('/')))
}

/// The error for a module `index` lists at `path` that is not among `copies`.
fn missing(index: &Index, name: &str, path: &str, files: &[ModuleFile], copies: &[usize]) -> Error {
    let detail = match copies {
        [] => {
            "which is not in the tree (modprobe cannot load it; depmod ran before it was removed?)"
                .to_string()
        }
        _ => format!(
            "which is not in the tree; the tree has {} (depmod ran before it changed?)",
            copies
                .iter()
                .map(|&c| files[c].rel.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Error::format(
        &index.path,
        Problem::ListedModuleMissing {
            module: name.to_string(),
            listed: path.to_string(),
            detail,
        },
    )
}

/// depmod's choice among `copies` (in path order): each copy met replaces the one kept unless
/// the kept one ranks higher, as `depmod_modules_search_file` does while it walks.
fn choose(files: &[ModuleFile], copies: &[usize], config: &Config) -> (usize, Reason) {
    let ranking = Ranking::new(config);
    let mut kept = copies[0];
    for &next in &copies[1..] {
        if !ranking.old_wins(&files[kept].rel, &files[next].rel) {
            kept = next;
        }
    }
    if let Some(ov) = ranking.override_of(copies.iter().map(|&c| files[c].rel.as_str())) {
        return (kept, Reason::Override(ov.at.0.clone(), ov.at.1));
    }
    // Order-independent when the kept copy wins whether it is met first or last.
    let settled = copies.iter().filter(|&&c| c != kept).all(|&c| {
        ranking.old_wins(&files[kept].rel, &files[c].rel)
            && !ranking.old_wins(&files[c].rel, &files[kept].rel)
    });
    (
        kept,
        if settled {
            Reason::Search(ranking.config.search_at.clone())
        } else {
            Reason::WalkOrder
        },
    )
}

/// depmod's priority rules for one configuration.
struct Ranking<'a> {
    config: &'a Config,
    searches: Vec<Search>,
}

impl<'a> Ranking<'a> {
    fn new(config: &'a Config) -> Self {
        Ranking {
            config,
            searches: config.searches(),
        }
    }

    /// The override line that decides between copies at these paths, if one names any of them.
    fn override_of<'p>(
        &self,
        paths: impl Iterator<Item = &'p str> + Clone,
    ) -> Option<&'a config::Override> {
        // depmod keeps its lists newest first: the last line read is tried first.
        self.config.overrides.iter().rev().find(|ov| {
            paths
                .clone()
                .any(|p| !p.starts_with('/') && stem(p) == ov.path)
        })
    }

    /// True when the copy kept so far (`old`) ranks at least as high as the one met now (`new`),
    /// so that depmod keeps `old`. Mirrors `depmod_module_is_higher_priority`, quirks included:
    /// its lists are held newest first, so a `search` word's index counts up from the last word
    /// read (a higher index ranks higher), and a word matching the new copy is not tried on the
    /// old one.
    fn old_wins(&self, old: &str, new: &str) -> bool {
        let (old_stem, new_stem) = (stem(old), stem(new));
        let in_folder = |p: &str| !p.starts_with('/');
        for ov in self.config.overrides.iter().rev() {
            if in_folder(new) && new_stem == ov.path {
                return false;
            }
            if in_folder(old) && old_stem == ov.path {
                return true;
            }
        }
        let under = |stem: &str, folder: &str| {
            stem.len() > folder.len()
                && stem.as_bytes()[folder.len()] == b'/'
                && stem.starts_with(folder)
        };
        let (mut builtin, mut old_rank, mut new_rank) = (-1i64, -1i64, -1i64);
        let mut i = 0i64;
        for search in self.searches.iter().rev() {
            match search {
                Search::BuiltIn => builtin = i,
                Search::External => {
                    for ext in self.config.externals.iter().rev() {
                        let ext = ext.trim_end_matches('/');
                        if !in_folder(new) && under(&new_stem, ext) {
                            new_rank = i;
                        }
                        if !in_folder(old) && under(&old_stem, ext) {
                            old_rank = i;
                        }
                        i += 1;
                    }
                }
                Search::Folder(folder) => {
                    if in_folder(new) && under(&new_stem, folder) {
                        new_rank = i;
                    } else if in_folder(old) && under(&old_stem, folder) {
                        old_rank = i;
                    }
                }
            }
            i += 1;
        }
        if new_rank < 0 {
            new_rank = builtin;
        }
        if old_rank < 0 {
            old_rank = builtin;
        }
        new_rank <= old_rank
    }
}

/// A copy's path without its ending, up to the first `.` of its file name, as depmod compares
/// paths (`updates/dkms/crc-itu-t.ko.xz` → `updates/dkms/crc-itu-t`).
fn stem(path: &str) -> String {
    let (dir, base) = match path.rfind('/') {
        Some(at) => (&path[..=at], &path[at + 1..]),
        None => ("", path),
    };
    format!("{dir}{}", base.split('.').next().unwrap_or(base))
}

#[cfg(test)]
mod tests;
