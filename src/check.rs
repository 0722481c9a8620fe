//! Would a set of modules load? The checks of the kernel's module loader, replayed against a
//! symbol table, in the loader's order and stopping where it stops.
//!
//! Order and wording follow kernel/module/main.c and kernel/module/version.c (6.1–6.14):
//!
//! 1. `elf_validity_check` (6.11+: `elf_validity_ehdr`): the ELF header as the kernel reads it,
//!    in its own byte order: `e_type` must be `ET_REL` ("Invalid ELF header type: %u != %u"),
//!    `elf_check_arch` the kernel's machine and word size ("Invalid architecture in ELF
//!    header: %u"; the architectures whose one `e_machine` covers both word sizes — s390,
//!    riscv, mips — check `EI_CLASS` there too). Nothing else is looked at then.
//! 2. `check_modstruct_version`: the `module_layout` version (`struct_module` before 2.6.30).
//! 3. `check_modinfo`: vermagic (`same_magic`: the release is ignored when the module has
//!    versions).
//! 4. `simplify_symbols` → `resolve_symbol` for every undefined symbol, reporting each failure:
//!    `find_symbol` (GPL-only exports hidden from proprietary modules), `check_version`,
//!    `verify_namespace_is_imported`.
//! 5. `complete_formation` → `verify_exported_symbols`: an export already owned by the kernel
//!    or a loaded module.
//!
//! The modules given together are a set, as `modprobe` sees them: an import that another module
//! of the set exports resolves there (vmlinux first, as `find_symbol` searches it first; then the
//! set, which modprobe loads as dependencies; then the kernel's other modules). A module whose
//! set dependency would not load does not load either, and a dependency cycle loads nothing.
//!
//! Where kernels differ by configuration or distribution patch ([`Policy`]), a finding whose
//! outcome the caller does not know is [`Severity::Depends`], and the verdict is
//! [`Outcome::Depends`], never "loads". Messages quote the kernel's own where it has one, so
//! that a user can grep dmesg for them.

pub mod facts;

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::elf::{Class, Endian};
use crate::exports::{Export, ExportKind};
use crate::image::Arch;
use crate::modinfo::{ModuleInfo, VersionFormat};
use crate::symvers::{Entry, ExportType, Table};

/// The `e_machine`, word size and byte order of modules a kernel accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ElfIdentity {
    /// `e_machine` (include/uapi/linux/elf-em.h).
    pub machine: u16,
    /// Word size.
    pub class: Class,
    /// Byte order.
    pub endian: Endian,
}

impl ElfIdentity {
    /// "x86_64, 64-bit little-endian" and the like.
    pub fn describe(&self) -> String {
        format!(
            "{}, {}-bit {}-endian",
            machine_name(self.machine),
            self.class.word_size() * 8,
            match self.endian {
                Endian::Little => "little",
                Endian::Big => "big",
            }
        )
    }
}

/// The name of an ELF `e_machine` value, as `uname -m` and binutils spell it.
pub fn machine_name(machine: u16) -> String {
    match machine {
        3 => "i386".into(),
        8 => "mips".into(),
        20 => "ppc".into(),
        21 => "ppc64".into(),
        22 => "s390".into(),
        40 => "arm".into(),
        62 => "x86_64".into(),
        183 => "aarch64".into(),
        243 => "riscv".into(),
        258 => "loongarch".into(),
        other => format!("machine {other}"),
    }
}

/// What the loader's ELF header check compares a module with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "known", rename_all = "kebab-case")]
pub enum KernelElf {
    /// The exact identity, from the kernel's own modules or an ELF vmlinux.
    Exact {
        /// Machine, class, byte order.
        identity: ElfIdentity,
        /// Where it was read.
        source: String,
    },
    /// The architecture family, word size and byte order of a raw image (its header names no
    /// `e_machine`).
    Family {
        /// The architecture.
        arch: Arch,
        /// Word size.
        class: Class,
        /// Byte order.
        endian: Endian,
        /// Where it was read.
        source: String,
    },
}

