//! `symvers dump`: write the rebuilt Module.symvers (or its JSON form).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use symvers::dump;
use symvers::symvers::Columns;
use symvers::Error;

use super::SourceArgs;
use crate::report;

/// Text after `symvers dump --help`.
pub const AFTER_HELP: &str = "\
Examples:
  symvers dump -o Module.symvers                 # the running kernel
  symvers dump --root /srv/rootfs                # the only kernel installed there
  symvers dump --image vmlinuz-6.1.0-50-amd64 --modules /lib/modules/6.1.0-50-amd64

Order: vmlinux first, then modules in modules.order order (else by path),
each module's symbols in the order of its export tables.

Exit codes:
  0  success
  1  --verify or --compare-with found a disagreement (the table was still written)
  2  error (bad usage, a missing or unreadable file, input that is not a kernel); nothing written
  3  --keep-going: the table was written, but some modules could not be read";

/// Output format of `dump`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Format {
    /// Module.symvers text.
    Symvers,
    /// JSON records plus what was detected (schema in docs/json.md).
    Json,
}

/// Arguments of `symvers dump`.
#[derive(Args, Debug)]
pub struct DumpArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Write to FILE atomically instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "symvers")]
    pub format: Format,
    /// Column order of the Module.symvers text.
    #[arg(long, value_enum, default_value = "5.6")]
    pub symvers_format: Columns,
    /// Write the table of the modules that could be read even if some could not (exit code 3).
    #[arg(long)]
    pub keep_going: bool,
    /// Threads for reading modules (default: the number of cores).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Limit on the decompressed size of the kernel image, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = symvers::image::DEFAULT_IMAGE_LIMIT >> 20)]
    pub image_limit: u64,
    /// Cross-check the table with the CRCs every installed module imports (report on stderr;
    /// any disagreement: exit code 1).
    #[arg(long)]
    pub verify: bool,
    /// Compare the table with a distribution's own symvers file, or find one (`auto`:
    /// /boot/symvers-REL.gz, /lib/modules/REL/symvers.*, …/build/Module.symvers); any difference:
    /// exit code 1.
    #[arg(long, value_name = "FILE|auto")]
    pub compare_with: Option<PathBuf>,
    /// Limit on the decompressed size of one module, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = symvers::modtree::DEFAULT_MODULE_LIMIT >> 20)]
    pub module_limit: u64,
}

/// Run `symvers dump`.
pub fn run(args: DumpArgs) -> Result<ExitCode, Error> {
    super::set_jobs(args.jobs)?;
    let options = dump::Options {
        source: args.source.source(),
        image_limit: args.image_limit.saturating_mul(1 << 20),
        module_limit: args.module_limit.saturating_mul(1 << 20),
    };
    let mut result = dump::dump(&options)?;
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
    super::emit(args.output.as_deref(), text.as_bytes())?;
    let mut agrees = true;
    if args.verify {
        agrees &= super::verify::verify_imports(&result, options.module_limit)?;
    }
    if let Some(spec) = &args.compare_with {
        if let Some(path) =
            super::verify::compare_target(&result, args.source.root.as_deref(), spec)
        {
            agrees &= super::verify::compare_with(&result, &path)?;
        }
    }
    if !agrees {
        return Ok(ExitCode::from(1));
    }
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
