use super::module;
use super::vmlinux;
use super::KsymtabLayout;
use crate::elf::Elf;
use crate::error::Problem;
use crate::fixtures::{self as fx, Crcs, Layout, Spec};

fn lines(exports: &[super::Export], module: &str) -> Vec<String> {
    let mut out: Vec<String> = exports
        .iter()
        .map(|e| {
            format!(
                "0x{:08x}\t{}\t{}\t{}\t{}",
                e.crc.unwrap_or(0),
                e.name,
                module,
                e.kind.as_str(),
                e.namespace
            )
        })
        .collect();
    out.sort();
    out
}

/// Every (layout, CRC storage) pair a kernel of some era produces.
const COMBOS: [(Layout, Crcs); 8] = [
    (Layout::Prel32Namespaced, Crcs::Data),
    (Layout::Prel32Namespaced, Crcs::AbsoluteSymbols),
    (Layout::Prel32Namespaced, Crcs::None),
    (Layout::Prel32, Crcs::AbsoluteSymbols),
    (Layout::AbsoluteNamespaced, Crcs::Data),
    (Layout::AbsoluteNamespaced, Crcs::AbsoluteSymbols),
    (Layout::Absolute, Crcs::Word),
    (Layout::Absolute, Crcs::Relative),
];

fn without_namespaces(mut spec: Spec) -> Spec {
    if spec.crcs == Crcs::Relative {
        // Relative CRCs are told from literal ones statistically: give the tables a real size.
        for i in 0..40 {
            let kind = if i % 2 == 0 {
                "EXPORT_SYMBOL"
            } else {
                "EXPORT_SYMBOL_GPL"
            };
            spec.exports.push(fx::exp(
                &format!("many_{i:02}"),
                kind,
                "",
                0x1000_0000 + i * 7919,
            ));
        }
    }
    if !spec.layout.namespaced() {
        for e in &mut spec.exports {
            e.namespace.clear();
        }
    }
    spec
}

#[test]
fn module_exports_every_arch_layout_and_crc_storage() {
    for arch in fx::ALL_ARCHES {
        for (layout, crcs) in COMBOS {
            let spec = without_namespaces(Spec::new(arch, layout, crcs));
            let ko = fx::build_module(&spec);
            let got = module::read(&ko)
                .unwrap_or_else(|e| panic!("{} {layout:?} {crcs:?}: {e}", arch.name));
            assert_eq!(
                lines(&got.exports, "m"),
                fx::expected_lines(&spec.exports, "m", crcs != Crcs::None),
                "{} {layout:?} {crcs:?}",
                arch.name
            );
            let expect_layout = match layout {
                Layout::Prel32Namespaced => KsymtabLayout::Prel32Namespaced,
                Layout::Prel32 => KsymtabLayout::Prel32,
                Layout::AbsoluteNamespaced => KsymtabLayout::AbsoluteNamespaced,
                Layout::Absolute => KsymtabLayout::Absolute,
            };
            // On 32-bit, PREL32 and absolute entries have the same size; a .ko's relocations
            // resolve both alike, so either answer reads the same records.
            if arch.is_64 {
                assert_eq!(
                    got.layout.map(|l| l.ksymtab),
                    Some(expect_layout),
                    "{} {layout:?}",
                    arch.name
                );
            }
        }
    }
}

/// Symbols whose section is `SHN_XINDEX` (a linker writes it past 0xff00 sections) resolve
/// through `.symtab_shndx`, for the exports (relocation targets, absolute CRCs) and the imports.
#[test]
fn module_symbols_with_extended_section_indices() {
    for arch in [fx::X86_64, fx::ARM, fx::PPC64, fx::MIPS32BE] {
        for (layout, crcs) in [
            (Layout::Prel32Namespaced, Crcs::Data),
            (Layout::Absolute, Crcs::AbsoluteSymbols),
            (Layout::Prel32, Crcs::Relative),
        ] {
            let mut spec = without_namespaces(Spec::new(arch, layout, crcs));
            spec.imports = vec!["printk".into()];
            let mut elf = fx::build_module_elf(&spec);
            elf.extended_indices = true;
            let ko = elf.build();
            let got = module::read(&ko)
                .unwrap_or_else(|e| panic!("{} {layout:?} {crcs:?}: {e}", arch.name));
            assert_eq!(
                lines(&got.exports, "m"),
                fx::expected_lines(&spec.exports, "m", true),
                "{} {layout:?} {crcs:?}",
                arch.name
            );
            let info = crate::modinfo::read(&ko).unwrap();
            assert!(info.imports.iter().any(|i| i.name == "printk"));
        }
    }
}

