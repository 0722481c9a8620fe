use super::{check, same_magic, Counts, Issue, Kernel, Policy, Severity, Verdict};
use crate::exports::ExportKind;
use crate::fixtures::{self as fx, Crcs, Layout, Spec};
use crate::modinfo;
use crate::symvers::{Entry, Table};

/// A small kernel: vmlinux with module_layout, printk (plain), kthread_create (GPL), an
/// USB_STORAGE-namespaced export, and one module `lib/crc-itu-t`.
fn table() -> Table {
    Table {
        entries: vec![
            Entry::new(
                0xaaaa_0001,
                "module_layout",
                "vmlinux",
                ExportKind::Plain,
                "",
            ),
            Entry::new(0xaaaa_0002, "printk", "vmlinux", ExportKind::Plain, ""),
            Entry::new(
                0xaaaa_0003,
                "kthread_create",
                "vmlinux",
                ExportKind::Gpl,
                "",
            ),
            Entry::new(
                0xaaaa_0004,
                "usb_stor_probe1",
                "drivers/usb/storage/usb-storage",
                ExportKind::Gpl,
                "USB_STORAGE",
            ),
            Entry::new(
                0xaaaa_0005,
                "crc_itu_t",
                "lib/crc-itu-t",
                ExportKind::Plain,
                "",
            ),
        ],
    }
}

/// A module importing `imports`, with versions taken from the table unless overridden.
fn module(
    imports: &[&str],
    modinfo: &[&str],
    tweak: impl FnOnce(&mut Spec),
) -> modinfo::ModuleInfo {
    let t = table();
    let mut s = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    s.exports.clear();
    s.imports = imports.iter().map(|s| s.to_string()).collect();
    s.versions = std::iter::once("module_layout")
        .chain(imports.iter().copied())
        .filter_map(|name| {
            t.entries
                .iter()
                .find(|e| e.symbol == name)
                .map(|e| (e.crc, name.to_string()))
        })
        .collect();
    s.modinfo = modinfo.iter().map(|s| s.to_string()).collect();
    tweak(&mut s);
    modinfo::read(&fx::build_module(&s)).unwrap()
}

const MAGIC: &str = "6.1.0-50-amd64 SMP preempt mod_unload modversions ";

fn run(info: &modinfo::ModuleInfo, policy: Policy) -> Verdict {
    let t = table();
    let kernel = Kernel::new(&t, Some(MAGIC.into()));
    check(info, "ours", &kernel, policy)
}

fn issues(v: &Verdict) -> Vec<(Severity, Issue)> {
    v.findings
        .iter()
        .map(|f| (f.severity, f.issue.clone()))
        .collect()
}

const GPL: [&str; 2] = [
    "license=GPL",
    "vermagic=6.1.0-50-amd64 SMP preempt mod_unload modversions ",
];

#[test]
fn matching_module_loads() {
    let info = module(&["printk", "crc_itu_t", "kthread_create"], &GPL, |_| {});
    let v = run(&info, Policy::default());
    assert!(v.would_load, "{:?}", v.findings);
    assert!(v.findings.is_empty());
    // Three imports, all matching; module_layout is a check, not an import.
    assert_eq!(v.counts.versions_match, 3);
    assert_eq!(v.counts.imports, 3);
}

/// The outcomes of a module's imports add up to its imports, and the import count is the
/// module's own: the same against a kernel that lacks one of them (it used to count only the
/// symbols found, so one module had "7 imports" against one kernel and "6" against another).
#[test]
fn counts_add_up_and_imports_do_not_depend_on_the_kernel() {
    fn sum(c: &Counts) -> usize {
        c.not_exported
            + c.gpl_refused
            + c.unversioned
            + c.versions_match
            + c.versions_differ
            + c.versions_missing
    }
    let info = module(&["printk", "crc_itu_t", "kthread_create"], &GPL, |_| {});
    let full = run(&info, Policy::default());
    let mut t = table();
    t.entries.retain(|e| e.symbol != "crc_itu_t");
    for e in &mut t.entries {
        if e.symbol == "kthread_create" {
            e.crc ^= 1;
        }
    }
    let kernel = Kernel::new(&t, Some(MAGIC.into()));
    let short = check(&info, "ours", &kernel, Policy::default());
    assert_eq!(full.counts.imports, 3);
    assert_eq!(short.counts.imports, 3, "{:?}", short.counts);
    assert_eq!(short.counts.not_exported, 1);
    assert_eq!(short.counts.versions_differ, 1);
    assert_eq!(short.counts.versions_match, 1);
    for v in [&full, &short] {
        assert_eq!(sum(&v.counts), v.counts.imports, "{:?}", v.counts);
    }
}

