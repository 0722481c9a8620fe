//! `symvers dump`: the whole pipeline from an installed kernel to a Module.symvers table.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::depmod::{self, Reason};
use crate::elf::{Class, Elf, Endian};
use crate::error::{Error, Problem, Result};
use crate::exports::module::{self, ModuleExports};
use crate::exports::{CrcStorage, TableLayout};
use crate::image::Arch;
use crate::kernel::{self, KernelExports};
use crate::locate::{Located, Source};
use crate::modinfo::{self, ModuleImports};
use crate::modtree::{self, ModuleFile, Skipped, WalkOptions};
use crate::symvers::{Columns, Table};

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
    /// Read only the modules: no image is needed. One that is given or found is still read (for
    /// its release, CRC storage and column order); its exports are in the table, for the caller
    /// to drop ([`crate::restrict::retain_modules`]). For module sets that come without an image
    /// (Android's `vendor_dlkm`).
    pub modules_only: bool,
    /// Keep every copy of a module found more than once, not only the one modprobe loads (for
    /// auditing what is installed; the table may then list a symbol twice).
    pub all_copies: bool,
    /// Read an image and modules of different releases together instead of refusing them.
    pub allow_release_mismatch: bool,
    /// Counters updated while the dump runs, for a progress display in another thread.
    pub progress: Option<Arc<Progress>>,
    /// Also read every module's imported symbol versions and namespaces, in the same pass
    /// ([`Dump::imports`], for `dump --verify`).
    pub read_imports: bool,
}

/// How far a running [`dump`] has got; every field may be read at any time from any thread.
#[derive(Debug, Default)]
pub struct Progress {
    /// Module files to read (set once the modules folders have been listed).
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
            modules_only: false,
            all_copies: false,
            allow_release_mismatch: false,
            progress: None,
            read_imports: false,
        }
    }
}

/// One module found more than once in a modules folder, and the copy that counts.
#[derive(Debug, Clone)]
pub struct Shadowed {
    /// The module's kmod name (`crc_itu_t`).
    pub module: String,
    /// The copy modprobe loads, whose exports the table has.
    pub chosen: ModuleFile,
    /// The copies it hides (read too with [`Options::all_copies`]).
    pub shadowed: Vec<ModuleFile>,
    /// Why that copy.
    pub reason: Reason,
    /// When depmod's index lists another copy than the depmod.d configuration chooses: the
    /// configuration's choice (the index's counts, as modprobe loads it until depmod runs).
    pub configured: Option<ModuleFile>,
}

/// The release of the modules read, and what says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModulesRelease {
    /// The release.
    pub release: String,
    /// `vermagic` (the first word of most modules' vermagic) or `folder name`.
    pub evidence: &'static str,
}

/// The rebuilt table and what was found on the way.
#[derive(Debug)]
pub struct Dump {
    /// The files read.
    pub located: Located,
    /// The kernel image's exports and format (`None` with [`Options::modules_only`] when there
    /// is no image).
    pub kernel: Option<KernelExports>,
    /// Vmlinux first, then every module in tree order.
    pub table: Table,
    /// The module files read, in tree order (folder by folder, `modules.order` first): the
    /// copies that count, or every copy with [`Options::all_copies`].
    pub module_files: Vec<ModuleFile>,
    /// Module files by compression (`none`, `xz`, …).
    pub module_compressions: BTreeMap<String, usize>,
    /// Modules that could not be read or are missing: unreadable files and folders, modules
    /// depmod's index lists that were not found, folders that changed while they were read.
    pub failures: Vec<Error>,
    /// Problems that lose nothing the system would load: broken symbolic links (depmod skips
    /// them too), depmod.d lines depmod ignores.
    pub warnings: Vec<Error>,
    /// Modules found more than once, with the copy that counts.
    pub shadowed: Vec<Shadowed>,
    /// Folders not read on purpose (`build`, `source`, depmod.d `exclude`, folders reached twice).
    pub skipped: Vec<Skipped>,
    /// The depmod indexes the walk was checked against (`modules.dep.bin` or `modules.dep`).
    pub indexes: Vec<PathBuf>,
    /// Modules found that depmod's index does not list (installed after depmod last ran).
    pub unlisted: Vec<ModuleFile>,
    /// The depmod.d files read.
    pub depmod_config: Vec<PathBuf>,
    /// The release the modules were built for, when known.
    pub modules_release: Option<ModulesRelease>,
    /// Each readable module's name and imports, when [`Options::read_imports`] asked for them.
    pub imports: Vec<(String, ModuleImports)>,
    /// The export-table layout of the first module that exports anything.
    pub module_layout: Option<TableLayout>,
}