#[test]
fn vmlinux_exports_every_arch_layout_and_crc_storage() {
    for arch in fx::ALL_ARCHES {
        for (layout, crcs) in COMBOS {
            let spec = without_namespaces(Spec::new(arch, layout, crcs));
            let bytes = fx::build_vmlinux(&spec);
            let elf = Elf::parse(&bytes).unwrap();
            let got = vmlinux::read_elf(&elf)
                .unwrap_or_else(|e| panic!("{} {layout:?} {crcs:?}: {e}", arch.name));
            assert_eq!(
                lines(&got.exports, "vmlinux"),
                fx::expected_lines(&spec.exports, "vmlinux", crcs != Crcs::None),
                "{} {layout:?} {crcs:?}",
                arch.name
            );
        }
    }
}

#[test]
fn kflagstab_marks_gpl_exports_in_a_single_table() {
    for arch in [fx::X86_64, fx::S390X, fx::I386] {
        for crcs in [Crcs::None, Crcs::Data] {
            let mut spec = Spec::new(arch, Layout::Prel32Namespaced, crcs);
            spec.flags_table = true;
            let expected = fx::expected_lines(&spec.exports, "m", crcs != Crcs::None);
            let got = module::read(&fx::build_module(&spec)).unwrap();
            assert_eq!(lines(&got.exports, "m"), expected);
            let v = fx::build_vmlinux(&spec);
            let got = vmlinux::read_elf(&Elf::parse(&v).unwrap()).unwrap();
            assert!(got.layout.tables.has_flags());
            assert_eq!(
                lines(&got.exports, "m"),
                expected,
                "{} vmlinux with flags",
                arch.name
            );
        }
    }
}

#[test]
fn null_namespace_of_5_4_reads_as_empty() {
    for layout in [Layout::Prel32Namespaced, Layout::AbsoluteNamespaced] {
        let mut spec = Spec::new(fx::X86_64, layout, Crcs::AbsoluteSymbols);
        spec.null_namespace = true;
        module_and_vmlinux_read_as_expected(&spec);
    }
}

#[test]
fn old_export_kinds_are_kept() {
    let mut spec = Spec::new(fx::X86_64, Layout::Absolute, Crcs::Word);
    spec.exports = vec![
        fx::exp("a_future", "EXPORT_SYMBOL_GPL_FUTURE", "", 1),
        fx::exp("b_unused", "EXPORT_UNUSED_SYMBOL", "", 2),
        fx::exp("c_unused_gpl", "EXPORT_UNUSED_SYMBOL_GPL", "", 3),
        fx::exp("d_plain", "EXPORT_SYMBOL", "", 4),
    ];
    module_and_vmlinux_read_as_expected(&spec);
}

/// `spec`'s exports, with CRCs, read back the same from its module and from its vmlinux.
fn module_and_vmlinux_read_as_expected(spec: &Spec) {
    let expected = fx::expected_lines(&spec.exports, "m", true);
    let got = module::read(&fx::build_module(spec)).unwrap();
    assert_eq!(lines(&got.exports, "m"), expected);
    let v = fx::build_vmlinux(spec);
    let got = vmlinux::read_elf(&Elf::parse(&v).unwrap()).unwrap();
    assert_eq!(lines(&got.exports, "m"), expected);
}

#[test]
fn module_without_exports_is_empty_not_an_error() {
    let mut spec = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    spec.exports.clear();
    let got = module::read(&fx::build_module(&spec)).unwrap();
    assert!(got.exports.is_empty());
    assert_eq!(got.layout, None);
}

/// The error reading `spec`'s module once `damage` has altered it.
fn damaged_module_error(spec: &Spec, damage: impl FnOnce(&mut fx::ElfFile)) -> Problem {
    let mut elf = fx::build_module_elf(spec);
    damage(&mut elf);
    module::read(&elf.build()).unwrap_err()
}

#[test]
fn module_crc_table_shorter_than_symbol_table_is_reported() {
    let spec = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    let err = damaged_module_error(&spec, |elf| {
        let i = elf.index_of("__kcrctab").unwrap();
        elf.section_mut(i).data.truncate(4);
    });
    assert!(
        matches!(&err, Problem::Exports(m) if m.contains("__kcrctab is 4 bytes")),
        "{err}"
    );
}

