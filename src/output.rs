//! Writing output files so that an existing file is never left truncated or half-written.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What an output path names.
enum Target {
    /// A regular file (existing or to be created) at this path, symbolic links resolved, so
    /// that replacing it keeps the link.
    File(PathBuf),
    /// An existing device, FIFO or socket (`-o /dev/null`, `-o /dev/stdout`): written in place,
    /// never replaced. Running as root, a rename would turn /dev/null into a regular file.
    Special,
}

fn target(path: &Path) -> Result<Target> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(Target::File(
            fs::canonicalize(path).map_err(|e| Error::io(path, e))?,
        )),
        Ok(meta) if meta.is_dir() => Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a folder"),
        )),
        Ok(_) => Ok(Target::Special),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Target::File(new_file(path)?)),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Links followed before giving up, as Linux's MAXSYMLINKS (40).
const MAX_LINKS: usize = 40;

/// Where writing the missing file `path` creates it: `path` itself, or, when `path` is a
/// symbolic link whose target does not exist (yet), that target, at the end of the chain of
/// links, so that the link stays a link, as `>` in a shell or `cp` would leave it. A relative
/// link is resolved from the folder of the link.
fn new_file(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let next = fs::read_link(&current).map_err(|e| Error::io(&current, e))?;
                current = match current.parent() {
                    Some(dir) if next.is_relative() => dir.join(next),
                    _ => next,
                };
            }
            // Not a link (any more): the write itself will meet whatever is there.
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(Error::io(&current, e)),
        }
    }
    Err(Error::io(
        path,
        std::io::Error::from_raw_os_error(libc::ELOOP),
    ))
}

