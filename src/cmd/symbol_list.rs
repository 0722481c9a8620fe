//! `symvers symbol-list`: the kernel symbols a set of modules imports, as a symbol list.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use symvers::symlist;

use super::CliError;

/// Text after `symvers symbol-list --help`.
pub const AFTER_HELP: &str = "\
Writes every symbol the MODULEs import from the kernel: their undefined symbols that no MODULE
of the set exports (the set is taken as one, as `check` does), sorted, without what the loader
resolves itself (.TOC., _gp_disp). For a KMI symbol list (Android's vendor list, the symbols a
vendor's modules need) or to compare with a RHEL stablelist; `check --symbol-list` checks a set
against such a list.

Examples:
  symvers symbol-list vendor/*.ko                      # one symbol a line
  symvers symbol-list --format android -o abi_gki_aarch64_vendor vendor/*.ko

Exit codes:
  0  written
  2  error (a missing or unreadable file, a file that is not a module)";

/// Output format of `symbol-list`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Format {
    /// One symbol a line.
    Plain,
    /// Android's KMI form: `[abi_symbol_list]`, then one indented symbol a line.
    Android,
}

/// Arguments of `symvers symbol-list`.
#[derive(Args, Debug)]
pub struct SymbolListArgs {
    /// Module files (.ko, .ko.xz, .ko.zst, .ko.gz, …).
    #[arg(required = true, value_name = "MODULE")]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "plain")]
    pub format: Format,
    /// Write to FILE atomically instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Limit on the decompressed size of one module, in MiB.
    #[arg(long, value_name = "MIB", default_value = super::MODULE_LIMIT_MIB, value_parser = super::mebibytes)]
    pub module_limit: u64,
}

/// Run `symvers symbol-list`.
pub fn run(args: SymbolListArgs) -> Result<ExitCode, CliError> {
    let limit = args.module_limit;
    let mut set = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let m = super::check::read_set_module(path, limit)?;
        // What a module exports must be known to leave it out of the kernel's part.
        if let Err(problem) = &m.exports {
            return Err(symvers::Error::format(path, problem.clone()).into());
        }
        set.push(m);
    }
    let imports = symlist::kernel_imports(
        set.iter()
            .map(|m| (&m.info, m.exports.as_deref().unwrap_or(&[]))),
    );
    super::info(format_args!(
        "{} imported from the kernel by {}",
        super::count(imports.len(), "symbol", "symbols"),
        super::count(set.len(), "module", "modules")
    ));
    let text = match args.format {
        Format::Plain => symlist::to_plain(&imports),
        Format::Android => symlist::to_android(&imports),
    };
    super::emit(args.output.as_deref(), text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