#[test]
fn module_name_outside_strings_is_reported() {
    let spec = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    let err = damaged_module_error(&spec, |elf| {
        // Point every relocation of __ksymtab at the .text function symbol.
        let tab = elf.index_of("__ksymtab").unwrap();
        let first = elf.relocs[&tab][0].sym;
        for r in elf.relocs.get_mut(&tab).unwrap() {
            r.sym = first;
        }
    });
    assert!(
        matches!(&err, Problem::Exports(m) if m.contains("no known kernel_symbol layout")),
        "{err}"
    );
}

#[test]
fn module_without_strings_section_is_reported() {
    let spec = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    let err = damaged_module_error(&spec, |elf| {
        let i = elf.index_of("__ksymtab_strings").unwrap();
        elf.section_mut(i).name = "__other".into();
    });
    assert!(matches!(err, Problem::NoExports(_)), "{err}");
}

#[test]
fn kflagstab_of_wrong_length_is_reported() {
    let mut spec = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::None);
    spec.flags_table = true;
    let err = damaged_module_error(&spec, |elf| {
        let i = elf.index_of("__kflagstab").unwrap();
        elf.section_mut(i).data.pop();
    });
    assert!(
        matches!(&err, Problem::Exports(m) if m.contains("__kflagstab has 4 entries")),
        "{err}"
    );
    let mut elf = fx::build_vmlinux_elf(&spec);
    let i = elf.index_of("__kflagstab").unwrap();
    elf.section_mut(i).data.pop();
    let bytes = elf.build();
    let err = vmlinux::read_elf(&Elf::parse(&bytes).unwrap()).unwrap_err();
    assert!(
        matches!(&err, Problem::Exports(m) if m.contains("__kflagstab has 4 entries")),
        "{err}"
    );
}

#[test]
fn vmlinux_without_export_sections_is_reported() {
    let mut elf = fx::ElfFile::new(fx::X86_64, 2);
    elf.add(fx::Sec::progbits(".text", vec![0; 16]));
    let bytes = elf.build();
    let err = vmlinux::read_elf(&Elf::parse(&bytes).unwrap()).unwrap_err();
    assert!(matches!(err, Problem::NoExports(_)), "{err}");
}

#[test]
fn vmlinux_crc_table_of_wrong_size_is_reported() {
    let spec = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    let mut elf = fx::build_vmlinux_elf(&spec);
    let i = elf.index_of("__kcrctab_gpl").unwrap();
    elf.section_mut(i).data.truncate(4);
    let bytes = elf.build();
    let err = vmlinux::read_elf(&Elf::parse(&bytes).unwrap()).unwrap_err();
    assert!(
        matches!(&err, Problem::Exports(m) if m.contains("__kcrctab_gpl is 4 bytes")),
        "{err}"
    );
}

#[test]
fn vmlinux_missing_one_crc_table_is_reported() {
    let spec = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    let mut elf = fx::build_vmlinux_elf(&spec);
    let i = elf.index_of("__kcrctab_gpl").unwrap();
    elf.section_mut(i).name = "__other".into();
    let bytes = elf.build();
    let err = vmlinux::read_elf(&Elf::parse(&bytes).unwrap()).unwrap_err();
    assert!(
        matches!(&err, Problem::Exports(m) if m.contains("missing: __kcrctab_gpl")),
        "{err}"
    );
}

#[test]
fn vmlinux_of_2_6_12_reads_with_its_aliases_duplicates_and_empty_crc_tables() {
    // 2.6.12 arm: link order, no CRCs but empty __kcrctab sections, EXPORT_SYMBOL_ALIAS
    // entries named in .rodata, and sys_open exported plain by armksyms.c and GPL-only by
    // fs/open.c (the loader finds the plain one first).
    let mut spec = Spec::old_kernel(fx::ARM, Crcs::None, 40);
    spec.empty_crc_sections = true;
    let target = spec.exports[3].name.clone();
    for alias in ["kern_fp_enter", "fp_printk", "fp_send_sig"] {
        spec.aliases.push((alias.into(), target.clone()));
    }
    spec.exports
        .insert(5, fx::exp("sys_open", "EXPORT_SYMBOL", "", 0));
    spec.exports
        .push(fx::exp("sys_open", "EXPORT_SYMBOL_GPL", "", 0));
    let mut expected = spec.all_exports();
    expected.retain(|e| !(e.name == "sys_open" && e.kind == "EXPORT_SYMBOL_GPL"));
    let got = vmlinux::read_elf(&Elf::parse(&fx::build_vmlinux(&spec)).unwrap()).unwrap();
    assert_eq!(
        lines(&got.exports, "vmlinux"),
        fx::expected_lines(&expected, "vmlinux", false)
    );
    assert_eq!(got.layout.order, super::EntryOrder::LinkOrder);
    assert_eq!(got.layout.crcs, super::CrcStorage::None);
}