/// Check, before any work, that [`write_atomic`] can write `path` (and [`backup_existing`] keep
/// the old file beside it): the folder exists and a new file can be created in it. Devices and
/// FIFOs are written in place and are not checked.
///
/// # Errors
/// [`Error::Io`] naming the folder when it is missing, not a folder, or refuses new files (no
/// permission, a read-only file system, `/proc` or `/sys`, whose files can only be written in
/// place); naming `path` when it is a folder.
pub fn check_writable(path: &Path, watch: &dyn TempWatch) -> Result<()> {
    let path = match target(path)? {
        Target::File(resolved) => resolved,
        Target::Special => return Ok(()),
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let plain = |kind: std::io::ErrorKind, message: String| {
        Error::io(&dir, std::io::Error::new(kind, message))
    };
    match fs::metadata(&dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(plain(
                std::io::ErrorKind::NotADirectory,
                "the output's folder is not a folder".into(),
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(plain(
                std::io::ErrorKind::NotFound,
                "the output folder does not exist".into(),
            ))
        }
        Err(e) => return Err(Error::io(&dir, e)),
    }
    let file_name = path.file_name().ok_or_else(|| {
        Error::io(
            &path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
        )
    })?;
    // The one sure test is to make a file: permissions, a read-only mount, ACLs and pseudo file
    // systems all answer it. A file in /proc or /sys exists but its folder takes no new file.
    match create_temp(&dir, file_name, watch) {
        Ok((file, tmp)) => {
            drop(file);
            let _ = fs::remove_file(&tmp);
            watch.gone();
            Ok(())
        }
        Err(Error::Io { source, .. }) => Err(plain(
            source.kind(),
            format!(
                "no new file can be created in this folder ({source}); the output {} is written as a new file here that is then renamed over it, so it cannot be written there",
                path.display()
            ),
        )),
        Err(e) => Err(e),
    }
}

/// Replace `path` with `contents` atomically: write a temporary file in the same folder, flush it
/// to disk, then rename it over `path`. On any failure the temporary file is removed and an
/// existing `path` is left as it was. An existing file's mode is kept, and its owner and group
/// when running as root (see `keep_owner_and_mode`); a symbolic link is followed and stays a
/// link, also when its target does not exist yet (the target is created); a device or FIFO is
/// written in place.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    write_atomic_with(path, &NoWatch, |file| file.write_all(contents))
}

/// Like [`write_atomic`], with the contents written by `write` into the temporary file (or into
/// the device or FIFO itself), and `watch` told about the temporary file.
pub fn write_atomic_with(
    path: &Path,
    watch: &dyn TempWatch,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<()> {
    replace(path, watch, false, write).map(|_| ())
}

/// Like [`write_atomic_with`], keeping the file it replaces as `PATH.orig` (or `PATH.orig.1`,
/// `.2`, … when that name is taken, so that the first original, typically the distribution's
/// own Module.symvers, is never overwritten) when its contents differ from the new ones.
/// Returns the backup's path.
///
/// The backup is made after the new contents are written and flushed and just before the
/// rename, and removed again when the rename fails: a failed write leaves no backup behind, so
/// that failed runs do not pile up `.orig.N` files, and a backup always belongs to a
/// replacement that happened. `watch` hears of it ([`TempWatch::keeping`]). It is a hard link
/// where the file system allows it (the rename leaves the old inode to the link), else a copy.
pub fn write_atomic_keeping(
    path: &Path,
    watch: &dyn TempWatch,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<Option<PathBuf>> {
    replace(path, watch, true, write)
}

fn replace(
    path: &Path,
    watch: &dyn TempWatch,
    keep: bool,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<Option<PathBuf>> {
    let path = match target(path)? {
        Target::File(resolved) => resolved,
        Target::Special => {
            let mut file = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| Error::io(path, e))?;
            write(&mut file).map_err(|e| Error::io(path, e))?;
            // Devices and FIFOs are not replaced, so there is nothing to keep.
            return Ok(None);
        }
    };
    let path = path.as_path();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path.file_name().ok_or_else(|| {
        Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
        )
    })?;
    // `watch` hears of each name before it is created.
    let (mut file, tmp) = create_temp(&dir, file_name, watch)?;

    let mut backup = None;
    let result = (|| {
        let old = match fs::metadata(path) {
            Ok(meta) if meta.is_file() => Some(meta),
            _ => None,
        };
        if let Some(meta) = &old {
            keep_owner_and_mode(&file, path, meta)?;
        }
        write(&mut file).map_err(|e| Error::io(&tmp, e))?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        if keep && old.is_some() && !same_contents(path, &tmp)? {
            backup = Some(make_backup(path, watch)?);
        }
        fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
        // Make the rename itself durable; not every file system lets a folder be fsynced.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        // The backup first: a signal in between then finds the temporary file still there and
        // removes both (see TempWatch::keeping).
        if let Some(b) = backup.take() {
            let _ = fs::remove_file(b);
        }
        let _ = fs::remove_file(&tmp);
    }
    watch.gone();
    result.map(|()| backup)
}

/// Give the new file `file` the owner and mode of the one it replaces (`old`). The owner only
/// when running as root (only root may give a file away); otherwise the group when the
/// process belongs to it (best effort: chown(2) refuses a group the process is not in). The
/// mode always, after the owner, since chown(2) clears the set-user-ID and set-group-ID bits.
fn keep_owner_and_mode(file: &File, path: &Path, old: &fs::Metadata) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let failed = |what: String, e: std::io::Error| {
        Error::io(
            path,
            std::io::Error::new(
                e.kind(),
                format!("cannot give the new file the {what} of the one it replaces ({e}); nothing was written"),
            ),
        )
    };
    let new = file.metadata().map_err(|e| Error::io(path, e))?;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        if (new.uid(), new.gid()) != (old.uid(), old.gid()) {
            std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()))
                .map_err(|e| failed(format!("owner {}:{}", old.uid(), old.gid()), e))?;
        }
    } else if new.gid() != old.gid() {
        let _ = std::os::unix::fs::fchown(file, None, Some(old.gid()));
    }
    // Only when it differs: file systems without modes (vfat) give both files the same one and
    // may refuse chmod.
    let mode = old.mode() & 0o7777;
    if file.metadata().map_err(|e| Error::io(path, e))?.mode() & 0o7777 != mode {
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| failed(format!("mode {mode:o}"), e))?;
    }
    Ok(())
}

