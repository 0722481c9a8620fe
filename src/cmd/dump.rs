//! `symvers dump`: write the rebuilt Module.symvers (or its JSON form).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};

use symvers::dump;
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

Exit codes:
  0  success
  1  --verify or --compare-with found a disagreement (the table was still written)
  2  error (bad usage, a missing or unreadable file, input that is not a kernel); nothing written
  3  --keep-going: the table was written, but some modules could not be read";

/// Output format of `dump`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Format {
    /// Module.symvers text.
    Symvers,
    /// JSON records plus what was detected (schema in docs/json.md).
    Json,
}

/// Arguments of `symvers dump`.
#[derive(Args, Debug)]
pub struct DumpArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub release: ReleaseArg,
    /// Write to FILE atomically instead of standard output; an existing FILE with other contents
    /// is kept as FILE.orig (or FILE.orig.N when that exists).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace --output without keeping the old file.
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
    /// Leave vmlinux's exports out of the output. For KBUILD_EXTRA_SYMBOLS: modpost reports
    /// "exported twice" for a vmlinux symbol that is also in the headers tree's Module.symvers.
    #[arg(long, conflicts_with = "vmlinux_only")]
    pub modules_only: bool,
    /// Leave out every symbol that FILE (a Module.symvers, e.g. the headers tree's own) lists.
    /// For KBUILD_EXTRA_SYMBOLS: modpost rejects a symbol listed in both as "exported twice".
    #[arg(long, value_name = "FILE")]
    pub not_in: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "symvers")]
    pub format: Format,
    /// Column order of the Module.symvers text [default: from the kernel: 4col before 5.4,
    /// else 5.6; 3col is for modpost before 2.6.18].
    #[arg(long, value_enum, value_name = "ORDER")]
    pub symvers_format: Option<Columns>,
    /// Write the table of the modules that could be read even if some could not (exit code 3).
    #[arg(long)]
    pub keep_going: bool,
    /// Threads for reading modules (default: the number of cores).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Limit on the decompressed size of the kernel image, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = symvers::image::DEFAULT_IMAGE_LIMIT >> 20)]
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
    #[arg(long, value_name = "MIB", default_value_t = symvers::modtree::DEFAULT_MODULE_LIMIT >> 20)]
    pub module_limit: u64,
}