#[test]
fn vmlinux_tables_in_no_era_order_are_refused() {
    // A table neither sorted by name (3.0+) nor in link order (before 3.0): its entries were
    // moved, e.g. by damage. Before, the first layout that read at all was taken.
    for (arch, layout) in [
        (fx::X86_64, Layout::Prel32Namespaced),
        (fx::ARM, Layout::AbsoluteNamespaced),
        (fx::AARCH64, Layout::Prel32Namespaced),
    ] {
        let spec = without_namespaces(Spec::new(arch, layout, Crcs::Data));
        let mut elf = fx::build_vmlinux_elf(&spec);
        let i = elf.index_of("__ksymtab").unwrap();
        let entry = layout.entry(&arch);
        let field = layout.field(&arch);
        let tab = elf.section_mut(i);
        assert!(tab.data.len() >= 3 * entry, "{}", arch.name);
        // Swap the name fields of entries 0 and 2 (PREL32: keep each pointing at its string).
        let name_of = |data: &[u8], k: usize| -> u64 {
            let mut b = [0u8; 8];
            b[..field].copy_from_slice(&data[k * entry + field..k * entry + 2 * field]);
            if arch.big_endian {
                b[..field].reverse();
            }
            u64::from_le_bytes(b)
        };
        let (a, b) = (name_of(&tab.data, 0), name_of(&tab.data, 2));
        let shift = if layout.relative() {
            2 * entry as u64
        } else {
            0
        };
        let (na, nb) = (
            b.wrapping_add(shift) & if field == 4 { 0xffff_ffff } else { u64::MAX },
            a.wrapping_sub(shift) & if field == 4 { 0xffff_ffff } else { u64::MAX },
        );
        arch.put(&mut tab.data, field, na, field);
        arch.put(&mut tab.data, 2 * entry + field, nb, field);
        let err = vmlinux::read_elf(&Elf::parse(&elf.build()).unwrap()).unwrap_err();
        assert!(
            matches!(&err, Problem::Exports(m) if m.contains("neither sorted by name")),
            "{}: {err}",
            arch.name
        );
    }
}

/// A module exporting plain and GPL symbols (PREL32, namespaces, CRCs of `crcs`).
fn exporting_module(crcs: Crcs) -> Spec {
    let mut spec = Spec::new(fx::X86_64, Layout::Prel32Namespaced, crcs);
    spec.exports.extend([
        fx::exp("zz_plain", "EXPORT_SYMBOL", "", 0x0101_0101),
        fx::exp("zz_gpl", "EXPORT_SYMBOL_GPL", "", 0x0202_0202),
    ]);
    spec
}

#[test]
fn module_export_table_renamed_or_emptied_is_reported() {
    // Each damage left fewer exports and exit 0 before.
    let spec = exporting_module(Crcs::Data);
    type Damage = Box<dyn Fn(&mut fx::ElfFile)>;
    let cases: [(&str, Damage); 4] = [
        (
            "__kcrctab holds CRCs but there is no __ksymtab",
            Box::new(|elf| {
                let i = elf.index_of("__ksymtab").unwrap();
                elf.section_mut(i).name = "__ksymtaX".into();
            }),
        ),
        (
            "__ksymtab is SHT_NOBITS",
            Box::new(|elf| {
                let i = elf.index_of("__ksymtab").unwrap();
                elf.section_mut(i).kind = fx::SHT_NOBITS;
            }),
        ),
        (
            "two sections are called __ksymtab",
            Box::new(|elf| {
                let i = elf.index_of("__ksymtab_gpl").unwrap();
                elf.section_mut(i).name = "__ksymtab".into();
            }),
        ),
        (
            "lies in section",
            Box::new(|elf| {
                // Both the table and its CRCs renamed: modpost's __ksymtab_ symbols remain.
                for name in ["__ksymtab_gpl", "__kcrctab_gpl"] {
                    let i = elf.index_of(name).unwrap();
                    elf.section_mut(i).name = format!("{name}X");
                }
            }),
        ),
    ];
    for (expected, damage) in cases {
        let err = damaged_module_error(&spec, damage);
        assert!(
            matches!(&err, Problem::Exports(m) if m.contains(expected)),
            "{expected}: {err}"
        );
    }
    // Without CRCs, the strings of the lost table still tell.
    let spec = exporting_module(Crcs::None);
    let err = damaged_module_error(&spec, |elf| {
        let i = elf.index_of("__ksymtab_gpl").unwrap();
        elf.section_mut(i).name = "__ksymtab_gpX".into();
        // And modpost's symbols are gone too (as if stripped).
        for s in elf.symbols.iter_mut() {
            if s.name.starts_with("__ksymtab_") {
                s.name.insert(0, 'x');
            }
        }
    });
    assert!(
        matches!(&err, Problem::Exports(m) if m.contains("named by no export entry")),
        "{err}"
    );
}

