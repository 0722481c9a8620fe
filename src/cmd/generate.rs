//! `symvers generate`: man pages and shell completions, made from the clap definitions.
//!
//! Hidden from `--help`: it is a packaging step (see docs/packaging.md), not a user task. It
//! walks the whole `Cli`, so every subcommand added to `main.rs` gets its page and completions
//! without any change here.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use clap_complete::Shell;

use symvers::Error;

/// Text after `symvers generate --help`.
pub const AFTER_HELP: &str = "\
Examples:
  symvers generate man target/assets/man            # symvers.1, symvers-dump.1, …
  symvers generate completions target/assets/completions
  symvers generate all target/assets                # both, in man/ and completions/";

/// Arguments of `symvers generate`.
#[derive(Args, Debug)]
pub struct GenerateArgs {
    #[command(subcommand)]
    pub what: What,
}

/// What to generate.
#[derive(Subcommand, Debug)]
pub enum What {
    /// One man page per command (section 1): symvers.1, symvers-dump.1, ….
    Man {
        /// Folder to write into (created if missing).
        dir: PathBuf,
    },
    /// Completion scripts for bash (symvers.bash), zsh (_symvers) and fish (symvers.fish).
    Completions {
        /// Folder to write into (created if missing).
        dir: PathBuf,
    },
    /// Both: DIR/man/ and DIR/completions/.
    All {
        /// Folder to write into (created if missing).
        dir: PathBuf,
    },
}

/// The shells completions are generated for.
pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// Run `symvers generate` for the command tree `cli`.
pub fn run(args: GenerateArgs, cli: clap::Command) -> Result<ExitCode, Error> {
    match args.what {
        What::Man { dir } => {
            report_written(&man_pages(cli, &dir)?);
        }
        What::Completions { dir } => {
            report_written(&completions(cli, &dir)?);
        }
        What::All { dir } => {
            report_written(&man_pages(cli.clone(), &dir.join("man"))?);
            report_written(&completions(cli, &dir.join("completions"))?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// With `--verbose`: each file written.
fn report_written(files: &[PathBuf]) {
    for f in files {
        super::info(format_args!("wrote {}", f.display()));
    }
}

/// Write `NAME.1` for the top command and every visible subcommand (`symvers-dump.1`, …).
/// Returns the files written, in no particular order.
pub fn man_pages(cli: clap::Command, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut cli = cli.disable_help_subcommand(true);
    // Building fills in the display names (`symvers-dump`) that name the pages.
    cli.build();
    let mut written = Vec::new();
    write_pages(&cli, dir, &mut written)?;
    Ok(written)
}

fn write_pages(cmd: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<(), Error> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    let man = clap_mangen::Man::new(cmd.clone())
        .manual("symvers manual")
        .source(concat!("symvers ", env!("CARGO_PKG_VERSION")));
    let path = dir.join(man.get_filename());
    let mut bytes = Vec::new();
    man.render(&mut bytes).map_err(|e| Error::io(&path, e))?;
    std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
    written.push(path);
    Ok(())
}

/// Write one completion script per shell in [`SHELLS`]. Returns the files written.
pub fn completions(mut cli: clap::Command, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = cli.get_name().to_string();
    let mut written = Vec::new();
    for shell in SHELLS {
        let path = clap_complete::generate_to(shell, &mut cli, &name, dir)
            .map_err(|e| Error::io(dir, e))?;
        written.push(path);
    }
    Ok(written)
}
