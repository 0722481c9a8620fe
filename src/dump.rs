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
use crate::update;

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
    /// Leave unread the modules depmod's index says export nothing ([`crate::depmod::skip`]),
    /// when the index can be trusted for that; the table is the same. Ignored (everything is
    /// read) with [`Options::read_imports`]. See [`Dump::index_use`].
    pub use_index: bool,
    /// What a previous run read (`dump --update`): an image and module files that are the same
    /// as then are taken from it instead of being read ([`crate::update`]). Used only when an
    /// image is located (its facts decide the column order).
    pub reuse: Option<Arc<update::State>>,
    /// Record each file's identity before it is read ([`Dump::image_id`],
    /// [`Dump::module_ids`]), for a state to leave for the next run.
    pub keep_state: bool,
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
            use_index: false,
            reuse: None,
            keep_state: false,
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
    /// How depmod's symbol index was used to leave modules unread.
    pub index_use: IndexUse,
    /// The image's facts, when [`Options::reuse`] had them for the same image: it was not
    /// decoded again, and [`Dump::kernel`] is `None`.
    pub cached_image: Option<update::ImageFacts>,
    /// The image's identity before it was read ([`Options::keep_state`]), or the reused one.
    pub image_id: Option<update::FileId>,
    /// How many lines of [`Dump::table`] are vmlinux's (the first ones).
    pub vmlinux_rows: usize,
    /// Per [`Dump::module_files`]: the range of [`Dump::table`] lines it gave (empty for a module
    /// left unread because depmod's index says it exports nothing), `None` when it could not be
    /// read.
    pub module_spans: Vec<Option<std::ops::Range<usize>>>,
    /// Per [`Dump::module_files`]: the release its vermagic names, when read.
    pub module_vermagic: Vec<Option<String>>,
    /// Per [`Dump::module_files`]: its identity before it was read ([`Options::keep_state`]).
    pub module_ids: Vec<Option<update::FileId>>,
    /// Modules taken from [`Options::reuse`] instead of being read.
    pub reused_modules: usize,
}

