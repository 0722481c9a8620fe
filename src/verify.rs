//! Can the rebuilt table be trusted? Every installed module recorded, when it was built, the CRC of
//! each symbol it imports (`__versions`); all of them must equal the table's CRC for that symbol.
//! A disagreement means the table was read wrongly, or the modules tree mixes builds.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::modinfo::{self, ModuleImports};
use crate::modtree::{self, ModuleFile};
use crate::symvers::{Entry, Table};

/// One import whose recorded CRC differs from the table's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    /// The importing module (Module.symvers module column form).
    pub module: String,
    /// The symbol.
    pub symbol: String,
    /// The CRC the module recorded.
    pub module_crc: u32,
    /// The CRC in the table.
    pub table_crc: u32,
    /// Who exports it according to the table.
    pub exporter: String,
}

/// One versioned import of a symbol the table does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// The importing module.
    pub module: String,
    /// The symbol.
    pub symbol: String,
    /// The CRC the module recorded.
    pub module_crc: u32,
}

/// One import of a symbol whose namespace, as the table has it, the module does not import:
/// the kernel would refuse the module, so in an installed tree (modpost refuses to build
/// such a module) the namespace was misread or damaged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamespaceNotImported {
    /// The importing module.
    pub module: String,
    /// The symbol.
    pub symbol: String,
    /// The namespace the table gives it.
    pub namespace: String,
    /// Who exports it according to the table.
    pub exporter: String,
}

/// The outcome of cross-checking a table with a modules tree.
#[derive(Debug, Default, Serialize)]
pub struct Verification {
    /// Modules read.
    pub modules: usize,
    /// Modules without any version table (nothing to check).
    pub modules_without_versions: usize,
    /// Versioned imports checked.
    pub imports: usize,
    /// Imports whose CRC equals the table's.
    pub agree: usize,
    /// Imports whose CRC differs.
    pub disagreements: Vec<Disagreement>,
    /// Imports of symbols the table lacks.
    pub missing: Vec<Missing>,
    /// Imports of symbols in a namespace the module does not import.
    pub namespaces: Vec<NamespaceNotImported>,
    /// Modules that could not be read.
    #[serde(serialize_with = "errors_as_strings")]
    pub failures: Vec<Error>,
}

fn errors_as_strings<S: serde::Serializer>(errors: &[Error], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(errors.iter().map(|e| e.to_string()))
}

impl Verification {
    /// True when every checked import agrees and no module failed.
    pub fn is_clean(&self) -> bool {
        self.disagreements.is_empty()
            && self.missing.is_empty()
            && self.namespaces.is_empty()
            && self.failures.is_empty()
    }
}

/// Compare the version tables of one module with `table`'s CRCs, and the namespaces of what
/// it imports with what it may import, adding to `out`.
pub fn verify_module(
    name: &str,
    imports: &ModuleImports,
    table: &HashMap<&str, &Entry>,
    out: &mut Verification,
) {
    out.modules += 1;
    let namespace_ok = |e: &Entry| {
        let ns = e.namespace.as_str();
        ns.is_empty()
            || e.module == name
            || imports.import_ns.iter().any(|i| i == ns)
            || imports
                .in_tree_name
                .as_deref()
                .is_some_and(|n| crate::check::module_namespace_allows(ns, n))
    };
    if imports.versions.is_empty() {
        out.modules_without_versions += 1;
        // Without versions (no CONFIG_MODVERSIONS) the namespaces can still be checked.
        for symbol in &imports.unversioned {
            if let Some(e) = table.get(symbol.as_str()).filter(|e| !namespace_ok(e)) {
                out.namespaces.push(NamespaceNotImported {
                    module: name.to_string(),
                    symbol: symbol.clone(),
                    namespace: e.namespace.to_string(),
                    exporter: e.module.to_string(),
                });
            }
        }
        return;
    }
    for v in &imports.versions {
        out.imports += 1;
        match table.get(v.name.as_str()) {
            Some(e) if e.crc == v.crc => out.agree += 1,
            Some(e) => out.disagreements.push(Disagreement {
                module: name.to_string(),
                symbol: v.name.clone(),
                module_crc: v.crc,
                table_crc: e.crc,
                exporter: e.module.to_string(),
            }),
            None => out.missing.push(Missing {
                module: name.to_string(),
                symbol: v.name.clone(),
                module_crc: v.crc,
            }),
        }
        // An exporter's own versions never name its exports; anything else imported from a
        // namespace must import it (or, in-tree, be named by a `module:` one).
        if let Some(e) = table.get(v.name.as_str()) {
            if !namespace_ok(e) {
                out.namespaces.push(NamespaceNotImported {
                    module: name.to_string(),
                    symbol: v.name.clone(),
                    namespace: e.namespace.to_string(),
                    exporter: e.module.to_string(),
                });
            }
        }
    }
}

/// Read every module of `files` (in parallel on the current rayon pool) and compare its imported
/// CRCs with `table`.
pub fn verify(table: &Table, files: &[ModuleFile], limit: u64) -> Verification {
    let results: Vec<Result<ModuleImports>> = files
        .par_iter()
        .map_init(Vec::new, |buffer, file| {
            modtree::with_module_bytes(&file.path, limit, buffer, |bytes| {
                crate::elf::Elf::parse_module(bytes)
                    .and_then(|elf| modinfo::read_imports(&elf))
                    .map_err(|p| Error::format(&file.path, p))
            })
        })
        .collect();
    let mut infos = Vec::with_capacity(results.len());
    let mut failures = Vec::new();
    for (file, result) in files.iter().zip(results) {
        match result {
            Ok(info) => infos.push((file.name.clone(), info)),
            Err(e) => failures.push(e),
        }
    }
    let mut out = verify_imports(table, &infos);
    out.failures = failures;
    out
}

/// Cross-check `table` with imports already read: (module name, its imports), as
/// [`crate::dump::Dump::imports`] holds them after a dump that read them in the same pass.
pub fn verify_imports(table: &Table, imports: &[(String, ModuleImports)]) -> Verification {
    let map = table.by_symbol();
    let mut out = Verification::default();
    for (name, info) in imports {
        verify_module(name, info, &map, &mut out);
    }
    out
}

/// Where distributions install the Module.symvers of a release: see
/// [`crate::locate::symvers_candidates`].
pub use crate::locate::symvers_candidates;

#[cfg(test)]
mod tests;