#[test]
fn module_crcs_whose_relocations_went_missing_are_reported() {
    // 4.10–5.18: the CRC is the value of the absolute __crc_ symbol each entry is relocated
    // against; without the relocations the entries read 0x00000000 (before: exit 0).
    let spec = exporting_module(Crcs::AbsoluteSymbols);
    let err = damaged_module_error(&spec, |elf| {
        for name in ["__kcrctab", "__kcrctab_gpl"] {
            let i = elf.index_of(name).unwrap();
            elf.relocs.remove(&i);
        }
    });
    // Read as data, the zeros are refused; had they been other values, the absolute __crc_
    // symbols would disagree with them.
    assert!(
        matches!(&err, Problem::Exports(m) if m.contains("is 0x00000000")),
        "{err}"
    );
    let err = damaged_module_error(&spec, |elf| {
        for name in ["__kcrctab", "__kcrctab_gpl"] {
            let i = elf.index_of(name).unwrap();
            elf.relocs.remove(&i);
            elf.section_mut(i).data.fill(0x5a);
        }
    });
    assert!(
        matches!(&err, Problem::Exports(m) if m.contains("disagrees with the CRC")),
        "{err}"
    );
    // One relocation of a table lost.
    let err = damaged_module_error(&spec, |elf| {
        let i = elf.index_of("__kcrctab").unwrap();
        elf.relocs.get_mut(&i).unwrap().pop();
    });
    assert!(
        matches!(&err, Problem::Exports(m) if m.contains("entries are relocated")),
        "{err}"
    );
}

#[test]
fn module_names_and_namespaces_led_elsewhere_are_reported() {
    let spec = exporting_module(Crcs::Data);
    // Entry 0 of __ksymtab named by the string of another export: the entry's own string is
    // left unnamed (before: a renamed export, exit 0 unless it made a duplicate).
    let err = damaged_module_error(&spec, |elf| {
        let tab = elf.index_of("__ksymtab").unwrap();
        let delta = elf
            .symbols
            .iter()
            .position(|s| s.name == "__kstrtab_zz_plain")
            .unwrap();
        // Relocation 1 is entry 0's name field.
        elf.relocs.get_mut(&tab).unwrap()[1].sym = delta as u32 + 1;
    });
    assert!(matches!(&err, Problem::Exports(_)), "{err}");
    // A namespace field led to a name string: a foreign namespace.
    let err = damaged_module_error(&spec, |elf| {
        let tab = elf.index_of("__ksymtab").unwrap();
        let rels = elf.relocs.get_mut(&tab).unwrap();
        let name_sym = rels[1].sym;
        rels[2].sym = name_sym;
    });
    assert!(
        matches!(&err, Problem::Exports(m) if m.contains("leads to the string labelled __kstrtab_alpha_func")),
        "{err}"
    );
    // Without modpost's labels (as if stripped), the strings still tell.
    let err = damaged_module_error(&spec, |elf| {
        for s in elf.symbols.iter_mut() {
            if s.name.starts_with("__kstrtab") || s.name.starts_with("__ksymtab_") {
                s.name.insert(0, 'x');
            }
        }
        let tab = elf.index_of("__ksymtab").unwrap();
        let rels = elf.relocs.get_mut(&tab).unwrap();
        let name_sym = rels[1].sym;
        rels[2].sym = name_sym;
    });
    assert!(
        matches!(&err, Problem::Exports(m) if m.contains("both an exported name and a namespace")),
        "{err}"
    );
}
