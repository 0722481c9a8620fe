//! Would a module load? The checks of the kernel's module loader, replayed against a symbol table.
//!
//! Order and wording follow kernel/module/main.c and kernel/module/version.c (6.1–6.14):
//! `check_modinfo` compares vermagic, `check_modstruct_version` checks `module_layout`, then
//! `simplify_symbols` → `resolve_symbol` finds each undefined symbol (`find_symbol`, GPL-only
//! exports hidden from proprietary modules), checks its version (`check_version`) and its namespace
//! (`verify_namespace_is_imported`). Messages quote the kernel's own where it has one, so that a
//! user can grep dmesg for them.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::exports::ExportKind;
use crate::modinfo::{ModuleInfo, VersionFormat};
use crate::symvers::{Entry, ExportType, Table};

/// The kernel side of the check.
#[derive(Debug)]
pub struct Kernel<'t> {
    by_symbol: HashMap<&'t str, &'t Entry>,
    /// Modules (and `vmlinux`) that export with CRCs; exports of the others are unversioned.
    versioned_exporters: HashSet<&'t str>,
    /// The kernel's vermagic (`VERMAGIC_STRING`), when known.
    pub vermagic: Option<String>,
}

impl<'t> Kernel<'t> {
    /// The kernel described by `table`. An exporter whose CRCs are all zero is taken as built
    /// without CRCs (modpost writes `0x00000000` then), and its exports as unversioned.
    pub fn new(table: &'t Table, vermagic: Option<String>) -> Self {
        let by_symbol = table.by_symbol();
        let versioned_exporters = table
            .entries
            .iter()
            .filter(|e| e.crc != 0)
            .map(|e| e.module.as_str())
            .collect();
        Kernel {
            by_symbol,
            versioned_exporters,
            vermagic,
        }
    }

    /// True when the kernel has symbol CRCs at all (CONFIG_MODVERSIONS).
    pub fn modversions(&self) -> bool {
        !self.versioned_exporters.is_empty()
    }

    /// The export of `symbol`, if any module or vmlinux exports it.
    pub fn export(&self, symbol: &str) -> Option<&'t Entry> {
        self.by_symbol.get(symbol).copied()
    }

    fn crc_of(&self, entry: &Entry) -> Option<u32> {
        self.versioned_exporters
            .contains(entry.module.as_str())
            .then_some(entry.crc)
    }
}

/// How a check behaves where kernels differ by configuration or distribution patch.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    /// Treat "no symbol version for X" as fatal, as Debian's kernels do (debian/patches
    /// "module: Disable matching missing version CRC"); mainline only warns.
    pub strict_versions: bool,
    /// The kernel has CONFIG_MODULE_FORCE_LOAD: a module without any version table or vermagic
    /// loads (tainted) instead of being refused.
    pub force_load: bool,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The kernel would refuse the module.
    Error,
    /// The kernel loads it but prints a warning or taints itself.
    Warning,
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Issue {
    /// The module's CRC for a symbol differs from the kernel's.
    Disagrees {
        /// The symbol.
        symbol: String,
        /// CRC in the module's version table.
        module_crc: u32,
        /// CRC of the kernel's export.
        kernel_crc: u32,
    },
    /// Nobody exports the symbol.
    UnknownSymbol {
        /// The symbol.
        symbol: String,
    },
    /// The module has no version for a symbol the kernel exports with a CRC.
    NoSymbolVersion {
        /// The symbol.
        symbol: String,
    },
    /// The module has no version table at all, but the kernel checks versions.
    NoVersions,
    /// A GPL-only export used by a module whose license is not GPL-compatible.
    GplOnly {
        /// The symbol.
        symbol: String,
        /// The module's `license=` (`unspecified` when missing).
        license: String,
    },
    /// A module whose license is not GPL-compatible imports an export of type `(unknown)` in
    /// a table written by old modpost: whether it is GPL-only cannot be told.
    UnknownExportType {
        /// The symbol.
        symbol: String,
        /// The module's `license=` (`unspecified` when missing).
        license: String,
    },
    /// A namespaced export used without `import_ns=`.
    NamespaceNotImported {
        /// The symbol.
        symbol: String,
        /// Its namespace.
        namespace: String,
    },
    /// The module's vermagic differs from the kernel's.
    Vermagic {
        /// The module's vermagic (`None` when it has none).
        module: Option<String>,
        /// The kernel's.
        kernel: String,
    },
}

