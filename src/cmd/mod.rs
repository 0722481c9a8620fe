//! Subcommands of the binary, and what they share (source options, output, thread pool).

pub mod check;
pub mod config;
pub mod diff;
pub mod dump;
pub mod generate;
pub mod info;
pub mod prepare;
pub mod progress;
pub mod signals;
pub mod stdio;
pub mod symbol_list;
pub mod verify;
pub mod versions;
pub mod weak_modules;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};

use clap::Args;

use symvers::locate::Source;
use symvers::Error;

/// Where the kernel is: shared by every subcommand that reads one.
#[derive(Args, Clone, Debug)]
pub struct SourceArgs {
    /// Resolve all default paths under DIR (like `depmod -b`).
    #[arg(short = 'b', long, visible_alias = "basedir", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Kernel release (default: the running kernel, or the only one under --root).
    #[arg(long, value_name = "REL")]
    pub release: Option<String>,
    /// Kernel image (default: searched under /boot, /usr/lib/modules/REL, …: docs/layouts.md;
    /// without --modules and --release, its banner's release chooses the modules folder).
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// Modules folder (default: /lib/modules/REL or /usr/lib/modules/REL). Repeatable: several
    /// folders (Android's vendor_dlkm, system_dlkm, vendor ramdisk) are read as one set, each
    /// folder's modules named relative to it.
    #[arg(long, value_name = "DIR")]
    pub modules: Vec<PathBuf>,
}

/// The kernel release as an optional positional argument, as `depmod [VERSION]` and
/// `modprobe -S` take it; flattened by subcommands that have no positional arguments of their own.
#[derive(Args, Clone, Debug)]
pub struct ReleaseArg {
    /// Kernel release, the same as --release.
    #[arg(value_name = "RELEASE", conflicts_with = "release")]
    pub positional_release: Option<String>,
}

impl SourceArgs {
    /// The library's view of these options.
    pub fn source(&self) -> Source {
        Source {
            root: self.root.clone(),
            release: self.release.clone(),
            image: self.image.clone(),
            modules: self.modules.clone(),
        }
    }
}

impl ReleaseArg {
    /// `source` with the positional release filled in when one was given.
    pub fn apply(&self, mut source: Source) -> Source {
        if let Some(rel) = &self.positional_release {
            source.release = Some(rel.clone());
        }
        source
    }
}

/// How much the binary says on standard error: 0 = `--quiet` (errors only), 1 = default
/// (warnings), 2+ = `--verbose` (what was found and read).
static VERBOSITY: AtomicU8 = AtomicU8::new(1);

/// Set from the global `-q`/`-v` options before any subcommand runs.
pub fn set_verbosity(level: u8) {
    VERBOSITY.store(level, Ordering::Relaxed);
}

/// The level set by [`set_verbosity`].
pub fn verbosity() -> u8 {
    VERBOSITY.load(Ordering::Relaxed)
}

/// Print a warning on standard error unless `--quiet`.
pub fn warn(message: impl std::fmt::Display) {
    if verbosity() >= 1 {
        stdio::line(format_args!("warning: {message}"));
    }
}

/// Print a note on standard error unless `--quiet`: something the user should know that is not a
/// problem (which source was used, a backup kept, an empty answer explained).
pub fn note(message: impl std::fmt::Display) {
    if verbosity() >= 1 {
        stdio::line(message);
    }
}

/// Print a note on standard error with `--verbose`.
pub fn info(message: impl std::fmt::Display) {
    if verbosity() >= 2 {
        stdio::line(message);
    }
}

/// Print a line on standard error even with `--quiet`: a result reported there (`--verify`,
/// `--compare-with`, unreadable modules), or the error that ends the run.
pub fn say(message: impl std::fmt::Display) {
    stdio::line(message);
}

/// `--image-limit`'s default in MiB: [`symvers::image::DEFAULT_IMAGE_LIMIT`].
pub const IMAGE_LIMIT_MIB: &str = "1024";
/// `--module-limit`'s default in MiB: [`symvers::modtree::DEFAULT_MODULE_LIMIT`].
pub const MODULE_LIMIT_MIB: &str = "256";

/// A size limit as the command line gives it, in MiB, turned into the bytes every limit inside
/// the program is counted in.
pub fn mebibytes(text: &str) -> Result<u64, String> {
    let mib: u64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of MiB"))?;
    mib.checked_mul(1 << 20)
        .ok_or_else(|| format!("{mib} MiB is more bytes than a 64-bit count holds"))
}

/// What a subcommand can fail with: the library's errors (input data, files) and the binary's
/// own (a request that makes no sense). Printed once, by `main`, with exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An error of the library, which names its file.
    #[error(transparent)]
    Lib(#[from] Error),
    /// Invalid request on the command line.
    #[error("{0}")]
    Usage(String),
    /// Standard output could not take the output (closed, a broken pipe, a full disk). Exit
    /// code [`stdio::EXIT_STREAM`], not 2: the work was done, its result did not arrive.
    #[error("{}", stdout_problem(.0))]
    Stdout(std::io::Error),
}

