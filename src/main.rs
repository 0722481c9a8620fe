//! The `symvers` command: argument parsing, one call into the library, one report.
//!
//! Each subcommand lives in `cmd/<name>.rs` with its arguments and its run function; this file
//! only dispatches and turns an error into the single `symvers: …` line and exit code 2.

use std::process::ExitCode;

use clap::{ArgAction, CommandFactory, Parser, Subcommand};

mod cmd;
mod report;

/// Exit codes shared by every subcommand (also printed by `--help`).
const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the answer is no (check, weak-modules: a module would not load, or may not; diff: a breaking change; dump --verify: a disagreement)
  2  error (bad usage, a missing or unreadable file, input that is not a kernel); nothing written
  3  --keep-going: the output was written, but some modules could not be read";

#[derive(Parser)]
#[command(
    name = "symvers",
    version,
    about = "Rebuild a kernel's Module.symvers (modversions CRCs) from its installed image and modules",
    after_help = EXIT_CODES
)]
struct Cli {
    /// Print only errors (no warnings, no progress line).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Say what was found and read (on standard error).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the biggest variant costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Rebuild Module.symvers from a kernel image and its modules folder.
    #[command(after_help = cmd::dump::AFTER_HELP)]
    Dump(cmd::dump::DumpArgs),
    /// Print the symbol versions (CRCs) a module was built against.
    #[command(after_help = cmd::versions::AFTER_HELP)]
    Versions(cmd::versions::VersionsArgs),
    /// Tell whether modules would load into a kernel, as its module loader decides.
    #[command(after_help = cmd::check::AFTER_HELP)]
    Check(cmd::check::CheckArgs),
    /// Will one installed kernel's out-of-tree modules load into another as they are?
    #[command(after_help = cmd::weak_modules::AFTER_HELP)]
    WeakModules(cmd::weak_modules::WeakModulesArgs),
    /// Write the kernel symbols a set of modules imports (a KMI symbol list).
    #[command(after_help = cmd::symbol_list::AFTER_HELP)]
    SymbolList(cmd::symbol_list::SymbolListArgs),
    /// Compare two kernels' export tables: added, removed, CRC/export/namespace changes, moves.
    #[command(after_help = cmd::diff::AFTER_HELP)]
    Diff(cmd::diff::DiffArgs),
    /// Write man pages or shell completions (a packaging step).
    #[command(hide = true, after_help = cmd::generate::AFTER_HELP)]
    Generate(cmd::generate::GenerateArgs),
    /// Write the kernel's configuration (.config): CONFIG_IKCONFIG data, or the installed file.
    #[command(after_help = cmd::config::AFTER_HELP)]
    Config(cmd::config::ConfigArgs),
    /// Turn a kernel source tree into a build tree for an installed kernel (external modules).
    #[command(after_help = cmd::prepare::AFTER_HELP)]
    Prepare(cmd::prepare::PrepareArgs),
    /// Show how the kernel image and modules are stored (container, compression, layout).
    #[command(after_help = cmd::info::AFTER_HELP)]
    Info(cmd::info::InfoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cmd::set_verbosity(if cli.quiet {
        0
    } else {
        cli.verbose.saturating_add(1)
    });
    let result = match cli.command {
        Command::Dump(args) => cmd::dump::run(args),
        Command::Versions(args) => cmd::versions::run(args),
        Command::Check(args) => cmd::check::run(args),
        Command::Diff(args) => cmd::diff::run(args),
        Command::WeakModules(args) => cmd::weak_modules::run(args),
        Command::SymbolList(args) => cmd::symbol_list::run(args),
        Command::Generate(args) => cmd::generate::run(args, Cli::command()),
        Command::Info(args) => cmd::info::run(args),
        Command::Config(args) => cmd::config::run(args),
        Command::Prepare(args) => cmd::prepare::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("symvers: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Cli, Command};
    use clap::CommandFactory;
    use clap::Parser as _;

    /// Limits are MiB on the command line and bytes everywhere inside; the defaults are the
    /// library's.
    #[test]
    fn limits_are_mebibytes_on_the_command_line_and_bytes_inside() {
        use crate::cmd::{mebibytes, IMAGE_LIMIT_MIB, MODULE_LIMIT_MIB};
        assert_eq!(
            mebibytes(IMAGE_LIMIT_MIB),
            Ok(symvers::image::DEFAULT_IMAGE_LIMIT)
        );
        assert_eq!(
            mebibytes(MODULE_LIMIT_MIB),
            Ok(symvers::modtree::DEFAULT_MODULE_LIMIT)
        );
        assert_eq!(mebibytes("3"), Ok(3 << 20));
        assert!(mebibytes("1.5").is_err() && mebibytes(&u64::MAX.to_string()).is_err());
        let cli = Cli::try_parse_from(["symvers", "dump", "--module-limit", "7"]).unwrap();
        let Command::Dump(args) = cli.command else {
            panic!("not dump")
        };
        assert_eq!(args.module_limit, 7 << 20);
        assert_eq!(args.image_limit, symvers::image::DEFAULT_IMAGE_LIMIT);
    }

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Every subcommand, hidden ones included, shows at least one example in `--help`.
    #[test]
    fn every_subcommand_has_an_example() {
        let cli = Cli::command();
        for sub in cli.get_subcommands() {
            let after = sub
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(
                after.contains("Example") && after.contains(&format!("symvers {}", sub.get_name())),
                "`symvers {} --help` has no example",
                sub.get_name()
            );
        }
    }
}
