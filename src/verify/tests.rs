use std::path::PathBuf;

use super::{symvers_candidates, verify, Disagreement, Missing};
use crate::exports::ExportKind;
use crate::fixtures::{self as fx, Crcs, Layout, Spec};
use crate::modtree::ModuleFile;
use crate::symvers::{Entry, Table};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("symvers-verify-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn entry(crc: u32, symbol: &str, module: &str) -> Entry {
    Entry::new(crc, symbol, module, ExportKind::Plain, "")
}

fn module_with(versions: &[(u32, &str)], ext: bool) -> Vec<u8> {
    let mut s = Spec::new(fx::PPC64, Layout::Prel32Namespaced, Crcs::Data);
    s.exports.clear();
    let list: Vec<(u32, String)> = versions.iter().map(|(c, n)| (*c, n.to_string())).collect();
    if ext {
        s.ext_versions = list;
    } else {
        s.versions = list;
    }
    fx::build_module(&s)
}

#[test]
fn counts_agreements_disagreements_and_missing() {
    let dir = scratch("counts");
    let table = Table {
        entries: vec![
            entry(0x11, "module_layout", "vmlinux"),
            entry(0x22, "printk", "vmlinux"),
            entry(0x33, "crc_itu_t", "lib/crc-itu-t"),
        ],
    };
    let good = module_with(&[(0x11, "module_layout"), (0x22, "printk")], false);
    let bad = module_with(
        &[(0x11, "module_layout"), (0x34, "crc_itu_t"), (0x1, "ghost")],
        true,
    );
    let none = module_with(&[], false);
    let files = vec![
        ("a/good", "good.ko", good),
        ("b/bad", "bad.ko.xz", fx::compress("xz", &bad)),
        ("c/none", "none.ko.zst", fx::compress("zstd", &none)),
        ("d/broken", "broken.ko", b"not an ELF".to_vec()),
    ];
    let mut list = Vec::new();
    for (name, file, bytes) in files {
        let path = dir.join(file);
        std::fs::write(&path, bytes).unwrap();
        list.push(ModuleFile {
            path,
            name: name.into(),
            rel: file.into(),
            folder: 0,
        });
    }
    let v = verify(&table, &list, 1 << 20);
    assert_eq!(v.modules, 3);
    assert_eq!(v.modules_without_versions, 1);
    assert_eq!(v.imports, 5);
    assert_eq!(v.agree, 3);
    assert_eq!(
        v.disagreements,
        [Disagreement {
            module: "b/bad".into(),
            symbol: "crc_itu_t".into(),
            module_crc: 0x34,
            table_crc: 0x33,
            exporter: "lib/crc-itu-t".into()
        }]
    );
    assert_eq!(
        v.missing,
        [Missing {
            module: "b/bad".into(),
            symbol: "ghost".into(),
            module_crc: 1
        }]
    );
    assert_eq!(v.failures.len(), 1);
    assert!(v.failures[0].to_string().contains("broken.ko"));
    assert!(!v.is_clean());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn distribution_symvers_places() {
    let dir = scratch("places");
    let modules = dir.join("lib/modules/6.1.0-50-amd64");
    std::fs::create_dir_all(&modules).unwrap();
    std::os::unix::fs::symlink(
        "/usr/src/linux-headers-6.1.0-50-amd64",
        modules.join("build"),
    )
    .unwrap();
    let c = symvers_candidates(&dir, "6.1.0-50-amd64", Some(&modules));
    let at = |p: PathBuf| c.iter().position(|x| *x == p).unwrap();
    let boot = at(dir.join("boot/symvers-6.1.0-50-amd64.gz"));
    let in_modules = at(modules.join("symvers.gz"));
    // The absolute build link is resolved under the root, not on the host.
    let build = at(dir.join("usr/src/linux-headers-6.1.0-50-amd64/Module.symvers"));
    assert!(boot < in_modules && in_modules < build, "{c:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn imports_from_a_namespace_not_imported_are_reported() {
    // A namespace string damaged in the exporter ("USB_STORAGE" -> "TSB_STORAGE") reads as a
    // plausible namespace; only the importers, which import USB_STORAGE, show it.
    use super::{verify_imports, NamespaceNotImported};
    use crate::modinfo::{ModuleImports, Version};
    let table = Table {
        entries: vec![
            Entry::new(
                0x11,
                "usb_stor_probe1",
                "drivers/usb/storage/usb-storage",
                ExportKind::Gpl,
                "TSB_STORAGE",
            ),
            Entry::new(
                0x22,
                "kvm_only",
                "arch/x86/kvm/kvm",
                ExportKind::Gpl,
                "module:kvm-amd,kvm-intel",
            ),
        ],
    };
    let user = |ns: &str, name: Option<&str>| ModuleImports {
        versions: vec![
            Version {
                crc: 0x11,
                name: "usb_stor_probe1".into(),
            },
            Version {
                crc: 0x22,
                name: "kvm_only".into(),
            },
        ],
        has_versions: true,
        import_ns: vec![ns.into()],
        in_tree_name: name.map(str::to_string),
        unversioned: Vec::new(),
    };
    let v = verify_imports(
        &table,
        &[(
            "drivers/usb/storage/uas".into(),
            user("USB_STORAGE", Some("kvm_amd")),
        )],
    );
    assert_eq!(
        v.namespaces,
        [NamespaceNotImported {
            module: "drivers/usb/storage/uas".into(),
            symbol: "usb_stor_probe1".into(),
            namespace: "TSB_STORAGE".into(),
            exporter: "drivers/usb/storage/usb-storage".into(),
        }]
    );
    assert!(!v.is_clean());
    let v = verify_imports(
        &table,
        &[("m".into(), user("TSB_STORAGE", Some("kvm_intel")))],
    );
    assert!(v.is_clean(), "{:?}", v.namespaces);
}