impl KernelElf {
    /// A short description for reports.
    pub fn describe(&self) -> String {
        match self {
            KernelElf::Exact { identity, .. } => identity.describe(),
            KernelElf::Family {
                arch,
                class,
                endian,
                ..
            } => format!(
                "{}, {}-bit {}-endian",
                arch.kbuild_name(),
                class.word_size() * 8,
                match endian {
                    Endian::Little => "little",
                    Endian::Big => "big",
                }
            ),
        }
    }
}

/// The kernel side of the check.
#[derive(Debug)]
pub struct Kernel<'t> {
    by_symbol: HashMap<&'t str, &'t Entry>,
    /// Modules (and `vmlinux`) that export with CRCs; exports of the others are unversioned.
    versioned_exporters: HashSet<&'t str>,
    /// Symbols the table lists more than once with different records: which one the loader
    /// finds depends on which module is loaded.
    conflicts: HashMap<&'t str, Vec<&'t Entry>>,
    /// The kernel's vermagic (`VERMAGIC_STRING`), when known.
    pub vermagic: Option<String>,
    /// The ELF identity of the modules it accepts, when known.
    pub elf: Option<KernelElf>,
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
        let mut conflicts: HashMap<&str, Vec<&Entry>> = HashMap::new();
        for e in &table.entries {
            if let Some(first) = by_symbol.get(e.symbol.as_str()) {
                if !std::ptr::eq(*first, e)
                    && (first.crc, first.kind, &first.namespace) != (e.crc, e.kind, &e.namespace)
                {
                    conflicts
                        .entry(e.symbol.as_str())
                        .or_insert_with(|| vec![*first])
                        .push(e);
                }
            }
        }
        Kernel {
            by_symbol,
            versioned_exporters,
            conflicts,
            vermagic,
            elf: None,
        }
    }

    /// The same kernel, with the ELF identity its modules must have.
    pub fn with_elf(mut self, elf: Option<KernelElf>) -> Self {
        self.elf = elf;
        self
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
///
/// The default is mainline without CONFIG_MODULE_FORCE_LOAD, both taken as known; a caller that
/// does not know sets the `*_unknown` reasons, and the findings concerned become
/// [`Severity::Depends`].
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Treat "no symbol version for X" as fatal, as Debian's kernels do (debian/patches
    /// "module: Disable matching missing version CRC"); mainline only warns.
    pub strict_versions: bool,
    /// The kernel has CONFIG_MODULE_FORCE_LOAD: a module without any version table or vermagic
    /// loads (tainted) instead of being refused.
    pub force_load: bool,
    /// Why `strict_versions` is not known, when it is not.
    pub strict_versions_unknown: Option<String>,
    /// Why `force_load` is not known, when it is not.
    pub force_load_unknown: Option<String>,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The kernel would refuse the module.
    Error,
    /// The kernel loads it but prints a warning or taints itself.
    Warning,
    /// Refused by some kernels and not others, and which one this is is not known (see
    /// [`Finding::depends_on`]).
    Depends,
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Issue {
    /// The ELF header's type, read in the kernel's byte order, is not `ET_REL`: the module has
    /// the other byte order.
    BadElfType {
        /// `e_type` as the kernel reads it.
        e_type: u16,
    },
    /// `elf_check_arch` fails: another machine or word size.
    InvalidArchitecture {
        /// The module's `e_machine`.
        machine: u16,
        /// The module's machine, word size and byte order.
        module: String,
        /// The kernel's.
        kernel: String,
    },
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
    /// The table lists the symbol more than once with different records.
    ConflictingExports {
        /// The symbol.
        symbol: String,
        /// `module 0xCRC` of each line.
        exporters: Vec<String>,
    },
    /// The module exports a symbol already exported (`verify_exported_symbols`).
    DuplicateSymbol {
        /// The symbol.
        symbol: String,
        /// `kernel` (vmlinux) or the owning module.
        owner: String,
    },
    /// A module of the set that this one imports from would not load (or might not).
    Dependency {
        /// The module of the set.
        module: String,
        /// The symbols imported from it.
        symbols: Vec<String>,
        /// Its outcome.
        outcome: Outcome,
    },
    /// Modules of the set that import from each other in a circle: modprobe loads none.
    DependencyCycle {
        /// The modules, the first repeated at the end.
        cycle: Vec<String>,
    },
}

impl Issue {
    /// The kernel's message for this problem (prefixed by the module name in dmesg).
    pub fn message(&self) -> String {
        match self {
            Issue::BadElfType { e_type } => format!(
                "Invalid ELF header type: {e_type} != 1 (the module's byte order is not the kernel's)"
            ),
            Issue::InvalidArchitecture {
                machine,
                module,
                kernel,
            } => format!(
                "Invalid architecture in ELF header: {machine} (the module is {module}, the kernel {kernel})"
            ),
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
            Issue::ConflictingExports { symbol, exporters } => format!(
                "{symbol} is listed more than once in the table ({}): the one the kernel resolves is the one whose module is loaded",
                exporters.join(", ")
            ),
            Issue::DuplicateSymbol { symbol, owner } => {
                format!("exports duplicate symbol {symbol} (owned by {owner})")
            }
            Issue::Dependency {
                module,
                symbols,
                outcome,
            } => {
                let shown: Vec<&str> = symbols.iter().take(3).map(String::as_str).collect();
                let more = match symbols.len() {
                    n if n > 3 => format!(" and {} more", n - 3),
                    _ => String::new(),
                };
                match outcome {
                    Outcome::Depends => format!(
                        "needs {} from {module} of this set, whose loading depends on the kernel (see there)",
                        shown.join(", ") + &more
                    ),
                    _ => format!(
                        "needs {} from {module} of this set, which would not load (then: Unknown symbol {})",
                        shown.join(", ") + &more,
                        shown.first().copied().unwrap_or("")
                    ),
                }
            }
            Issue::DependencyCycle { cycle } => format!(
                "Cycle detected: {} (depmod; modprobe loads none of them)",
                cycle.join(" -> ")
            ),
        }
    }
}

/// One finding with its severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Error (refused), warning (loads) or depends (not known which).
    pub severity: Severity,
    /// What.
    #[serde(flatten)]
    pub issue: Issue,
    /// The kernel-style message.
    pub message: String,
    /// For [`Severity::Depends`]: what the answer depends on and why it is not known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<String>,
}

