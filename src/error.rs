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
    /// The file's contents are not what they should be (`path:line: …` for a line of a text
    /// file, else `path: …`).
    #[error("{}{}", path.display(), located(problem))]
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
    /// No modules folder for a release.
    #[error("modules folder for {release} not found; searched: {}; give the folder with --modules DIR, or --vmlinux-only for the image's own exports alone", join_paths(searched))]
    ModulesNotFound {
        /// The release looked for.
        release: String,
        /// Every place that was looked at.
        searched: Vec<PathBuf>,
    },
    /// A folder given as a modules folder that holds release folders instead
    /// (`/lib/modules` for `/lib/modules/6.1.0-50-amd64`): its modules would be named
    /// `6.1.0-50-amd64/kernel/…` in the table, which no module of any kernel imports.
    #[error("{} holds the modules folders of {} rather than modules; give --modules {}", dir.display(), releases.join(", "), dir.join(&releases[0]).display())]
    ModulesParent {
        /// The folder given.
        dir: PathBuf,
        /// Its subfolders that are modules folders (never empty).
        releases: Vec<String>,
    },
    /// An image and a modules folder of different releases.
    #[error("{} is release {image_release}, but the modules in {} are {modules_release} (by their {evidence}); give the image and modules of one kernel, or --allow-release-mismatch to read them together", image.display(), modules.display())]
    ReleaseMismatch {
        /// The image.
        image: PathBuf,
        /// The release its banner names.
        image_release: String,
        /// The modules folder.
        modules: PathBuf,
        /// The release of its modules.
        modules_release: String,
        /// Where the modules' release was read: `vermagic` or `folder name`.
        evidence: &'static str,
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
}

/// What is wrong with a file's contents. One variant per cause, with the facts as fields, so
/// that callers and tests match on the cause and the binary prints one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The file ends before a structure it declares.
    #[error("truncated: {0}")]
    Truncated(String),
    /// The file is empty.
    #[error("the file is empty")]
    Empty,
    /// A folder, FIFO, socket or device where a regular file was expected.
    #[error("{0}, not a regular file")]
    NotRegularFile(FileKind),
    /// A module file whose name is not UTF-8: it cannot be named in a table.
    #[error("the module file name is not UTF-8")]
    NonUtf8Name,
    /// A symbolic link that cannot be followed (its target does not exist, or a loop of links).
    #[error("a symbolic link to {}, which cannot be followed: {cause}", target.display())]
    BrokenLink {
        /// The link's target as written.
        target: PathBuf,
        /// Why it cannot be followed.
        cause: String,
    },
    /// A folder of a modules tree whose contents changed while the tree was read: a module
    /// renamed, added or removed then may be missing from the table.
    #[error("the folder changed while it was read ({0}); run again when nothing installs or removes modules")]
    ChangedWhileRead(String),
    /// A depmod index (`modules.dep.bin`, `modules.dep`) that does not parse.
    #[error("not a valid depmod index: {0}")]
    DepIndex(String),
    /// A module depmod's index lists that the walk of the tree did not find or could not read.
    #[error("lists {module} at {listed}, {detail}")]
    ListedModuleMissing {
        /// The module's kmod name.
        module: String,
        /// Its path as the index writes it.
        listed: String,
        /// What was found instead.
        detail: String,
    },
    /// Bytes of no format this tool knows: no container, compression, ELF file or kernel.
    #[error(
        "not a kernel image or ELF file (first bytes {first_bytes}): none of {} matched, and no \
         compressed kernel was found inside",
        crate::image::detector_names()
    )]
    UnknownFormat {
        /// The first bytes, in hex.
        first_bytes: String,
    },
    /// A module that cannot belong to the kernel it is read with: another machine, word size
    /// or byte order.
    #[error("not a module of this kernel: {0}")]
    ForeignModule(String),
    /// A file given as a module that is not one (not ELF or compressed, or an ELF file that is
    /// not relocatable).
    #[error("not a kernel module: {detail}")]
    NotAModule {
        /// What it is instead.
        detail: String,
    },
    /// An x86 bzImage whose boot protocol predates the payload fields (2.08, Linux 2.6.26).
    #[error("bzImage with boot protocol {major}.{minor:02}, older than 2.08 which has no payload fields")]
    OldBootProtocol {
        /// Major version.
        major: u8,
        /// Minor version.
        minor: u8,
    },
    /// A container whose header declares no kernel payload.
    #[error("{container} without a kernel payload")]
    EmptyPayload {
        /// The container's name.
        container: &'static str,
    },
    /// A container header naming a compression this tool does not know.
    #[error("{container} names compression {name:?}, which is not a kernel compression")]
    UnknownCompressionName {
        /// The container's name.
        container: &'static str,
        /// The name as the header spells it.
        name: String,
    },
    /// A container whose structure does not hold a kernel where it should (a FIT image without
    /// a kernel image, a device tree that is no FIT image).
    #[error("{container}: {detail}")]
    Container {
        /// The container's name.
        container: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A problem met inside the payload of a container: the containers unwrapped to get there,
    /// outermost first ("U-Boot uImage (lzma payload at 0x40)"), and the problem.
    #[error("{path}: {problem}")]
    Inside {
        /// The containers and payloads, outermost first, joined by " → ".
        path: String,
        /// What went wrong there.
        problem: Box<Problem>,
    },
    /// A container header field with an impossible value.
    #[error("{container}: {field} is {value}, which is not valid")]
    BadHeaderField {
        /// The container's name.
        container: &'static str,
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
    },
    /// A container's checksum that does not match its bytes: the file is damaged.
    #[error("{container}: {what} CRC is {actual:#010x}, the header says {expected:#010x} (a damaged file)")]
    ChecksumMismatch {
        /// The container's name.
        container: &'static str,
        /// What the checksum covers.
        what: &'static str,
        /// The checksum the header records.
        expected: u32,
        /// The checksum of the bytes.
        actual: u32,
    },
    /// A payload whose bytes carry no known compression magic.
    #[error("{container} payload at {offset:#x} has no known compression magic (first bytes {first_bytes})")]
    NoCompressionMagic {
        /// The container's name.
        container: &'static str,
        /// Offset of the payload in the container.
        offset: u64,
        /// The payload's first bytes, in hex.
        first_bytes: String,
    },
    /// A container header names one compression, the payload is another.
    #[error("{container} header names {named} but the payload at {offset:#x} is {found}")]
    CompressionMismatch {
        /// The container's name.
        container: &'static str,
        /// The compression the header names.
        named: &'static str,
        /// The compression the payload's magic shows.
        found: &'static str,
        /// Offset of the payload.
        offset: u64,
    },
    /// A self-decompressor in which no candidate payload decoded to a kernel.
    #[error("{container}: no compressed kernel found among {candidates} candidate payloads, and the bytes are no kernel themselves (first bytes {first_bytes})")]
    NoKernelInside {
        /// The container's name.
        container: &'static str,
        /// Candidate payloads tried.
        candidates: usize,
        /// The container's first bytes, in hex.
        first_bytes: String,
    },
    /// Containers nested deeper than a kernel image ever is.
    #[error("more than {depth} nested containers (first bytes {first_bytes})")]
    TooDeep {
        /// The most layers unwrapped.
        depth: usize,
        /// The innermost layer's first bytes, in hex.
        first_bytes: String,
    },
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
    /// A kernel configuration (`.config`, CONFIG_IKCONFIG data) that cannot be read.
    #[error("kernel configuration: {0}")]
    Config(String),
    /// A Module.symvers line that does not parse.
    #[error("{line}: {detail}")]
    Symvers {
        /// 1-based line number (0: the file as a whole).
        line: usize,
        /// What is wrong.
        detail: String,
    },
    /// A depmod.d configuration line that depmod ignores (it reports it and goes on).
    #[error("{line}: {detail}")]
    DepmodConf {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        detail: String,
    },
    /// A rules-file line (`diff --rules`) that does not parse.
    #[error("{line}: {detail}")]
    Rules {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        detail: String,
    },
}

