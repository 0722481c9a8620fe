//! `symvers check`: would these modules load into that kernel?

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::json;

use symvers::check::{self, Kernel, Policy, Severity, Verdict};
use symvers::modinfo::ModuleInfo;
use symvers::symvers::Table;
use symvers::{modtree, Error};

use super::SourceArgs;

/// Text after `symvers check --help`.
pub const AFTER_HELP: &str = "\
Replays the kernel module loader's checks (kernel/module/main.c, version.c) for each MODULE:
  - vermagic against the kernel's (when known: from an installed kernel's modules, or --vermagic);
  - module_layout (struct_module before 2.6.30) version;
  - each undefined symbol: exported at all (\"Unknown symbol X\"), same CRC (\"disagrees about
    version of symbol X\"), or exported without a CRC; GPL-only exports need a GPL-compatible
    license= (the kernel's list: GPL, GPL v2, GPL and additional rights, Dual BSD/GPL,
    Dual MIT/GPL, Dual MPL/GPL); namespaced exports need import_ns=.
The kernel is the running one, an installed one (--root/--release/--image/--modules), or a
Module.symvers file (--against, plain or .gz/.xz/.zst).

Examples:
  symvers check hello.ko                                  # against the running kernel
  symvers check --against Module.symvers hello.ko
  symvers check --root /srv/rootfs --strict-versions --format json *.ko

Exit codes:
  0  every module would load
  1  at least one module would not load
  2  error (bad usage, a missing or unreadable file, input that is not a kernel or module)";

/// Output format of `check`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Format {
    /// One verdict line per module and one line per finding.
    Text,
    /// One JSON document.
    Json,
}

/// Arguments of `symvers check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Module files to check (.ko, .ko.xz, .ko.zst, .ko.gz, …).
    #[arg(required = true, value_name = "MODULE")]
    pub files: Vec<PathBuf>,
    /// Check against this Module.symvers instead of an installed kernel.
    #[arg(long, value_name = "TABLE", conflicts_with_all = ["root", "release", "image", "modules"])]
    pub against: Option<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
    /// The kernel's vermagic (default: read from the installed kernel's modules; none with
    /// --against).
    #[arg(long, value_name = "STRING")]
    pub vermagic: Option<String>,
    /// Treat "no symbol version for X" as fatal, as Debian kernels do (mainline only warns).
    #[arg(long)]
    pub strict_versions: bool,
    /// The kernel has CONFIG_MODULE_FORCE_LOAD: a module without versions or vermagic loads.
    #[arg(long)]
    pub force_load: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Threads for reading the kernel's modules (default: the number of cores).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Limit on the decompressed size of one module, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = modtree::DEFAULT_MODULE_LIMIT >> 20)]
    pub module_limit: u64,
}

/// The kernel side: a table, where it came from, and its vermagic.
pub struct KernelTable {
    /// The table.
    pub table: Table,
    /// A description for reports.
    pub origin: String,
    /// The kernel's vermagic, when known.
    pub vermagic: Option<String>,
}

/// Load the kernel side from a file or an installed kernel.
pub fn load_kernel(
    against: Option<&Path>,
    source: &SourceArgs,
    module_limit: u64,
) -> Result<KernelTable, Error> {
    if let Some(path) = against {
        let table = symvers::symvers::read_file(path, symvers::symvers::FILE_LIMIT)?;
        super::info(format_args!(
            "{}: {} read",
            path.display(),
            super::count(table.entries.len(), "record", "records")
        ));
        return Ok(KernelTable {
            table,
            origin: path.display().to_string(),
            vermagic: None,
        });
    }
    let result = super::rebuild(source.source(), module_limit)?;
    super::dump::describe(&result);
    let vermagic = tree_vermagic(&result.module_files, module_limit);
    let image = result
        .located
        .image
        .as_deref()
        .map_or("no image".into(), |p| p.display().to_string());
    let origin = match result.release() {
        Some(rel) => format!("{rel} ({image})"),
        None => image,
    };
    Ok(KernelTable {
        table: result.table,
        origin,
        vermagic,
    })
}

/// The kernel's vermagic as its own modules record it: every module built with the kernel
/// carries the same VERMAGIC_STRING. The first few modules are tried.
pub fn tree_vermagic(files: &[modtree::ModuleFile], limit: u64) -> Option<String> {
    let mut buffer = Vec::new();
    files.iter().take(8).find_map(|f| {
        modtree::with_module_bytes(&f.path, limit, &mut buffer, |elf| {
            symvers::modinfo::read(elf).map_err(|p| Error::format(&f.path, p))
        })
        .ok()
        .and_then(|info| info.get("vermagic").map(str::to_string))
    })
}