/// A module's imports by outcome: every import has exactly one, so `not_exported +
/// gpl_refused + unversioned + versions_match + versions_differ + versions_missing ==
/// imports`. The `module_layout` check is not an import and is not counted (a failure of it is a
/// finding). Imports the loader never reaches (it stopped at the ELF header, `module_layout` or
/// vermagic) are counted in `imports` only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Undefined symbols the loader looks up in the export tables, weak ones included: the
    /// module's own list, the same whatever the kernel (`.TOC.` and the like, which the loader
    /// resolves itself, are left out).
    pub imports: usize,
    /// Exported by nobody in the kernel or the set ("Unknown symbol", unless the import is weak).
    pub not_exported: usize,
    /// GPL-only exports a module with a non-GPL-compatible license may not use (no version
    /// check then).
    pub gpl_refused: usize,
    /// Exported without a CRC: the kernel skips the version check.
    pub unversioned: usize,
    /// Versioned, and the module's CRC is the exporter's.
    pub versions_match: usize,
    /// Versioned, and the module's CRC differs ("disagrees about version of symbol").
    pub versions_differ: usize,
    /// Versioned, and the module records no CRC for it (or has no version table at all).
    pub versions_missing: usize,
    /// Of all these, imports resolved by another module of the set.
    pub from_set: usize,
}

/// What the kernel would do with a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// It loads (perhaps with warnings).
    Loads,
    /// It is refused.
    Refused,
    /// Some kernels of this kind refuse it, others load it, and which one this is is not known.
    Depends,
}

