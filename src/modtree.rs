//! A modules folder (`/lib/modules/REL`): finding its module files, naming and ordering them,
//! and reading their exports in parallel.

use std::collections::hash_map::Entry as MapEntry;
use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::decompress::{self, Compression};
use crate::error::{Error, Problem, Result};
use crate::exports::module::{self, ModuleExports};

mod budget;

/// Default limit on one module's decompressed size.
pub const DEFAULT_MODULE_LIMIT: u64 = 256 << 20;

/// The file-name endings of module files, longest first.
const MODULE_SUFFIXES: [&str; 5] = [".ko.xz", ".ko.zst", ".ko.gz", ".ko.bz2", ".ko"];

/// Folder names depmod never walks into, at any depth (`should_exclude_dir` in kmod's
/// tools/depmod.c): the top-level `build` and `source` links lead to whole kernel trees.
const ALWAYS_EXCLUDED: [&str; 2] = ["build", "source"];

/// One module file of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleFile {
    /// Where the file is read from: the walked path, or, under a root, the file a symbolic link
    /// leads to inside that root.
    pub path: PathBuf,
    /// The Module.symvers module column: the path under `kernel/` (or under the modules folder
    /// for `extra/`, `updates/`, …) without the `.ko[.xz|.zst|.gz]` ending.
    pub name: String,
    /// The path as walked, relative to its modules folder and with its ending
    /// (`kernel/lib/crc-itu-t.ko.xz`, `updates/dkms/foo.ko`): through symbolic links by their
    /// names, as depmod records it in `modules.dep`.
    pub rel: String,
    /// Which modules folder it is in, when several are read (0 for the first).
    pub folder: usize,
}

impl ModuleFile {
    /// The name kmod knows the module by ([`kmod_name`] of [`ModuleFile::rel`]).
    pub fn kmod_name(&self) -> String {
        kmod_name(&self.rel)
    }
}

/// The module name for `relative`, a path inside the modules folder, or `None` for a file that
/// is not a module.
pub fn module_name(relative: &str) -> Option<String> {
    let stem = MODULE_SUFFIXES
        .iter()
        .find_map(|s| relative.strip_suffix(s))?;
    Some(stem.strip_prefix("kernel/").unwrap_or(stem).to_string())
}

/// True when a file name has a module ending (`.ko`, `.ko.xz`, …), whatever its encoding.
fn has_module_suffix(name: &OsStr) -> bool {
    let bytes = name.as_bytes();
    MODULE_SUFFIXES
        .iter()
        .any(|s| bytes.ends_with(s.as_bytes()))
}

/// The name modprobe and depmod know a module file by: its file name up to the first `.`, with
/// `-` made `_` (`kernel/lib/crc-itu-t.ko.xz` → `crc_itu_t`), as kmod's `modname_normalize`
/// (shared/util.c) makes it. `modules.dep.bin` is keyed by it, and copies of one module in
/// several folders share it.
pub fn kmod_name(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.split('.').next().unwrap_or(base).replace('-', "_")
}

/// The compression of a module file by its name's ending, as the ending spells it: `xz`,
/// `zst`, `gz`, `bz2`, or `none` for a plain `.ko`.
pub fn suffix_compression(path: &Path) -> &'static str {
    let name = path.to_string_lossy();
    MODULE_SUFFIXES
        .iter()
        .find(|s| name.ends_with(*s))
        .and_then(|s| s.strip_prefix(".ko."))
        .unwrap_or("none")
}

/// How to walk a modules folder.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// The folder the system is installed under (`--root`): a symbolic link in the tree whose
    /// target is absolute resolves inside it, as it does on the installed system (RPM's
    /// `weak-updates/` links point at `/lib/modules/OTHER/extra/…`). `None`: the links resolve
    /// as the running system resolves them.
    pub root: Option<PathBuf>,
    /// Folder names not walked into, at any depth, besides `build` and `source` (depmod.d
    /// `exclude` lines).
    pub exclude: Vec<String>,
    /// The number given to [`ModuleFile::folder`].
    pub folder: usize,
    /// Put before every walked path (a depmod.d `external` folder's own path, as depmod
    /// records its modules: `/opt/vendor/foo.ko`).
    pub prefix: Option<String>,
}

