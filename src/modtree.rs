//! A modules folder (`/lib/modules/REL`): finding its module files, naming and ordering them,
//! and reading their exports in parallel.

use std::collections::HashMap;
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

/// One module file of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleFile {
    /// Where the file is.
    pub path: PathBuf,
    /// The Module.symvers module column: the path under `kernel/` (or under the modules folder
    /// for `extra/`, `updates/`, …) without the `.ko[.xz|.zst|.gz]` ending.
    pub name: String,
}

/// The module name for `relative`, a path inside the modules folder, or `None` for a file that
/// is not a module.
pub fn module_name(relative: &str) -> Option<String> {
    let stem = MODULE_SUFFIXES
        .iter()
        .find_map(|s| relative.strip_suffix(s))?;
    Some(stem.strip_prefix("kernel/").unwrap_or(stem).to_string())
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

/// The module files of a tree and the entries of it that could not be examined.
#[derive(Debug, Default)]
pub struct Walk {
    /// Module files in tree order (see [`list_modules`]).
    pub files: Vec<ModuleFile>,
    /// Folders that could not be listed and entries that could not be examined (permission
    /// denied, vanished during the walk, a name that is not UTF-8), each naming its path.
    pub failures: Vec<Error>,
}

/// Find every module file below `dir`, ordered as `modules.order` lists them (modules it does not
/// list follow, by path). Symlinked folders are not followed (so a link loop cannot trap the
/// walk), and the top-level `build` and `source` links are skipped, as depmod does. Any folder
/// that cannot be listed fails the whole call; see [`walk_modules`] to go on past it.
pub fn list_modules(dir: &Path) -> Result<Vec<ModuleFile>> {
    let mut walk = walk_modules(dir)?;
    match walk.failures.is_empty() {
        true => Ok(walk.files),
        false => Err(walk.failures.swap_remove(0)),
    }
}

/// Like [`list_modules`], but a subfolder or entry that cannot be examined is recorded in
/// [`Walk::failures`] and the walk goes on; only an unreadable `dir` itself is an `Err`.
pub fn walk_modules(dir: &Path) -> Result<Walk> {
    let mut walk = Walk::default();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel_dir) = stack.pop() {
        let abs = dir.join(&rel_dir);
        let entries = match std::fs::read_dir(&abs) {
            Ok(entries) => entries,
            Err(e) if rel_dir.as_os_str().is_empty() => return Err(Error::io(&abs, e)),
            Err(e) => {
                walk.failures.push(Error::io(&abs, e));
                continue;
            }
        };
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
            let Some(name) = file_name.to_str() else {
                // Module names are ASCII; a module file whose name is not UTF-8 cannot be named
                // in the table, and leaving it out silently would lose its exports.
                if module_name(&file_name.to_string_lossy()).is_some() {
                    walk.failures
                        .push(Error::format(entry.path(), Problem::NonUtf8Name));
                }
                continue;
            };
            if rel_dir.as_os_str().is_empty() && (name == "build" || name == "source") {
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
            if file_type.is_dir() {
                stack.push(rel);
                continue;
            }
            let Some(module) = rel.to_str().and_then(module_name) else {
                continue;
            };
            // FIFOs, sockets, devices and links to them or to folders are listed here and
            // refused by `with_module_bytes`, which names them.
            walk.files.push(ModuleFile {
                path: entry.path(),
                name: module,
            });
        }
    }
    // Byte order of the path: Path's own ordering compares component by component and cost as
    // much as reading 4000 uncompressed modules.
    let order = read_modules_order(dir);
    // Modules not in modules.order follow the listed ones, in path order.
    walk.files.sort_by_cached_key(|m| {
        let position = order.get(&m.name).copied().unwrap_or(usize::MAX);
        (position, m.path.as_os_str().as_encoded_bytes().to_vec())
    });
    Ok(walk)
}

/// Positions of the modules listed in `dir/modules.order`, keyed by module name.
fn read_modules_order(dir: &Path) -> HashMap<String, usize> {
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