/// True when the files `a` and `b` hold the same bytes (read in blocks, never whole).
fn same_contents(a: &Path, b: &Path) -> Result<bool> {
    let open = |p: &Path| File::open(p).map_err(|e| Error::io(p, e));
    let (fa, fb) = (open(a)?, open(b)?);
    let (ma, mb) = (
        fa.metadata().map_err(|e| Error::io(a, e))?,
        fb.metadata().map_err(|e| Error::io(b, e))?,
    );
    if ma.len() != mb.len() {
        return Ok(false);
    }
    let mut ra = std::io::BufReader::with_capacity(1 << 16, fa);
    let mut rb = std::io::BufReader::with_capacity(1 << 16, fb);
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = read_full(&mut ra, &mut ba).map_err(|e| Error::io(a, e))?;
        let m = read_full(&mut rb, &mut bb).map_err(|e| Error::io(b, e))?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// Read until `buf` is full or the end of the file.
fn read_full(r: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The first free name of `PATH.orig`, `PATH.orig.1`, `PATH.orig.2`, …
fn backup_name(path: &Path) -> Result<PathBuf> {
    let mut base = path.as_os_str().to_os_string();
    base.push(".orig");
    let mut candidate = PathBuf::from(&base);
    let mut n = 0u32;
    while fs::symlink_metadata(&candidate).is_ok() {
        n = n
            .checked_add(1)
            .ok_or_else(|| Error::io(path, std::io::Error::other("too many backups")))?;
        let mut name = base.clone();
        name.push(format!(".{n}"));
        candidate = PathBuf::from(name);
    }
    Ok(candidate)
}

/// Keep the file `path` as its first free backup name: a hard link, else a copy.
fn make_backup(path: &Path, watch: &dyn TempWatch) -> Result<PathBuf> {
    let candidate = backup_name(path)?;
    watch.keeping(&candidate);
    if fs::hard_link(path, &candidate).is_ok() {
        return Ok(candidate);
    }
    // create_new: a name that appeared since the check above is not overwritten or followed.
    let copied = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&candidate)
        .and_then(|mut f| {
            let mut old = File::open(path)?;
            std::io::copy(&mut old, &mut f)?;
            f.sync_all()
        });
    match copied {
        Ok(()) => Ok(candidate),
        Err(e) => {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                let _ = fs::remove_file(&candidate);
            }
            Err(Error::io(
                path,
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "cannot keep the old file as {} ({e}); nothing was written (--no-backup replaces it without keeping it)",
                        candidate.display()
                    ),
                ),
            ))
        }
    }
}

/// Create `.NAME.tmpPID[-N]` in `dir` with O_EXCL (which also refuses to follow a symlink planted
/// under that name). A name left by a crashed run with the same process id is skipped. `watch`
/// hears of each name before it is created, and of its end when creating fails.
fn create_temp(
    dir: &Path,
    file_name: &std::ffi::OsStr,
    watch: &dyn TempWatch,
) -> Result<(File, PathBuf)> {
    let mut attempt = 0u32;
    loop {
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(file_name);
        tmp_name.push(format!(".tmp{}", std::process::id()));
        if attempt > 0 {
            tmp_name.push(format!("-{attempt}"));
        }
        let tmp = dir.join(tmp_name);
        watch.creating(&tmp);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((file, tmp)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => {
                watch.gone();
                return Err(Error::io(&tmp, e));
            }
        }
    }
}

/// Told about the temporary file of a write in progress, so that a program can remove it when a
/// signal ends the process first (the `symvers` binary's SIGINT/SIGTERM/SIGHUP handler does).
/// The library itself never touches the process's signal handling.
pub trait TempWatch {
    /// `path` is about to be created (announced before, so that no signal falls between the
    /// creation and the announcement); it may exist until [`TempWatch::gone`].
    fn creating(&self, path: &Path);
    /// The file last announced was renamed into place, removed, or never created (and a
    /// backup announced by [`TempWatch::keeping`] is kept or was removed).
    fn gone(&self);
    /// A backup of the file being replaced is about to be made at `path`, while the temporary
    /// file announced by [`TempWatch::creating`] is complete but not yet renamed into place.
    /// Until [`TempWatch::gone`], the backup belongs to a replacement that has not happened as
    /// long as the temporary file still exists: a program that dies then should remove both
    /// (removing the temporary file succeeds only before the rename, which tells the two cases
    /// apart without a race).
    fn keeping(&self, path: &Path) {
        let _ = path;
    }
}

/// A [`TempWatch`] that does nothing, for callers without signal handling.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoWatch;

impl TempWatch for NoWatch {
    fn creating(&self, _path: &Path) {}
    fn gone(&self) {}
}

/// Before `path` is replaced by `new_contents`, keep its current contents as `PATH.orig` (or
/// `PATH.orig.1`, `.2`, … when that name is taken, so the first original, typically the
/// distribution's own Module.symvers, is never overwritten). Nothing is kept when `path` does
/// not exist or already holds `new_contents`. Returns the backup's path.
///
/// The backup is a hard link where the file system allows it (the later atomic rename leaves
/// the old inode to the link), else a copy. [`write_atomic_keeping`] does both in one step and
/// leaves no backup when the write fails: prefer it.
pub fn backup_existing(path: &Path, new_contents: &[u8]) -> Result<Option<PathBuf>> {
    let path = match target(path)? {
        Target::File(resolved) => resolved,
        // Devices and FIFOs are not replaced, so there is nothing to keep.
        Target::Special => return Ok(None),
    };
    let path = path.as_path();
    let old = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    if old == new_contents {
        return Ok(None);
    }
    make_backup(path, &NoWatch).map(Some)
}

#[cfg(test)]
mod tests;
