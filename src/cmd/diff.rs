//! `symvers diff`: what changed between two kernels' export tables.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::json;

use symvers::diff::{self, Diff, Rules};
use symvers::Error;

use super::SourceArgs;

/// Text after `symvers diff --help`.
pub const AFTER_HELP: &str = "\
Each side is a Module.symvers file (plain, .gz, .xz or .zst; the format is sniffed) or an
installed kernel (--old-root/--old-release/--old-image/--old-modules, and the same for --new-*),
whose table is rebuilt as `symvers dump` does.

Changes: added, removed, crc (CRC changed), export (EXPORT_SYMBOL <-> _GPL), namespace, moved
(exported by another module). Breaking: removed, crc, export tightened to GPL-only, namespace
changed to a non-empty one. A rules file tolerates breaking changes, one `PATTERN PASS|FAIL` per
line, first match wins (as SUSE/suse-kabi-tools severities): a pattern with `/` or `vmlinux`
matches the module, `namespace:PAT` the namespace, anything else the symbol; `*` and `?` are
wildcards; `#` starts a comment.

Examples:
  symvers diff /boot/symvers-6.1.gz Module.symvers
  symvers diff --old-root /srv/old --new-root /srv/new --format short
  symvers diff --rules kabi.severities old.symvers new.symvers

Exit codes:
  0  no breaking change (or all tolerated by rules)
  1  at least one breaking change
  2  error (bad usage, a missing or unreadable file, input that is not a kernel or symvers file)";

/// Output format of `diff`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Format {
    /// One line per change, then the counts.
    Text,
    /// The counts only.
    Short,
    /// One JSON document.
    Json,
}

/// Arguments of `symvers diff`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// OLD and NEW Module.symvers files (a side given with --old-*/--new-* options takes none).
    #[arg(value_name = "FILE", num_args = 0..=2)]
    pub files: Vec<PathBuf>,
    /// OLD side: resolve default paths under DIR.
    #[arg(long, value_name = "DIR")]
    pub old_root: Option<PathBuf>,
    /// OLD side: kernel release.
    #[arg(long, value_name = "REL")]
    pub old_release: Option<String>,
    /// OLD side: kernel image.
    #[arg(long, value_name = "FILE")]
    pub old_image: Option<PathBuf>,
    /// OLD side: modules folder.
    #[arg(long, value_name = "DIR")]
    pub old_modules: Option<PathBuf>,
    /// NEW side: resolve default paths under DIR.
    #[arg(long, value_name = "DIR")]
    pub new_root: Option<PathBuf>,
    /// NEW side: kernel release.
    #[arg(long, value_name = "REL")]
    pub new_release: Option<String>,
    /// NEW side: kernel image.
    #[arg(long, value_name = "FILE")]
    pub new_image: Option<PathBuf>,
    /// NEW side: modules folder.
    #[arg(long, value_name = "DIR")]
    pub new_modules: Option<PathBuf>,
    /// Severity rules that tolerate breaking changes.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Threads for reading modules of an installed kernel (default: the number of cores).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
}

enum Side {
    File(PathBuf),
    Kernel(SourceArgs),
}

impl Side {
    fn pick(
        source: SourceArgs,
        files: &mut std::vec::IntoIter<PathBuf>,
        which: &str,
    ) -> Result<Side, super::CliError> {
        let given = source.root.is_some()
            || source.release.is_some()
            || source.image.is_some()
            || !source.modules.is_empty();
        if given {
            return Ok(Side::Kernel(source));
        }
        files.next().map(Side::File).ok_or_else(|| {
            super::CliError::Usage(format!(
                "the {which} side is missing: give a Module.symvers FILE or --{which}-root/--{which}-image/…"
            ))
        })
    }

    fn load(&self, which: &str) -> Result<symvers::symvers::Table, Error> {
        match self {
            Side::File(path) => {
                let table = symvers::symvers::read_file(path, symvers::symvers::FILE_LIMIT)?;
                super::info(format_args!(
                    "{which}: {}: {}",
                    path.display(),
                    super::count(table.entries.len(), "record", "records")
                ));
                Ok(table)
            }
            Side::Kernel(source) => {
                let result =
                    super::rebuild(source.source(), symvers::modtree::DEFAULT_MODULE_LIMIT)?;
                super::info(format_args!("{which}: rebuilt from an installed kernel:"));
                super::dump::describe(&result);
                Ok(result.table)
            }
        }
    }
}

/// Run `symvers diff`.
pub fn run(args: DiffArgs) -> Result<ExitCode, super::CliError> {
    super::set_jobs(args.jobs)?;
    let mut files = args.files.clone().into_iter();
    let old = Side::pick(
        SourceArgs {
            root: args.old_root.clone(),
            release: args.old_release.clone(),
            image: args.old_image.clone(),
            modules: args.old_modules.iter().cloned().collect(),
        },
        &mut files,
        "old",
    )?;
    let new = Side::pick(
        SourceArgs {
            root: args.new_root.clone(),
            release: args.new_release.clone(),
            image: args.new_image.clone(),
            modules: args.new_modules.iter().cloned().collect(),
        },
        &mut files,
        "new",
    )?;
    if files.next().is_some() {
        return Err(super::CliError::Usage(
            "too many files: a side given with --old-*/--new-* options takes no FILE".into(),
        ));
    }
    let rules = match &args.rules {
        Some(path) => Rules::read(path)?,
        None => Rules::default(),
    };
    let (old_table, new_table) = rayon::join(|| old.load("old"), || new.load("new"));
    let result = diff::diff(&old_table?, &new_table?, &rules);
    let text = match args.format {
        Format::Text => {
            let mut out = String::new();
            for c in &result.changes {
                out.push_str(&change_line(c));
            }
            out.push_str(&summary(&result));
            out
        }
        Format::Short => summary(&result),
        Format::Json => {
            let doc = json!({
                "schema": crate::report::SCHEMA_VERSION,
                "summary": result.summary,
                "changes": result.changes,
            });
            crate::report::json_text(&doc)
        }
    };
    super::emit(None, text.as_bytes())?;
    Ok(if result.has_breaking() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn change_line(c: &diff::SymbolChange) -> String {
    let detail = c.change.detail();
    let mark = if c.tolerated {
        "tolerated"
    } else if c.breaking {
        "BREAKING"
    } else {
        "ok"
    };
    format!(
        "{}\t{}\t{}\t{}\t{}\n",
        c.change.name(),
        c.symbol,
        c.module,
        detail,
        mark
    )
}

/// The counts line. Symbols add up (`unchanged + changed + removed` = old and
/// `unchanged + changed + added` = new); a symbol with several changes is counted under each
/// kind, and the line says how many such symbols there are.
fn summary(d: &Diff) -> String {
    let s = &d.summary;
    let several = if s.several_changes > 0 {
        format!(
            " ({} more than one, counted under each)",
            super::count(s.several_changes, "symbol has", "symbols have")
        )
    } else {
        String::new()
    };
    format!(
        "old {}, new {}: {} unchanged, {} changed, {} removed, {} added; changes: {} crc, {} export, {} namespace, {} moved{several}; {}, {} tolerated\n",
        super::count(s.old_symbols, "symbol", "symbols"),
        s.new_symbols,
        s.unchanged,
        s.changed,
        s.removed,
        s.added,
        s.crc_changed,
        s.export_changed,
        s.namespace_changed,
        s.moved,
        super::count(s.breaking, "breaking change", "breaking changes"),
        s.tolerated
    )
}