/// A folder the walk did not read, on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// `build`, `source` or a depmod.d `exclude` name: depmod does not read it either.
    Excluded(PathBuf),
    /// A folder already read through another path (a symbolic link to it, or a link loop); its
    /// modules are named by the path it was first read through.
    AlreadyRead {
        /// The path not read.
        path: PathBuf,
        /// The path the same folder was read through.
        first: PathBuf,
    },
}

/// The module files of a tree and the entries of it that could not be examined.
#[derive(Debug, Default)]
pub struct Walk {
    /// Module files in tree order (see [`list_modules`]).
    pub files: Vec<ModuleFile>,
    /// Folders that could not be listed and entries that could not be examined (permission
    /// denied, vanished during the walk, a module name that is not UTF-8), each naming its path:
    /// the table may lack their exports.
    pub failures: Vec<Error>,
    /// Symbolic links that lead nowhere (dangling, a loop of links): depmod skips them with an
    /// error message too, and modprobe cannot load a module through them.
    pub broken_links: Vec<Error>,
    /// Folders not read on purpose.
    pub skipped: Vec<Skipped>,
    /// Each folder listed, for [`Walk::changes`].
    listings: Vec<Listing>,
    /// The options the walk ran with, for [`Walk::changes`].
    options: WalkOptions,
}

/// What one folder held when the walk listed it.
#[derive(Debug)]
struct Listing {
    /// The folder as read (links resolved).
    path: PathBuf,
    /// Its modification and change times just before it was listed.
    stamp: Stamp,
    /// The names that matter, sorted: module files, folders and links.
    names: Vec<OsString>,
}

/// A folder's modification and change times (seconds, nanoseconds): any rename, creation or
/// removal of an entry sets both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp([i64; 4]);

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Self {
        Stamp([
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ctime(),
            meta.ctime_nsec(),
        ])
    }
}

/// Find every module file below `dir`, ordered as `modules.order` lists them (modules it does not
/// list follow, by path). Symbolic links are followed, to files and to folders, as depmod
/// follows them; each real folder is read once, so a link loop cannot trap the walk. Folders
/// named `build` or `source` are skipped at any depth, as depmod does. Any folder that cannot be
/// listed, and any broken link, fails the whole call; see [`walk_modules`] to go on past them.
pub fn list_modules(dir: &Path) -> Result<Vec<ModuleFile>> {
    list_modules_with(dir, &WalkOptions::default())
}

/// [`list_modules`] with options (see [`walk_modules_with`]).
pub fn list_modules_with(dir: &Path, options: &WalkOptions) -> Result<Vec<ModuleFile>> {
    let mut walk = walk_modules_with(dir, options)?;
    walk.failures.append(&mut walk.broken_links);
    match walk.failures.is_empty() {
        true => Ok(walk.files),
        false => Err(walk.failures.swap_remove(0)),
    }
}

/// Like [`list_modules`], but a subfolder or entry that cannot be examined is recorded in
/// [`Walk::failures`] or [`Walk::broken_links`] and the walk goes on; only an unreadable `dir`
/// itself is an `Err`.
pub fn walk_modules(dir: &Path) -> Result<Walk> {
    walk_modules_with(dir, &WalkOptions::default())
}