#[test]
fn crc_mismatch_is_refused() {
    let info = module(&["printk", "crc_itu_t"], &GPL, |s| {
        s.versions[2].0 ^= 1;
    });
    let v = run(&info, Policy::default());
    assert!(!v.would_load);
    assert_eq!(
        issues(&v),
        [(
            Severity::Error,
            Issue::Disagrees {
                symbol: "crc_itu_t".into(),
                module_crc: 0xaaaa_0004,
                kernel_crc: 0xaaaa_0005
            }
        )]
    );
    assert_eq!(
        v.findings[0].message,
        "disagrees about version of symbol crc_itu_t (module 0xaaaa0004, kernel 0xaaaa0005)"
    );
}

#[test]
fn module_layout_mismatch_is_refused() {
    let info = module(&["printk"], &GPL, |s| s.versions[0].0 = 0x1234);
    let v = run(&info, Policy::default());
    assert_eq!(
        issues(&v),
        [(
            Severity::Error,
            Issue::Disagrees {
                symbol: "module_layout".into(),
                module_crc: 0x1234,
                kernel_crc: 0xaaaa_0001
            }
        )]
    );
}

#[test]
fn unknown_symbol_is_refused_but_weak_is_not() {
    let info = module(&["printk", "no_such_symbol"], &GPL, |_| {});
    let v = run(&info, Policy::default());
    assert_eq!(
        issues(&v),
        [(
            Severity::Error,
            Issue::UnknownSymbol {
                symbol: "no_such_symbol".into()
            }
        )]
    );
    // A weak undefined symbol is left 0 by the loader.
    let mut info = module(&["printk", "no_such_symbol"], &GPL, |_| {});
    info.imports[1].weak = true;
    assert!(run(&info, Policy::default()).would_load);
}

#[test]
fn missing_symbol_version_warns_or_fails_by_policy() {
    let info = module(&["printk", "crc_itu_t"], &GPL, |s| {
        s.versions.retain(|(_, n)| n != "crc_itu_t");
    });
    let v = run(&info, Policy::default());
    assert!(v.would_load);
    assert_eq!(
        issues(&v),
        [(
            Severity::Warning,
            Issue::NoSymbolVersion {
                symbol: "crc_itu_t".into()
            }
        )]
    );
    let strict = Policy {
        strict_versions: true,
        ..Policy::default()
    };
    assert!(!run(&info, strict).would_load);
}

#[test]
fn no_versions_at_all_needs_force_load() {
    let info = module(&["printk"], &GPL, |s| s.versions.clear());
    let v = run(&info, Policy::default());
    assert!(!v.would_load);
    assert_eq!(issues(&v), [(Severity::Error, Issue::NoVersions)]);
    let force = Policy {
        force_load: true,
        ..Policy::default()
    };
    assert!(run(&info, force).would_load);
}

