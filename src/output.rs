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
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Target::File(path.to_path_buf())),
        Err(e) => Err(Error::io(path, e)),
    }
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
/// existing `path` is left as it was. An existing file's permissions are kept; a symbolic link
/// is followed and stays a link; a device or FIFO is written in place.
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
    let path = match target(path)? {
        Target::File(resolved) => resolved,
        Target::Special => {
            let mut file = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| Error::io(path, e))?;
            return write(&mut file).map_err(|e| Error::io(path, e));
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

    let result = (|| {
        if let Ok(meta) = fs::metadata(path) {
            // Best effort: a file we may not chmod is still written.
            let _ = file.set_permissions(meta.permissions());
        }
        write(&mut file).map_err(|e| Error::io(&tmp, e))?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
        // Make the rename itself durable; not every file system lets a folder be fsynced.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    watch.gone();
    result
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
    /// The file last announced was renamed into place, removed, or never created.
    fn gone(&self);
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
/// the old inode to the link), else a copy.
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
    if fs::hard_link(path, &candidate).is_err() {
        // create_new: a name that appeared since the check above is not overwritten or followed.
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
            .and_then(|mut f| f.write_all(&old).and_then(|_| f.sync_all()))
            .map_err(|e| {
                Error::io(
                    path,
                    std::io::Error::new(
                        e.kind(),
                        format!(
                            "cannot keep the old file as {} ({e}); nothing was written (--no-backup replaces it without keeping it)",
                            candidate.display()
                        ),
                    ),
                )
            })?;
    }
    Ok(Some(candidate))
}

#[cfg(test)]
mod tests;