/// [`walk_modules`] with options: links resolved inside a root, more folder names excluded.
///
/// Order of reading: the real folders below `dir` first, then the folders symbolic links lead
/// to, by the links' paths; a folder reached a second time (by a link to a folder already read,
/// or a loop) is recorded in [`Walk::skipped`] and not read again.
pub fn walk_modules_with(dir: &Path, options: &WalkOptions) -> Result<Walk> {
    let mut walk = Walk {
        options: options.clone(),
        ..Walk::default()
    };
    // Real folder (device, inode) → the path it was first read through.
    let mut read: HashMap<(u64, u64), PathBuf> = HashMap::new();
    let mut stack = vec![(PathBuf::new(), dir.to_path_buf())];
    // Folders reached through links wait until every real folder is read, in path order, so that
    // a folder inside the tree is named by its own path rather than a link's.
    let mut links: BTreeMap<Vec<u8>, (PathBuf, PathBuf)> = BTreeMap::new();
    loop {
        let (rel_dir, abs) = match stack.pop() {
            Some(next) => next,
            None => match links.pop_first() {
                Some((_, next)) => next,
                None => break,
            },
        };
        let top = rel_dir.as_os_str().is_empty();
        let meta = match std::fs::metadata(&abs) {
            Ok(meta) => meta,
            Err(e) if top => return Err(Error::io(&abs, e)),
            Err(e) => {
                walk.failures.push(Error::io(dir.join(&rel_dir), e));
                continue;
            }
        };
        match read.entry((meta.dev(), meta.ino())) {
            MapEntry::Occupied(first) => {
                walk.skipped.push(Skipped::AlreadyRead {
                    path: dir.join(&rel_dir),
                    first: dir.join(first.get()),
                });
                continue;
            }
            MapEntry::Vacant(slot) => {
                slot.insert(rel_dir.clone());
            }
        }
        // Taken before the listing: a change after it shows at the end (see `Walk::changes`).
        let stamp = Stamp::of(&meta);
        let entries = match std::fs::read_dir(&abs) {
            Ok(entries) => entries,
            Err(e) if top => return Err(Error::io(&abs, e)),
            Err(e) => {
                walk.failures.push(Error::io(&abs, e));
                continue;
            }
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    walk.failures.push(Error::io(&abs, e));
                    continue;
                }
            };
            let file_name = entry.file_name();
            let rel = rel_dir.join(&file_name);
            if is_excluded(&file_name, options) {
                walk.skipped.push(Skipped::Excluded(dir.join(&rel)));
                continue;
            }
            // The type of the entry itself (a symlink is not followed here).
            let file_type = match entry.file_type() {
                Ok(t) => t,
                Err(e) => {
                    walk.failures.push(Error::io(entry.path(), e));
                    continue;
                }
            };
            if file_type.is_dir() || file_type.is_symlink() || has_module_suffix(&file_name) {
                names.push(file_name.clone());
            }
            if file_type.is_symlink() {
                let link = entry.path();
                let followed = follow(options.root.as_deref(), &link)
                    .and_then(|target| std::fs::metadata(&target).map(|meta| (target, meta)));
                match followed {
                    Ok((target, meta)) if meta.is_dir() => {
                        links.insert(rel.as_os_str().as_bytes().to_vec(), (rel, target));
                    }
                    // A file, or a FIFO or device that `with_module_bytes` refuses by name.
                    Ok((target, _)) => push_file(&mut walk, rel, target, options),
                    Err(e) => walk.broken_links.push(broken_link(&link, e)),
                }
            } else if file_type.is_dir() {
                stack.push((rel, entry.path()));
            } else {
                // FIFOs, sockets and devices named like modules are listed here and refused by
                // `with_module_bytes`, which names them.
                push_file(&mut walk, rel, entry.path(), options);
            }
        }
        names.sort_unstable();
        walk.listings.push(Listing {
            path: abs,
            stamp,
            names,
        });
    }
    // Byte order of the walked path: Path's own ordering compares component by component and
    // cost as much as reading 4000 uncompressed modules.
    let order = read_modules_order(dir);
    // Modules not in modules.order follow the listed ones, in path order.
    walk.files.sort_by_cached_key(|m| {
        let position = order.get(&m.name).copied().unwrap_or(usize::MAX);
        (position, m.rel.as_bytes().to_vec())
    });
    Ok(walk)
}

impl Walk {
    /// Folders whose module files, subfolders or links are not what the walk saw: a module
    /// renamed, added or removed while the tree was read. Call it after reading the modules;
    /// each changed folder is one error naming what appeared and what vanished, since a module
    /// renamed away while its folder was listed was not read. A folder whose entries are the
    /// same again but whose modification time moved (a module renamed away and back, which the
    /// listing may have missed) is one too.
    pub fn changes(&self) -> Vec<Error> {
        let mut out = Vec::new();
        for listing in &self.listings {
            let changed =
                |detail: String| Error::format(&listing.path, Problem::ChangedWhileRead(detail));
            let now = std::fs::metadata(&listing.path).and_then(|meta| {
                Ok((
                    Stamp::of(&meta),
                    relevant_names(&listing.path, &self.options)?,
                ))
            });
            let (stamp, names) = match now {
                Ok(now) => now,
                Err(e) => {
                    out.push(changed(format!("it can no longer be listed ({e})")));
                    continue;
                }
            };
            if names == listing.names {
                if stamp != listing.stamp {
                    out.push(changed(
                        "entries were renamed, added or removed while it was listed".into(),
                    ));
                }
                continue;
            }
            let show = |names: Vec<&OsString>| -> String {
                let shown: Vec<String> = names
                    .iter()
                    .take(5)
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect();
                let more = names.len().saturating_sub(shown.len());
                match more {
                    0 => shown.join(", "),
                    n => format!("{} and {n} more", shown.join(", ")),
                }
            };
            let appeared: Vec<&OsString> = names
                .iter()
                .filter(|n| listing.names.binary_search(n).is_err())
                .collect();
            let vanished: Vec<&OsString> = listing
                .names
                .iter()
                .filter(|n| names.binary_search(n).is_err())
                .collect();
            let mut parts = Vec::new();
            if !appeared.is_empty() {
                parts.push(format!("{} appeared", show(appeared)));
            }
            if !vanished.is_empty() {
                parts.push(format!("{} vanished", show(vanished)));
            }
            out.push(changed(parts.join("; ")));
        }
        out
    }
}