/// The file stem of a module path (`hello` for `hello.ko.xz`).
pub fn module_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    modtree::module_name(&name).unwrap_or(name)
}

/// Run `symvers check`.
pub fn run(args: CheckArgs) -> Result<ExitCode, super::CliError> {
    super::set_jobs(args.jobs)?;
    let limit = args.module_limit.saturating_mul(1 << 20);
    // Read the modules first: a typo in a module path should not cost a whole kernel read.
    let mut infos: Vec<ModuleInfo> = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let info = super::versions::read_info(path, args.module_limit)?;
        super::info(format_args!(
            "{}: {}, version table {}, vermagic {}, license {}",
            path.display(),
            super::count(info.imports.len(), "undefined symbol", "undefined symbols"),
            super::json_name(&info.version_format()),
            info.get("vermagic")
                .map_or("none".into(), |v| format!("\"{v}\"")),
            info.get("license").unwrap_or("unspecified")
        ));
        infos.push(info);
    }
    let mut kernel_side = load_kernel(args.against.as_deref(), &args.source, limit)?;
    if args.vermagic.is_some() {
        kernel_side.vermagic = args.vermagic.clone();
    }
    let kernel = Kernel::new(&kernel_side.table, kernel_side.vermagic.clone());
    let policy = Policy {
        strict_versions: args.strict_versions,
        force_load: args.force_load,
    };
    let verdicts: Vec<(String, Verdict)> = args
        .files
        .iter()
        .zip(&infos)
        .map(|(path, info)| {
            let name = check::module_name(info, &module_stem(path));
            let verdict = check::check(info, &name, &kernel, policy);
            (name, verdict)
        })
        .collect();
    let all_load = verdicts.iter().all(|(_, v)| v.would_load);
    let text = match args.format {
        Format::Text => {
            let mut out = format!(
                "kernel: {} ({}{}{})\n",
                kernel_side.origin,
                super::count(kernel_side.table.entries.len(), "export", "exports"),
                if kernel.modversions() {
                    ""
                } else {
                    ", no CRCs"
                },
                match &kernel_side.vermagic {
                    Some(v) => format!(", vermagic \"{v}\""),
                    None => String::new(),
                }
            );
            for (path, (_, v)) in args.files.iter().zip(&verdicts) {
                out.push_str(&format!(
                    "{}: {} ({})\n",
                    path.display(),
                    if v.would_load {
                        "would load"
                    } else {
                        "would NOT load"
                    },
                    counts_text(&v.counts)
                ));
                for f in &v.findings {
                    let level = match f.severity {
                        Severity::Error => "error",
                        Severity::Warning => "warning",
                    };
                    out.push_str(&format!("  {level}: {}\n", f.message));
                }
            }
            out
        }
        Format::Json => {
            let modules: Vec<_> = args
                .files
                .iter()
                .zip(&verdicts)
                .map(|(path, (name, v))| {
                    json!({
                        "path": path,
                        "name": name,
                        "would_load": v.would_load,
                        "version_table": v.versions,
                        "counts": v.counts,
                        "findings": v.findings,
                    })
                })
                .collect();
            let doc = json!({
                "schema": crate::report::SCHEMA_VERSION,
                "kernel": {
                    "origin": kernel_side.origin,
                    "symbol_count": kernel_side.table.entries.len(),
                    "modversions": kernel.modversions(),
                    "vermagic": kernel_side.vermagic,
                },
                "all_load": all_load,
                "modules": modules,
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

/// `7 imports: 5 versions match, 1 version differs, 1 not exported`: every outcome that occurs,
/// adding up to the imports (see [`check::Counts`]).
fn counts_text(c: &check::Counts) -> String {
    use super::count;
    let parts: Vec<String> = [
        (c.versions_match, "version matches", "versions match"),
        (c.versions_differ, "version differs", "versions differ"),
        (
            c.versions_missing,
            "has no version in the module",
            "have no version in the module",
        ),
        (
            c.unversioned,
            "is exported without a CRC",
            "are exported without a CRC",
        ),
        (c.gpl_refused, "is GPL-only", "are GPL-only"),
        (c.not_exported, "is not exported", "are not exported"),
    ]
    .into_iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(n, one, many)| count(n, one, many))
    .collect();
    if parts.is_empty() {
        count(c.imports, "import", "imports")
    } else {
        format!(
            "{}: {}",
            count(c.imports, "import", "imports"),
            parts.join(", ")
        )
    }
}
