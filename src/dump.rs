//! `symvers dump`: the whole pipeline from an installed kernel to a Module.symvers table.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::elf::{Class, Elf, Endian};
use crate::error::{Error, Problem, Result};
use crate::exports::module::{self, ModuleExports};
use crate::image::Arch;
use crate::kernel::{self, KernelExports};
use crate::locate::{Located, Source};
use crate::modinfo::{self, ModuleImports};
use crate::modtree::{self, ModuleFile};
use crate::symvers::Table;

/// What to read and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the kernel is.
    pub source: Source,
    /// Limit on the decompressed kernel size.
    pub image_limit: u64,
    /// Limit on one module's decompressed size.
    pub module_limit: u64,
    /// Read only the kernel image: the table has vmlinux's exports and no modules folder is
    /// needed (a kernel build folder before `make modules`, or a headers tree for out-of-tree
    /// modules that use nothing from in-tree modules).
    pub vmlinux_only: bool,
    /// Counters updated while the dump runs, for a progress display in another thread.
    pub progress: Option<Arc<Progress>>,
    /// Also read every module's imported symbol versions and namespaces, in the same pass
    /// ([`Dump::imports`], for `dump --verify`).
    pub read_imports: bool,
}

/// How far a running [`dump`] has got; every field may be read at any time from any thread.
#[derive(Debug, Default)]
pub struct Progress {
    /// Module files found (set once the modules folder has been listed).
    pub modules_total: AtomicUsize,
    /// Module files read so far, successfully or not.
    pub modules_done: AtomicUsize,
    /// True once the kernel image has been read.
    pub image_done: AtomicBool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            source: Source::default(),
            image_limit: crate::image::DEFAULT_IMAGE_LIMIT,
            module_limit: modtree::DEFAULT_MODULE_LIMIT,
            vmlinux_only: false,
            progress: None,
            read_imports: false,
        }
    }
}

/// The rebuilt table and what was found on the way.
#[derive(Debug)]
pub struct Dump {
    /// The files read.
    pub located: Located,
    /// The kernel image's exports and format.
    pub kernel: KernelExports,
    /// Vmlinux first, then every module in tree order.
    pub table: Table,
    /// The module files of the tree, in tree order (`modules.order` first).
    pub module_files: Vec<ModuleFile>,
    /// Module files by compression (`none`, `xz`, …).
    pub module_compressions: BTreeMap<String, usize>,
    /// Modules that could not be read.
    pub failures: Vec<Error>,
    /// Each readable module's name and imports, when [`Options::read_imports`] asked for them.
    pub imports: Vec<(String, ModuleImports)>,
}

impl Dump {
    /// `Err` listing every failed module when any module could not be read.
    pub fn check_complete(&mut self) -> Result<()> {
        if self.failures.is_empty() {
            return Ok(());
        }
        Err(Error::Modules {
            total: self.module_files.len(),
            failures: std::mem::take(&mut self.failures),
        })
    }
}

/// Rebuild the table of the kernel described by `options`. The image is read while the modules
/// are being read. Unreadable modules are collected in [`Dump::failures`], not fatal here.
///
/// ```no_run
/// use symvers::dump::{dump, Options};
/// use symvers::locate::Source;
/// use symvers::symvers::Columns;
///
/// let options = Options {
///     source: Source { release: Some("6.1.0-50-amd64".into()), ..Source::default() },
///     ..Options::default()
/// };
/// let mut result = dump(&options)?;
/// result.check_complete()?; // fail if any module could not be read
/// std::fs::write("Module.symvers", result.table.to_text(Columns::Modern)).unwrap();
/// # Ok::<(), symvers::Error>(())
/// ```
pub fn dump(options: &Options) -> Result<Dump> {
    let located = if options.vmlinux_only {
        options.source.locate_image()?
    } else {
        options.source.locate()?
    };
    let progress = options.progress.as_deref();
    let image_busy = AtomicBool::new(true);
    // The image decodes on one thread while another walks the modules folder and reads the
    // modules: the walk itself (a stat of every file) is hidden behind the decode too.
    let (kernel, walked) = rayon::join(
        || {
            let kernel = kernel::read_image(&located.image, options.image_limit);
            image_busy.store(false, Ordering::Relaxed);
            if let Some(p) = progress {
                p.image_done.store(true, Ordering::Relaxed);
            }
            kernel
        },
        || -> Result<_> {
            // A subfolder that cannot be listed is one more failure, not the end of the walk.
            let walk = match (&located.modules, options.vmlinux_only) {
                (Some(dir), false) => modtree::walk_modules(dir)?,
                _ => modtree::Walk::default(),
            };
            if let Some(p) = progress {
                p.modules_total.store(walk.files.len(), Ordering::Relaxed);
            }
            let done = progress.map(|p| &p.modules_done);
            let read_imports = options.read_imports;
            let modules = modtree::read_modules_with(
                &walk.files,
                options.module_limit,
                done,
                Some(&image_busy),
                |path, bytes| {
                    let read = || -> Result<_, Problem> {
                        // Parsed once for both readers.
                        let elf = Elf::parse_module(bytes)?;
                        let exports = module::read_elf(&elf)?;
                        let imports = read_imports
                            .then(|| modinfo::read_imports(&elf))
                            .transpose()?;
                        let header = ModuleHeader::of(&elf);
                        Ok(ReadModule {
                            exports,
                            imports,
                            header,
                        })
                    };
                    read().map_err(|p| Error::format(path, p))
                },
            );
            Ok((walk, modules))
        },
    );
    let (walk, modules) = walked?;
    Ok(assemble(located, kernel?, walk, modules))
}