#[test]
fn gpl_only_exports_need_a_gpl_compatible_license() {
    for (license, ok) in [
        ("GPL", true),
        ("GPL v2", true),
        ("Dual MIT/GPL", true),
        ("Dual BSD/GPL", true),
        ("Proprietary", false),
        ("GPL v3", false),
        ("gpl", false),
    ] {
        let tag = format!("license={license}");
        let info = module(&["kthread_create"], &[&tag, GPL[1]], |_| {});
        let v = run(&info, Policy::default());
        assert_eq!(v.would_load, ok, "{license}");
        if !ok {
            assert_eq!(
                issues(&v),
                [(
                    Severity::Error,
                    Issue::GplOnly {
                        symbol: "kthread_create".into(),
                        license: license.into()
                    }
                )]
            );
        }
    }
    // No license at all counts as "unspecified", not GPL.
    let info = module(&["kthread_create"], &[GPL[1]], |_| {});
    let v = run(&info, Policy::default());
    assert_eq!(
        issues(&v),
        [(
            Severity::Error,
            Issue::GplOnly {
                symbol: "kthread_create".into(),
                license: "unspecified".into()
            }
        )]
    );
    // A plain export is fine for a proprietary module.
    let info = module(&["printk"], &["license=Proprietary", GPL[1]], |_| {});
    assert!(run(&info, Policy::default()).would_load);
}

#[test]
fn namespaces_must_be_imported() {
    let info = module(&["usb_stor_probe1"], &GPL, |_| {});
    let v = run(&info, Policy::default());
    assert_eq!(
        issues(&v),
        [(
            Severity::Error,
            Issue::NamespaceNotImported {
                symbol: "usb_stor_probe1".into(),
                namespace: "USB_STORAGE".into()
            }
        )]
    );
    assert_eq!(
        v.findings[0].message,
        "module uses symbol (usb_stor_probe1) from namespace USB_STORAGE, but does not import it."
    );
    let info = module(
        &["usb_stor_probe1"],
        &[GPL[0], GPL[1], "import_ns=USB_STORAGE"],
        |_| {},
    );
    assert!(run(&info, Policy::default()).would_load);
}

#[test]
fn module_namespaces_allow_named_in_tree_modules() {
    let mut t = table();
    t.entries[3].namespace = "module:kvm,kvm_*".into();
    let kernel = Kernel::new(&t, None);
    let info = module(&["usb_stor_probe1"], &[GPL[0], "intree=Y"], |_| {});
    assert!(check(&info, "kvm_intel", &kernel, Policy::default()).would_load);
    assert!(check(&info, "kvm", &kernel, Policy::default()).would_load);
    assert!(!check(&info, "kvmx", &kernel, Policy::default()).would_load);
    // Dashes in the namespace match underscores in the module name (Debian 7.2's kvm-amd).
    t.entries[3].namespace = "module:kvm-amd,kvm-intel".into();
    let kernel = Kernel::new(&t, None);
    assert!(check(&info, "kvm_amd", &kernel, Policy::default()).would_load);
    assert!(!check(&info, "kvm_amdx", &kernel, Policy::default()).would_load);
    // Out of tree: not allowed even with a matching name.
    let info = module(&["usb_stor_probe1"], &[GPL[0]], |_| {});
    assert!(!check(&info, "kvm", &kernel, Policy::default()).would_load);
}

#[test]
fn vermagic_compares_flags_when_versioned_and_all_when_not() {
    assert!(same_magic(
        "6.1.0-49-amd64 SMP preempt mod_unload modversions ",
        MAGIC,
        true
    ));
    assert!(!same_magic(
        "6.1.0-49-amd64 SMP preempt mod_unload modversions ",
        MAGIC,
        false
    ));
    assert!(!same_magic(
        "6.1.0-50-amd64 SMP mod_unload modversions ",
        MAGIC,
        true
    ));

    let info = module(
        &["printk"],
        &["license=GPL", "vermagic=6.1.0-50-amd64 SMP mod_unload "],
        |_| {},
    );
    let v = run(&info, Policy::default());
    assert_eq!(
        issues(&v),
        [(
            Severity::Error,
            Issue::Vermagic {
                module: Some("6.1.0-50-amd64 SMP mod_unload ".into()),
                kernel: MAGIC.into()
            }
        )]
    );
    // A different release with the same flags loads when the module has versions.
    let info = module(
        &["printk"],
        &[
            "license=GPL",
            "vermagic=6.1.0-49-amd64 SMP preempt mod_unload modversions ",
        ],
        |_| {},
    );
    assert!(run(&info, Policy::default()).would_load);
}

