//! The `symvers` command: argument parsing, one call into the library, one report.
//!
//! Each subcommand lives in `cmd/<name>.rs` with its arguments and its run function; this file
//! only dispatches and turns an error into the single `symvers: …` line and exit code 2.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod report;

/// Exit codes shared by every subcommand (also printed by `--help`).
const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the answer is no (check: a module would not load; diff: a breaking change; dump --verify: a disagreement)
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
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rebuild Module.symvers from a kernel image and its modules folder.
    #[command(after_help = cmd::dump::AFTER_HELP)]
    Dump(cmd::dump::DumpArgs),
    /// Show what the kernel image and modules folder are made of (container, compression, layout).
    #[command(after_help = cmd::info::AFTER_HELP)]
    Info(cmd::info::InfoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dump(args) => cmd::dump::run(args),
        Command::Info(args) => cmd::info::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("symvers: {e}");
            ExitCode::from(2)
        }
    }
}
