//! The library's one error type.
//!
//! Every variant that comes from input data names the file it came from, so the binary can print
//! `symvers: <path>: <what is wrong>` without adding context of its own.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while locating, unwrapping and reading a kernel.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system error on a file or folder.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The file's contents are not what they should be.
    #[error("{}: {problem}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: Problem,
    },
    /// A piece of the kernel (image, modules folder, release) could not be found.
    #[error("{what} not found; searched: {}", join_paths(searched))]
    NotFound {
        /// What was looked for, e.g. "kernel image for 6.1.0-50-amd64".
        what: String,
        /// Every place that was looked at.
        searched: Vec<PathBuf>,
    },
    /// `--root` holds several releases and none was chosen.
    #[error("{}: several kernel releases found ({}); choose one with --release", root.display(), releases.join(", "))]
    AmbiguousRelease {
        /// The root folder.
        root: PathBuf,
        /// The releases found there.
        releases: Vec<String>,
    },
    /// Some modules of a tree could not be read.
    #[error("{} of {total} {} could not be read (`symvers dump --keep-going` writes the table of the others, exit code 3):\n{}", failures.len(), if *total == 1 { "module" } else { "modules" }, list_failures(failures))]
    Modules {
        /// How many modules the tree has.
        total: usize,
        /// Each module that failed, with its error.
        failures: Vec<Error>,
    },
    /// Invalid request from the caller (not from input data).
    #[error("{0}")]
    Usage(String),
}

/// What is wrong with a file's contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The file ends before a structure it declares.
    #[error("truncated: {0}")]
    Truncated(String),
    /// Not a format this tool knows.
    #[error("not a kernel image or ELF file (first bytes {0})")]
    UnknownFormat(String),
    /// A compressed stream that does not decode.
    #[error("{format} data does not decode: {detail}")]
    Decompress {
        /// The compression format.
        format: &'static str,
        /// The decoder's message.
        detail: String,
    },
    /// The decompressed size passed the configured limit.
    #[error("{format} data decompresses to more than {limit} bytes (limit); refusing")]
    TooLarge {
        /// The compression format.
        format: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file itself is larger than the configured limit.
    #[error("the file is {size} bytes, more than the limit of {limit} bytes; refusing")]
    FileTooLarge {
        /// The file's size in bytes (at least).
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// An ELF structure is malformed.
    #[error("malformed ELF: {0}")]
    Elf(String),
    /// The export tables are present but inconsistent.
    #[error("bad export table: {0}")]
    Exports(String),
    /// No export tables were found where they must be.
    #[error("no export tables found: {0}")]
    NoExports(String),
    /// A Module.symvers line that does not parse.
    #[error("line {line}: {detail}")]
    Symvers {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        detail: String,
    },
}

impl Error {
    /// Build an [`Error::Io`] for `path`.
    pub fn io(path: impl AsRef<Path>, source: io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// Build an [`Error::Format`] for a text file's line `line` (1-based).
    pub fn at_line(path: impl AsRef<Path>, line: usize, detail: String) -> Self {
        Error::format(path, Problem::Symvers { line, detail })
    }

    /// Build an [`Error::Format`] for `path`.
    pub fn format(path: impl AsRef<Path>, problem: Problem) -> Self {
        Error::Format {
            path: path.as_ref().to_path_buf(),
            problem,
        }
    }
}

fn join_paths(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}

fn list_failures(failures: &[Error]) -> String {
    struct Lines<'a>(&'a [Error]);
    impl fmt::Display for Lines<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for (i, e) in self.0.iter().enumerate() {
                if i > 0 {
                    writeln!(f)?;
                }
                write!(f, "  {e}")?;
            }
            Ok(())
        }
    }
    Lines(failures).to_string()
}
