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
pub fn run(args: GenerateArgs, cli: clap::Command) -> Result<ExitCode, super::CliError> {
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
    render(&man, cmd, &mut bytes).map_err(|e| Error::io(&path, e))?;
    std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
    written.push(path);
    Ok(())
}

/// One man page: clap_mangen's sections, but our own SYNOPSIS (clap_mangen 0.3 leaves out the
/// value names: `[--release]` for `--release REL`) and the text after `--help` in no-fill mode
/// (`.nf`), so that examples keep their lines and a path is never reflowed or hyphenated; `.nh`
/// turns hyphenation off for the whole page.
fn render(man: &clap_mangen::Man, cmd: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    use std::io::Write as _;
    man.render_title(out)?;
    // No hyphenation, and ragged-right lines: a long synopsis is not stretched with gaps.
    writeln!(out, ".nh")?;
    writeln!(out, ".ad l")?;
    man.render_name_section(out)?;
    writeln!(out, ".SH SYNOPSIS")?;
    writeln!(out, "{}", synopsis(cmd))?;
    man.render_description_section(out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(out)?;
    }
    if let Some(after) = cmd.get_after_long_help().or(cmd.get_after_help()) {
        let text = after.to_string();
        let heading = if text.contains("Example") {
            "EXAMPLES AND NOTES"
        } else {
            "NOTES"
        };
        writeln!(out, ".SH \"{heading}\"")?;
        writeln!(out, ".nf")?;
        for line in text.lines() {
            writeln!(out, "{}", roff_line(line))?;
        }
        writeln!(out, ".fi")?;
    }
    if cmd.get_version().is_some() {
        man.render_version_section(out)?;
    }
    Ok(())
}

/// `text` as roff text: backslashes and dashes escaped (a plain `-` may print as a hyphen that
/// does not paste as ASCII), and a leading `.` or `'` kept from being read as a request.
pub fn roff_escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// A line of the no-fill block: escaped, and an empty line kept as one.
fn roff_line(line: &str) -> String {
    if line.is_empty() {
        String::new()
    } else {
        roff_escape(line)
    }
}

/// `symvers dump [-b|--root DIR] [--release REL] … [RELEASE]`: every visible option with its
/// value name, optional ones in brackets, each kept on one line with unbreakable spaces.
pub fn synopsis(cmd: &clap::Command) -> String {
    let name = cmd.get_bin_name().unwrap_or_else(|| cmd.get_name());
    let mut parts = vec![format!("\\fB{}\\fR", roff_escape(name))];
    let visible = cmd.get_arguments().filter(|a| !a.is_hide_set());
    let (positionals, options): (Vec<&clap::Arg>, Vec<&clap::Arg>) =
        visible.partition(|a| a.is_positional());
    for arg in options {
        let flag = match (arg.get_short(), arg.get_long()) {
            (Some(s), Some(l)) => format!("\\fB\\-{s}\\fR|\\fB\\-\\-{}\\fR", roff_escape(l)),
            (Some(s), None) => format!("\\fB\\-{s}\\fR"),
            (None, Some(l)) => format!("\\fB\\-\\-{}\\fR", roff_escape(l)),
            (None, None) => continue,
        };
        let value = if arg.get_action().takes_values() {
            let names = arg
                .get_value_names()
                .map(|v| {
                    v.iter()
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
            format!("\\ \\fI{}\\fR", roff_escape(&names))
        } else {
            String::new()
        };
        let repeat = if matches!(
            arg.get_action(),
            clap::ArgAction::Count | clap::ArgAction::Append
        ) {
            "..."
        } else {
            ""
        };
        parts.push(if arg.is_required_set() {
            format!("{flag}{value}{repeat}")
        } else {
            format!("[{flag}{value}]{repeat}")
        });
    }
    for arg in positionals {
        let names = arg
            .get_value_names()
            .map(|v| {
                v.iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
        let many = arg.get_num_args().is_some_and(|n| n.max_values() > 1);
        let value = format!(
            "\\fI{}\\fR{}",
            roff_escape(&names),
            if many { "..." } else { "" }
        );
        parts.push(if arg.is_required_set() {
            value
        } else {
            format!("[{value}]")
        });
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        parts.push("\\fICOMMAND\\fR".into());
    }
    parts.join(" ")
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
