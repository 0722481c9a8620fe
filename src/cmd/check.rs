//! `symvers check`: would these modules, loaded together, load into that kernel?

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::json;

use symvers::check::facts::{self, Fact};
use symvers::check::{
    self, ElfIdentity, Kernel, KernelElf, Member, Outcome, Policy, SetVerdict, Severity,
};
use symvers::config::{self, Lookup};
use symvers::exports::Export;
use symvers::modinfo::ModuleInfo;
use symvers::symlist::{self, SymbolList};
use symvers::symvers::Table;
use symvers::{modtree, Error};

use super::{CliError, SourceArgs};

/// Text after `symvers check --help`.
pub const AFTER_HELP: &str = "\
The MODULEs are a set, loaded together as modprobe would: an import another of them exports
resolves there (vmlinux first, then the set, then the kernel's modules), a module whose
dependency in the set is refused is refused too, and a dependency cycle loads nothing.

Replays the kernel module loader's checks (kernel/module/main.c, version.c) in its order,
stopping where it stops:
  1. the ELF header: the kernel's machine, word size and byte order (\"Invalid architecture in
     ELF header\"), known from an installed kernel's own modules or image;
  2. module_layout (struct_module before 2.6.30) version;
  3. vermagic against the kernel's (from an installed kernel's modules, or --vermagic);
  4. each undefined symbol: exported at all (\"Unknown symbol X\"), same CRC (\"disagrees about
     version of symbol X\"), or exported without a CRC; GPL-only exports need a GPL-compatible
     license= (the kernel's list: GPL, GPL v2, GPL and additional rights, Dual BSD/GPL,
     Dual MIT/GPL, Dual MPL/GPL); namespaced exports need import_ns=;
  5. exports the kernel already has (\"exports duplicate symbol\").
Two behaviours differ between kernels and are read from an installed kernel: a missing symbol
version is refused by Debian's builds (the image's banner names the builder) and only warned
about by mainline; a module without versions loads tainted with CONFIG_MODULE_FORCE_LOAD (the
kernel's config, /boot/config-REL). When unknown, a module they concern \"may NOT load\" and
the reason is printed; --[no-]strict-versions and --[no-]force-load say it.
The kernel is the running one, an installed one (--root/--release/--image/--modules), or a
Module.symvers file (--against, plain or .gz/.xz/.zst: it does not say the kernel's
architecture, builder or config).

--symbol-list FILE (Android KMI list, RHEL stablelist, or one symbol a line) reports every
symbol the set imports from the kernel that the list lacks; `symvers symbol-list` writes one.

Examples:
  symvers check hello.ko                                  # against the running kernel
  symvers check zfs.ko spl.ko                             # a set: zfs imports from spl
  symvers check --against Module.symvers hello.ko
  symvers check --root /srv/rootfs --format json *.ko
  symvers check --symbol-list abi_gki_aarch64_vendor vendor/*.ko

Exit codes:
  0  every module would load (and stays inside the symbol lists)
  1  at least one module would not load, or may not (its answer depends on the kernel), or
     imports a symbol outside a --symbol-list
  2  error (bad usage, a missing or unreadable file, input that is not a kernel or module)
  4  standard output or standard error could not take the output or a message (closed, a
     broken pipe, a full disk): what was to be said did not all arrive";

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
    /// Module files to check, as a set (.ko, .ko.xz, .ko.zst, .ko.gz, …).
    #[arg(required = true, value_name = "MODULE")]
    pub files: Vec<PathBuf>,
    /// Check against this Module.symvers instead of an installed kernel.
    #[arg(long, value_name = "TABLE", conflicts_with_all = ["root", "release", "image", "modules"])]
    pub against: Option<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub loader: LoaderArgs,
    /// Report imports from the kernel that this list lacks (repeatable; the lists are merged).
    #[arg(long, value_name = "FILE")]
    pub symbol_list: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Threads for reading the kernel's modules (default: the number of cores).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Limit on the decompressed size of one module, in MiB.
    #[arg(long, value_name = "MIB", default_value = super::MODULE_LIMIT_MIB, value_parser = super::mebibytes)]
    pub module_limit: u64,
}

/// What is said on the command line about the target kernel's loader.
#[derive(Args, Debug, Clone, Default)]
pub struct LoaderArgs {
    /// The kernel's vermagic (default: read from the installed kernel's modules; none with
    /// --against).
    #[arg(long, value_name = "STRING")]
    pub vermagic: Option<String>,
    /// The kernel refuses a module missing a symbol's version, as Debian's do (default: read
    /// from the kernel's banner).
    #[arg(long, conflicts_with = "no_strict_versions")]
    pub strict_versions: bool,
    /// The kernel only warns about a missing symbol version, as mainline does.
    #[arg(long)]
    pub no_strict_versions: bool,
    /// The kernel has CONFIG_MODULE_FORCE_LOAD: a module without versions or vermagic loads
    /// tainted (default: read from the kernel's config).
    #[arg(long, conflicts_with = "no_force_load")]
    pub force_load: bool,
    /// The kernel lacks CONFIG_MODULE_FORCE_LOAD.
    #[arg(long)]
    pub no_force_load: bool,
}

/// The kernel side: a table, where it came from, and what is known of its loader.
pub struct KernelSide {
    /// The table.
    pub table: Table,
    /// A description for reports.
    pub origin: String,
    /// The kernel's vermagic, when known.
    pub vermagic: Option<String>,
    /// The ELF identity of its modules, when known.
    pub elf: Option<KernelElf>,
    /// Why the ELF identity is not known, when it is not.
    pub elf_unknown: Option<String>,
    /// Does it refuse a missing symbol version.
    pub strict_versions: Fact,
    /// Does it have CONFIG_MODULE_FORCE_LOAD.
    pub force_load: Fact,
}

impl KernelSide {
    /// The loader model for this kernel, with the command line's word over the kernel's.
    pub fn policy(&mut self, loader: &LoaderArgs) -> Policy {
        if let Some(v) = &loader.vermagic {
            self.vermagic = Some(v.clone());
        }
        let said = |yes: bool, no: bool, fact: &mut Fact, option: &str| {
            if yes || no {
                *fact = Fact {
                    value: Some(yes),
                    source: format!("--{}{option}", if yes { "" } else { "no-" }),
                };
            }
        };
        said(
            loader.strict_versions,
            loader.no_strict_versions,
            &mut self.strict_versions,
            "strict-versions",
        );
        said(
            loader.force_load,
            loader.no_force_load,
            &mut self.force_load,
            "force-load",
        );
        let unknown = |f: &Fact, options: &str| {
            f.value
                .is_none()
                .then(|| format!("{}; say it with {options}", f.source))
        };
        Policy {
            strict_versions: self.strict_versions.value.unwrap_or(false),
            force_load: self.force_load.value.unwrap_or(false),
            strict_versions_unknown: unknown(
                &self.strict_versions,
                "--strict-versions or --no-strict-versions",
            ),
            force_load_unknown: unknown(&self.force_load, "--force-load or --no-force-load"),
        }
    }

    /// The kernel for the checks.
    pub fn kernel(&self) -> Kernel<'_> {
        Kernel::new(&self.table, self.vermagic.clone()).with_elf(self.elf.clone())
    }

    /// The header lines of a text report.
    pub fn describe(&self, kernel: &Kernel) -> String {
        let mut out = format!(
            "kernel: {} ({}{}{})\n",
            self.origin,
            super::count(self.table.entries.len(), "export", "exports"),
            if kernel.modversions() {
                ""
            } else {
                ", no CRCs"
            },
            match &self.vermagic {
                Some(v) => format!(", vermagic \"{v}\""),
                None => String::new(),
            }
        );
        if self.vermagic.is_none() {
            out.push_str("  vermagic: not checked (unknown; give --vermagic)\n");
        }
        match (&self.elf, &self.elf_unknown) {
            (Some(elf), _) => out.push_str(&format!(
                "  modules must be: {} ({})\n",
                elf.describe(),
                match elf {
                    KernelElf::Exact { source, .. } | KernelElf::Family { source, .. } => source,
                }
            )),
            (None, Some(why)) => {
                out.push_str(&format!("  modules' architecture: not checked ({why})\n"))
            }
            (None, None) => {}
        }
        let show = |what: &str, yes: &str, no: &str, fact: &Fact| match fact.value {
            Some(true) => format!("  {what}: {yes} ({})\n", fact.source),
            Some(false) => format!("  {what}: {no} ({})\n", fact.source),
            None => format!("  {what}: unknown ({})\n", fact.source),
        };
        out.push_str(&show(
            "missing symbol version",
            "refused",
            "warned about, loads",
            &self.strict_versions,
        ));
        out.push_str(&show(
            "module without versions",
            "loads tainted (CONFIG_MODULE_FORCE_LOAD)",
            "refused (no CONFIG_MODULE_FORCE_LOAD)",
            &self.force_load,
        ));
        out
    }

    /// The `kernel` object of a JSON report.
    pub fn json(&self, kernel: &Kernel) -> serde_json::Value {
        json!({
            "origin": self.origin,
            "symbol_count": self.table.entries.len(),
            "modversions": kernel.modversions(),
            "vermagic": self.vermagic,
            "elf": self.elf,
            "elf_unknown": self.elf_unknown,
            "strict_versions": self.strict_versions,
            "force_load": self.force_load,
        })
    }
}

/// Load the kernel side from a file or an installed kernel.
pub fn load_kernel(
    against: Option<&Path>,
    source: &SourceArgs,
    module_limit: u64,
) -> Result<KernelSide, Error> {
    if let Some(path) = against {
        let table = super::diff::read_table(path)?;
        super::info(format_args!(
            "{}: {} read",
            path.display(),
            super::count(table.entries.len(), "record", "records")
        ));
        let not_said = "a Module.symvers file does not say";
        return Ok(KernelSide {
            table,
            origin: path.display().to_string(),
            vermagic: None,
            elf: None,
            elf_unknown: Some(format!("{not_said} the kernel's architecture")),
            strict_versions: Fact {
                value: None,
                source: format!("{not_said} who built the kernel"),
            },
            force_load: Fact {
                value: None,
                source: format!("{not_said} the kernel's config"),
            },
        });
    }
    let result = super::rebuild(source.source(), module_limit)?;
    super::dump::describe(&result);
    installed_side(result, source.root.as_deref(), module_limit)
}

/// The kernel side of an installed kernel whose table was rebuilt.
pub fn installed_side(
    result: symvers::dump::Dump,
    root: Option<&Path>,
    module_limit: u64,
) -> Result<KernelSide, Error> {
    let tree = modtree::tree_identity(&result.module_files, module_limit);
    let vermagic = tree.as_ref().and_then(|t| t.vermagic.clone());
    let identity = tree.map(|t| (t.elf, t.read_from));
    // A rebuilt kernel always has its image read (`--modules-only` is dump's alone).
    let (Some(k), Some(image)) = (&result.kernel, &result.located.image) else {
        return Err(result.located.image_not_found());
    };
    let (elf, elf_unknown) = match (identity, k.machine, k.image.arch) {
        (Some((identity, path)), _, _) => (
            Some(KernelElf::Exact {
                identity,
                source: format!("as its module {}", path.display()),
            }),
            None,
        ),
        (None, Some(machine), _) => (
            Some(KernelElf::Exact {
                identity: ElfIdentity {
                    machine,
                    class: k.class,
                    endian: k.endian,
                },
                source: format!("the ELF header of {}", image.display()),
            }),
            None,
        ),
        (None, None, Some(arch)) => (
            Some(KernelElf::Family {
                arch,
                class: k.class,
                endian: k.endian,
                source: format!("the image header of {}", image.display()),
            }),
            None,
        ),
        (None, None, None) => (
            None,
            Some("neither the kernel's modules nor its image header name its machine".into()),
        ),
    };
    // The image's own banner names the release; the located one when it has none.
    let release = result.release();
    // Installed files and a `configs` module; the image's own IKCONFIG data would need its
    // bytes again, which the dump did not keep.
    let (config, searched) = match config::locate(&Lookup {
        root: root.unwrap_or(Path::new("/")),
        release: release.as_deref(),
        kernel: None,
        modules: result.located.modules_dir(),
        image: Some(image),
        running: false,
    }) {
        Ok(config) => (Some(config), Vec::new()),
        Err(Error::NotFound { searched, .. }) => (None, searched),
        Err(e) => return Err(e),
    };
    let origin = match &release {
        Some(rel) => format!("{rel} ({})", image.display()),
        None => image.display().to_string(),
    };
    Ok(KernelSide {
        strict_versions: facts::strict_versions(k.banner.as_ref()),
        force_load: facts::force_load(config.as_ref(), &searched),
        table: result.table,
        origin,
        vermagic,
        elf,
        elf_unknown,
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

/// One module of a set, as read from its file.
pub struct SetModule {
    /// The file.
    pub path: PathBuf,
    /// The kernel's name for it.
    pub name: String,
    /// What it asks of the kernel.
    pub info: ModuleInfo,
    /// What it exports, or why that could not be read.
    pub exports: Result<Vec<Export>, symvers::Problem>,
}

/// Read a module file's loader-facing parts and exports in one parse.
pub fn read_set_module(path: &Path, limit: u64) -> Result<SetModule, Error> {
    let mut buffer = Vec::new();
    modtree::with_module_bytes(path, limit, &mut buffer, |bytes| {
        let elf = symvers::elf::Elf::parse_module(bytes).map_err(|p| Error::format(path, p))?;
        let info = symvers::modinfo::read_elf(&elf).map_err(|p| Error::format(path, p))?;
        let exports = symvers::exports::module::read_elf(&elf).map(|m| m.exports);
        let name = check::module_name(&info, &module_stem(path));
        Ok(SetModule {
            path: path.to_path_buf(),
            name,
            info,
            exports,
        })
    })
}

/// Judge `set` against `kernel`. A module whose exports could not be read is an error, unless
/// the loader would refuse it at its ELF header anyway (then it offers nothing).
pub fn judge(set: &[SetModule], kernel: &Kernel, policy: &Policy) -> Result<SetVerdict, Error> {
    let empty: Vec<Export> = Vec::new();
    let mut members = Vec::with_capacity(set.len());
    for m in set {
        let exports = match &m.exports {
            Ok(e) => e,
            Err(problem) => {
                let alone = check::check(&m.info, &m.name, kernel, Policy::default());
                if alone.stopped_at != Some(check::Stage::ElfHeader) {
                    return Err(Error::format(&m.path, problem.clone()));
                }
                &empty
            }
        };
        members.push(Member {
            name: &m.name,
            info: &m.info,
            exports,
        });
    }
    Ok(check::check_set(&members, kernel, policy))
}

/// The counts of a verdict line: `counts_text`, then `; 1 from the set: needs base` when some
/// imports resolve in the set.
pub fn verdict_counts(v: &check::Verdict) -> String {
    match v.needs.as_slice() {
        [] => counts_text(&v.counts),
        needs => format!(
            "{}; {} from the set: needs {}",
            counts_text(&v.counts),
            v.counts.from_set,
            needs.join(", ")
        ),
    }
}

/// The words of an outcome in text reports.
pub fn outcome_words(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Loads => "would load",
        Outcome::Refused => "would NOT load",
        Outcome::Depends => "may NOT load (depends on the kernel)",
    }
}

/// Run `symvers check`.
pub fn run(args: CheckArgs) -> Result<ExitCode, CliError> {
    super::set_jobs(args.jobs)?;
    let limit = args.module_limit;
    // Read the modules and lists first: a typo in a path should not cost a whole kernel read.
    let mut set = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let m = read_set_module(path, limit)?;
        super::info(format_args!(
            "{}: {}, version table {}, vermagic {}, license {}",
            path.display(),
            super::count(
                m.info.imports.len(),
                "undefined symbol",
                "undefined symbols"
            ),
            super::json_name(&m.info.version_format()),
            m.info
                .get("vermagic")
                .map_or("none".into(), |v| format!("\"{v}\"")),
            m.info.get("license").unwrap_or("unspecified")
        ));
        set.push(m);
    }
    let mut lists = Vec::new();
    for path in &args.symbol_list {
        lists.push(SymbolList::read(path)?);
    }
    let mut side = load_kernel(args.against.as_deref(), &args.source, limit)?;
    let policy = side.policy(&args.loader);
    let kernel = side.kernel();
    let verdict = judge(&set, &kernel, &policy)?;
    // Imports from the kernel outside the symbol lists, per module: its imports that no module
    // of the set provides.
    let provided: std::collections::HashSet<&str> = set
        .iter()
        .flat_map(|m| m.exports.as_deref().unwrap_or(&[]))
        .map(|e| e.name.as_str())
        .collect();
    let outside: Vec<Vec<String>> = set
        .iter()
        .map(|m| {
            symlist::kernel_imports([(&m.info, &[][..])])
                .into_iter()
                .filter(|s| !lists.is_empty() && !provided.contains(s.as_str()))
                .filter(|s| !lists.iter().any(|l| l.symbols.contains(s)))
                .collect()
        })
        .collect();
    let all_load = verdict.outcome() == Outcome::Loads;
    let inside = outside.iter().all(Vec::is_empty);
    let text = match args.format {
        Format::Text => {
            let mut out = side.describe(&kernel);
            for ((m, v), outside) in set.iter().zip(&verdict.verdicts).zip(&outside) {
                out.push_str(&format!(
                    "{}: {} ({})\n",
                    m.path.display(),
                    outcome_words(v.outcome),
                    verdict_counts(v)
                ));
                out.push_str(&finding_lines(v));
                for s in outside {
                    out.push_str(&format!(
                        "  symbol list: {s} is not in {}\n",
                        list_names(&lists)
                    ));
                }
            }
            // Loading is not all that was asked: say the lists' answer in one line too.
            if !lists.is_empty() {
                let symbols: usize = outside.iter().map(Vec::len).sum();
                let modules = outside.iter().filter(|o| !o.is_empty()).count();
                out.push_str(&if symbols == 0 {
                    format!(
                        "symbol lists: every kernel import is in {}\n",
                        list_names(&lists)
                    )
                } else {
                    format!(
                        "symbol lists: {} of {} {} not in {}\n",
                        super::count(symbols, "kernel import", "kernel imports"),
                        super::count(modules, "module", "modules"),
                        if symbols == 1 { "is" } else { "are" },
                        list_names(&lists)
                    )
                });
            }
            out
        }
        Format::Json => {
            let modules: Vec<_> = set
                .iter()
                .zip(&verdict.verdicts)
                .zip(&outside)
                .map(|((m, v), outside)| {
                    json!({
                        "path": m.path,
                        "name": m.name,
                        "would_load": v.would_load,
                        "outcome": v.outcome,
                        "stopped_at": v.stopped_at,
                        "version_table": v.versions,
                        "counts": v.counts,
                        "needs": v.needs,
                        "findings": v.findings,
                        "outside_symbol_lists": outside,
                    })
                })
                .collect();
            let doc = json!({
                "schema": crate::report::SCHEMA_VERSION,
                "kernel": side.json(&kernel),
                "all_load": all_load,
                "outcome": verdict.outcome(),
                "cycles": verdict.cycles,
                "symbol_lists": args.symbol_list,
                "inside_symbol_lists": inside,
                "modules": modules,
            });
            crate::report::json_text(&doc)
        }
    };
    super::emit(None, text.as_bytes())?;
    Ok(if all_load && inside {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The lines of a verdict's findings: `  error: …`, `  warning: …`, `  depends: … (on: …)`.
pub fn finding_lines(v: &check::Verdict) -> String {
    let mut out = String::new();
    for f in &v.findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Depends => "depends",
        };
        out.push_str(&format!("  {level}: {}\n", f.message));
        if let Some(on) = &f.depends_on {
            out.push_str(&format!("    depends on {on}\n"));
        }
    }
    out
}

fn list_names(lists: &[SymbolList]) -> String {
    lists
        .iter()
        .map(|l| l.path.display().to_string())
        .collect::<Vec<_>>()
        .join(" or ")
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
