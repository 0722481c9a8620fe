//! `symvers dump`: write the rebuilt Module.symvers (or its JSON form).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};

use symvers::depmod::Reason;
use symvers::dump;
use symvers::modtree::Skipped;
use symvers::symvers::Columns;
use symvers::Error;

use super::progress::ProgressLine;
use super::{ReleaseArg, SourceArgs};
use crate::report;

/// Text after `symvers dump --help`.
pub const AFTER_HELP: &str = "\
Examples:
  symvers dump -o Module.symvers                 # the running kernel
  symvers dump 6.1.0-50-amd64                    # another installed release
  symvers dump -b /srv/rootfs                    # the only kernel installed there
  symvers dump --image vmlinuz-6.1.0-50-amd64 --modules /lib/modules/6.1.0-50-amd64
  symvers dump --image /srv/vmlinuz              # the modules of the release its banner names
  symvers dump --modules-only --modules DIR1 --modules DIR2   # Android module sets, no image

Hand-off to kbuild:
  # a full table in the headers tree (the old file is kept as Module.symvers.orig)
  symvers dump -o /lib/modules/$(uname -r)/build/Module.symvers
  # only what one module needs beyond the headers tree's table, for KBUILD_EXTRA_SYMBOLS
  # (a symbol listed in both is \"exported twice\" for modpost)
  symvers dump --only-used-by hello.o --not-in build/Module.symvers -o extra.symvers
  # vmlinux alone, from a kernel build folder without modules
  symvers dump --vmlinux-only --image vmlinux -o Module.symvers

Order: vmlinux first, then modules in modules.order order (else by path),
each module's symbols in the order of its export tables.

Where the files are, for each distribution, and how module trees are read (links, a module
installed twice, depmod's index, several folders): docs/layouts.md. A module installed twice
counts once, the copy modprobe loads; the others are named on stderr (--all-copies keeps them).

Exit codes:
  0  success
  1  --verify or --compare-with found a disagreement (the table was still written)
  2  error (bad usage, a missing or unreadable file, input that is not a kernel); nothing written
  3  --keep-going: the table was written, but some modules could not be read
  4  standard output or standard error could not take the table or a message (closed, a
     broken pipe, a full disk); an -o FILE is still written";

/// Output format of `dump`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Format {
    /// Module.symvers text.
    Symvers,
    /// JSON records plus what was detected (schema in docs/json.md).
    Json,
}

/// `--symvers-format`: the column orders of Module.symvers, by the first kernel that wrote each.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum ColumnOrder {
    /// 5.6+: crc, symbol, module, export, namespace.
    #[value(name = "5.6")]
    Modern,
    /// 5.4–5.5: crc, symbol, namespace, module, export.
    #[value(name = "5.4")]
    NamespaceSecond,
    /// 2.6.18–5.3: crc, symbol, module, export.
    #[value(name = "4col")]
    NoNamespace,
    /// Before 2.6.18: crc, symbol, module (no export type).
    #[value(name = "3col")]
    NoExportType,
}

impl From<ColumnOrder> for Columns {
    fn from(order: ColumnOrder) -> Self {
        match order {
            ColumnOrder::Modern => Columns::Modern,
            ColumnOrder::NamespaceSecond => Columns::NamespaceSecond,
            ColumnOrder::NoNamespace => Columns::NoNamespace,
            ColumnOrder::NoExportType => Columns::NoExportType,
        }
    }
}

