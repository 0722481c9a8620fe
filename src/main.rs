//! The `symvers` command: argument parsing, one call into the library, one report.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use symvers::dump::{self, Dump};
use symvers::locate::Source;
use symvers::symvers::Columns;
use symvers::Error;

mod report;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  2  error (bad usage, a missing or unreadable file, input that is not a kernel); nothing written
  3  --keep-going: the table was written, but some modules could not be read";

#[derive(Parser)]
#[command(
    name = "symvers",
    version,
    about = "Rebuild a kernel's Module.symvers (modversions CRCs) from its installed image and modules",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rebuild Module.symvers from a kernel image and its modules folder.
    #[command(after_help = concat!(
        "Examples:\n",
        "  symvers dump -o Module.symvers                 # the running kernel\n",
        "  symvers dump --root /srv/rootfs                # the only kernel installed there\n",
        "  symvers dump --image vmlinuz-6.1.0-50-amd64 --modules /lib/modules/6.1.0-50-amd64\n",
        "\n",
        "Order: vmlinux first, then modules in modules.order order (else by path),\n",
        "each module's symbols in the order of its export tables.\n",
        "\n",
        "Exit codes:\n",
        "  0  success\n",
        "  2  error (bad usage, a missing or unreadable file, input that is not a kernel); nothing written\n",
        "  3  --keep-going: the table was written, but some modules could not be read",
    ))]
    Dump(DumpArgs),
}

/// Where the kernel is: shared by every subcommand that reads one.
#[derive(Args, Clone)]
struct SourceArgs {
    /// Resolve all default paths under DIR (like `depmod -b`).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Kernel release (default: the running kernel, or the only one under --root).
    #[arg(long, value_name = "REL")]
    release: Option<String>,
    /// Kernel image (default: searched under /boot, /usr/lib/modules/REL, …).
    #[arg(long, value_name = "FILE")]
    image: Option<PathBuf>,
    /// Modules folder (default: /lib/modules/REL or /usr/lib/modules/REL).
    #[arg(long, value_name = "DIR")]
    modules: Option<PathBuf>,
}

impl SourceArgs {
    fn source(&self) -> Source {
        Source {
            root: self.root.clone(),
            release: self.release.clone(),
            image: self.image.clone(),
            modules: self.modules.clone(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Module.symvers text.
    Symvers,
    /// JSON records plus what was detected (schema in docs/json.md).
    Json,
}

#[derive(Args)]
struct DumpArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Write to FILE atomically instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "symvers")]
    format: Format,
    /// Column order of the Module.symvers text.
    #[arg(long, value_enum, default_value = "5.6")]
    symvers_format: Columns,
    /// Write the table of the modules that could be read even if some could not (exit code 3).
    #[arg(long)]
    keep_going: bool,
    /// Threads for reading modules (default: the number of cores).
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
    /// Limit on the decompressed size of the kernel image, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = symvers::image::DEFAULT_IMAGE_LIMIT >> 20)]
    image_limit: u64,
    /// Limit on the decompressed size of one module, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = symvers::modtree::DEFAULT_MODULE_LIMIT >> 20)]
    module_limit: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("symvers: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Dump(args) => run_dump(args),
    }
}

fn set_jobs(jobs: Option<usize>) -> Result<(), Error> {
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

fn run_dump(args: DumpArgs) -> Result<ExitCode, Error> {
    set_jobs(args.jobs)?;
    let options = dump::Options {
        source: args.source.source(),
        image_limit: args.image_limit.saturating_mul(1 << 20),
        module_limit: args.module_limit.saturating_mul(1 << 20),
    };
    let mut result: Dump = dump::dump(&options)?;
    if !args.keep_going {
        result.check_complete()?;
    }
    if !result.kernel.modversions() {
        eprintln!(
            "symvers: warning: {}: the kernel was built without CONFIG_MODVERSIONS; writing 0x00000000 CRCs as modpost does",
            result.located.image.display()
        );
    }
    let text = match args.format {
        Format::Symvers => result.table.to_text(args.symvers_format),
        Format::Json => report::dump_json(&result),
    };
    emit(args.output.as_deref(), text.as_bytes())?;
    if result.failures.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for failure in &result.failures {
        eprintln!("symvers: {failure}");
    }
    eprintln!(
        "symvers: {} of {} modules could not be read; the table lacks their exports",
        result.failures.len(),
        result.module_files
    );
    Ok(ExitCode::from(3))
}

fn emit(output: Option<&std::path::Path>, bytes: &[u8]) -> Result<(), Error> {
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
