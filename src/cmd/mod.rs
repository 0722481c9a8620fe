//! Subcommands of the binary, and what they share (source options, output, thread pool).

pub mod dump;
pub mod info;

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use symvers::locate::Source;
use symvers::Error;

/// Where the kernel is: shared by every subcommand that reads one.
#[derive(Args, Clone, Debug)]
pub struct SourceArgs {
    /// Resolve all default paths under DIR (like `depmod -b`).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Kernel release (default: the running kernel, or the only one under --root).
    #[arg(long, value_name = "REL")]
    pub release: Option<String>,
    /// Kernel image (default: searched under /boot, /usr/lib/modules/REL, …).
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// Modules folder (default: /lib/modules/REL or /usr/lib/modules/REL).
    #[arg(long, value_name = "DIR")]
    pub modules: Option<PathBuf>,
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

/// Size the global thread pool (`--jobs`); the default is one thread per core.
pub fn set_jobs(jobs: Option<usize>) -> Result<(), Error> {
    if let Some(n) = jobs {
        if n == 0 {
            return Err(Error::Usage("--jobs must be at least 1".into()));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| Error::Usage(format!("cannot start {n} threads: {e}")))?;
    }
    Ok(())
}

/// Write `bytes` to `output` atomically, or to standard output.
pub fn emit(output: Option<&Path>, bytes: &[u8]) -> Result<(), Error> {
    match output {
        Some(path) => symvers::output::write_atomic(path, bytes),
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(bytes).and_then(|_| stdout.flush()) {
                Ok(()) => Ok(()),
                // A closed pipe (`| head`) is the reader's choice, not an error of ours.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(Error::io("<stdout>", e)),
            }
        }
    }
}