/// Arguments of `symvers dump`.
#[derive(Args, Debug)]
pub struct DumpArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub release: ReleaseArg,
    /// Write to FILE atomically instead of standard output (`-`: standard output); an existing
    /// FILE with other contents is kept as FILE.orig (or FILE.orig.N when that exists).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Read only what changed since the run that wrote --output: modules whose size and times
    /// are the same as then and older than FILE are taken from FILE.symvers-state (written next
    /// to FILE by the previous --update run), and an unchanged image is not decoded again. The
    /// table is the same as a full run's; a missing or untrustworthy state means a full run
    /// (said on stderr). Module.symvers text only.
    #[arg(long, requires = "output")]
    pub update: bool,
    /// Replace --output without keeping the old file as FILE.orig.
    #[arg(long, requires = "output")]
    pub no_backup: bool,
    /// Keep only the symbols that MODULE (a .ko, compressed or not, or a .o) leaves undefined.
    /// With --modules-only: a table for KBUILD_EXTRA_SYMBOLS. Repeatable.
    #[arg(long, value_name = "MODULE")]
    pub only_used_by: Vec<PathBuf>,
    /// Keep only these symbols (separated by commas or white space). Repeatable.
    #[arg(long, value_name = "LIST")]
    pub symbols: Vec<String>,
    /// Read only the kernel image (no modules folder needed): vmlinux's exports alone.
    #[arg(long, conflicts_with = "modules")]
    pub vmlinux_only: bool,
    /// Read only the modules and leave vmlinux's exports out: no image is needed (one that is
    /// given or found is read for its release and CRC storage). For module sets without an image (Android's
    /// vendor_dlkm), and for KBUILD_EXTRA_SYMBOLS: modpost reports "exported twice" for a
    /// vmlinux symbol that is also in the headers tree's Module.symvers.
    #[arg(long, conflicts_with = "vmlinux_only")]
    pub modules_only: bool,
    /// Keep every copy of a module found more than once (updates/, extra/, weak-updates/, DKMS
    /// next to kernel/), not only the one modprobe loads: for auditing what is installed (the
    /// table may then list a symbol twice).
    #[arg(long)]
    pub all_copies: bool,
    /// Read an image and modules of different releases (the image's banner against the
    /// modules' vermagic or folder name) together instead of refusing them.
    #[arg(long)]
    pub allow_release_mismatch: bool,
    /// Leave out every symbol that FILE (a Module.symvers, e.g. the headers tree's own) lists.
    /// For KBUILD_EXTRA_SYMBOLS: modpost rejects a symbol listed in both as "exported twice".
    #[arg(long, value_name = "FILE")]
    pub not_in: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "symvers")]
    pub format: Format,
    /// Column order of the Module.symvers text [default: from the kernel: 3col before 2.6.18
    /// (by its release), 4col before 5.4, else 5.6].
    #[arg(long, value_enum, value_name = "ORDER")]
    pub symvers_format: Option<ColumnOrder>,
    /// Read every module, even those depmod's index (modules.symbols) says export nothing. By
    /// default they are left unread when the index can be trusted for that (docs/performance.md);
    /// the table is the same either way.
    #[arg(long)]
    pub no_index: bool,
    /// Write the table of the modules that could be read even if some could not (exit code 3).
    #[arg(long)]
    pub keep_going: bool,
    /// Threads for reading modules (default: the number of cores).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Limit on the decompressed size of the kernel image, in MiB.
    #[arg(long, value_name = "MIB", default_value = super::IMAGE_LIMIT_MIB, value_parser = super::mebibytes)]
    pub image_limit: u64,
    /// Cross-check the table with the CRCs and namespaces every installed module imports
    /// (report on stderr; any disagreement: exit code 1). The check for damage no single file
    /// shows (a flipped CRC or name); it adds little to the dump.
    #[arg(long)]
    pub verify: bool,
    /// Compare the table with a distribution's own symvers file, or find one (`auto`:
    /// /boot/symvers-REL.gz, /lib/modules/REL/symvers.*, …/build/Module.symvers); any difference:
    /// exit code 1.
    #[arg(long, value_name = "FILE|auto")]
    pub compare_with: Option<PathBuf>,
    /// Limit on the decompressed size of one module, in MiB.
    #[arg(long, value_name = "MIB", default_value = super::MODULE_LIMIT_MIB, value_parser = super::mebibytes)]
    pub module_limit: u64,
}