/// What the ELF header of a module says, to compare with the kernel.
#[derive(Debug, Clone, Copy)]
pub struct ModuleHeader {
    /// 32 or 64 bit.
    pub class: Class,
    /// Byte order.
    pub endian: Endian,
    /// `e_machine`.
    pub machine: u16,
}

impl ModuleHeader {
    /// The header of a parsed module.
    pub fn of(elf: &Elf) -> Self {
        ModuleHeader {
            class: elf.class,
            endian: elf.endian,
            machine: elf.machine,
        }
    }
}

/// Read the exports of the module `bytes` (an uncompressed `.ko`) as `dump` does for
/// `kernel`: its tables ([`module::read_elf`], which checks what the file can vouch for
/// itself), then what only the kernel can tell ([`check_against_kernel`]).
pub fn read_module_for(kernel: &KernelExports, bytes: &[u8]) -> Result<ModuleExports, Problem> {
    let elf = Elf::parse_module(bytes)?;
    let exports = module::read_elf(&elf)?;
    check_against_kernel(ModuleHeader::of(&elf), &exports, kernel)?;
    Ok(exports)
}

/// One module as read: its exports, its imports when asked for, its header.
struct ReadModule {
    exports: ModuleExports,
    imports: Option<ModuleImports>,
    header: ModuleHeader,
}

/// Why the module whose header and exports these are cannot belong to `kernel`, as the kernel
/// alone can tell: its byte order, word size and machine (where the image says them) and the
/// era of its tables ([`TableLayout::disagreement`]). A module of another architecture next
/// to a kernel, or one whose CRCs went missing or are read with the wrong size, would
/// otherwise give plausible lines.
///
/// [`TableLayout::disagreement`]: crate::exports::TableLayout::disagreement
pub fn check_against_kernel(
    header: ModuleHeader,
    exports: &ModuleExports,
    kernel: &KernelExports,
) -> Result<(), Problem> {
    if header.endian != kernel.endian {
        return Err(Problem::ForeignModule(format!(
            "a {} module for a {} kernel",
            endian_name(header.endian),
            endian_name(kernel.endian)
        )));
    }
    if let Some(class) = kernel.certain_class() {
        if header.class != class {
            return Err(Problem::ForeignModule(format!(
                "a {}-bit module for a {}-bit kernel",
                header.class.word_size() * 8,
                class.word_size() * 8
            )));
        }
    }
    if let (Some(theirs), mine) = (kernel.image.arch, Arch::from_elf_machine(header.machine)) {
        if mine != Some(theirs) {
            return Err(Problem::ForeignModule(format!(
                "a module for ELF machine {} ({}) next to a {} kernel",
                header.machine,
                mine.map_or("unknown", arch_name),
                arch_name(theirs)
            )));
        }
    }
    if let Some(layout) = exports.layout {
        if let Some(why) = layout.disagreement(&kernel.vmlinux.layout, header.class.word_size()) {
            return Err(Problem::Exports(format!(
                "its export tables do not fit the kernel's: {why}"
            )));
        }
    }
    Ok(())
}

fn endian_name(endian: Endian) -> &'static str {
    match endian {
        Endian::Little => "little-endian",
        Endian::Big => "big-endian",
    }
}

fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86 => "x86",
        Arch::Arm => "arm",
        Arch::Arm64 => "arm64",
        Arch::Riscv => "riscv",
        Arch::S390 => "s390",
        Arch::Mips => "mips",
        Arch::Loongarch => "loongarch",
        Arch::Powerpc => "powerpc",
    }
}

/// The dump from the kernel's exports and each module as read, in the order of `walk.files`.
fn assemble(
    located: Located,
    kernel: KernelExports,
    walk: modtree::Walk,
    modules: Vec<Result<ReadModule>>,
) -> Dump {
    let mut table = Table::default();
    table.extend_from_exports("vmlinux", &kernel.vmlinux.exports);
    let mut failures = Vec::new();
    let mut imports = Vec::new();
    let mut module_compressions = BTreeMap::new();
    for (file, result) in walk.files.iter().zip(modules) {
        *module_compressions
            .entry(modtree::suffix_compression(&file.path).to_string())
            .or_insert(0) += 1;
        let result = result.and_then(|m| {
            check_against_kernel(m.header, &m.exports, &kernel)
                .map_err(|p| Error::format(&file.path, p))?;
            Ok(m)
        });
        match result {
            Ok(m) => {
                table.extend_from_exports(&file.name, &m.exports.exports);
                if let Some(info) = m.imports {
                    imports.push((file.name.clone(), info));
                }
            }
            Err(e) => failures.push(e),
        }
    }
    // Folders that could not be listed come after the modules that could not be read.
    failures.extend(walk.failures);
    Dump {
        located,
        kernel,
        table,
        module_files: walk.files,
        module_compressions,
        failures,
        imports,
    }
}