#[test]
fn unversioned_kernel_accepts_any_versions() {
    // A kernel without CONFIG_MODVERSIONS: every CRC is 0.
    let mut t = table();
    for e in &mut t.entries {
        e.crc = 0;
    }
    let kernel = Kernel::new(&t, None);
    assert!(!kernel.modversions());
    let info = module(&["printk", "crc_itu_t"], &GPL, |s| s.versions.clear());
    let v = check(&info, "ours", &kernel, Policy::default());
    assert!(v.would_load, "{:?}", v.findings);
    assert_eq!(v.counts.unversioned, 2);
    assert_eq!(v.counts.imports, 2);
}

#[test]
fn extended_versions_are_used_when_present() {
    let info = module(&["printk"], &GPL, |s| {
        // __versions has a wrong CRC, the extended table the right ones: the kernel reads only
        // the extended table.
        s.ext_versions = s.versions.clone();
        s.versions[1].0 ^= 0xff;
    });
    assert!(run(&info, Policy::default()).would_load);
}

// --- sets, the loader's order, the kernel's identity, strictness ---------------------------

use super::{check_set, ElfIdentity, KernelElf, Member, Outcome, Stage};
use crate::elf::{Class, Endian};
use crate::exports::Export;

fn x86_64() -> Option<KernelElf> {
    Some(KernelElf::Exact {
        identity: ElfIdentity {
            machine: 62,
            class: Class::Elf64,
            endian: Endian::Little,
        },
        source: "test".into(),
    })
}

fn export(name: &str, crc: u32) -> Export {
    Export {
        name: name.into(),
        crc: Some(crc),
        kind: ExportKind::Plain,
        namespace: String::new(),
    }
}

/// A set module: imports `imports` (versions from the table, or `sibling_crcs` for symbols the
/// set provides).
fn set_module(imports: &[&str], sibling_crcs: &[(&str, u32)]) -> modinfo::ModuleInfo {
    module(imports, &GPL, |s| {
        for (name, crc) in sibling_crcs {
            s.versions.push((*crc, name.to_string()));
        }
    })
}

/// zfs imports spl's export: alone it is "Unknown symbol", in the set it loads with spl's CRC.
#[test]
fn sibling_exports_resolve_imports() {
    let t = table();
    let kernel = Kernel::new(&t, Some(MAGIC.into())).with_elf(x86_64());
    let spl = set_module(&["printk"], &[]);
    let zfs = set_module(&["printk", "spl_kmem_alloc"], &[("spl_kmem_alloc", 0x5151)]);
    let spl_exports = [export("spl_kmem_alloc", 0x5151)];
    let alone = check(&zfs, "zfs", &kernel, Policy::default());
    assert_eq!(alone.outcome, Outcome::Refused);
    let set = check_set(
        &[
            Member {
                name: "zfs",
                info: &zfs,
                exports: &[],
            },
            Member {
                name: "spl",
                info: &spl,
                exports: &spl_exports,
            },
        ],
        &kernel,
        &Policy::default(),
    );
    let zfs_v = &set.verdicts[0];
    assert_eq!(zfs_v.outcome, Outcome::Loads, "{:?}", zfs_v.findings);
    assert_eq!(zfs_v.counts.from_set, 1);
    // printk and spl_kmem_alloc (module_layout is no import).
    assert_eq!(zfs_v.counts.versions_match, 2);
    assert_eq!(zfs_v.needs, ["spl"]);
    assert_eq!(set.verdicts[1].outcome, Outcome::Loads);

    // The sibling's CRC is the one compared: a zfs built against another spl is refused.
    let stale = set_module(&["printk", "spl_kmem_alloc"], &[("spl_kmem_alloc", 0x5152)]);
    let set = check_set(
        &[
            Member {
                name: "zfs",
                info: &stale,
                exports: &[],
            },
            Member {
                name: "spl",
                info: &spl,
                exports: &spl_exports,
            },
        ],
        &kernel,
        &Policy::default(),
    );
    assert_eq!(
        issues(&set.verdicts[0]),
        [(
            Severity::Error,
            Issue::Disagrees {
                symbol: "spl_kmem_alloc".into(),
                module_crc: 0x5152,
                kernel_crc: 0x5151
            }
        )]
    );
}

