//! `symvers info`: what the kernel image and modules folder are made of, without writing a table.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, ValueEnum};
use serde::Serialize;

use symvers::banner::{self, Banner};
use symvers::elf::{Class, Elf, Endian};
use symvers::exports::vmlinux;
use symvers::exports::{CrcStorage, EntryOrder, KsymtabLayout};
use symvers::image::{self, Unwrapped};
use symvers::{kernel, modtree, Error};

use super::SourceArgs;
use crate::report::{ImageFacts, SCHEMA_VERSION};

/// Text after `symvers info --help`.
pub const AFTER_HELP: &str = "\
Examples:
  symvers info                                   # the running kernel
  symvers info --image /boot/vmlinuz-6.1.0-50-arm64 --format json

Reports the image container and compression, the kernel inside (ELF or raw, word size, byte
order), the compiler and linker its banner names (\"Linux version REL (…) (COMPILER, LINKER)\";
build external modules with the same compiler), its export-table layout and sizes, whether it
has CRCs (CONFIG_MODVERSIONS), and the modules folder's files by compression.

Exit codes:
  0  success (also when the exports could not be read: the report says why)
  2  error (bad usage, a missing or unreadable file, an image that does not unwrap)
  4  standard output or standard error could not take the output or a message (closed, a
     broken pipe, a full disk): what was to be said did not all arrive";

/// Output format of `info`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Format {
    /// A short human-readable report.
    Text,
    /// JSON (schema in docs/json.md).
    Json,
}

/// Arguments of `symvers info`.
#[derive(Args, Debug)]
pub struct InfoArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Limit on the decompressed size of the kernel image, in MiB.
    #[arg(long, value_name = "MIB", default_value = super::IMAGE_LIMIT_MIB, value_parser = super::mebibytes)]
    pub image_limit: u64,
    /// Also write the unwrapped kernel bytes (ELF vmlinux or raw image) to FILE, atomically; an
    /// existing FILE with other contents is kept as FILE.orig (or FILE.orig.N).
    #[arg(long, value_name = "FILE")]
    pub extract: Option<std::path::PathBuf>,
    /// Replace the --extract FILE without keeping the old file as FILE.orig.
    #[arg(long, requires = "extract")]
    pub no_backup: bool,
}

/// The kernel's export tables, when they could be read.
#[derive(Serialize)]
struct ExportFacts {
    class: Class,
    endian: Endian,
    layout: KsymtabLayout,
    crc_storage: CrcStorage,
    flags_table: bool,
    /// How the entries of each table are ordered (`by-name` since 3.0, `link-order` before).
    entry_order: EntryOrder,
    modversions: bool,
    /// Export count per kind (`EXPORT_SYMBOL`, `EXPORT_SYMBOL_GPL`, …).
    tables: BTreeMap<&'static str, usize>,
    total: usize,
}

/// What the ELF header of an ELF kernel says.
#[derive(Serialize, Clone, Copy)]
struct ElfHeader {
    class: Class,
    endian: Endian,
    machine: u16,
}

/// Named as in `dump --format json` (`modules_dir`, `counts.module_files`,
/// `counts.module_compressions`).
#[derive(Serialize)]
struct Info<'a> {
    schema: u32,
    /// The release: as located, else the banner's.
    release: Option<String>,
    /// The kernel's banner (init/version.c): release, builder, compiler, linker, version.
    banner: Option<Banner>,
    image: std::path::PathBuf,
    image_size: u64,
    unwrap_ms: f64,
    kernel: ImageFacts<'a>,
    /// ELF header facts, also when the exports cannot be read.
    elf: Option<ElfHeader>,
    exports: Option<ExportFacts>,
    exports_error: Option<String>,
    modules_dir: Option<std::path::PathBuf>,
    module_files: Option<usize>,
    module_compressions: Option<BTreeMap<String, usize>>,
}

