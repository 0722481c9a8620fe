//! `symvers versions`: the symbol versions a module was built against.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::json;

use symvers::modinfo::{self, ModuleInfo};
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
    #[arg(long, value_name = "MIB", default_value_t = modtree::DEFAULT_MODULE_LIMIT >> 20)]
    pub module_limit: u64,
}

/// Read one module file's loader-facing information.
pub fn read_info(path: &std::path::Path, limit_mib: u64) -> Result<ModuleInfo, Error> {
    let mut buffer = Vec::new();
    modtree::with_module_bytes(
        path,
        limit_mib.saturating_mul(1 << 20),
        &mut buffer,
        |elf| modinfo::read(elf).map_err(|p| Error::format(path, p)),
    )
}

/// Run `symvers versions`.
pub fn run(args: VersionsArgs) -> Result<ExitCode, super::CliError> {
    let mut infos = Vec::with_capacity(args.modules.len());
    for path in &args.modules {
        infos.push(read_info(path, args.module_limit)?);
    }
    let text = match args.format {
        Format::Text => {
            let mut out = String::new();
            for (path, info) in args.modules.iter().zip(&infos) {
                if args.modules.len() > 1 {
                    out.push_str(&format!("# {}\n", path.display()));
                }
                let list: &[modinfo::Version] = match args.table {
                    WhichTable::Effective => info.effective_versions(),
                    WhichTable::Basic => &info.versions,
                    WhichTable::Extended => info.ext_versions.as_deref().unwrap_or(&[]),
                };
                for v in list {
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
                        "format": info.version_format(),
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