/// A module whose set dependency is refused is refused too, saying why.
#[test]
fn a_refused_dependency_refuses_its_users() {
    let t = table();
    let kernel = Kernel::new(&t, Some(MAGIC.into())).with_elf(x86_64());
    let broken = set_module(&["printk", "no_such_symbol"], &[]);
    let user = set_module(&["printk", "lower_fn"], &[("lower_fn", 7)]);
    let top = set_module(&["printk", "user_fn"], &[("user_fn", 8)]);
    let (lower_x, user_x) = ([export("lower_fn", 7)], [export("user_fn", 8)]);
    let set = check_set(
        &[
            Member {
                name: "top",
                info: &top,
                exports: &[],
            },
            Member {
                name: "user",
                info: &user,
                exports: &user_x,
            },
            Member {
                name: "lower",
                info: &broken,
                exports: &lower_x,
            },
        ],
        &kernel,
        &Policy::default(),
    );
    let outcomes: Vec<Outcome> = set.verdicts.iter().map(|v| v.outcome).collect();
    assert_eq!(outcomes, [Outcome::Refused; 3]);
    assert_eq!(
        set.verdicts[1].findings[0].message,
        "needs lower_fn from lower of this set, which would not load (then: Unknown symbol lower_fn)"
    );
    assert!(matches!(
        &set.verdicts[0].findings[0].issue,
        Issue::Dependency { module, .. } if module == "user"
    ));
}

#[test]
fn dependency_cycles_are_reported_and_load_nothing() {
    let t = table();
    let kernel = Kernel::new(&t, Some(MAGIC.into()));
    let a = set_module(&["printk", "b_fn"], &[("b_fn", 2)]);
    let b = set_module(&["printk", "a_fn"], &[("a_fn", 1)]);
    let (a_x, b_x) = ([export("a_fn", 1)], [export("b_fn", 2)]);
    let set = check_set(
        &[
            Member {
                name: "a",
                info: &a,
                exports: &a_x,
            },
            Member {
                name: "b",
                info: &b,
                exports: &b_x,
            },
        ],
        &kernel,
        &Policy::default(),
    );
    assert_eq!(set.cycles, [vec!["a", "b", "a"]]);
    for v in &set.verdicts {
        assert_eq!(v.outcome, Outcome::Refused);
        assert!(v
            .findings
            .iter()
            .any(|f| f.message.starts_with("Cycle detected: a -> b -> a")));
    }
}

/// A module built for another architecture gets the ELF header message and nothing else,
/// although none of its symbols would resolve either.
#[test]
fn foreign_architecture_stops_at_the_elf_header() {
    let t = table();
    let kernel = Kernel::new(&t, Some(MAGIC.into())).with_elf(x86_64());
    let mut s = Spec::new(fx::AARCH64, Layout::Prel32Namespaced, Crcs::Data);
    s.exports.clear();
    s.imports = vec!["printk".into(), "no_such_symbol".into()];
    s.versions = vec![(1, "module_layout".into())];
    let info = modinfo::read(&fx::build_module(&s)).unwrap();
    let v = check(&info, "ours", &kernel, Policy::default());
    assert_eq!(v.stopped_at, Some(Stage::ElfHeader));
    assert_eq!(v.findings.len(), 1, "{:?}", v.findings);
    assert_eq!(
        v.findings[0].message,
        "Invalid architecture in ELF header: 183 (the module is aarch64, 64-bit little-endian, the kernel x86_64, 64-bit little-endian)"
    );
    // The other byte order fails one check earlier: e_type read swapped.
    let mut s = Spec::new(fx::S390X, Layout::Prel32Namespaced, Crcs::Data);
    s.exports.clear();
    let info = modinfo::read(&fx::build_module(&s)).unwrap();
    let v = check(&info, "ours", &kernel, Policy::default());
    assert_eq!(
        issues(&v),
        [(Severity::Error, Issue::BadElfType { e_type: 256 })]
    );
    // A 32-bit x86 module on a 64-bit kernel: another machine.
    let mut s = Spec::new(fx::I386, Layout::Prel32Namespaced, Crcs::Data);
    s.exports.clear();
    let info = modinfo::read(&fx::build_module(&s)).unwrap();
    let v = check(&info, "ours", &kernel, Policy::default());
    assert!(matches!(
        v.findings[0].issue,
        Issue::InvalidArchitecture { machine: 3, .. }
    ));
}