/// What a path is when it is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A folder.
    Folder,
    /// A FIFO, socket or device.
    Special,
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileKind::Folder => "a folder",
            FileKind::Special => "a FIFO, socket or device",
        })
    }
}

impl Problem {
    /// The line a text-file problem is on, for `path:line:` messages.
    pub fn line(&self) -> Option<usize> {
        match self {
            Problem::Symvers { line, .. }
            | Problem::Rules { line, .. }
            | Problem::DepmodConf { line, .. }
                if *line > 0 =>
            {
                Some(*line)
            }
            _ => None,
        }
    }
}

impl Error {
    /// Build an [`Error::Io`] for `path`.
    pub fn io(path: impl AsRef<Path>, source: io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// Build an [`Error::Format`] for line `line` (1-based) of a Module.symvers file.
    pub fn at_line(path: impl AsRef<Path>, line: usize, detail: String) -> Self {
        Error::format(path, Problem::Symvers { line, detail })
    }

    /// Build an [`Error::Format`] for line `line` (1-based) of a rules file.
    pub fn at_rules_line(path: impl AsRef<Path>, line: usize, detail: String) -> Self {
        Error::format(path, Problem::Rules { line, detail })
    }

    /// Build an [`Error::Format`] for `path`.
    pub fn format(path: impl AsRef<Path>, problem: Problem) -> Self {
        Error::Format {
            path: path.as_ref().to_path_buf(),
            problem,
        }
    }
}

/// `:LINE: detail` for a problem on a line of a text file, else `: problem`.
fn located(problem: &Problem) -> String {
    match problem.line() {
        Some(_) => format!(":{problem}"),
        None => match problem {
            Problem::Symvers { detail, .. }
            | Problem::Rules { detail, .. }
            | Problem::DepmodConf { detail, .. } => {
                format!(": {detail}")
            }
            other => format!(": {other}"),
        },
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
