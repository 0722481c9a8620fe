//! `symvers dump`: the whole pipeline from an installed kernel to a Module.symvers table.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::exports::module::ModuleExports;
use crate::kernel::{self, KernelExports};
use crate::locate::{Located, Source};
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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            source: Source::default(),
            image_limit: crate::image::DEFAULT_IMAGE_LIMIT,
            module_limit: modtree::DEFAULT_MODULE_LIMIT,
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
    /// How many module files the tree has.
    pub module_files: usize,
    /// Module files by compression (`none`, `xz`, …).
    pub module_compressions: BTreeMap<String, usize>,
    /// Modules that could not be read.
    pub failures: Vec<Error>,
}

impl Dump {
    /// `Err` listing every failed module when any module could not be read.
    pub fn check_complete(&mut self) -> Result<()> {
        if self.failures.is_empty() {
            return Ok(());
        }
        Err(Error::Modules {
            total: self.module_files,
            failures: std::mem::take(&mut self.failures),
        })
    }
}

/// Rebuild the table of the kernel described by `options`. The image is read while the modules
/// are being read. Unreadable modules are collected in [`Dump::failures`], not fatal here.
pub fn dump(options: &Options) -> Result<Dump> {
    let located = options.source.locate()?;
    let files = match &located.modules {
        Some(dir) => modtree::list_modules(dir)?,
        None => Vec::new(),
    };
    let (kernel, modules) = rayon::join(
        || kernel::read_image(&located.image, options.image_limit),
        || modtree::read_modules(&files, options.module_limit),
    );
    let kernel = kernel?;
    Ok(assemble(located, kernel, &files, modules))
}

fn assemble(
    located: Located,
    kernel: KernelExports,
    files: &[ModuleFile],
    modules: Vec<Result<ModuleExports>>,
) -> Dump {
    let mut table = Table::default();
    table.extend_from_exports("vmlinux", &kernel.vmlinux.exports);
    let mut failures = Vec::new();
    let mut module_compressions = BTreeMap::new();
    for (file, result) in files.iter().zip(modules) {
        let name = file.path.to_string_lossy();
        let compression = ["xz", "zst", "gz", "bz2"]
            .into_iter()
            .find(|ext| name.ends_with(&format!(".{ext}")))
            .unwrap_or("none");
        *module_compressions
            .entry(compression.to_string())
            .or_insert(0) += 1;
        match result {
            Ok(m) => table.extend_from_exports(&file.name, &m.exports),
            Err(e) => failures.push(e),
        }
    }
    Dump {
        located,
        kernel,
        table,
        module_files: files.len(),
        module_compressions,
        failures,
    }
}