impl Issue {
    /// The kernel's message for this problem (prefixed by the module name in dmesg).
    pub fn message(&self) -> String {
        match self {
            Issue::Disagrees {
                symbol,
                module_crc,
                kernel_crc,
            } => format!(
                "disagrees about version of symbol {symbol} (module 0x{module_crc:08x}, kernel 0x{kernel_crc:08x})"
            ),
            Issue::UnknownSymbol { symbol } => format!("Unknown symbol {symbol}"),
            Issue::NoSymbolVersion { symbol } => format!("no symbol version for {symbol}"),
            Issue::NoVersions => {
                "no symbol versions (__versions) in a kernel with CONFIG_MODVERSIONS: refused unless CONFIG_MODULE_FORCE_LOAD, then tainted".into()
            }
            Issue::GplOnly { symbol, license } => format!(
                "Unknown symbol {symbol}: it is EXPORT_SYMBOL_GPL and the module's license \"{license}\" is not GPL-compatible"
            ),
            Issue::UnknownExportType { symbol, license } => format!(
                "symbol {symbol} has the export type (unknown) in the table: whether the \
                 module's license \"{license}\" may use it (not if it is EXPORT_SYMBOL_GPL) \
                 cannot be checked"
            ),
            Issue::NamespaceNotImported { symbol, namespace } => format!(
                "module uses symbol ({symbol}) from namespace {namespace}, but does not import it."
            ),
            Issue::Vermagic { module: Some(m), kernel } => {
                format!("version magic '{m}' should be '{kernel}'")
            }
            Issue::Vermagic { module: None, .. } => "no version magic".into(),
        }
    }
}

/// One finding with its severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Error (refused) or warning (loads).
    pub severity: Severity,
    /// What.
    #[serde(flatten)]
    pub issue: Issue,
    /// The kernel-style message.
    pub message: String,
}

/// Counts of a module's imports by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Undefined symbols resolved against the table (weak ones included when found).
    pub imports: usize,
    /// Imports whose CRC matched the kernel's.
    pub versions_match: usize,
    /// Imports of exports without a CRC (the kernel skips the version check for them).
    pub unversioned: usize,
}

/// The verdict on one module.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// True when no finding is an error.
    pub would_load: bool,
    /// Which version table the module has.
    pub versions: VersionFormat,
    /// Counts of what passed.
    pub counts: Counts,
    /// Everything that failed or warned, in the loader's order.
    pub findings: Vec<Finding>,
}

/// The kernel's list of GPL-compatible `MODULE_LICENSE` strings (include/linux/license.h,
/// unchanged since 2.6.x apart from "Dual MPL/GPL" in 2.6.11 and "Dual MIT/GPL").
pub const GPL_COMPATIBLE_LICENSES: [&str; 6] = [
    "GPL",
    "GPL v2",
    "GPL and additional rights",
    "Dual BSD/GPL",
    "Dual MIT/GPL",
    "Dual MPL/GPL",
];

/// True when `license` is one of [`GPL_COMPATIBLE_LICENSES`] (exact comparison, as the kernel).
pub fn license_is_gpl_compatible(license: &str) -> bool {
    GPL_COMPATIBLE_LICENSES.contains(&license)
}

/// Undefined symbols the loader resolves by itself, not through the export tables.
/// `.TOC.` is ppc64's TOC base (arch/powerpc/kernel/module_64.c) and `_gp_disp` MIPS's GP
/// (arch/mips/kernel/module.c); neither is exported.
const ARCH_SPECIAL: [&str; 3] = [".TOC.", "_gp_disp", "__gnu_local_gp"];

/// The module's name as the kernel knows it: `.modinfo` `name=` (5.3+), else the file's stem
/// with dashes turned into underscores, as kbuild does.
pub fn module_name(info: &ModuleInfo, file_stem: &str) -> String {
    match info.get("name") {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => file_stem.replace('-', "_"),
    }
}

/// `module:` namespaces (6.16+ `EXPORT_SYMBOL_GPL_FOR_MODULES`) name the in-tree modules that may
/// use a symbol, as comma-separated names with an optional tail `*` (kernel/module/main.c
/// `verify_module_namespace`). `-` and `_` compare equal (`mod_strncmp`): the namespace is written
/// with file names (`kvm-amd`), the module is named with underscores (`kvm_amd`).
pub(crate) fn module_namespace_allows(namespace: &str, name: &str) -> bool {
    let Some(list) = namespace.strip_prefix("module:") else {
        return false;
    };
    let name = name.replace('-', "_");
    list.split(',').any(|pattern| {
        let pattern = pattern.replace('-', "_");
        match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => pattern == name,
        }
    })
}