impl Dump {
    /// The export-table layout of the kernel: vmlinux's, else (no image read) its modules'.
    pub fn layout(&self) -> Option<TableLayout> {
        self.kernel
            .as_ref()
            .map(|k| k.vmlinux.layout)
            .or(self.module_layout)
    }

    /// True when the kernel has CRCs (CONFIG_MODVERSIONS): vmlinux has CRC tables, or (no image
    /// read) a module that exports anything has them.
    pub fn modversions(&self) -> bool {
        match (&self.kernel, self.module_layout) {
            (Some(kernel), _) => kernel.modversions(),
            (None, Some(layout)) => layout.crcs != CrcStorage::None,
            (None, None) => false,
        }
    }

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

    /// [`Error::ReleaseMismatch`] when the image's banner and the modules (their vermagic, else
    /// their folder's name) name different releases; `None` when they agree or either is
    /// unknown.
    pub fn release_mismatch(&self) -> Option<Error> {
        let (Some(kernel), Some(image), Some(modules), Some(dir)) = (
            &self.kernel,
            &self.located.image,
            &self.modules_release,
            self.located.modules_dir(),
        ) else {
            return None;
        };
        let image_release = kernel.release()?;
        (image_release != modules.release).then(|| Error::ReleaseMismatch {
            image: image.clone(),
            image_release,
            modules: dir.to_path_buf(),
            modules_release: modules.release.clone(),
            evidence: modules.evidence,
        })
    }

    /// The column order the kernel's own modpost reads ([`Columns::for_kernel`]).
    pub fn columns(&self) -> Columns {
        Columns::for_kernel(self.layout(), self.release().as_deref())
    }

    /// The release of the kernel: its image's banner, else the located release.
    pub fn release(&self) -> Option<String> {
        self.kernel
            .as_ref()
            .and_then(KernelExports::release)
            .or_else(|| self.located.release.clone())
    }
}

/// Rebuild the table of the kernel described by `options`. The image is read while the modules
/// are being read. Unreadable modules are collected in [`Dump::failures`], not fatal here.
///
/// Which files: see [`Source::locate`]. An image given without modules folder or release is read
/// first, and its banner's release chooses the modules folder. Images whose names do not say
/// their release are matched by their banner. An image and modules of different releases are
/// an error ([`Error::ReleaseMismatch`]) unless [`Options::allow_release_mismatch`].
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
    let progress = options.progress.as_deref();
    let source = &options.source;
    // An image named without its modules: its own banner says which release's modules go with
    // it (not the running kernel's). It is read first, alone.
    let early = match &source.image {
        Some(image)
            if source.modules.is_empty() && source.release.is_none() && !options.vmlinux_only =>
        {
            let kernel = kernel::read_image(image, options.image_limit)?;
            if let Some(p) = progress {
                p.image_done.store(true, Ordering::Relaxed);
            }
            Some(kernel)
        }
        _ => None,
    };
    let located = locate(options, early.as_ref().and_then(KernelExports::release))?;
    let image_busy = AtomicBool::new(early.is_none() && located.image.is_some());
    // The image decodes on one thread while another walks the modules folders and reads the
    // modules: the walk itself (a stat of every folder) is hidden behind the decode too.
    let (kernel, modules) = rayon::join(
        || -> Result<Option<KernelExports>> {
            let kernel = match (early, &located.image) {
                (Some(kernel), _) => Some(kernel),
                (None, Some(image)) => Some(kernel::read_image(image, options.image_limit)?),
                (None, None) => None,
            };
            image_busy.store(false, Ordering::Relaxed);
            if let Some(p) = progress {
                p.image_done.store(true, Ordering::Relaxed);
            }
            Ok(kernel)
        },
        || read_modules(options, &located, &image_busy),
    );
    let kernel = kernel?;
    let modules = modules?;
    let dump = assemble(located, kernel, modules);
    if let (false, Some(mismatch)) = (options.allow_release_mismatch, dump.release_mismatch()) {
        return Err(mismatch);
    }
    Ok(dump)
}

/// The files of the kernel: as [`Source`] finds them, with `release` (from an image read first)
/// when the user gave none, and an image whose name does not say its release chosen by its
/// banner.
fn locate(options: &Options, release: Option<String>) -> Result<Located> {
    let mut source = options.source.clone();
    if source.release.is_none() {
        source.release = release;
    }
    let mut located = if options.vmlinux_only {
        source.locate_image()?
    } else if options.modules_only {
        source.locate_modules()?
    } else {
        source.locate()?
    };
    if located.image.is_none() && !located.unnamed_images.is_empty() {
        match find_image_by_banner(&located, options.image_limit) {
            Ok(image) => located.image = Some(image),
            // The modules alone need no image.
            Err(_) if options.modules_only => {}
            Err(e) => return Err(e),
        }
    }
    Ok(located)
}

