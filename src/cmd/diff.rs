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
changed to a non-empty one. A rules file tolerates breaking changes, in SUSE's severities format
(SUSE/suse-kabi-tools, kernel-source kabi/severities): one `[MODULE|NAMESPACE|SYMBOL] PATTERN
PASS|FAIL` per line, the first matching line decides, no match means FAIL, `#` starts a comment.
Without a type word, a pattern with `/` or equal to `vmlinux` is a module, an all-upper-case one
a namespace, anything else a symbol. Patterns are shell patterns (`*`, `?`, `[...]` classes).
Rules match the OLD record (the new one for an added symbol); this tool's `namespace:PATTERN`
matches the old or the new namespace. A rule that matches nothing in either table is a warning.

Examples:
  symvers diff /boot/symvers-6.1.gz Module.symvers
  symvers diff --old-root /srv/old --new-root /srv/new --format short
  symvers diff --rules kabi.severities old.symvers new.symvers

Exit codes:
  0  no breaking change (or all tolerated by rules)
  1  at least one breaking change
  2  error (bad usage, a missing or unreadable file, input that is not a kernel or symvers file)
  4  standard output or standard error could not take the output or a message (closed, a
     broken pipe, a full disk): what was to be said did not all arrive";

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
                let table = read_table(path)?;
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
                // Compared by its first line, like a file's: say so when there are others.
                super::warn_exported_twice(&result.table, &format!("{which}: "));
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
    let (old_table, new_table) = (old_table?, new_table?);
    let result = diff::diff(&old_table, &new_table, &rules)?;
    for u in &result.unused_rules {
        super::warn(format_args!(
            "{}:{}: {} pattern {} matches nothing in either table; the rule never applies{}",
            rules.path.display(),
            u.line,
            u.target.word(),
            Shortened(&u.pattern),
            match (u.target, u.classified) {
                (diff::Target::Namespace, diff::Classified::ByShape) => {
                    " (an all-upper-case pattern is a namespace, as in SUSE's tools: write SYMBOL PATTERN for a symbol)"
                }
                _ => "",
            }
        ));
    }
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
                "unused_rules": result.unused_rules,
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

/// How many symbols listed twice are named before "… and N more".
const REPEAT_LIMIT: usize = 20;

/// Read a Module.symvers file for comparing or checking, warning (with `path:line`) about every
/// symbol it lists more than once.
///
/// modpost refuses such a table when it builds the kernel ("exported twice"), so a kernel's own
/// never has one; an installed tree does when a module under `updates/` or `extra/` exports
/// what one under `kernel/` does (`dump` writes both lines, with a warning). So it is a warning,
/// not an error: the first line is the one compared and checked against (modpost's and the
/// loader's vmlinux-first order), and `check` marks an import of such a symbol as depending on
/// which module is loaded when the lines differ.
pub fn read_table(path: &std::path::Path) -> Result<symvers::symvers::Table, Error> {
    let (table, lines) = symvers::symvers::read_file_numbered(path, symvers::symvers::FILE_LIMIT)?;
    let mut again: Vec<(usize, usize)> = table
        .repeats()
        .iter()
        .flat_map(|group| group[1..].iter().map(move |&k| (k, group[0])))
        .collect();
    // In the order of the file.
    again.sort_unstable();
    let repeats = again.len();
    for &(k, f) in again.iter().take(REPEAT_LIMIT) {
        let (o, e) = (&table.entries[f], &table.entries[k]);
        let mut differences = Vec::new();
        if o.crc != e.crc {
            differences.push(format!("CRC 0x{:08x} there, 0x{:08x} here", o.crc, e.crc));
        }
        if o.module != e.module {
            differences.push(format!("module {} there, {} here", o.module, e.module));
        }
        if o.kind != e.kind {
            differences.push(format!(
                "{} there, {} here",
                o.kind.as_str(),
                e.kind.as_str()
            ));
        }
        if o.namespace != e.namespace {
            differences.push(format!(
                "namespace \"{}\" there, \"{}\" here",
                o.namespace, e.namespace
            ));
        }
        super::warn(format_args!(
            "{}:{}: {} is listed again (first at line {}{}); modpost stops on \"exported twice\" for such a table; the first line is used",
            path.display(),
            lines.get(k).copied().unwrap_or(0),
            e.symbol,
            lines.get(f).copied().unwrap_or(0),
            if differences.is_empty() {
                ", the same record".to_string()
            } else {
                format!(": {}", differences.join(", "))
            }
        ));
    }
    if repeats > REPEAT_LIMIT {
        super::warn(format_args!(
            "{}: {repeats} lines list a symbol already listed ({} not shown)",
            path.display(),
            repeats - REPEAT_LIMIT
        ));
    }
    Ok(table)
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

/// A pattern quoted in a message: whole up to 80 characters, else its start and its size (a
/// pattern may be 16 KiB long).
struct Shortened<'a>(&'a str);

impl std::fmt::Display for Shortened<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 60;
        if self.0.chars().count() <= 80 {
            return write!(f, "{:?}", self.0);
        }
        let start: String = self.0.chars().take(SHOWN).collect();
        write!(f, "{start:?}… ({} bytes)", self.0.len())
    }
}