/// Decide whether the module described by `info` (named `name` for `module:` namespaces) would
/// load into `kernel`.
pub fn check(info: &ModuleInfo, name: &str, kernel: &Kernel, policy: Policy) -> Verdict {
    let mut findings = Vec::new();
    let mut counts = Counts::default();
    let format = info.version_format();
    let has_crcs = format != VersionFormat::None;
    let mut push = |severity: Severity, problem: Issue| {
        let message = problem.message();
        findings.push(Finding {
            severity,
            issue: problem,
            message,
        });
    };
    let forced = if policy.force_load {
        Severity::Warning
    } else {
        Severity::Error
    };
    let missing_version = if policy.strict_versions {
        Severity::Error
    } else {
        Severity::Warning
    };

    // check_modinfo: same_magic() ignores the release (first word) when the module has CRCs.
    if let Some(kernel_magic) = &kernel.vermagic {
        match info.get("vermagic") {
            None => push(
                forced,
                Issue::Vermagic {
                    module: None,
                    kernel: kernel_magic.clone(),
                },
            ),
            Some(m) if !same_magic(m, kernel_magic, has_crcs) => push(
                Severity::Error,
                Issue::Vermagic {
                    module: Some(m.to_string()),
                    kernel: kernel_magic.clone(),
                },
            ),
            Some(_) => {}
        }
    }

    let license = info.get("license").unwrap_or("unspecified");
    let gpl_ok = license_is_gpl_compatible(license);
    let imports_ns: Vec<&str> = info.get_all("import_ns").collect();
    let in_tree = info.get("intree").is_some();
    let mut no_versions_reported = false;

    // check_version(), shared by module_layout and every import.
    let mut check_version = |symbol: &str,
                             kernel_crc: Option<u32>,
                             counts: &mut Counts,
                             push: &mut dyn FnMut(Severity, Issue)| {
        let Some(kernel_crc) = kernel_crc else {
            counts.unversioned += 1;
            return;
        };
        if !has_crcs {
            if !no_versions_reported {
                no_versions_reported = true;
                push(forced, Issue::NoVersions);
            }
            return;
        }
        match info.version_of(symbol) {
            Some(crc) if crc == kernel_crc => counts.versions_match += 1,
            Some(crc) => push(
                Severity::Error,
                Issue::Disagrees {
                    symbol: symbol.to_string(),
                    module_crc: crc,
                    kernel_crc,
                },
            ),
            None => push(
                missing_version,
                Issue::NoSymbolVersion {
                    symbol: symbol.to_string(),
                },
            ),
        }
    };

    // check_modstruct_version: `module_layout` since 2.6.30, `struct_module` before; kernels
    // whose tables have neither (7.x dropped it) skip the check.
    if let Some(layout) = ["module_layout", "struct_module"]
        .into_iter()
        .find_map(|s| kernel.export(s))
    {
        let crc = kernel.crc_of(layout);
        check_version(&layout.symbol, crc, &mut counts, &mut push);
    }

    for import in &info.imports {
        let symbol = import.name.as_str();
        if ARCH_SPECIAL.contains(&symbol) {
            continue;
        }
        let Some(export) = kernel.export(symbol) else {
            if !import.weak {
                push(
                    Severity::Error,
                    Issue::UnknownSymbol {
                        symbol: symbol.to_string(),
                    },
                );
            }
            continue;
        };
        counts.imports += 1;
        if export.kind.is_gpl_only() && !gpl_ok {
            push(
                Severity::Error,
                Issue::GplOnly {
                    symbol: symbol.to_string(),
                    license: license.to_string(),
                },
            );
            continue;
        }
        if export.kind == ExportType::Unknown && !gpl_ok {
            push(
                Severity::Warning,
                Issue::UnknownExportType {
                    symbol: symbol.to_string(),
                    license: license.to_string(),
                },
            );
        }
        if export.kind == ExportKind::GplFuture && !gpl_ok {
            // 2.6.17–5.12: loads, with "symbol X is being used by a non-GPL module" warning.
            push(
                Severity::Warning,
                Issue::GplOnly {
                    symbol: symbol.to_string(),
                    license: license.to_string(),
                },
            );
        }
        check_version(symbol, kernel.crc_of(export), &mut counts, &mut push);
        let ns = export.namespace.as_str();
        let imported = imports_ns.contains(&ns) || (in_tree && module_namespace_allows(ns, name));
        if !ns.is_empty() && !imported {
            push(
                Severity::Error,
                Issue::NamespaceNotImported {
                    symbol: symbol.to_string(),
                    namespace: ns.to_string(),
                },
            );
        }
    }
    let would_load = findings.iter().all(|f| f.severity != Severity::Error);
    Verdict {
        would_load,
        versions: format,
        counts,
        findings,
    }
}

/// kernel/module/version.c `same_magic`: with CRCs, the first word (the release) is ignored.
pub fn same_magic(module: &str, kernel: &str, has_crcs: bool) -> bool {
    if has_crcs {
        let skip = |s: &str| s.find(' ').map_or("", |i| &s[i..]).to_string();
        skip(module) == skip(kernel)
    } else {
        module == kernel
    }
}

#[cfg(test)]
mod tests;
