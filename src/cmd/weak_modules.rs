//! `symvers weak-modules`: will the out-of-tree modules of one installed kernel load into
//! another as they are, or must they be rebuilt? The decision Red Hat's `weak-modules` makes
//! before linking modules into `weak-updates/`, for any distribution, from installed kernels.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::json;

use symvers::check::{Outcome, Severity, Verdict};
use symvers::locate::{releases_under, Source};
use symvers::{modtree, Error};

use super::check::{self as checking, LoaderArgs};
use super::CliError;

/// Text after `symvers weak-modules --help`.
pub const AFTER_HELP: &str = "\
Takes every module of the FROM kernel's modules folder outside kernel/ (updates/, extra/, DKMS
folders, weak-updates/: what DKMS, kmod packages and vendors install) and judges the set against
each TO kernel as `symvers check` does: \"loads as is\", or \"needs a rebuild\" with the loader's
reason (module_layout, vermagic, a symbol's CRC, a symbol gone, …), or \"may need a rebuild\"
when the answer depends on what the TO kernel does not show (see `check --help`). Several TO
kernels give a matrix, modules × kernels. The TO kernels' tables are rebuilt from their images
and modules as `dump` does (a few seconds each).

Symbolic links (weak-updates/) are followed; under --root, an absolute link is resolved inside
the root.

Examples:
  symvers weak-modules --from 6.1.0-50-amd64 --to 6.12.48+deb13-amd64
  symvers weak-modules --from $(uname -r)                  # against every other installed kernel
  symvers weak-modules -b /srv/rootfs --from 6.1.0-50-amd64 --format json

Exit codes:
  0  every module loads as is into every TO kernel (also when FROM has no such modules)
  1  at least one needs a rebuild, or may
  2  error (bad usage, a missing or unreadable file, input that is not a kernel or module)
  4  standard output or standard error could not take the output or a message (closed, a
     broken pipe, a full disk): what was to be said did not all arrive";

/// Output format of `weak-modules`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Format {
    /// One line per module (a matrix for several kernels), then the reasons.
    Text,
    /// One JSON document.
    Json,
}

/// Arguments of `symvers weak-modules`.
#[derive(Args, Debug)]
pub struct WeakModulesArgs {
    /// Resolve all default paths under DIR (like `depmod -b`).
    #[arg(short = 'b', long, visible_alias = "basedir", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// The kernel release whose out-of-tree modules are judged.
    #[arg(long, value_name = "REL", required_unless_present = "from_modules")]
    pub from: Option<String>,
    /// Its modules folder, instead of finding it by release.
    #[arg(long, value_name = "DIR")]
    pub from_modules: Option<PathBuf>,
    /// A kernel release to judge them against (repeatable; default: every other release
    /// installed, with an image).
    #[arg(long, value_name = "REL")]
    pub to: Vec<String>,
    #[command(flatten)]
    pub loader: LoaderArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Threads for reading modules (default: the number of cores).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Limit on the decompressed size of one module, in MiB.
    #[arg(long, value_name = "MIB", default_value = super::MODULE_LIMIT_MIB, value_parser = super::mebibytes)]
    pub module_limit: u64,
}

/// The three answers.
fn answer(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Loads => "loads as is",
        Outcome::Refused => "needs a rebuild",
        Outcome::Depends => "may need a rebuild",
    }
}

/// The reason shown for a verdict: its first error (or undecided finding).
fn reason(v: &Verdict) -> Option<String> {
    let first = v
        .findings
        .iter()
        .find(|f| f.severity == Severity::Error)
        .or_else(|| v.findings.iter().find(|f| f.severity == Severity::Depends))?;
    let more = v
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Warning)
        .count()
        - 1;
    Some(match more {
        0 => first.message.clone(),
        n => format!("{} (and {n} more)", first.message),
    })
}

/// The modules folder of `release` under `root`, where any distribution puts it
/// ([`symvers::locate::MODULE_BASES`]).
fn modules_dir(root: &Path, release: &str) -> Result<PathBuf, Error> {
    let source = symvers::locate::Source {
        root: Some(root.to_path_buf()),
        ..symvers::locate::Source::default()
    };
    let mut found = source.find_modules(release)?;
    Ok(found.swap_remove(0))
}

/// The module files of `dir` outside `kernel/`, in tree order, with their paths relative to it.
/// weak-updates/ holds absolute links into other releases' folders: inside a root the walk
/// resolves them inside it; a link that leads nowhere is an error here (a module not judged).
fn out_of_tree(dir: &Path, root: Option<&Path>) -> Result<Vec<(PathBuf, PathBuf)>, Error> {
    let options = modtree::WalkOptions {
        root: root.map(Path::to_path_buf),
        ..modtree::WalkOptions::default()
    };
    let mut walk = modtree::walk_modules_with(dir, &options)?;
    walk.failures.append(&mut walk.broken_links);
    if !walk.failures.is_empty() {
        return Err(walk.failures.swap_remove(0));
    }
    Ok(walk
        .files
        .into_iter()
        .filter(|file| !file.rel.starts_with("kernel/"))
        .map(|file| (PathBuf::from(file.rel), file.path))
        .collect())
}