fn stdout_problem(e: &std::io::Error) -> String {
    if stdio::stdout_closed() {
        "standard output is closed: the output went nowhere (give -o FILE, or a place to write to)"
            .into()
    } else {
        format!("cannot write to standard output ({e}): the output is missing or incomplete")
    }
}

/// Size the global thread pool (`--jobs`); the default is one thread per core.
pub fn set_jobs(jobs: Option<usize>) -> Result<(), CliError> {
    if let Some(n) = jobs {
        if n == 0 {
            return Err(CliError::Usage("--jobs must be at least 1".into()));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| CliError::Usage(format!("cannot start {n} threads: {e}")))?;
    }
    Ok(())
}

/// An output file option (`-o FILE`, `--extract FILE`): `-` is standard output.
pub fn output_file(option: Option<&Path>) -> Option<&Path> {
    option.filter(|p| *p != Path::new("-"))
}

/// Check an output file option before any work starts (see [`symvers::output::check_writable`]):
/// a missing or read-only folder should not cost a whole kernel read.
pub fn check_output(option: Option<&Path>) -> Result<(), Error> {
    match output_file(option) {
        Some(path) => {
            // The check makes (and removes) a file there: a signal must not leave it behind.
            symvers::output::check_writable(path, &signals::RemoveOnSignal)
        }
        None => Ok(()),
    }
}

/// Write `bytes` where an output file option says (`None` or `-`: standard output). An existing
/// file with other contents is kept as FILE.orig (FILE.orig.N) unless `no_backup`, and the
/// backup is announced on standard error.
pub fn write_output(option: Option<&Path>, bytes: &[u8], no_backup: bool) -> Result<(), CliError> {
    let file = output_file(option);
    if let (Some(path), false) = (file, no_backup) {
        // The backup is made only when the new file is complete, and removed if it cannot be
        // renamed into place: failed runs leave none.
        let backup =
            symvers::output::write_atomic_keeping(path, &signals::RemoveOnSignal, |file| {
                file.write_all(bytes)
            })?;
        if let Some(backup) = backup {
            note(format_args!(
                "kept the previous {} as {} (--no-backup: keep none)",
                path.display(),
                backup.display()
            ));
        }
        return Ok(());
    }
    emit(file, bytes)
}

/// Write `bytes` to `output` atomically, or to standard output.
///
/// # Errors
/// [`CliError::Stdout`] when standard output cannot take them, even a closed pipe (`| head`):
/// a reader that stopped early did not get the whole output, and a script must be able to tell.
pub fn emit(output: Option<&Path>, bytes: &[u8]) -> Result<(), CliError> {
    match output {
        Some(path) => {
            // Ctrl-C or a package manager's SIGTERM must not leave a stray temporary file.
            Ok(symvers::output::write_atomic_with(
                path,
                &signals::RemoveOnSignal,
                |file| file.write_all(bytes),
            )?)
        }
        None => stdio::to_stdout(bytes).map_err(CliError::Stdout),
    }
}

/// Rebuild the table of an installed kernel that a command compares against (`check`,
/// `diff`): every module must be readable; progress shows on a terminal as for `dump`.
pub fn rebuild(source: Source, module_limit: u64) -> Result<symvers::dump::Dump, Error> {
    let progress = std::sync::Arc::new(symvers::dump::Progress::default());
    let options = symvers::dump::Options {
        source,
        module_limit,
        progress: Some(std::sync::Arc::clone(&progress)),
        ..symvers::dump::Options::default()
    };
    let line = progress::ProgressLine::start(progress);
    let result = symvers::dump::dump(&options);
    drop(line);
    let mut result = result?;
    dump::report_tree(&result, false);
    result.check_complete()?;
    Ok(result)
}

/// Warn about every symbol a rebuilt table lists more than once. Such lines are kept (they are
/// what is installed), but modpost and the loader accept only one. `side` starts each warning
/// (`old: ` when a command reads two kernels, else empty).
pub fn warn_exported_twice(table: &symvers::symvers::Table, side: &str) {
    for dup in table.duplicates() {
        warn(format_args!(
            "{side}{} is exported by more than one module: {} (modpost stops on \"exported twice\" when one is vmlinux; the kernel refuses to load a module whose export is already taken)",
            dup.symbol,
            dup.modules.join(", ")
        ));
    }
}

/// `n` with the noun in the right number: `1 module`, `2 modules`, `0 modules`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The verb that agrees with a count: `1 is`, `2 are`.
pub fn is_are(n: usize) -> &'static str {
    if n == 1 {
        "is"
    } else {
        "are"
    }
}

/// The name a value has in the JSON output (`bz-image`, `prel32-namespaced`, `elf64`, …), so that
/// human-readable lines use the same words.
pub fn json_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Null) => "none".into(),
        Ok(other) => other.to_string(),
        Err(_) => "?".into(),
    }
}
