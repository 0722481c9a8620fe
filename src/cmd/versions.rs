//! `symvers versions`: the symbol versions a module was built against.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::json;

use symvers::modinfo::{self, ModuleInfo, VersionFormat};
use symvers::{modtree, Error};

/// Text after `symvers versions --help`.
pub const AFTER_HELP: &str = "\
Prints `0xCRC<TAB>symbol` for each symbol version the kernel would check: the 6.14+ extended table
(__version_ext_crcs/__version_ext_names) when the module has one, else __versions. Like
`modprobe --show-modversions`, for modules of any architecture and any compression.
With several modules, each list is preceded by a `# FILE` line.

Examples:
  symvers versions /lib/modules/$(uname -r)/kernel/lib/crc-itu-t.ko.xz
  symvers versions --table basic --format json hello.ko

Exit codes:
  0  success
  2  error (bad usage, a missing or unreadable file, a file that is not a module)";

/// Which version table to print.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum WhichTable {
    /// The one the kernel checks: extended when present, else __versions.
    Effective,
    /// `__versions` (struct modversion_info records).
    Basic,
    /// `__version_ext_crcs` + `__version_ext_names` (6.14+).
    Extended,
}

/// Output format of `versions`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Format {
    /// `0xCRC<TAB>symbol` lines.
    Text,
    /// One JSON document with every table of every module.
    Json,
}

/// Arguments of `symvers versions`.
#[derive(Args, Debug)]
pub struct VersionsArgs {
    /// Module files (.ko, .ko.xz, .ko.zst, .ko.gz, …).
    #[arg(required = true, value_name = "MODULE")]
    pub modules: Vec<PathBuf>,
    /// Which table to print.
    #[arg(long, value_enum, default_value = "effective")]
    pub table: WhichTable,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Limit on the decompressed size of one module, in MiB.
    #[arg(long, value_name = "MIB", default_value = super::MODULE_LIMIT_MIB, value_parser = super::mebibytes)]
    pub module_limit: u64,
}

/// Read one module file's loader-facing information.
pub fn read_info(path: &std::path::Path, limit: u64) -> Result<ModuleInfo, Error> {
    let mut buffer = Vec::new();
    modtree::with_module_bytes(path, limit, &mut buffer, |elf| {
        modinfo::read(elf).map_err(|p| Error::format(path, p))
    })
}

/// Run `symvers versions`.
pub fn run(args: VersionsArgs) -> Result<ExitCode, super::CliError> {
    let mut infos = Vec::with_capacity(args.modules.len());
    for path in &args.modules {
        infos.push(read_info(path, args.module_limit)?);
    }
    for (path, info) in args.modules.iter().zip(&infos) {
        describe(path, info);
        if args.format == Format::Text {
            if let Some(why) = empty_answer(info, args.table) {
                super::note(format_args!("{}: {why}", path.display()));
            }
        }
    }
    let text = match args.format {
        Format::Text => {
            let mut out = String::new();
            for (path, info) in args.modules.iter().zip(&infos) {
                if args.modules.len() > 1 {
                    out.push_str(&format!("# {}\n", path.display()));
                }
                for v in chosen(info, args.table) {
                    out.push_str(&format!("0x{:08x}\t{}\n", v.crc, v.name));
                }
            }
            out
        }
        Format::Json => {
            let modules: Vec<_> = args
                .modules
                .iter()
                .zip(&infos)
                .map(|(path, info)| {
                    json!({
                        "path": path,
                        "class": info.class,
                        "endian": info.endian,
                        "version_table": info.version_format(),
                        "versions": info.versions,
                        "ext_versions": info.ext_versions,
                        "vermagic": info.get("vermagic"),
                    })
                })
                .collect();
            let doc = json!({ "schema": crate::report::SCHEMA_VERSION, "modules": modules });
            crate::report::json_text(&doc)
        }
    };
    super::emit(None, text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The records `--table` chooses.
fn chosen(info: &ModuleInfo, table: WhichTable) -> &[modinfo::Version] {
    match table {
        WhichTable::Effective => info.effective_versions(),
        WhichTable::Basic => &info.versions,
        WhichTable::Extended => info.ext_versions.as_deref().unwrap_or(&[]),
    }
}

/// Why the chosen table prints nothing, or `None` when it has records.
fn empty_answer(info: &ModuleInfo, table: WhichTable) -> Option<String> {
    if !chosen(info, table).is_empty() {
        return None;
    }
    let basic = info.versions.len();
    Some(match (table, info.version_format()) {
        (_, VersionFormat::None) => "no symbol versions: the module has no __versions section (built without CONFIG_MODVERSIONS, or stripped of it); a kernel with CONFIG_MODVERSIONS refuses it unless CONFIG_MODULE_FORCE_LOAD".into(),
        (WhichTable::Extended, _) => format!(
            "no extended version table (__version_ext_crcs/__version_ext_names, written by 6.14+ kernels with CONFIG_EXTENDED_MODVERSIONS); its __versions has {} (--table basic)",
            super::count(basic, "record", "records")
        ),
        (WhichTable::Basic, VersionFormat::Extended) => format!(
            "__versions is empty or absent; the kernel checks the extended table instead, which has {} (--table extended)",
            super::count(info.effective_versions().len(), "record", "records")
        ),
        _ => "the version table is there but empty: the module imports no versioned symbol".into(),
    })
}

/// With `--verbose`: which tables a module has.
fn describe(path: &std::path::Path, info: &ModuleInfo) {
    super::info(format_args!(
        "{}: {} {}, version table the kernel checks: {} (__versions: {}; extended: {})",
        path.display(),
        super::json_name(&info.class),
        super::json_name(&info.endian),
        super::json_name(&info.version_format()),
        super::count(info.versions.len(), "record", "records"),
        match &info.ext_versions {
            Some(ext) => super::count(ext.len(), "record", "records"),
            None => "none".into(),
        }
    ));
}