/// Where the loader stopped, when it stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// The ELF header.
    ElfHeader,
    /// The `module_layout` version.
    ModuleLayout,
    /// vermagic.
    Vermagic,
}

/// The verdict on one module.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// True when the outcome is [`Outcome::Loads`].
    pub would_load: bool,
    /// Loads, refused, or depends on what is not known about the kernel.
    pub outcome: Outcome,
    /// The loader stage that refused the module, when it stopped before the symbols.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<Stage>,
    /// Which version table the module has.
    pub versions: VersionFormat,
    /// Counts of what passed.
    pub counts: Counts,
    /// Modules of the set it imports from (modprobe loads them first).
    pub needs: Vec<String>,
    /// Everything that failed or warned, in the loader's order.
    pub findings: Vec<Finding>,
}

impl Verdict {
    fn settle(&mut self) {
        self.outcome = if self.findings.iter().any(|f| f.severity == Severity::Error) {
            Outcome::Refused
        } else if self
            .findings
            .iter()
            .any(|f| f.severity == Severity::Depends)
        {
            Outcome::Depends
        } else {
            Outcome::Loads
        };
        self.would_load = self.outcome == Outcome::Loads;
    }
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
/// `.TOC.` is ppc64's TOC base: arch/powerpc/kernel/module_64.c `dedotify` turns the undefined
/// `.TOC.` into an absolute `TOC.` (and strips the dot of every other undefined name, as
/// [`crate::elf::Elf::undefined_symbols`] does), so it is never looked up; `_gp_disp` and
/// `__gnu_local_gp` are MIPS's GP (arch/mips/kernel/module.c); none is exported.
pub const ARCH_SPECIAL: [&str; 4] = [".TOC.", "TOC.", "_gp_disp", "__gnu_local_gp"];

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

/// One module of a set: its name as the kernel knows it, what it asks of the kernel and what it
/// offers the others.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    /// The kernel's name for it (see [`module_name`]).
    pub name: &'a str,
    /// Its imports, versions and `.modinfo`.
    pub info: &'a ModuleInfo,
    /// Its exports.
    pub exports: &'a [Export],
}

/// The verdicts on a set of modules, in the order given.
#[derive(Debug, Clone, Serialize)]
pub struct SetVerdict {
    /// One per member.
    pub verdicts: Vec<Verdict>,
    /// Dependency cycles among the members, each with its first module repeated at the end.
    pub cycles: Vec<Vec<String>>,
}

impl SetVerdict {
    /// The worst outcome of the set: refused if one is refused, else depends if one depends.
    pub fn outcome(&self) -> Outcome {
        let all: Vec<Outcome> = self.verdicts.iter().map(|v| v.outcome).collect();
        if all.contains(&Outcome::Refused) {
            Outcome::Refused
        } else if all.contains(&Outcome::Depends) {
            Outcome::Depends
        } else {
            Outcome::Loads
        }
    }
}

/// Decide whether the module described by `info` (named `name` for `module:` namespaces) would
/// load into `kernel` on its own.
pub fn check(info: &ModuleInfo, name: &str, kernel: &Kernel, policy: Policy) -> Verdict {
    let member = Member {
        name,
        info,
        exports: &[],
    };
    let mut set = check_set(&[member], kernel, &policy);
    set.verdicts.remove(0)
}