/// Run `symvers weak-modules`.
pub fn run(args: WeakModulesArgs) -> Result<ExitCode, CliError> {
    super::set_jobs(args.jobs)?;
    let limit = args.module_limit;
    let root_path = args.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let from_dir = match (&args.from_modules, &args.from) {
        (Some(dir), _) => dir.clone(),
        (None, Some(rel)) => modules_dir(&root_path, rel)?,
        (None, None) => {
            return Err(CliError::Usage(
                "give --from RELEASE or --from-modules DIR".into(),
            ))
        }
    };
    let files = out_of_tree(&from_dir, args.root.as_deref())?;
    let mut relatives = Vec::with_capacity(files.len());
    let mut modules = Vec::with_capacity(files.len());
    for (relative, path) in files {
        modules.push(checking::read_set_module(&path, limit)?);
        relatives.push(relative);
    }
    super::info(format_args!(
        "{} modules outside kernel/ in {}",
        modules.len(),
        from_dir.display()
    ));
    if modules.is_empty() {
        // Nothing to judge: no kernel needs to be read.
        let text = match args.format {
            Format::Text => format!("0 modules outside kernel/ in {}\n", from_dir.display()),
            Format::Json => crate::report::json_text(&json!({
                "schema": crate::report::SCHEMA_VERSION,
                "from": { "release": args.from, "modules_dir": from_dir },
                "all_load": true,
                "targets": [],
            })),
        };
        super::emit(None, text.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let targets: Vec<String> = if args.to.is_empty() {
        releases_under(&root_path)
            .into_iter()
            .filter(|r| Some(r) != args.from.as_ref())
            .filter(|r| {
                symvers::locate::image_candidates(&root_path, r)
                    .iter()
                    .any(|p| p.is_file())
            })
            .collect()
    } else {
        args.to.clone()
    };
    if targets.is_empty() {
        return Err(CliError::Usage(format!(
            "no other kernel with an image is installed under {}: give --to RELEASE",
            root_path.display()
        )));
    }
    let from_name = args.from.clone();
    let mut columns = Vec::with_capacity(targets.len());
    for release in &targets {
        let started = std::time::Instant::now();
        let source = Source {
            root: args.root.clone(),
            release: Some(release.clone()),
            image: None,
            modules: Vec::new(),
        };
        let dump = super::rebuild(source, limit)?;
        let mut side = checking::installed_side(dump, args.root.as_deref(), limit)?;
        let policy = side.policy(&args.loader);
        let kernel = side.kernel();
        let verdict = checking::judge(&modules, &kernel, &policy)?;
        super::info(format_args!(
            "{release}: judged in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
        let header = side.describe(&kernel);
        let json = side.json(&kernel);
        columns.push((release.clone(), header, json, verdict));
    }
    let all_load = columns
        .iter()
        .all(|(_, _, _, v)| v.outcome() == Outcome::Loads);
    let text = match args.format {
        Format::Text => text_report(from_name.as_deref(), &from_dir, &relatives, &columns),
        Format::Json => {
            let targets: Vec<_> = columns
                .iter()
                .map(|(release, _, kernel, verdict)| {
                    let modules: Vec<_> = relatives
                        .iter()
                        .zip(&modules)
                        .zip(&verdict.verdicts)
                        .map(|((relative, m), v)| {
                            json!({
                                "path": relative,
                                "name": m.name,
                                "answer": answer(v.outcome),
                                "outcome": v.outcome,
                                "reason": reason(v),
                                "stopped_at": v.stopped_at,
                                "needs": v.needs,
                                "findings": v.findings,
                            })
                        })
                        .collect();
                    json!({
                        "release": release,
                        "kernel": kernel,
                        "all_load": verdict.outcome() == Outcome::Loads,
                        "cycles": verdict.cycles,
                        "modules": modules,
                    })
                })
                .collect();
            let doc = json!({
                "schema": crate::report::SCHEMA_VERSION,
                "from": { "release": args.from, "modules_dir": from_dir },
                "all_load": all_load,
                "targets": targets,
            });
            crate::report::json_text(&doc)
        }
    };
    super::emit(None, text.as_bytes())?;
    Ok(if all_load {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

type Column = (
    String,
    String,
    serde_json::Value,
    symvers::check::SetVerdict,
);

fn text_report(from: Option<&str>, from_dir: &Path, set: &[PathBuf], columns: &[Column]) -> String {
    let mut out = match from {
        Some(release) => format!(
            "{} modules of {release} outside kernel/ ({})\n",
            set.len(),
            from_dir.display()
        ),
        None => format!(
            "{} modules outside kernel/ in {}\n",
            set.len(),
            from_dir.display()
        ),
    };
    if set.is_empty() {
        return out;
    }
    if let [(release, header, _, verdict)] = columns {
        out.push_str(&format!("against {release}:\n"));
        out.push_str(header);
        for (relative, v) in set.iter().zip(&verdict.verdicts) {
            out.push_str(&format!("{}: {}", relative.display(), answer(v.outcome)));
            match reason(v) {
                Some(r) => out.push_str(&format!(": {r}\n")),
                None => out.push('\n'),
            }
        }
        return out;
    }
    // A matrix: one row per module, one column per kernel, then the reasons.
    let width = set
        .iter()
        .map(|r| r.display().to_string().len())
        .max()
        .unwrap_or(0)
        .max("module".len());
    let cell = |release: &str| release.len().max("may need a rebuild".len());
    let mut row = format!("{:width$}", "module");
    for (release, ..) in columns {
        row.push_str(&format!("  {:w$}", release, w = cell(release)));
    }
    out.push_str(row.trim_end());
    out.push('\n');
    for (k, relative) in set.iter().enumerate() {
        let mut row = format!("{:width$}", relative.display().to_string());
        for (release, _, _, verdict) in columns {
            row.push_str(&format!(
                "  {:w$}",
                answer(verdict.verdicts[k].outcome),
                w = cell(release)
            ));
        }
        out.push_str(row.trim_end());
        out.push('\n');
    }
    for (release, _, _, verdict) in columns {
        for (relative, v) in set.iter().zip(&verdict.verdicts) {
            if let Some(r) = reason(v) {
                out.push_str(&format!("{} on {release}: {r}\n", relative.display()));
            }
        }
    }
    out
}
