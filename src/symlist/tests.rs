use std::collections::BTreeSet;
use std::path::Path;

use super::{kernel_imports, to_android, to_plain, SymbolList};
use crate::exports::{Export, ExportKind};
use crate::fixtures::{self as fx, Crcs, Layout, Spec};
use crate::modinfo;

#[test]
fn android_rhel_and_plain_lists_are_read() {
    let android = "[abi_symbol_list]\n  alloc_chrdev_region\n  # a comment\n  cdev_add\n";
    let l = SymbolList::parse(android, Path::new("abi_gki_aarch64_vendor")).unwrap();
    assert_eq!(l.sections, ["abi_symbol_list"]);
    assert!(l.symbols.contains("alloc_chrdev_region") && l.symbols.contains("cdev_add"));
    assert_eq!(l.symbols.len(), 2);
    let rhel = "[rhel9_x86_64_stablelist]\n\tPDE_DATA\n\t__alloc_pages\n";
    let l = SymbolList::parse(rhel, Path::new("kabi_stablelist_x86_64")).unwrap();
    assert_eq!(l.sections, ["rhel9_x86_64_stablelist"]);
    assert_eq!(l.symbols.len(), 2);
    let plain = "kmalloc\n\nkfree   # trailing comment\n";
    let l = SymbolList::parse(plain, Path::new("list")).unwrap();
    assert!(l.sections.is_empty());
    assert_eq!(l.symbols.len(), 2);
    let err = SymbolList::parse("ok\ntwo words\n", Path::new("list")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "list:2: expected one symbol a line, found \"two words\""
    );
}

fn module(imports: &[&str], exports: &[&str]) -> (modinfo::ModuleInfo, Vec<Export>) {
    let mut s = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    s.exports.clear();
    s.imports = imports.iter().map(|s| s.to_string()).collect();
    let info = modinfo::read(&fx::build_module(&s)).unwrap();
    let exports = exports
        .iter()
        .map(|n| Export {
            name: n.to_string(),
            crc: Some(1),
            kind: ExportKind::Plain,
            namespace: String::new(),
        })
        .collect();
    (info, exports)
}

/// What one module of the set exports and the other imports is not a kernel import.
#[test]
fn kernel_imports_leave_out_what_the_set_provides() {
    let a = module(&["_printk", "b_func", ".TOC."], &["a_func"]);
    let b = module(&["_printk", "kmalloc"], &["b_func"]);
    let set = [(&a.0, a.1.as_slice()), (&b.0, b.1.as_slice())];
    let imports = kernel_imports(set);
    let expected: BTreeSet<String> = ["_printk", "kmalloc"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(imports, expected);
    assert_eq!(to_plain(&imports), "_printk\nkmalloc\n");
    assert_eq!(
        to_android(&imports),
        "[abi_symbol_list]\n  _printk\n  kmalloc\n"
    );
    // What is written reads back as the same list.
    let back = SymbolList::parse(&to_android(&imports), Path::new("x")).unwrap();
    assert_eq!(back.symbols.len(), 2);
}