/// A symbol's provider: the kernel's table or a module of the set.
enum Provider<'t, 'a> {
    Kernel(&'t Entry),
    Sibling(usize, &'a Export),
}

/// Decide whether each module of `members` would load into `kernel`, the set loaded together
/// (see the module documentation for the order of resolution).
pub fn check_set(members: &[Member], kernel: &Kernel, policy: &Policy) -> SetVerdict {
    // What the set offers: the first member exporting a symbol provides it.
    let mut offered: HashMap<&str, (usize, &Export)> = HashMap::new();
    for (i, m) in members.iter().enumerate() {
        for e in m.exports {
            offered.entry(e.name.as_str()).or_insert((i, e));
        }
    }
    let resolve = |symbol: &str, me: usize| -> Option<Provider> {
        let table = kernel.export(symbol);
        if let Some(entry) = table.filter(|e| e.module == "vmlinux") {
            return Some(Provider::Kernel(entry));
        }
        match offered.get(symbol) {
            Some(&(i, e)) if i != me => Some(Provider::Sibling(i, e)),
            _ => table.map(Provider::Kernel),
        }
    };
    let mut verdicts = Vec::with_capacity(members.len());
    // needs[i]: sibling index → the symbols imported from it.
    let mut needs: Vec<Vec<(usize, Vec<String>)>> = Vec::with_capacity(members.len());
    for i in 0..members.len() {
        let (verdict, from) = check_one(i, members, kernel, policy, &resolve, &offered);
        verdicts.push(verdict);
        needs.push(from);
    }
    for (v, from) in verdicts.iter_mut().zip(&needs) {
        v.needs = from
            .iter()
            .map(|(j, _)| members[*j].name.to_string())
            .collect();
    }
    // Cycles: modprobe loads dependencies first, which a circle makes impossible.
    let cycles = cycles(&needs);
    for cycle in &cycles {
        let names: Vec<String> = cycle.iter().map(|&k| members[k].name.to_string()).collect();
        for &k in &cycle[..cycle.len() - 1] {
            push(
                &mut verdicts[k],
                Severity::Error,
                Issue::DependencyCycle {
                    cycle: names.clone(),
                },
                None,
            );
        }
    }
    for v in &mut verdicts {
        v.settle();
    }
    // A module whose set dependency is refused (or undecided) is too; repeat until nothing
    // changes, as chains are followed one link per round.
    loop {
        let mut changed = false;
        for i in 0..members.len() {
            for (j, symbols) in &needs[i] {
                let theirs = verdicts[*j].outcome;
                let mine = verdicts[i].outcome;
                let worse = matches!(
                    (theirs, mine),
                    (Outcome::Refused, Outcome::Loads | Outcome::Depends)
                        | (Outcome::Depends, Outcome::Loads)
                );
                let already = verdicts[i]
                    .findings
                    .iter()
                    .any(|f| matches!(&f.issue, Issue::Dependency { module, .. } if module == members[*j].name));
                if worse && !already {
                    let severity = match theirs {
                        Outcome::Refused => Severity::Error,
                        _ => Severity::Depends,
                    };
                    let depends_on = (severity == Severity::Depends)
                        .then(|| format!("whether {} loads", members[*j].name));
                    push(
                        &mut verdicts[i],
                        severity,
                        Issue::Dependency {
                            module: members[*j].name.to_string(),
                            symbols: symbols.clone(),
                            outcome: theirs,
                        },
                        depends_on,
                    );
                    verdicts[i].settle();
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let cycles = cycles
        .into_iter()
        .map(|c| c.into_iter().map(|k| members[k].name.to_string()).collect())
        .collect();
    SetVerdict { verdicts, cycles }
}

fn push(v: &mut Verdict, severity: Severity, issue: Issue, depends_on: Option<String>) {
    let message = issue.message();
    v.findings.push(Finding {
        severity,
        issue,
        message,
        depends_on,
    });
}

/// The checks of one module of a set, up to its own symbols and exports; returns the verdict
/// and the members it imports from, with the symbols.
fn check_one<'t, 'a>(
    me: usize,
    members: &[Member],
    kernel: &Kernel<'t>,
    policy: &Policy,
    resolve: &dyn Fn(&str, usize) -> Option<Provider<'t, 'a>>,
    offered: &HashMap<&str, (usize, &Export)>,
) -> (Verdict, Vec<(usize, Vec<String>)>) {
    let m = &members[me];
    let info = m.info;
    let format = info.version_format();
    let imports = info
        .imports
        .iter()
        .filter(|i| !ARCH_SPECIAL.contains(&i.name.as_str()))
        .count();
    let mut v = Verdict {
        would_load: false,
        outcome: Outcome::Refused,
        stopped_at: None,
        versions: format,
        counts: Counts {
            imports,
            ..Counts::default()
        },
        needs: Vec::new(),
        findings: Vec::new(),
    };
    let mut from_set: Vec<(usize, Vec<String>)> = Vec::new();
    let has_crcs = format != VersionFormat::None;
    let refused = |v: &Verdict| v.findings.iter().any(|f| f.severity == Severity::Error);

    // 1. The ELF header, in the kernel's byte order.
    if let Some(elf) = &kernel.elf {
        if let Some(issue) = elf_refusal(info, elf) {
            push(&mut v, Severity::Error, issue, None);
            v.stopped_at = Some(Stage::ElfHeader);
            v.settle();
            return (v, from_set);
        }
    }

    let (forced, forced_why) = match (&policy.force_load_unknown, policy.force_load) {
        (Some(why), _) => (
            Severity::Depends,
            Some(format!("CONFIG_MODULE_FORCE_LOAD: {why}")),
        ),
        (None, true) => (Severity::Warning, None),
        (None, false) => (Severity::Error, None),
    };
    let (missing, missing_why) = match (&policy.strict_versions_unknown, policy.strict_versions) {
        (Some(why), _) => (
            Severity::Depends,
            Some(format!(
                "whether the kernel refuses a missing symbol version (Debian's kernels do, mainline only warns): {why}"
            )),
        ),
        (None, true) => (Severity::Error, None),
        (None, false) => (Severity::Warning, None),
    };
    // check_version(): the extended table when present, else __versions; first record wins.
    let mut versions: HashMap<&str, u32> = HashMap::with_capacity(info.effective_versions().len());
    for record in info.effective_versions() {
        versions.entry(record.name.as_str()).or_insert(record.crc);
    }
    let mut no_versions_reported = false;
    // `count`: false for module_layout, which is no import.
    let mut check_version =
        |v: &mut Verdict, symbol: &str, exporter_crc: Option<u32>, count: bool| {
            let mut tally = Counts::default();
            match exporter_crc {
                None => tally.unversioned += 1,
                Some(_) if !has_crcs => {
                    tally.versions_missing += 1;
                    if !no_versions_reported {
                        no_versions_reported = true;
                        push(v, forced, Issue::NoVersions, forced_why.clone());
                    }
                }
                Some(kernel_crc) => match versions.get(symbol) {
                    Some(&crc) if crc == kernel_crc => tally.versions_match += 1,
                    Some(&crc) => {
                        tally.versions_differ += 1;
                        push(
                            v,
                            Severity::Error,
                            Issue::Disagrees {
                                symbol: symbol.to_string(),
                                module_crc: crc,
                                kernel_crc,
                            },
                            None,
                        )
                    }
                    None => {
                        tally.versions_missing += 1;
                        push(
                            v,
                            missing,
                            Issue::NoSymbolVersion {
                                symbol: symbol.to_string(),
                            },
                            missing_why.clone(),
                        )
                    }
                },
            }
            if count {
                v.counts.unversioned += tally.unversioned;
                v.counts.versions_match += tally.versions_match;
                v.counts.versions_differ += tally.versions_differ;
                v.counts.versions_missing += tally.versions_missing;
            }
        };

    // 2. check_modstruct_version: `module_layout` since 2.6.30, `struct_module` before; kernels
    // whose tables have neither (7.x dropped it) skip the check.
    if let Some(layout) = ["module_layout", "struct_module"]
        .into_iter()
        .find_map(|s| kernel.export(s))
    {
        check_version(&mut v, &layout.symbol, kernel.crc_of(layout), false);
        if refused(&v) {
            v.stopped_at = Some(Stage::ModuleLayout);
            v.settle();
            return (v, from_set);
        }
    }

    // 3. check_modinfo: same_magic() ignores the release (first word) when the module has CRCs.
    if let Some(kernel_magic) = &kernel.vermagic {
        match info.get("vermagic") {
            None => push(
                &mut v,
                forced,
                Issue::Vermagic {
                    module: None,
                    kernel: kernel_magic.clone(),
                },
                forced_why.clone(),
            ),
            Some(magic) if !same_magic(magic, kernel_magic, has_crcs) => push(
                &mut v,
                Severity::Error,
                Issue::Vermagic {
                    module: Some(magic.to_string()),
                    kernel: kernel_magic.clone(),
                },
                None,
            ),
            Some(_) => {}
        }
        if refused(&v) {
            v.stopped_at = Some(Stage::Vermagic);
            v.settle();
            return (v, from_set);
        }
    }

    // 4. simplify_symbols: every undefined symbol, each failure reported.
    let license = info.get("license").unwrap_or("unspecified");
    let gpl_ok = license_is_gpl_compatible(license);
    let imports_ns: HashSet<&str> = info.get_all("import_ns").collect();
    let in_tree = info.get("intree").is_some();
    for import in &info.imports {
        let symbol = import.name.as_str();
        if ARCH_SPECIAL.contains(&symbol) {
            continue;
        }
        let Some(provider) = resolve(symbol, me) else {
            v.counts.not_exported += 1;
            if !import.weak {
                push(
                    &mut v,
                    Severity::Error,
                    Issue::UnknownSymbol {
                        symbol: symbol.to_string(),
                    },
                    None,
                );
            }
            continue;
        };
        let (kind, namespace, crc) = match &provider {
            Provider::Kernel(entry) => (entry.kind, entry.namespace.as_str(), kernel.crc_of(entry)),
            Provider::Sibling(j, export) => {
                v.counts.from_set += 1;
                match from_set.iter_mut().find(|(k, _)| k == j) {
                    Some((_, list)) => list.push(symbol.to_string()),
                    None => from_set.push((*j, vec![symbol.to_string()])),
                }
                (
                    ExportType::Known(export.kind),
                    export.namespace.as_str(),
                    export.crc,
                )
            }
        };
        if kind.is_gpl_only() && !gpl_ok {
            v.counts.gpl_refused += 1;
            push(
                &mut v,
                Severity::Error,
                Issue::GplOnly {
                    symbol: symbol.to_string(),
                    license: license.to_string(),
                },
                None,
            );
            continue;
        }
        if kind == ExportType::Unknown && !gpl_ok {
            push(
                &mut v,
                Severity::Warning,
                Issue::UnknownExportType {
                    symbol: symbol.to_string(),
                    license: license.to_string(),
                },
                None,
            );
        }
        if kind == ExportKind::GplFuture && !gpl_ok {
            // 2.6.17–5.12: loads, with "symbol X is being used by a non-GPL module" warning.
            push(
                &mut v,
                Severity::Warning,
                Issue::GplOnly {
                    symbol: symbol.to_string(),
                    license: license.to_string(),
                },
                None,
            );
        }
        check_version(&mut v, symbol, crc, true);
        if let Provider::Kernel(entry) = provider {
            if let Some(lines) = kernel.conflicts.get(symbol) {
                push(
                    &mut v,
                    Severity::Depends,
                    Issue::ConflictingExports {
                        symbol: symbol.to_string(),
                        exporters: lines
                            .iter()
                            .map(|e| format!("{} 0x{:08x}", e.module, e.crc))
                            .collect(),
                    },
                    Some(format!(
                        "which module exporting {symbol} is loaded (the check used {}'s line)",
                        entry.module
                    )),
                );
            }
        }
        let imported = imports_ns.contains(namespace)
            || (in_tree && module_namespace_allows(namespace, m.name));
        if !namespace.is_empty() && !imported {
            push(
                &mut v,
                Severity::Error,
                Issue::NamespaceNotImported {
                    symbol: symbol.to_string(),
                    namespace: namespace.to_string(),
                },
                None,
            );
        }
    }

    // 5. verify_exported_symbols, once the symbols resolved: an export vmlinux already has is
    // always refused; one another module has is refused when that module is loaded first.
    if !refused(&v) {
        for e in m.exports {
            let owner = match kernel.export(&e.name) {
                Some(entry) if entry.module == "vmlinux" => {
                    Some((Severity::Error, "kernel".to_string()))
                }
                // The table lists this very module (an installed module checked against its
                // own kernel): no other owner.
                Some(entry) if names_module(&entry.module, m.name) => None,
                Some(entry) => Some((Severity::Warning, entry.module.to_string())),
                None => match offered.get(e.name.as_str()) {
                    Some(&(j, _)) if j != me => {
                        Some((Severity::Error, members[j].name.to_string()))
                    }
                    _ => None,
                },
            };
            if let Some((severity, owner)) = owner {
                push(
                    &mut v,
                    severity,
                    Issue::DuplicateSymbol {
                        symbol: e.name.clone(),
                        owner,
                    },
                    None,
                );
            }
        }
    }
    v.settle();
    (v, from_set)
}

/// True when the Module.symvers module column `column` (`lib/crc-itu-t`) is the module the
/// kernel calls `name` (`crc_itu_t`).
fn names_module(column: &str, name: &str) -> bool {
    let base = column.rsplit('/').next().unwrap_or(column);
    base.replace('-', "_") == name.replace('-', "_")
}

/// The loader's ELF header check for `info` against the kernel's identity.
fn elf_refusal(info: &ModuleInfo, kernel: &KernelElf) -> Option<Issue> {
    let (endian, same_arch, describe) = match kernel {
        KernelElf::Exact { identity, .. } => (
            identity.endian,
            info.machine == identity.machine && info.class == identity.class,
            identity.describe(),
        ),
        KernelElf::Family {
            arch,
            class,
            endian,
            ..
        } => (
            *endian,
            Arch::from_elf_machine(info.machine) == Some(*arch) && info.class == *class,
            kernel.describe(),
        ),
    };
    let module = ElfIdentity {
        machine: info.machine,
        class: info.class,
        endian: info.endian,
    };
    if info.endian != endian {
        // ET_REL (1) read in the other byte order.
        return Some(Issue::BadElfType {
            e_type: 1u16.swap_bytes(),
        });
    }
    (!same_arch).then(|| Issue::InvalidArchitecture {
        machine: info.machine,
        module: module.describe(),
        kernel: describe,
    })
}

/// Cycles in the "imports from" graph, each as member indexes with the first repeated last:
/// one per strongly connected component of more than one member.
fn cycles(needs: &[Vec<(usize, Vec<String>)>]) -> Vec<Vec<usize>> {
    let n = needs.len();
    let reach = |from: usize| -> Vec<bool> {
        let mut seen = vec![false; n];
        let mut stack = vec![from];
        while let Some(k) = stack.pop() {
            for (j, _) in &needs[k] {
                if !seen[*j] {
                    seen[*j] = true;
                    stack.push(*j);
                }
            }
        }
        seen
    };
    let reaches: Vec<Vec<bool>> = (0..n).map(reach).collect();
    let mut done = vec![false; n];
    let mut out = Vec::new();
    for start in 0..n {
        if done[start] || !reaches[start][start] {
            continue;
        }
        let component: Vec<usize> = (0..n)
            .filter(|&k| reaches[start][k] && reaches[k][start])
            .collect();
        for &k in &component {
            done[k] = true;
        }
        // A walk around the component: from `start`, the next member is the first one it
        // imports from that can still get back; stop when `start` comes round again.
        let mut path = vec![start];
        let mut at = start;
        loop {
            let next = needs[at]
                .iter()
                .map(|(j, _)| *j)
                .filter(|j| component.contains(j))
                .find(|j| *j == start || !path.contains(j));
            match next {
                Some(j) if j == start => {
                    path.push(start);
                    break;
                }
                Some(j) => {
                    path.push(j);
                    at = j;
                }
                None => {
                    path.push(start);
                    break;
                }
            }
        }
        out.push(path);
    }
    out
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