/// Run `symvers dump`.
pub fn run(args: DumpArgs) -> Result<ExitCode, super::CliError> {
    super::set_jobs(args.jobs)?;
    // Files named by options are read first: a typo should not cost a whole kernel read.
    let wanted = wanted_symbols(&args)?;
    let not_in = match &args.not_in {
        Some(path) => Some(symvers::symvers::read_file(
            path,
            symvers::symvers::FILE_LIMIT,
        )?),
        None => None,
    };
    let progress = Arc::new(dump::Progress::default());
    let options = dump::Options {
        source: args.release.apply(args.source.source()),
        image_limit: args.image_limit.saturating_mul(1 << 20),
        module_limit: args.module_limit.saturating_mul(1 << 20),
        vmlinux_only: args.vmlinux_only,
        progress: Some(Arc::clone(&progress)),
        // --verify checks every module's imports: read them in the same pass as the exports.
        read_imports: args.verify,
    };
    let line = ProgressLine::start(progress);
    let result = dump::dump(&options);
    drop(line);
    let mut result = result?;
    if !args.keep_going {
        result.check_complete()?;
    }
    describe(&result);
    for dup in result.table.duplicates() {
        // Kept in the table (it is what is installed), but modpost and the loader accept only one.
        super::warn(format_args!(
            "{} is exported by more than one module: {} (modpost stops on \"exported twice\" when one is vmlinux; the kernel refuses to load a module whose export is already taken)",
            dup.symbol,
            dup.modules.join(", ")
        ));
    }
    if !result.kernel.modversions() {
        super::warn(format_args!(
            "{}: the kernel was built without CONFIG_MODVERSIONS; writing 0x00000000 CRCs as modpost does",
            result.located.image.display()
        ));
    }
    // Verify and compare the whole table, before the filters below narrow it.
    let mut agrees = true;
    if args.verify {
        agrees &= super::verify::verify_imports(&result)?;
    }
    if let Some(spec) = &args.compare_with {
        if let Some(path) =
            super::verify::compare_target(&result, args.source.root.as_deref(), spec)
        {
            agrees &= super::verify::compare_with(&result, &path)?;
        }
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
                "{} of the symbols asked for are not exported by {scope} (modpost will call them undefined unless another object provides them): {}",
                missing.len(),
                missing.join(", ")
            ));
        }
    }
    if args.modules_only {
        result.table.entries.retain(|e| e.module != "vmlinux");
    }
    if let (Some(path), Some(listed)) = (&args.not_in, &not_in) {
        let listed: BTreeSet<&str> = listed.entries.iter().map(|e| e.symbol.as_str()).collect();
        let before = result.table.entries.len();
        result
            .table
            .entries
            .retain(|e| !listed.contains(e.symbol.as_str()));
        super::info(format_args!(
            "{}: left out {} symbols it lists",
            path.display(),
            before - result.table.entries.len()
        ));
    }
    let text = match args.format {
        Format::Symvers => result.table.to_text(
            args.symvers_format
                .unwrap_or_else(|| Columns::for_layout(result.kernel.vmlinux.layout)),
        ),
        Format::Json => report::dump_json(&result),
    };
    if let Some(path) = &args.output {
        if !args.no_backup {
            if let Some(backup) = symvers::output::backup_existing(path, text.as_bytes())? {
                super::info(format_args!(
                    "kept the previous {} as {}",
                    path.display(),
                    backup.display()
                ));
            }
        }
    }
    super::emit(args.output.as_deref(), text.as_bytes())?;
    if !result.failures.is_empty() {
        for failure in &result.failures {
            eprintln!("symvers: {failure}");
        }
        eprintln!(
            "symvers: {} of {} modules could not be read; the table lacks their exports",
            result.failures.len(),
            result.module_files.len()
        );
    }
    Ok(if !agrees {
        ExitCode::from(1)
    } else if !result.failures.is_empty() {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// The union of `--only-used-by` and `--symbols`, or `None` when neither was given.
fn wanted_symbols(args: &DumpArgs) -> Result<Option<BTreeSet<String>>, Error> {
    if args.only_used_by.is_empty() && args.symbols.is_empty() {
        return Ok(None);
    }
    let mut wanted = BTreeSet::new();
    let limit = args.module_limit.saturating_mul(1 << 20);
    for module in &args.only_used_by {
        let names = symvers::restrict::undefined_symbols_of(module, limit)?;
        super::info(format_args!(
            "{}: {} undefined symbols",
            module.display(),
            names.len()
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

/// With `--verbose`: what was read and what was detected.
fn describe(result: &dump::Dump) {
    let k = &result.kernel;
    super::info(format_args!(
        "release {}",
        result.located.release.as_deref().unwrap_or("unknown")
    ));
    super::info(format_args!(
        "image {} ({}, {}; {} {}, layout {}, CRCs {})",
        result.located.image.display(),
        super::json_name(&k.image.container),
        k.image.compression.map_or("uncompressed", |c| c.name()),
        super::json_name(&k.class),
        super::json_name(&k.endian),
        super::json_name(&k.vmlinux.layout.ksymtab),
        super::json_name(&k.vmlinux.layout.crcs)
    ));
    if let Some(dir) = &result.located.modules {
        super::info(format_args!(
            "modules {} ({} files)",
            dir.display(),
            result.module_files.len()
        ));
    }
    super::info(format_args!(
        "{} exports from vmlinux, {} in total",
        k.vmlinux.exports.len(),
        result.table.entries.len()
    ));
}