/// The names in `dir` that the walk records: module files, folders and links, sorted.
fn relevant_names(dir: &Path, options: &WalkOptions) -> std::io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if is_excluded(&name, options) {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() || kind.is_symlink() || has_module_suffix(&name) {
            names.push(name);
        }
    }
    names.sort_unstable();
    Ok(names)
}

/// True for a folder name the walk does not enter (the name alone decides, as in depmod).
fn is_excluded(name: &OsStr, options: &WalkOptions) -> bool {
    ALWAYS_EXCLUDED.iter().any(|x| name == OsStr::new(x))
        || options.exclude.iter().any(|x| name == OsStr::new(x))
}

/// Where the symbolic link `link` leads: inside `root` when one is given and holds the link,
/// else the link itself (the system resolves it when it is opened).
fn follow(root: Option<&Path>, link: &Path) -> std::io::Result<PathBuf> {
    match root {
        Some(root) if link.starts_with(root) => crate::locate::resolve_in_root(root, link),
        _ => Ok(link.to_path_buf()),
    }
}

/// The error for a link that cannot be followed: its target as written and why.
fn broken_link(link: &Path, cause: std::io::Error) -> Error {
    let target = std::fs::read_link(link).unwrap_or_default();
    Error::format(
        link,
        Problem::BrokenLink {
            target,
            cause: cause.to_string(),
        },
    )
}

/// Add the module file at `rel` (read from `path`) to the walk, if its name is a module's.
fn push_file(walk: &mut Walk, rel: PathBuf, path: PathBuf, options: &WalkOptions) {
    if !has_module_suffix(rel.as_os_str()) {
        return;
    }
    let Some(rel) = rel.to_str() else {
        // Module names are ASCII; a module whose path is not UTF-8 (its own name or a folder's)
        // cannot be named in the table, and leaving it out silently would lose its exports.
        walk.failures
            .push(Error::format(&path, Problem::NonUtf8Name));
        return;
    };
    let rel = match &options.prefix {
        Some(prefix) => format!("{prefix}/{rel}"),
        None => rel.to_string(),
    };
    if let Some(name) = module_name(&rel) {
        walk.files.push(ModuleFile {
            path,
            name,
            rel,
            folder: options.folder,
        });
    }
}

