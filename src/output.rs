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

/// Replace `path` with `contents` atomically: write a temporary file in the same folder, flush it
/// to disk, then rename it over `path`. On any failure the temporary file is removed and an
/// existing `path` is left as it was. An existing file's permissions are kept; a symbolic link
/// is followed and stays a link; a device or FIFO is written in place.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let path = match target(path)? {
        Target::File(resolved) => resolved,
        Target::Special => {
            let mut file = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| Error::io(path, e))?;
            return file.write_all(contents).map_err(|e| Error::io(path, e));
        }
    };
    let path = path.as_path();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::Usage(format!("{}: not a file name", path.display())))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = dir.join(tmp_name);

    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| Error::io(&tmp, e))?;
        if let Ok(meta) = fs::metadata(path) {
            // Best effort: a file we may not chmod is still written.
            let _ = file.set_permissions(meta.permissions());
        }
        file.write_all(contents).map_err(|e| Error::io(&tmp, e))?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        drop(file);
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
    result
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
            .ok_or_else(|| Error::Usage(format!("{}: too many backups", path.display())))?;
        let mut name = base.clone();
        name.push(format!(".{n}"));
        candidate = PathBuf::from(name);
    }
    if fs::hard_link(path, &candidate).is_err() {
        fs::write(&candidate, &old).map_err(|e| Error::io(&candidate, e))?;
    }
    Ok(Some(candidate))
}

#[cfg(test)]
mod tests;