/// module_layout and vermagic failures stop the load: the symbols are never looked at.
#[test]
fn the_loader_stops_at_module_layout_and_vermagic() {
    let info = module(&["printk", "no_such_symbol"], &GPL, |s| {
        s.versions[0].0 ^= 1
    });
    let v = run(&info, Policy::default());
    assert_eq!(v.stopped_at, Some(Stage::ModuleLayout));
    assert_eq!(v.findings.len(), 1, "{:?}", v.findings);
    let info = module(
        &["printk", "no_such_symbol"],
        &[
            "license=GPL",
            "vermagic=6.1.0-50-amd64 SMP mod_unload modversions ",
        ],
        |_| {},
    );
    let v = run(&info, Policy::default());
    assert_eq!(v.stopped_at, Some(Stage::Vermagic));
    assert_eq!(v.findings.len(), 1, "{:?}", v.findings);
}

/// A module missing one symbol's version, on a kernel whose strictness is not known: never
/// "would load"; known strict (Debian): refused; known lenient (mainline): loads.
#[test]
fn unversioned_symbol_on_an_unknown_or_strict_kernel() {
    let info = module(&["printk", "crc_itu_t"], &GPL, |s| {
        s.versions.retain(|(_, n)| n != "crc_itu_t");
    });
    let unknown = Policy {
        strict_versions_unknown: Some("no banner".into()),
        ..Policy::default()
    };
    let v = run(&info, unknown);
    assert_eq!(v.outcome, Outcome::Depends);
    assert!(!v.would_load);
    assert_eq!(v.findings[0].severity, Severity::Depends);
    assert!(v.findings[0]
        .depends_on
        .as_deref()
        .is_some_and(|d| d.contains("no banner")));
    let debian = Policy {
        strict_versions: true,
        ..Policy::default()
    };
    assert_eq!(run(&info, debian).outcome, Outcome::Refused);
    // No version table at all with CONFIG_MODULE_FORCE_LOAD unknown: depends too.
    let bare = module(&["printk"], &GPL, |s| s.versions.clear());
    let unknown = Policy {
        force_load_unknown: Some("no config".into()),
        ..Policy::default()
    };
    assert_eq!(run(&bare, unknown).outcome, Outcome::Depends);
}

/// An export vmlinux has is "exports duplicate symbol … (owned by kernel)".
#[test]
fn exporting_what_the_kernel_exports_is_refused() {
    let t = table();
    let kernel = Kernel::new(&t, Some(MAGIC.into()));
    let info = set_module(&["printk"], &[]);
    let exports = [export("printk", 1), export("crc_itu_t", 2)];
    let set = check_set(
        &[Member {
            name: "ours",
            info: &info,
            exports: &exports,
        }],
        &kernel,
        &Policy::default(),
    );
    assert_eq!(
        issues(&set.verdicts[0]),
        [
            (
                Severity::Error,
                Issue::DuplicateSymbol {
                    symbol: "printk".into(),
                    owner: "kernel".into()
                }
            ),
            (
                Severity::Warning,
                Issue::DuplicateSymbol {
                    symbol: "crc_itu_t".into(),
                    owner: "lib/crc-itu-t".into()
                }
            )
        ]
    );
}

