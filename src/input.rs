//! Opening input files safely: never block on a FIFO, refuse what is not a regular file, and
//! never read more than a limit into memory.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{Error, FileKind, Problem, Result};

/// Open `path` for reading and return it with its size. Refuses folders, FIFOs, sockets and
/// devices (reached directly or through a symlink) with an error naming `path`.
pub fn open_regular(path: &Path) -> Result<(File, u64)> {
    // O_NONBLOCK: opening a FIFO would otherwise wait forever for a writer. It changes nothing
    // for a regular file.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            FileKind::Folder
        } else {
            FileKind::Special
        };
        return Err(Error::format(path, Problem::NotRegularFile(kind)));
    }
    Ok((file, meta.len()))
}

/// Read the whole regular file at `path`, refusing one larger than `limit` bytes before reading.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let (file, size) = open_regular(path)?;
    read_opened(path, file, size, limit)
}

/// Read an already opened regular file of `size` bytes (see [`open_regular`]), at most `limit`.
pub fn read_opened(path: &Path, file: File, size: u64, limit: u64) -> Result<Vec<u8>> {
    if size > limit {
        return Err(Error::format(path, Problem::FileTooLarge { size, limit }));
    }
    read_rest(
        path,
        file,
        Vec::with_capacity(usize::try_from(size).unwrap_or(0)),
        limit,
    )
}

/// Append the rest of `reader` (the file at `path`) to `data`, which holds what was read of it
/// before; an error when the whole is more than `limit` bytes.
pub fn read_rest(path: &Path, reader: impl Read, mut data: Vec<u8>, limit: u64) -> Result<Vec<u8>> {
    // `take`: a file that grows while it is read still cannot pass the limit.
    reader
        .take(limit.saturating_add(1).saturating_sub(data.len() as u64))
        .read_to_end(&mut data)
        .map_err(|e| Error::io(path, e))?;
    if data.len() as u64 > limit {
        return Err(Error::format(
            path,
            Problem::FileTooLarge {
                size: data.len() as u64,
                limit,
            },
        ));
    }
    Ok(data)
}