/// Of [`Located::unnamed_images`], the first whose banner names the located release; else an
/// error listing every place searched and the release of each unnamed image.
pub fn find_image_by_banner(located: &Located, limit: u64) -> Result<PathBuf> {
    let mut seen = Vec::new();
    for path in &located.unnamed_images {
        let release = match kernel::image_release(path, limit) {
            Ok(release) => release,
            Err(e) => {
                seen.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        if release.is_some() && release == located.release {
            return Ok(path.clone());
        }
        seen.push(format!(
            "{} is {}",
            path.display(),
            release
                .as_deref()
                .unwrap_or("of no known release (no banner)")
        ));
    }
    Err(Error::NotFound {
        what: format!(
            "kernel image for {} (images whose names do not say their release: {})",
            located.release.as_deref().unwrap_or("the release"),
            seen.join("; ")
        ),
        searched: located.images_searched.clone(),
    })
}

/// What reading the modules folders gave.
#[derive(Default)]
struct Modules {
    /// Every module file found, in tree order.
    found: Vec<ModuleFile>,
    /// Indices into `found` of the files read, with each one's result.
    read: Vec<(usize, Result<ReadModule>)>,
    failures: Vec<Error>,
    warnings: Vec<Error>,
    skipped: Vec<Skipped>,
    resolution: depmod::Resolution,
    indexes: Vec<PathBuf>,
    depmod_config: Vec<PathBuf>,
}

/// Walk the modules folders, decide which copies count, read those, and check that nothing
/// changed or went missing on the way.
fn read_modules(options: &Options, located: &Located, image_busy: &AtomicBool) -> Result<Modules> {
    let mut out = Modules::default();
    if options.vmlinux_only || located.modules.is_empty() {
        return Ok(out);
    }
    let root = options.source.root.clone();
    let mut config = depmod::config::load(
        root.as_deref().unwrap_or(std::path::Path::new("/")),
        located.release.as_deref(),
    );
    out.depmod_config = config.files.clone();
    out.warnings.append(&mut config.warnings);
    let mut walks = Vec::new();
    for (folder, dir) in located.modules.iter().enumerate() {
        let walk_options = WalkOptions {
            root: root.clone(),
            exclude: config.excludes.clone(),
            folder,
            prefix: None,
        };
        walks.push(modtree::walk_modules_with(dir, &walk_options)?);
        // depmod.d `external` folders belong to the release's own modules folder.
        if folder == 0 && options.source.modules.is_empty() {
            for external in &config.externals {
                let host = match &root {
                    Some(root) => crate::locate::under_root(root, external.trim_start_matches('/')),
                    None => PathBuf::from(external),
                };
                if !host.is_dir() {
                    // depmod ignores a missing external folder too.
                    continue;
                }
                let walk_options = WalkOptions {
                    prefix: Some(external.trim_end_matches('/').to_string()),
                    ..walk_options.clone()
                };
                walks.push(modtree::walk_modules_with(&host, &walk_options)?);
            }
        }
    }
    for walk in &mut walks {
        out.found.append(&mut walk.files);
        out.failures.append(&mut walk.failures);
        out.warnings.append(&mut walk.broken_links);
        out.skipped.append(&mut walk.skipped);
    }
    let mut indexes = Vec::new();
    for dir in &located.modules {
        match depmod::index::read(dir) {
            Ok(index) => indexes.push(index),
            Err(e) => {
                out.failures.push(e);
                indexes.push(None);
            }
        }
    }
    out.indexes = indexes.iter().flatten().map(|ix| ix.path.clone()).collect();
    let folders: Vec<(&depmod::Config, Option<&depmod::Index>)> =
        indexes.iter().map(|ix| (&config, ix.as_ref())).collect();
    out.resolution = depmod::resolve(&out.found, &folders);
    out.failures.append(&mut out.resolution.missing);
    let chosen: Vec<usize> = (0..out.found.len())
        .filter(|&i| options.all_copies || out.resolution.keep[i])
        .collect();
    let files: Vec<ModuleFile> = chosen.iter().map(|&i| out.found[i].clone()).collect();
    let progress = options.progress.as_deref();
    if let Some(p) = progress {
        p.modules_total.store(files.len(), Ordering::Relaxed);
    }
    let read_imports = options.read_imports;
    let results = modtree::read_modules_with(
        &files,
        options.module_limit,
        progress.map(|p| &p.modules_done),
        Some(image_busy),
        |path, bytes| {
            let read = || -> Result<_, Problem> {
                // Parsed once for both readers.
                let elf = Elf::parse_module(bytes)?;
                let exports = module::read_elf(&elf)?;
                let imports = read_imports
                    .then(|| modinfo::read_imports(&elf))
                    .transpose()?;
                Ok(ReadModule {
                    exports,
                    imports,
                    header: ModuleHeader::of(&elf),
                    release: vermagic_release(&elf),
                })
            };
            read().map_err(|p| Error::format(path, p))
        },
    );
    out.read = chosen.into_iter().zip(results).collect();
    // A module renamed or removed while its folder was listed was not read: say so.
    for walk in &walks {
        out.failures.extend(walk.changes());
    }
    Ok(out)
}

/// The release a module was built for: the first word of its `.modinfo` `vermagic=` tag
/// (include/linux/vermagic.h: `UTS_RELEASE " " …`).
fn vermagic_release(elf: &Elf) -> Option<String> {
    let (index, _) = elf.section_by_name(".modinfo")?;
    let data = elf.section_data(index).ok()?;
    data.split(|&b| b == 0)
        .find_map(|tag| tag.strip_prefix(b"vermagic="))
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.split_whitespace().next())
        .map(str::to_string)
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

/// One module as read: its exports, its imports when asked for, its header, its vermagic's
/// release.
struct ReadModule {
    exports: ModuleExports,
    imports: Option<ModuleImports>,
    header: ModuleHeader,
    release: Option<String>,
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
                "a module for ELF machine {} ({}) next to a kernel for {}",
                header.machine,
                mine.map_or("unknown", Arch::kbuild_name),
                theirs.kbuild_name()
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

/// The dump from the kernel's exports and the modules read.
fn assemble(located: Located, kernel: Option<KernelExports>, modules: Modules) -> Dump {
    let mut table = Table::default();
    if let Some(kernel) = &kernel {
        table.extend_from_exports("vmlinux", &kernel.vmlinux.exports);
    }
    let Modules {
        found,
        read,
        mut failures,
        warnings,
        skipped,
        resolution,
        indexes,
        depmod_config,
    } = modules;
    let mut read_failures = Vec::new();
    let mut imports = Vec::new();
    let mut module_compressions = BTreeMap::new();
    let mut vermagic: BTreeMap<String, usize> = BTreeMap::new();
    let mut module_files = Vec::with_capacity(read.len());
    let mut module_layout = None;
    for (i, result) in read {
        let file = &found[i];
        *module_compressions
            .entry(modtree::suffix_compression(std::path::Path::new(&file.rel)).to_string())
            .or_insert(0) += 1;
        let result = result.and_then(|m| match &kernel {
            Some(kernel) => check_against_kernel(m.header, &m.exports, kernel)
                .map(|()| m)
                .map_err(|p| Error::format(&file.path, p)),
            None => Ok(m),
        });
        match result {
            Ok(m) => {
                table.extend_from_exports(&file.name, &m.exports.exports);
                module_layout = module_layout.or(m.exports.layout);
                if let Some(info) = m.imports {
                    imports.push((file.name.clone(), info));
                }
                if let Some(release) = m.release {
                    *vermagic.entry(release).or_insert(0) += 1;
                }
            }
            Err(e) => read_failures.push(e),
        }
        module_files.push(file.clone());
    }
    // Modules that could not be read first, then the walk's and the index's findings.
    read_failures.append(&mut failures);
    let shadowed = resolution
        .shadowings
        .iter()
        .map(|s| Shadowed {
            module: s.module.clone(),
            chosen: found[s.chosen].clone(),
            shadowed: s.shadowed.iter().map(|&i| found[i].clone()).collect(),
            reason: s.reason.clone(),
            configured: s.configured.map(|i| found[i].clone()),
        })
        .collect();
    // Most modules' vermagic: RPM's weak-updates/ hold modules of older releases.
    let modules_release = vermagic
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(release, _)| ModulesRelease {
            release,
            evidence: "vermagic",
        })
        .or_else(|| {
            located
                .modules_dir()
                .and_then(crate::locate::release_of_modules_dir)
                .map(|release| ModulesRelease {
                    release,
                    evidence: "folder name",
                })
        })
        .filter(|_| !located.modules.is_empty());
    Dump {
        located,
        kernel,
        table,
        module_files,
        module_compressions,
        failures: read_failures,
        warnings,
        shadowed,
        skipped,
        indexes,
        unlisted: resolution
            .unlisted
            .iter()
            .map(|&i| found[i].clone())
            .collect(),
        depmod_config,
        modules_release,
        imports,
        module_layout,
    }
}