/// Positions of the modules listed in `dir/modules.order`, keyed by module name.
pub(crate) fn read_modules_order(dir: &Path) -> HashMap<String, usize> {
    // Debian's modules.order has ~6000 lines (~200 KiB); the limit only guards against garbage.
    let Ok(bytes) = crate::input::read_regular(&dir.join("modules.order"), 64 << 20) else {
        return HashMap::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .filter_map(|line| module_name(line.trim()))
        .enumerate()
        .map(|(i, name)| (name, i))
        .collect()
}

/// Read one module file (compressed or not; the format is sniffed) into its exports.
///
/// `buffer` is reused for decompression across calls.
///
/// ```no_run
/// use std::path::Path;
/// let mut buffer = Vec::new();
/// let module = symvers::modtree::read_module(
///     Path::new("/lib/modules/6.1.0-50-amd64/kernel/lib/crc-itu-t.ko"),
///     symvers::modtree::DEFAULT_MODULE_LIMIT,
///     &mut buffer,
/// )?;
/// for export in &module.exports {
///     println!("{} {:08x?}", export.name, export.crc);
/// }
/// # Ok::<(), symvers::Error>(())
/// ```
pub fn read_module(path: &Path, limit: u64, buffer: &mut Vec<u8>) -> Result<ModuleExports> {
    with_module_bytes(path, limit, buffer, |elf| exports_of(path, elf))
}

/// The exports of the module at `path` from its ELF bytes, errors naming the file.
fn exports_of(path: &Path, elf: &[u8]) -> Result<ModuleExports> {
    module::read(elf).map_err(|p| Error::format(path, p))
}

/// Load one module file (a `.ko`, or one compressed with any format the kernel uses; the format
/// is sniffed from magic bytes) and hand its ELF bytes to `read`.
///
/// `buffer` is reused for decompression across calls. Errors name `path`.
pub fn with_module_bytes<T>(
    path: &Path,
    limit: u64,
    buffer: &mut Vec<u8>,
    read: impl FnOnce(&[u8]) -> Result<T>,
) -> Result<T> {
    with_module_bytes_within(path, limit, limit, buffer, read)
}

/// [`with_module_bytes`] with separate limits on the file's size and on its decompressed size.
fn with_module_bytes_within<T>(
    path: &Path,
    file_limit: u64,
    decoded_limit: u64,
    buffer: &mut Vec<u8>,
    read: impl FnOnce(&[u8]) -> Result<T>,
) -> Result<T> {
    let (file, size) = crate::input::open_regular(path)?;
    if size == 0 {
        return Err(Error::format(path, Problem::Empty));
    }
    // Read, not mmap: a module truncated by another process while it is mapped would kill the
    // process with SIGBUS, and the limit bounds an uncompressed module's memory too.
    let raw = crate::input::read_opened(path, file, size, file_limit)?;
    read(module_elf(&raw, decoded_limit, buffer).map_err(|p| Error::format(path, p))?)
}

/// The ELF bytes of a module file's contents: `data` itself, or `data` decompressed (the
/// format sniffed from magic bytes) into `buffer`, at most `limit` bytes.
pub fn module_elf<'a>(
    data: &'a [u8],
    limit: u64,
    buffer: &'a mut Vec<u8>,
) -> Result<&'a [u8], Problem> {
    if crate::elf::is_elf(data) {
        return Ok(data);
    }
    let format = Compression::sniff(data).ok_or_else(|| Problem::NotAModule {
        detail: format!(
            "neither an ELF file nor compressed (first bytes {})",
            crate::image::hex_prefix(data)
        ),
    })?;
    buffer.clear();
    decompress::decompress_into(data, format, limit, buffer)?;
    Ok(buffer)
}

/// The exports of every module of a tree, in the order of `files`, read by `jobs` threads on
/// the current rayon pool. Each module's result is kept separately so that failures can be listed.
pub fn read_modules(files: &[ModuleFile], limit: u64) -> Vec<Result<ModuleExports>> {
    read_modules_with(files, limit, None, None, exports_of)
}

