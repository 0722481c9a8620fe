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
