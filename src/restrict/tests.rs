use std::collections::BTreeSet;
use std::path::Path;

use super::{retain_symbols, undefined_symbols_of, undefined_symbols_of_bytes};
use crate::error::{Error, Problem};
use crate::fixtures::{self as fx, Crcs, Layout, Spec};
use crate::symvers::{Columns, Table};

const LIMIT: u64 = 64 << 20;

/// A module of `arch` that exports the sample symbols and calls `printk` and `kfree`, with a
/// local undefined symbol that must not count.
fn module_using(arch: fx::Arch, extra_undefined: &[&str]) -> Vec<u8> {
    let mut f = fx::build_module_elf(&Spec::new(arch, Layout::Prel32Namespaced, Crcs::Data));
    f.sym("printk", 0, true, 0);
    f.sym("kfree", 0, true, 0);
    f.sym("kfree", 0, true, 0);
    f.sym("local_undefined", 0, false, 0);
    for name in extra_undefined {
        f.sym(name, 0, true, 0);
    }
    f.build()
}

#[test]
fn undefined_globals_of_every_arch() {
    for arch in fx::ALL_ARCHES {
        let names = undefined_symbols_of_bytes(&module_using(arch, &[]), LIMIT).unwrap();
        assert_eq!(names, ["kfree", "printk"], "{arch:?}");
    }
}

#[test]
fn compressed_module_is_read() {
    let ko = module_using(fx::X86_64, &["vmalloc"]);
    for format in ["xz", "zstd", "gzip"] {
        let names = undefined_symbols_of_bytes(&fx::compress(format, &ko), LIMIT).unwrap();
        assert_eq!(names, ["kfree", "printk", "vmalloc"], "{format}");
    }
}

#[test]
fn ppc64_dot_symbols_are_stripped() {
    let names =
        undefined_symbols_of_bytes(&module_using(fx::PPC64, &[".mutex_lock"]), LIMIT).unwrap();
    assert_eq!(names, ["kfree", "mutex_lock", "printk"]);
}

#[test]
fn executable_is_refused() {
    let vmlinux = fx::build_vmlinux(&Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data));
    let err = undefined_symbols_of_bytes(&vmlinux, LIMIT).unwrap_err();
    assert_eq!(
        err,
        Problem::Elf("ELF type 2 is not a relocatable object (.ko or .o)".into())
    );
}

#[test]
fn not_an_object_names_the_file() {
    let dir = std::env::temp_dir().join(format!("symvers-restrict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("notes.txt");
    std::fs::write(&path, b"hello world").unwrap();
    let err = undefined_symbols_of(&path, LIMIT).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    match err {
        Error::Format { path: p, problem } => {
            assert_eq!(p, path);
            assert!(matches!(problem, Problem::NotAModule { .. }), "{problem:?}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn retain_keeps_order_and_reports_missing() {
    let text = "0x00000001\tb\tvmlinux\tEXPORT_SYMBOL\t\n\
                0x00000002\ta\tvmlinux\tEXPORT_SYMBOL_GPL\t\n\
                0x00000003\tc\tfs/foo\tEXPORT_SYMBOL\tFOO\n";
    let mut table = Table::parse(text, Path::new("t")).unwrap();
    let wanted: BTreeSet<String> = ["c", "b", "zz"].map(String::from).into();
    let missing = retain_symbols(&mut table, &wanted);
    assert_eq!(missing, ["zz"]);
    assert_eq!(
        table.to_text(Columns::Modern),
        "0x00000001\tb\tvmlinux\tEXPORT_SYMBOL\t\n0x00000003\tc\tfs/foo\tEXPORT_SYMBOL\tFOO\n"
    );
}