/// How depmod's symbol index served a dump ([`Options::use_index`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexUse {
    /// The symbol index consulted (`modules.symbols.bin` or `modules.symbols`).
    pub symbols: Option<PathBuf>,
    /// Modules left unread: the index says they export nothing.
    pub skipped: usize,
    /// Why every module was read, when the index could not be used.
    pub fallback: Option<depmod::skip::Fallback>,
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
        if let (None, Some(facts)) = (&self.kernel, &self.cached_image) {
            return facts.modversions;
        }
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
        let (Some(image), Some(modules), Some(dir)) = (
            &self.located.image,
            &self.modules_release,
            self.located.modules_dir(),
        ) else {
            return None;
        };
        // The image read, or the facts kept of it by the previous run (`--update`).
        let image_release = match (&self.kernel, &self.cached_image) {
            (Some(kernel), _) => kernel.release(),
            (None, Some(facts)) => facts.release.clone(),
            (None, None) => None,
        }?;
        (image_release != modules.release).then(|| Error::ReleaseMismatch {
            image: image.clone(),
            image_release,
            modules: dir.to_path_buf(),
            modules_release: modules.release.clone(),
            evidence: modules.evidence,
        })
    }

    /// The column order the kernel's own modpost reads ([`Columns::for_kernel`]: by its layout,
    /// the image's, else the modules', and its release), or as the reused image's facts say.
    pub fn columns(&self) -> Columns {
        match (&self.kernel, &self.cached_image) {
            (None, Some(facts)) => facts
                .columns
                .as_deref()
                .and_then(update::columns_from)
                .unwrap_or_default(),
            _ => Columns::for_kernel(self.layout(), self.release().as_deref()),
        }
    }

    /// The release of the kernel: its image's banner, else the located release.
    pub fn release(&self) -> Option<String> {
        self.kernel
            .as_ref()
            .and_then(KernelExports::release)
            .or_else(|| self.cached_image.as_ref().and_then(|f| f.release.clone()))
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
    let cached_image = match (&options.reuse, &located.image, &early) {
        (Some(state), Some(image), None) => state.image_for(image).cloned(),
        _ => None,
    };
    let image_id = match (&cached_image, &located.image) {
        (Some(cached), _) => Some(cached.file.clone()),
        (None, Some(image)) if options.keep_state => update::FileId::of(image),
        _ => None,
    };
    let image_busy =
        AtomicBool::new(early.is_none() && located.image.is_some() && cached_image.is_none());
    // The image decodes on one thread while another walks the modules folders and reads the
    // modules: the walk itself (a stat of every folder) is hidden behind the decode too.
    let (kernel, modules) = rayon::join(
        || -> Result<Option<KernelExports>> {
            let kernel = match (early, &located.image) {
                (Some(kernel), _) => Some(kernel),
                // The same image as the previous run's: not decoded again.
                (None, Some(_)) if cached_image.is_some() => None,
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
    let mut dump = assemble(located, kernel, cached_image.as_ref(), modules);
    dump.cached_image = cached_image.map(|c| c.facts);
    dump.image_id = image_id;
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
    /// Indices into `found` of the copies that count, with each one's result (`None`: left
    /// unread, depmod's index says it exports nothing).
    read: Vec<(usize, Got)>,
    index_use: IndexUse,
    /// Per entry of `read`: the file's identity before it was read ([`Options::keep_state`]).
    ids: Vec<Option<update::FileId>>,
    failures: Vec<Error>,
    warnings: Vec<Error>,
    skipped: Vec<Skipped>,
    resolution: depmod::Resolution,
    indexes: Vec<PathBuf>,
    depmod_config: Vec<PathBuf>,
}

/// What became of one module file that counts.
enum Got {
    /// Left unread: depmod's index says it exports nothing.
    Unread,
    /// Read, or failed to.
    Read(Result<ReadModule>),
    /// Taken from the previous run's state, unchanged since.
    Cached(update::ModuleState),
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
    let mut index_error = None;
    for dir in &located.modules {
        match depmod::index::read(dir) {
            Ok(index) => indexes.push(index),
            Err(e) => {
                index_error = Some(e.to_string());
                out.failures.push(e);
                indexes.push(None);
            }
        }
    }
    out.indexes = indexes.iter().flatten().map(|ix| ix.path.clone()).collect();
    let folders: Vec<(&depmod::Config, Option<&depmod::Index>)> =
        indexes.iter().map(|ix| (&config, ix.as_ref())).collect();
    out.resolution = depmod::resolve(&out.found, &folders);
    let listed_missing = !out.resolution.missing.is_empty();
    out.failures.append(&mut out.resolution.missing);
    let chosen: Vec<usize> = (0..out.found.len())
        .filter(|&i| options.all_copies || out.resolution.keep[i])
        .collect();
    let files: Vec<ModuleFile> = chosen.iter().map(|&i| out.found[i].clone()).collect();
    let trust = Trust {
        walks: walks.len(),
        index: indexes.first().and_then(Option::as_ref),
        index_error,
        listed_missing,
        copies: out.resolution.shadowings.first().map(|s| s.module.clone()),
    };
    let mut skip = vec![false; files.len()];
    match plan_skips(options, located, &trust, &files) {
        Ok((plan, symbols)) => {
            skip = plan;
            out.index_use.symbols = Some(symbols);
        }
        Err(fallback) => out.index_use.fallback = Some(fallback),
    }
    // Unchanged since the previous run (`dump --update`): taken from its state. Only with an
    // image, whose facts (not the modules') then decide the column order.
    let cached: Vec<Option<update::ModuleState>> = match (&options.reuse, &located.image) {
        (Some(state), Some(_)) => {
            let map = state.modules_by_path();
            files
                .iter()
                .map(|f| state.module_for(&map, &f.path, &f.name).cloned())
                .collect()
        }
        _ => vec![None; files.len()],
    };
    let not_now: Vec<bool> = (0..files.len())
        .map(|i| skip[i] || cached[i].is_some())
        .collect();
    out.ids = files
        .iter()
        .zip(&cached)
        .map(|(f, c)| match c {
            Some(c) => Some(c.file.clone()),
            None if options.keep_state => update::FileId::of(&f.path),
            None => None,
        })
        .collect();
    let mut results = read_files(options, &files, &not_now, image_busy);
    // Which release the modules are built for is the most common vermagic: modules of several
    // releases make the ones not read count.
    let cached_releases = cached
        .iter()
        .flatten()
        .filter_map(|c| c.vermagic.as_deref());
    if skip.contains(&true) && vermagic_releases(&results, cached_releases) > 1 {
        let rest: Vec<bool> = (0..files.len())
            .map(|i| !(skip[i] && cached[i].is_none()))
            .collect();
        for (slot, more) in results
            .iter_mut()
            .zip(read_files(options, &files, &rest, image_busy))
        {
            if more.is_some() {
                *slot = more;
            }
        }
        skip = vec![false; files.len()];
        out.index_use.fallback = Some(depmod::skip::Fallback::MixedVermagic);
    }
    out.index_use.skipped = (0..files.len())
        .filter(|&i| skip[i] && cached[i].is_none())
        .count();
    let got = results
        .into_iter()
        .zip(cached)
        .map(|(read, cached)| match (read, cached) {
            (Some(read), _) => Got::Read(read),
            (None, Some(cached)) => Got::Cached(cached),
            (None, None) => Got::Unread,
        });
    out.read = chosen.into_iter().zip(got).collect();
    // A module renamed or removed while its folder was listed was not read: say so.
    for walk in &walks {
        out.failures.extend(walk.changes());
    }
    Ok(out)
}

/// What the modules folder's depmod index looked like, for [`plan_skips`].
struct Trust<'a> {
    /// Walks made: one per modules folder and depmod.d `external` folder.
    walks: usize,
    /// The first folder's `modules.dep[.bin]`.
    index: Option<&'a depmod::Index>,
    /// Why an index could not be read.
    index_error: Option<String>,
    /// The index lists modules the tree lacks.
    listed_missing: bool,
    /// A module found more than once.
    copies: Option<String>,
}

/// Which of `files` need not be read, by depmod's symbol index, and the index file; or why
/// every module must be read.
fn plan_skips(
    options: &Options,
    located: &Located,
    trust: &Trust,
    files: &[ModuleFile],
) -> std::result::Result<(Vec<bool>, PathBuf), depmod::skip::Fallback> {
    use depmod::skip::Fallback;
    if !options.use_index {
        return Err(Fallback::NotAsked(
            "not asked to (--no-index; check, diff and weak-modules read every module)",
        ));
    }
    if options.read_imports {
        return Err(Fallback::NotAsked("every module's imports are read"));
    }
    if options.all_copies {
        return Err(Fallback::AllCopies);
    }
    let ([dir], 1) = (located.modules.as_slice(), trust.walks) else {
        return Err(Fallback::SeveralFolders);
    };
    if let Some(e) = &trust.index_error {
        return Err(Fallback::Unreadable(e.clone()));
    }
    let index = trust.index.ok_or(Fallback::NoDepIndex)?;
    if trust.listed_missing {
        return Err(Fallback::ListedMissing);
    }
    if let Some(module) = &trust.copies {
        return Err(Fallback::Copies(module.clone()));
    }
    let exporters = depmod::symbols::read(dir)
        .map_err(|e| Fallback::Unreadable(e.to_string()))?
        .ok_or(Fallback::NoSymbolIndex)?;
    let order = modtree::read_modules_order(dir);
    let skip = depmod::skip::plan(dir, index, &exporters, files, &order)?;
    Ok((skip, exporters.path))
}

/// Read the `files` not marked in `skip` (in parallel); `None` for those marked.
fn read_files(
    options: &Options,
    files: &[ModuleFile],
    skip: &[bool],
    image_busy: &AtomicBool,
) -> Vec<Option<Result<ReadModule>>> {
    let wanted: Vec<ModuleFile> = files
        .iter()
        .zip(skip)
        .filter(|(_, &s)| !s)
        .map(|(f, _)| f.clone())
        .collect();
    let progress = options.progress.as_deref();
    if let Some(p) = progress {
        p.modules_total.fetch_add(wanted.len(), Ordering::Relaxed);
    }
    let read_imports = options.read_imports;
    let mut results = modtree::read_modules_with(
        &wanted,
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
    )
    .into_iter();
    skip.iter()
        .map(|&s| if s { None } else { results.next() })
        .collect()
}

/// How many different releases the vermagic of the modules read (and `cached`) names.
fn vermagic_releases<'a>(
    results: &'a [Option<Result<ReadModule>>],
    cached: impl Iterator<Item = &'a str>,
) -> usize {
    results
        .iter()
        .flatten()
        .filter_map(|r| r.as_ref().ok().and_then(|m| m.release.as_deref()))
        .chain(cached)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
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

/// What a module must share with its kernel to belong to it ([`check_against_kernel`]): kept
/// in `--update`'s state, so that a module re-read next to an image not decoded again is
/// checked as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KernelShape {
    /// Byte order.
    pub endian: Endian,
    /// Word size, when the kernel shows it ([`KernelExports::certain_class`]).
    pub class: Option<Class>,
    /// Architecture, when the image names it.
    pub arch: Option<Arch>,
    /// vmlinux's export-table layout.
    pub layout: TableLayout,
}

impl KernelShape {
    /// The shape of a kernel read.
    pub fn of(kernel: &KernelExports) -> Self {
        KernelShape {
            endian: kernel.endian,
            class: kernel.certain_class(),
            arch: kernel.image.arch,
            layout: kernel.vmlinux.layout,
        }
    }
}

/// Read the exports of the module `bytes` (an uncompressed `.ko`) as `dump` does for
/// `kernel`: its tables ([`module::read_elf`], which checks what the file can vouch for
/// itself), then what only the kernel can tell ([`check_against_kernel`]).
pub fn read_module_for(kernel: &KernelExports, bytes: &[u8]) -> Result<ModuleExports, Problem> {
    let elf = Elf::parse_module(bytes)?;
    let exports = module::read_elf(&elf)?;
    check_against_kernel(ModuleHeader::of(&elf), &exports, &KernelShape::of(kernel))?;
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
    kernel: &KernelShape,
) -> Result<(), Problem> {
    if header.endian != kernel.endian {
        return Err(Problem::ForeignModule(format!(
            "a {} module for a {} kernel",
            endian_name(header.endian),
            endian_name(kernel.endian)
        )));
    }
    if let Some(class) = kernel.class {
        if header.class != class {
            return Err(Problem::ForeignModule(format!(
                "a {}-bit module for a {}-bit kernel",
                header.class.word_size() * 8,
                class.word_size() * 8
            )));
        }
    }
    if let (Some(theirs), mine) = (kernel.arch, Arch::from_elf_machine(header.machine)) {
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
        if let Some(why) = layout.disagreement(&kernel.layout, header.class.word_size()) {
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
fn assemble(
    located: Located,
    kernel: Option<KernelExports>,
    cached_image: Option<&update::ImageState>,
    modules: Modules,
) -> Dump {
    let mut table = Table::default();
    if let Some(kernel) = &kernel {
        table.extend_from_exports("vmlinux", &kernel.vmlinux.exports);
    }
    if let Some(cached) = cached_image {
        // Checked when the state was loaded.
        table
            .entries
            .extend(update::entries(&cached.rows, "vmlinux").unwrap_or_default());
    }
    let vmlinux_rows = table.entries.len();
    let Modules {
        found,
        read,
        mut failures,
        warnings,
        skipped,
        resolution,
        indexes,
        depmod_config,
        index_use,
        ids,
    } = modules;
    let mut module_spans = Vec::with_capacity(read.len());
    let mut module_vermagic = Vec::with_capacity(read.len());
    // What every module read must share with the kernel: the image read, or the one whose
    // facts the previous run kept.
    let shape = kernel
        .as_ref()
        .map(KernelShape::of)
        .or_else(|| cached_image.and_then(|c| c.facts.shape));
    let mut reused_modules = 0;
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
        let result = match (result, &shape) {
            (Got::Read(Ok(m)), Some(shape)) => Got::Read(
                check_against_kernel(m.header, &m.exports, shape)
                    .map(|()| m)
                    .map_err(|p| Error::format(&file.path, p)),
            ),
            (other, _) => other,
        };
        let start = table.entries.len();
        let (span, release) = match result {
            // Left unread: depmod's index, trusted, says it exports nothing; an empty span, so
            // that a state kept for `--update` remembers it as long as the file stays the same.
            Got::Unread => (Some(start..start), None),
            Got::Cached(cached) => {
                reused_modules += 1;
                table
                    .entries
                    .extend(update::entries(&cached.rows, &file.name).unwrap_or_default());
                if let Some(release) = &cached.vermagic {
                    *vermagic.entry(release.clone()).or_insert(0) += 1;
                }
                (Some(start..table.entries.len()), cached.vermagic)
            }
            Got::Read(Ok(m)) => {
                table.extend_from_exports(&file.name, &m.exports.exports);
                module_layout = module_layout.or(m.exports.layout);
                if let Some(info) = m.imports {
                    imports.push((file.name.clone(), info));
                }
                let release = m.release;
                if let Some(release) = &release {
                    *vermagic.entry(release.clone()).or_insert(0) += 1;
                }
                (Some(start..table.entries.len()), release)
            }
            Got::Read(Err(e)) => {
                read_failures.push(e);
                (None, None)
            }
        };
        module_spans.push(span);
        module_vermagic.push(release);
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
        index_use,
        cached_image: None,
        image_id: None,
        vmlinux_rows,
        module_spans,
        module_vermagic,
        module_ids: ids,
        reused_modules,
    }
}