/// Run `symvers dump`.
pub fn run(args: DumpArgs) -> Result<ExitCode, super::CliError> {
    super::set_jobs(args.jobs)?;
    // The output and the files named by options are checked first: a typo should not cost a
    // whole kernel read.
    super::check_output(args.output.as_deref())?;
    let wanted = wanted_symbols(&args)?;
    let not_in = match &args.not_in {
        Some(path) => Some(symvers::symvers::read_file(
            path,
            symvers::symvers::FILE_LIMIT,
        )?),
        None => None,
    };
    let update_to = match (&args.output, args.update) {
        (Some(path), true) => update_target(path, &args),
        _ => None,
    };
    let reuse = update_to.as_deref().and_then(|path| {
        if !path.exists() {
            super::note(format_args!(
                "--update: {} does not exist yet; reading everything",
                path.display()
            ));
            return None;
        }
        match symvers::update::load(path) {
            Ok(state) => Some(Arc::new(state)),
            Err(why) => {
                super::note(format_args!("--update: {why}; reading everything"));
                None
            }
        }
    });
    let progress = Arc::new(dump::Progress::default());
    let options = dump::Options {
        source: args.release.apply(args.source.source()),
        image_limit: args.image_limit,
        module_limit: args.module_limit,
        vmlinux_only: args.vmlinux_only,
        modules_only: args.modules_only,
        all_copies: args.all_copies,
        allow_release_mismatch: args.allow_release_mismatch,
        progress: Some(Arc::clone(&progress)),
        // --verify checks every module's imports: read them in the same pass as the exports.
        read_imports: args.verify,
        use_index: !args.no_index,
        reuse,
        keep_state: update_to.is_some(),
    };
    let line = ProgressLine::start(progress);
    let result = dump::dump(&options);
    drop(line);
    let mut result = result?;
    report_tree(&result, args.all_copies);
    if !args.keep_going {
        result.check_complete()?;
    }
    describe(&result);
    if let Some(symvers::Error::ReleaseMismatch {
        image,
        image_release,
        modules,
        modules_release,
        evidence,
    }) = result.release_mismatch()
    {
        // Asked for (the mismatch is an error otherwise), but never silent.
        super::warn(format_args!(
            "{} is release {image_release}, the modules in {} are {modules_release} (by their {evidence}): read together as --allow-release-mismatch asks",
            image.display(),
            modules.display()
        ));
    }
    // What the next --update run may take over, before any filter below narrows the table.
    let snapshot = update_to.as_ref().map(|_| snapshot(&result));
    super::warn_exported_twice(&result.table, "");
    let image_read = result.kernel.is_some() || result.cached_image.is_some();
    if !result.modversions() && (image_read || !result.module_files.is_empty()) {
        super::warn(format_args!(
            "{}: the kernel was built without CONFIG_MODVERSIONS; writing 0x00000000 CRCs as modpost does",
            match &result.located.image {
                Some(image) if image_read => image.display().to_string(),
                _ => "the modules".to_string(),
            }
        ));
    }
    // Verify and compare the whole table, before the filters below narrow it.
    let mut agrees = true;
    let mut checks = serde_json::Map::new();
    if args.verify {
        let (ok, doc) = super::verify::verify_imports(&result)?;
        agrees &= ok;
        checks.insert("verify".into(), doc);
    }
    if let Some(spec) = &args.compare_with {
        let doc = match super::verify::compare_target(&result, args.source.root.as_deref(), spec) {
            Ok(path) => {
                let (ok, doc) = super::verify::compare_with(&result, &path)?;
                agrees &= ok;
                doc
            }
            Err(doc) => doc,
        };
        checks.insert("compare".into(), doc);
    }
    if let Some(wanted) = &wanted {
        let before = result.table.entries.len();
        let missing = symvers::restrict::retain_symbols(&mut result.table, wanted);
        super::info(format_args!(
            "kept {} of {before} symbols ({} asked for)",
            result.table.entries.len(),
            wanted.len()
        ));
        if !missing.is_empty() {
            let scope = if args.vmlinux_only {
                "vmlinux"
            } else {
                "this kernel"
            };
            super::warn(format_args!(
                "{} of the symbols asked for {} not exported by {scope} (modpost will call {} undefined unless another object provides {}): {}",
                missing.len(),
                super::is_are(missing.len()),
                if missing.len() == 1 { "it" } else { "them" },
                if missing.len() == 1 { "it" } else { "them" },
                missing.join(", ")
            ));
        }
    }
    if args.modules_only {
        symvers::restrict::retain_modules(&mut result.table);
    }
    if let (Some(path), Some(listed)) = (&args.not_in, &not_in) {
        let dropped = symvers::restrict::remove_listed(&mut result.table, listed);
        super::info(format_args!(
            "{}: left out {} it lists",
            path.display(),
            super::count(dropped, "symbol", "symbols")
        ));
    }
    let text = match args.format {
        Format::Symvers => result.table.to_text(
            args.symvers_format
                .map(Columns::from)
                .unwrap_or_else(|| result.columns()),
        ),
        Format::Json => report::dump_json(&result, checks),
    };
    super::write_output(args.output.as_deref(), text.as_bytes(), args.no_backup)?;
    if let (Some(path), Some((image, modules))) = (&update_to, snapshot) {
        write_state(path, text.as_bytes(), image, modules)?;
    }
    if !result.failures.is_empty() {
        for failure in &result.failures {
            super::say(failure);
        }
        super::say(format_args!(
            "{} of {} could not be read; the table lacks {} exports",
            result.failures.len(),
            super::count(result.module_files.len(), "module", "modules"),
            if result.failures.len() == 1 {
                "its"
            } else {
                "their"
            }
        ));
    }
    Ok(if !agrees {
        ExitCode::from(1)
    } else if !result.failures.is_empty() {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// The file `--update` keeps a state for, or `None` (said on stderr) when this run cannot.
fn update_target(path: &std::path::Path, args: &DumpArgs) -> Option<PathBuf> {
    let why = if path == std::path::Path::new("-") {
        "standard output keeps no state"
    } else if args.format != Format::Symvers {
        "only the Module.symvers text is updated"
    } else if args.verify {
        "--verify reads every module's imports"
    } else {
        return Some(path.to_path_buf());
    };
    super::note(format_args!("--update: {why}; reading everything"));
    None
}

/// The image and modules of `result` that a state may carry, each only when its file is still
/// the one read (its identity taken before the read, the same now).
fn snapshot(
    result: &dump::Dump,
) -> (
    Option<symvers::update::ImageState>,
    Vec<symvers::update::ModuleState>,
) {
    use symvers::update::{rows, FileId, ImageFacts, ImageState, ModuleState};
    let same = |id: &Option<FileId>| {
        id.as_ref()
            .filter(|id| FileId::of(&id.path).as_ref() == Some(id))
            .cloned()
    };
    let image = match (&result.kernel, &result.cached_image, same(&result.image_id)) {
        (_, _, None) => None,
        (Some(kernel), _, Some(file)) => Some(ImageState {
            facts: ImageFacts {
                release: kernel.release(),
                columns: Some(symvers::update::columns_name(result.columns()).to_string()),
                modversions: result.modversions(),
                description: image_description(kernel, &file.path),
                shape: Some(symvers::dump::KernelShape::of(kernel)),
            },
            file,
            rows: rows(&result.table.entries[..result.vmlinux_rows]),
        }),
        (None, Some(facts), Some(file)) => Some(ImageState {
            facts: facts.clone(),
            file,
            rows: rows(&result.table.entries[..result.vmlinux_rows]),
        }),
        (None, None, Some(_)) => None,
    };
    let modules = result
        .module_files
        .iter()
        .enumerate()
        .filter_map(|(i, file)| {
            let span = result.module_spans.get(i)?.clone()?;
            Some(ModuleState {
                file: same(result.module_ids.get(i)?)?,
                name: file.name.clone(),
                vermagic: result.module_vermagic.get(i).cloned().flatten(),
                rows: rows(result.table.entries.get(span)?),
            })
        })
        .collect();
    (image, modules)
}

/// Write the state `--update` leaves next to `output` (just written with `bytes`), atomically.
fn write_state(
    output: &std::path::Path,
    bytes: &[u8],
    image: Option<symvers::update::ImageState>,
    modules: Vec<symvers::update::ModuleState>,
) -> Result<(), super::CliError> {
    let state_path = symvers::update::state_path(output);
    let Some(id) = symvers::update::output_id(output, bytes) else {
        super::note(format_args!(
            "--update: {} cannot be examined; no state written",
            output.display()
        ));
        return Ok(());
    };
    let state = symvers::update::State::new(id, image, modules);
    // The table is written: a state that cannot be is no failure, only a full run next time
    // (the old state, if any, no longer matches FILE).
    if let Err(e) = super::emit(Some(&state_path), &state.to_json()) {
        super::say(format_args!(
            "--update: {e}; the next --update run will read everything"
        ));
    }
    Ok(())
}

/// The `-v` description of a kernel image.
fn image_description(k: &symvers::kernel::KernelExports, image: &std::path::Path) -> String {
    format!(
        "image {} ({}, {}; {} {}, layout {}, CRCs {})",
        image.display(),
        super::json_name(&k.image.container),
        k.image.compression.map_or("uncompressed", |c| c.name()),
        super::json_name(&k.class),
        super::json_name(&k.endian),
        super::json_name(&k.vmlinux.layout.ksymtab),
        super::json_name(&k.vmlinux.layout.crcs)
    )
}

/// The union of `--only-used-by` and `--symbols`, or `None` when neither was given.
fn wanted_symbols(args: &DumpArgs) -> Result<Option<BTreeSet<String>>, Error> {
    if args.only_used_by.is_empty() && args.symbols.is_empty() {
        return Ok(None);
    }
    let mut wanted = BTreeSet::new();
    let limit = args.module_limit;
    for module in &args.only_used_by {
        let names = symvers::restrict::undefined_symbols_of(module, limit)?;
        super::info(format_args!(
            "{}: {}",
            module.display(),
            super::count(names.len(), "undefined symbol", "undefined symbols")
        ));
        wanted.extend(names);
    }
    for list in &args.symbols {
        wanted.extend(
            list.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(String::from),
        );
    }
    Ok(Some(wanted))
}

/// With `--verbose`: what was read and what was detected (also for the kernels `check` and
/// `diff` rebuild).
pub fn describe(result: &dump::Dump) {
    super::info(format_args!(
        "release {}",
        result.release().as_deref().unwrap_or("unknown")
    ));
    match (&result.kernel, &result.located.image, &result.cached_image) {
        (Some(k), Some(image), _) => super::info(image_description(k, image)),
        (None, Some(_), Some(facts)) => super::info(format_args!(
            "{}: unchanged since the state of --update, not decoded again",
            facts.description
        )),
        _ => super::info("no image read"),
    }
    if result.reused_modules > 0 {
        super::info(format_args!(
            "--update: {} unchanged since the previous run, not read again",
            super::count(result.reused_modules, "module", "modules")
        ));
    }
    if let Some(m) = &result.modules_release {
        super::info(format_args!(
            "modules built for {} (by their {})",
            m.release, m.evidence
        ));
    }
    let index = &result.index_use;
    match (&index.fallback, &index.symbols) {
        (Some(why), _) if !result.located.modules.is_empty() => super::info(format_args!(
            "read every module, not using depmod's symbol index: {why}"
        )),
        (None, Some(symbols)) => super::info(format_args!(
            "{}: left {} that export nothing unread",
            symbols.display(),
            super::count(index.skipped, "module", "modules")
        )),
        _ => {}
    }
    for dir in &result.located.modules {
        let files = result
            .module_files
            .iter()
            .filter(|f| result.located.modules.get(f.folder) == Some(dir))
            .count();
        super::info(format_args!(
            "modules {} ({})",
            dir.display(),
            super::count(files, "file", "files")
        ));
    }
    super::info(format_args!(
        "{} from vmlinux, {} in total",
        super::count(result.vmlinux_rows, "export", "exports"),
        result.table.entries.len()
    ));
}

/// How many shadowed modules are listed one by one before "… and N more" (all with -v).
const SHADOWED_LIST: usize = 20;

/// What the walk of the modules folders found besides the modules: broken links and depmod.d
/// lines (warnings), the copies of a module that do not count (notes), what was skipped and
/// what depmod's index does not list (with -v). Also for the kernels `check` and `diff`
/// rebuild.
pub fn report_tree(result: &dump::Dump, all_copies: bool) {
    for warning in &result.warnings {
        super::warn(warning);
    }
    for path in &result.depmod_config {
        super::info(format_args!("depmod.d: read {}", path.display()));
    }
    for index in &result.indexes {
        super::info(format_args!(
            "checked the modules found against depmod's index {}",
            index.display()
        ));
    }
    let verbose = super::verbosity() >= 2;
    for (i, s) in result.shadowed.iter().enumerate() {
        if i == SHADOWED_LIST && !verbose {
            super::note(format_args!(
                "… and {} more modules found more than once (-v lists them)",
                result.shadowed.len() - SHADOWED_LIST
            ));
            break;
        }
        let others: Vec<&str> = s.shadowed.iter().map(|f| f.rel.as_str()).collect();
        let why = match &s.reason {
            Reason::Override(file, line) => format!("override at {}:{line}", file.display()),
            Reason::Search(Some((file, line))) => {
                format!("search order at {}:{line}", file.display())
            }
            Reason::Search(None) => "depmod's default order: updates/ first".into(),
            Reason::Index(index) => format!("depmod's index {} lists it", index.display()),
            Reason::WalkOrder => "the copies rank equal for depmod: which one it keeps depends on the order the file system lists folders in; chosen here by meeting them in path order".into(),
        };
        let message = format!(
            "module {} is installed {} times: {} is the one modprobe loads ({why}); {} {}",
            s.module,
            s.shadowed.len() + 1,
            s.chosen.rel,
            if all_copies {
                "--all-copies also read"
            } else {
                "left out"
            },
            others.join(", ")
        );
        match s.reason {
            Reason::WalkOrder => super::warn(message),
            _ => super::note(message),
        }
        if let (Some(configured), Reason::Index(index)) = (&s.configured, &s.reason) {
            super::warn(format_args!(
                "{} lists {} for module {}, but the depmod.d configuration chooses {}: the index's copy counts, as modprobe loads it until depmod runs again",
                index.display(),
                s.chosen.rel,
                s.module,
                configured.rel
            ));
        }
    }
    for skipped in &result.skipped {
        match skipped {
            Skipped::Excluded(path) => super::info(format_args!(
                "skipped {} (depmod does not read it either)",
                path.display()
            )),
            Skipped::AlreadyRead { path, first } => super::info(format_args!(
                "skipped {}: the same folder was read as {}",
                path.display(),
                first.display()
            )),
        }
    }
    if !result.unlisted.is_empty() {
        let names: Vec<&str> = result.unlisted.iter().map(|f| f.rel.as_str()).collect();
        super::info(format_args!(
            "{} not in depmod's index (installed after depmod last ran: modprobe does not find {} by name): {}",
            super::count(names.len(), "module is", "modules are"),
            if names.len() == 1 { "it" } else { "them" },
            names.join(", ")
        ));
    }
}