/// Run `symvers info`.
pub fn run(args: InfoArgs) -> Result<ExitCode, super::CliError> {
    if args.extract.as_deref() == Some(std::path::Path::new("-")) {
        return Err(super::CliError::Usage(
            "--extract -: standard output carries the report; give --extract a file".into(),
        ));
    }
    super::check_output(args.extract.as_deref())?;
    // `--image` alone describes just that file: no modules folder is searched for.
    let source = args.source.source();
    let limit = args.image_limit;
    let mut located = match (&source.image, source.modules.is_empty()) {
        (Some(_), true) => source.locate_image()?,
        _ => source.locate()?,
    };
    if located.image.is_none() {
        // Only images whose names do not say their release: their banners decide.
        located.image = Some(symvers::dump::find_image_by_banner(&located, limit)?);
    }
    let path = &located
        .image
        .clone()
        .ok_or_else(|| located.image_not_found())?;
    let data = symvers::input::read_regular(path, limit)?;
    super::info(format_args!(
        "image {} ({} bytes){}",
        path.display(),
        data.len(),
        located
            .release
            .as_deref()
            .map_or(String::new(), |r| format!(", release {r}"))
    ));
    let started = Instant::now();
    let unwrapped = image::unwrap(&data, limit).map_err(|p| Error::format(path, p))?;
    let unwrap_ms = crate::report::milliseconds(started.elapsed());
    if let Some(out) = &args.extract {
        super::write_output(Some(out), &unwrapped.bytes, args.no_backup)?;
    }

    // The ELF header's facts are reported even when the exports cannot be read.
    let elf_facts = if unwrapped.info.is_elf {
        Elf::parse(&unwrapped.bytes).ok().map(|elf| ElfHeader {
            class: elf.class,
            endian: elf.endian,
            machine: elf.machine,
        })
    } else {
        None
    };
    let exports = kernel::read_kernel_bytes(&unwrapped.bytes, unwrapped.info.clone()).map(|k| {
        super::info(format_args!(
            "export tables located by {}{}{}",
            super::json_name(&k.tables_located_by),
            k.load_base
                .map_or(String::new(), |b| format!(", load base {b:#x}")),
            if k.relocations > 0 {
                format!(
                    ", after {}",
                    super::count(k.relocations, "RELATIVE relocation", "RELATIVE relocations")
                )
            } else {
                String::new()
            }
        ));
        export_facts(k.class, k.endian, &k.vmlinux)
    });
    let (exports, exports_error) = match exports {
        Ok(e) => (Some(e), None),
        Err(p) => (None, Some(p.to_string())),
    };

    let (module_files, module_compressions) = if located.modules.is_empty() {
        (None, None)
    } else {
        let mut files = Vec::new();
        for (folder, dir) in located.modules.iter().enumerate() {
            let options = modtree::WalkOptions {
                root: source.root.clone(),
                folder,
                ..modtree::WalkOptions::default()
            };
            files.extend(modtree::list_modules_with(dir, &options)?);
        }
        let by_suffix = files
            .iter()
            .map(|f| (modtree::suffix_compression(Path::new(&f.rel)), 1));
        (
            Some(files.len()),
            Some(crate::report::module_compressions(by_suffix)),
        )
    };

    let banner = banner::find(&unwrapped.bytes);
    let info = Info {
        schema: SCHEMA_VERSION,
        // The image's own word first: a folder name may be wrong, the banner is the kernel's.
        release: banner
            .as_ref()
            .map(|b| b.release.clone())
            .or_else(|| located.release.clone()),
        banner,
        image: path.clone(),
        image_size: data.len() as u64,
        unwrap_ms,
        kernel: ImageFacts::from(&unwrapped.info),
        elf: elf_facts,
        exports,
        exports_error,
        modules_dir: located.modules_dir().map(Path::to_path_buf),
        module_files,
        module_compressions,
    };
    let text = match args.format {
        Format::Json => crate::report::json_text(&info),
        Format::Text => text_report(&info, &unwrapped.info),
    };
    super::emit(None, text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn export_facts(class: Class, endian: Endian, v: &vmlinux::VmlinuxExports) -> ExportFacts {
    let mut tables = BTreeMap::new();
    for e in &v.exports {
        *tables.entry(e.kind.as_str()).or_insert(0) += 1;
    }
    ExportFacts {
        class,
        endian,
        layout: v.layout.ksymtab,
        crc_storage: v.layout.crcs,
        flags_table: v.layout.tables.has_flags(),
        entry_order: v.layout.order,
        modversions: v.modversions(),
        tables,
        total: v.exports.len(),
    }
}

fn text_report(info: &Info, k: &Unwrapped) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "image:       {} ({} bytes)",
        info.image.display(),
        info.image_size
    );
    if let Some(rel) = &info.release {
        let _ = writeln!(s, "release:     {rel}");
    }
    match &info.banner {
        Some(b) => {
            let _ = writeln!(s, "compiler:    {}", b.compiler);
            if let Some(linker) = &b.linker {
                let _ = writeln!(s, "linker:      {linker}");
            }
        }
        None => {
            let _ = writeln!(
                s,
                "compiler:    unknown (no \"Linux version\" banner found)"
            );
        }
    }
    let _ = writeln!(s, "container:   {}", image::container_name(k.container));
    for (i, l) in k.layers.iter().enumerate() {
        let how = l.compression.map_or("stored", |c| c.name());
        let _ = writeln!(
            s,
            "  layer {i}:   {} → {how} payload at {:#x}, {} bytes → {} bytes",
            image::container_name(l.container),
            l.payload_offset,
            l.payload_size,
            l.output_size
        );
    }
    let _ = writeln!(
        s,
        "compression: {}",
        k.compression.map_or("none", |c| c.name())
    );
    let kind = match k.kind {
        image::KernelKind::Elf => "ELF vmlinux",
        image::KernelKind::Arm64Image => "raw arm64 Image",
        image::KernelKind::RiscvImage => "raw RISC-V Image",
        image::KernelKind::Raw => "raw memory image",
    };
    let _ = writeln!(s, "kernel:      {kind}, {} bytes", k.kernel_size);
    let (class, endian) = match (&info.exports, info.elf) {
        (Some(e), _) => (Some(e.class), Some(e.endian)),
        (None, Some(h)) => (Some(h.class), Some(h.endian)),
        (None, None) => (k.class_hint, k.endian_hint),
    };
    let _ = writeln!(
        s,
        "arch:        {}, {}, {}",
        k.arch.map_or("unknown", arch_name),
        class.map_or("word size unknown", |c| match c {
            Class::Elf32 => "32-bit",
            Class::Elf64 => "64-bit",
        }),
        endian.map_or("byte order unknown", |e| match e {
            Endian::Little => "little-endian",
            Endian::Big => "big-endian",
        })
    );
    let _ = writeln!(s, "unwrap time: {:.1} ms", info.unwrap_ms);
    match (&info.exports, &info.exports_error) {
        (Some(e), _) => {
            let _ = writeln!(
                s,
                "exports:     {} ({} layout, CRCs {}{}, entries {})",
                e.total,
                super::json_name(&e.layout),
                super::json_name(&e.crc_storage),
                if e.flags_table { ", __kflagstab" } else { "" },
                super::json_name(&e.entry_order)
            );
            for (kind, n) in &e.tables {
                let _ = writeln!(s, "  {kind}: {n}");
            }
            let _ = writeln!(
                s,
                "modversions: {}",
                if e.modversions { "on" } else { "off" }
            );
        }
        (None, Some(err)) => {
            let _ = writeln!(s, "exports:     unavailable: {err}");
        }
        (None, None) => {}
    }
    if let (Some(dir), Some(files), Some(by)) = (
        &info.modules_dir,
        info.module_files,
        &info.module_compressions,
    ) {
        let counts: Vec<String> = by.iter().map(|(c, n)| format!("{n} {c}")).collect();
        let _ = writeln!(
            s,
            "modules:     {} in {} ({})",
            super::count(files, "file", "files"),
            dir.display(),
            counts.join(", ")
        );
    }
    s
}

fn arch_name(a: image::Arch) -> &'static str {
    match a {
        image::Arch::X86 => "x86",
        image::Arch::Arm => "arm",
        image::Arch::Arm64 => "arm64",
        image::Arch::Riscv => "riscv",
        image::Arch::S390 => "s390",
        image::Arch::Mips => "mips",
        image::Arch::Loongarch => "loongarch",
        image::Arch::Powerpc => "powerpc",
    }
}
