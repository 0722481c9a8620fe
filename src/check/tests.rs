use super::{check, same_magic, Issue, Kernel, Policy, Severity, Verdict};
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
    // module_layout + three imports.
    assert_eq!(v.counts.versions_match, 4);
    assert_eq!(v.counts.imports, 3);
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
    assert_eq!(v.counts.unversioned, 3);
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