/// A table listing a symbol twice with different CRCs: the answer depends on which module is
/// loaded, never silently the first line.
#[test]
fn conflicting_table_lines_make_the_answer_depend() {
    let mut t = table();
    t.entries.push(Entry::new(
        0xbbbb_0005,
        "crc_itu_t",
        "updates/crc-itu-t",
        ExportKind::Plain,
        "",
    ));
    let kernel = Kernel::new(&t, Some(MAGIC.into()));
    let info = module(&["printk", "crc_itu_t"], &GPL, |_| {});
    let v = check(&info, "ours", &kernel, Policy::default());
    assert_eq!(v.outcome, Outcome::Depends);
    assert!(
        v.findings[0].message.starts_with(
            "crc_itu_t is listed more than once in the table (lib/crc-itu-t 0xaaaa0005, updates/crc-itu-t 0xbbbb0005)"
        ),
        "{}",
        v.findings[0].message
    );
}

/// 160 000 imports are checked in linear time (the old per-import scan of the version table
/// took 33 s).
#[test]
fn many_imports_are_checked_in_linear_time() {
    let n = 160_000;
    let names: Vec<String> = (0..n).map(|i| format!("sym_{i}")).collect();
    let t = Table {
        entries: names
            .iter()
            .enumerate()
            .map(|(i, s)| Entry::new(i as u32 + 1, s, "vmlinux", ExportKind::Plain, ""))
            .collect(),
    };
    let kernel = Kernel::new(&t, None);
    let mut info = module(&[], &GPL, |s| s.versions.clear());
    info.has_versions = true;
    info.versions = names
        .iter()
        .enumerate()
        .map(|(i, s)| modinfo::Version {
            crc: i as u32 + 1,
            name: s.clone(),
        })
        .collect();
    info.imports = names
        .iter()
        .map(|s| crate::elf::Import {
            name: s.clone(),
            weak: false,
        })
        .collect();
    let started = std::time::Instant::now();
    let v = check(&info, "big", &kernel, Policy::default());
    assert_eq!(v.counts.versions_match, n);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// ppc64: the loader makes `.TOC.` absolute (module_64.c `dedotify`); the imports list it
/// without its dot, and it is no "Unknown symbol TOC." (Debian's own modules were refused).
#[test]
fn ppc64_toc_is_not_an_import() {
    let t = table();
    let kernel = Kernel::new(&t, None);
    let mut s = Spec::new(fx::PPC64, Layout::Prel32Namespaced, Crcs::Data);
    s.exports.clear();
    s.imports = vec![".TOC.".into(), "printk".into()];
    s.versions = vec![
        (0xaaaa_0001, "module_layout".into()),
        (0xaaaa_0002, "printk".into()),
    ];
    let info = modinfo::read(&fx::build_module(&s)).unwrap();
    assert!(
        info.imports.iter().any(|i| i.name == "TOC."),
        "{:?}",
        info.imports
    );
    let v = check(&info, "ours", &kernel, Policy::default());
    assert!(v.would_load, "{:?}", v.findings);
}

#[test]
fn unknown_export_types_of_old_tables_warn_non_gpl_modules() {
    // A table of old modpost: "(unknown)" says nothing of GPL-only.
    let mut t = table();
    t.entries[2].kind = crate::symvers::ExportType::Unknown;
    let kernel = Kernel::new(&t, Some(MAGIC.into()));
    let proprietary = module(
        &["kthread_create"],
        &["license=Proprietary", GPL[1]],
        |_| {},
    );
    let v = check(&proprietary, "ours", &kernel, Policy::default());
    assert!(v.would_load, "{:?}", issues(&v));
    assert_eq!(
        issues(&v),
        [(
            Severity::Warning,
            Issue::UnknownExportType {
                symbol: "kthread_create".into(),
                license: "Proprietary".into()
            }
        )]
    );
    let gpl = module(&["kthread_create"], &GPL, |_| {});
    assert!(check(&gpl, "ours", &kernel, Policy::default())
        .findings
        .is_empty());
}