/// Like [`read_modules`], with `read` applied to each module's (decompressed) ELF bytes, so that
/// one pass can gather more than the exports (`dump --verify` also reads the imports); adding
/// one to `done` after each module, so that another thread can show progress; and taking small
/// modules first while `image_busy` is set.
///
/// Scheduling: files are handed out one at a time from a queue sorted by size. Normally the
/// largest go first, so that the last module any thread decodes is a small one and no core idles
/// at the end. While the kernel image is being decoded next to the walk (`image_busy`), workers
/// take from the small end instead: the image and the largest modules (amdgpu: 34 MB) are then
/// never in memory at the same time, which keeps the peak near the larger of the two.
pub fn read_modules_with<T, F>(
    files: &[ModuleFile],
    limit: u64,
    done: Option<&AtomicUsize>,
    image_busy: Option<&AtomicBool>,
    read: F,
) -> Vec<Result<T>>
where
    T: Send,
    F: Fn(&Path, &[u8]) -> Result<T> + Sync,
{
    let mut order: Vec<(u64, usize)> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (std::fs::metadata(&f.path).map_or(0, |m| m.len()), i))
        .collect();
    order.sort_unstable_by(|a, b| b.cmp(a));
    // The unclaimed part of `order`, as a half-open range: large end first, small end last.
    let queue = Mutex::new(0..order.len());
    let take = || -> Option<(u64, usize)> {
        let mut range = queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let small_first = image_busy.is_some_and(|b| b.load(Ordering::Relaxed));
        let k = if small_first {
            range.next_back()
        } else {
            range.next()
        }?;
        order.get(k).copied()
    };
    let budget = budget::Budget::new(budget_for(limit));
    let workers = rayon::current_num_threads().min(files.len()).max(1);
    let batches: Vec<Vec<(usize, Result<T>)>> = (0..workers)
        .into_par_iter()
        .map(|_| {
            let mut buffer = Vec::new();
            let mut out = Vec::new();
            while let Some((size, i)) = take() {
                let path = &files[i].path;
                // A huge module's buffer is not kept around for the rest of the walk.
                out.push((
                    i,
                    read_within_budget(&budget, path, size, limit, &mut buffer, |elf| {
                        read(path, elf)
                    }),
                ));
                if let Some(done) = done {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
            out
        })
        .collect();
    let mut results: Vec<Option<Result<T>>> = files.iter().map(|_| None).collect();
    for (i, result) in batches.into_iter().flatten() {
        results[i] = Some(result);
    }
    // Every index was handed out exactly once, so every slot is filled.
    results.into_iter().flatten().collect()
}

/// The bytes that the modules being read at once may hold together (their files and what they
/// decompress to): twice the limit on one module, so that one module at the limit still reads
/// while the others go on, and `--jobs` does not multiply it.
pub fn budget_for(limit: u64) -> u64 {
    limit.saturating_mul(2)
}

/// Bytes a compressed module is first allowed to decompress to: 8 times its file (kernel
/// modules compress 3 to 5 times with xz), at least 1 MiB, at most `limit`. A module that
/// needs more is read again with the whole limit, once that much of the budget is free.
fn first_guess(path: &Path, size: u64, limit: u64) -> u64 {
    if suffix_compression(path) == "none" {
        // A `.ko` is ELF; one that is compressed all the same is read again with the limit.
        return 0;
    }
    size.saturating_mul(8).max(1 << 20).min(limit)
}

/// Read one module within `budget`: take its file size plus [`first_guess`]; when its
/// decompressed bytes outgrow the guess, give everything back and take its file size plus the
/// whole `limit` (waiting, if need be, until that much is free) and read it again.
fn read_within_budget<T>(
    budget: &budget::Budget,
    path: &Path,
    size: u64,
    limit: u64,
    buffer: &mut Vec<u8>,
    read: impl Fn(&[u8]) -> Result<T>,
) -> Result<T> {
    let size = size.min(limit);
    // The buffer is cut back before the share is given back, so that the next module's share
    // is not counted against memory still held.
    let mut attempt = |decoded_limit: u64| {
        let result = with_module_bytes_within(path, limit, decoded_limit, buffer, &read);
        if buffer.capacity() > BUFFER_KEEP_MAX {
            *buffer = Vec::new();
        }
        result
    };
    let guess = first_guess(path, size, limit);
    if guess < limit {
        let _grant = budget.take(size.saturating_add(guess));
        match attempt(guess) {
            Err(Error::Format {
                problem: Problem::TooLarge { limit: l, .. },
                ..
            }) if l == guess => {}
            done => return done,
        }
    }
    let _grant = budget.take(size.saturating_add(limit));
    attempt(limit)
}

/// What a kernel's own modules say about the kernel: every module built with it carries the
/// same `vermagic=` (VERMAGIC_STRING, include/linux/vermagic.h) and ELF header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeIdentity {
    /// The `vermagic=` tag, when the module has one.
    pub vermagic: Option<String>,
    /// The module's ELF `e_machine`, word size and byte order.
    pub elf: crate::check::ElfIdentity,
    /// The module it was read from.
    pub read_from: PathBuf,
}

/// The identity of the kernel the modules `files` were built for, from the first of the first
/// few that reads (a damaged one is skipped: the walk's own read reports it); `None` when none
/// does.
pub fn tree_identity(files: &[ModuleFile], limit: u64) -> Option<TreeIdentity> {
    let mut buffer = Vec::new();
    files.iter().take(8).find_map(|f| {
        with_module_bytes(&f.path, limit, &mut buffer, |elf| {
            crate::modinfo::read(elf).map_err(|p| Error::format(&f.path, p))
        })
        .ok()
        .map(|info| TreeIdentity {
            vermagic: info.get("vermagic").map(str::to_string),
            elf: crate::check::ElfIdentity {
                machine: info.machine,
                class: info.class,
                endian: info.endian,
            },
            read_from: f.path.clone(),
        })
    })
}

/// Largest decompression buffer a worker keeps between modules.
const BUFFER_KEEP_MAX: usize = 16 << 20;

#[cfg(test)]
mod tests;
