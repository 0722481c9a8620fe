//! Tests of the raw-image scanner on generated images (`objcopy -O binary` of the vmlinux
//! fixtures: allocated sections at their distance from the load address, no ELF header).

use super::read;
use crate::elf::{Class, Endian};
use crate::error::Problem;
use crate::exports::{CrcStorage, EntryOrder, Export, KsymtabLayout};
use crate::fixtures::{self as fx, Crcs, Layout, Spec};

fn lines(exports: &[Export]) -> Vec<String> {
    let mut out: Vec<String> = exports
        .iter()
        .map(|e| {
            format!(
                "0x{:08x}\t{}\tvmlinux\t{}\t{}",
                e.crc.unwrap_or(0),
                e.name,
                e.kind.as_str(),
                e.namespace
            )
        })
        .collect();
    out.sort();
    out
}

/// Enough exports that the scan's statistics (and REL_CRCS detection) have material.
fn many(mut spec: Spec, n: u32) -> Spec {
    for i in 0..n {
        let kind = if i % 3 == 0 {
            "EXPORT_SYMBOL"
        } else {
            "EXPORT_SYMBOL_GPL"
        };
        let ns = if spec.layout.namespaced() && i % 5 == 0 {
            "SOME_NS"
        } else {
            ""
        };
        spec.exports.push(fx::exp(
            &format!("sym_{i:03}_x"),
            kind,
            ns,
            0x5000_0000 + i * 7919,
        ));
    }
    if !spec.layout.namespaced() {
        for e in &mut spec.exports {
            e.namespace.clear();
        }
    }
    spec
}

fn layout_of(layout: Layout) -> KsymtabLayout {
    match layout {
        Layout::Prel32Namespaced => KsymtabLayout::Prel32Namespaced,
        Layout::Prel32 => KsymtabLayout::Prel32,
        Layout::AbsoluteNamespaced => KsymtabLayout::AbsoluteNamespaced,
        Layout::Absolute => KsymtabLayout::Absolute,
    }
}

#[test]
fn every_arch_layout_and_crc_storage_is_found_by_scanning() {
    let combos = [
        (Layout::Prel32Namespaced, Crcs::Data, CrcStorage::U32),
        (Layout::Prel32Namespaced, Crcs::None, CrcStorage::None),
        (Layout::Prel32, Crcs::Data, CrcStorage::U32),
        (Layout::AbsoluteNamespaced, Crcs::Data, CrcStorage::U32),
        (Layout::Absolute, Crcs::Data, CrcStorage::U32),
        (Layout::Absolute, Crcs::Word, CrcStorage::Word),
        (Layout::Absolute, Crcs::Relative, CrcStorage::Relative),
    ];
    for arch in fx::ALL_ARCHES {
        for (layout, crcs, storage) in combos {
            let what = format!("{} {layout:?} {crcs:?}", arch.name);
            let spec = many(Spec::new(arch, layout, crcs), 40);
            let (image, base) = fx::build_raw_image(&spec);
            let got = read(&image).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(
                lines(&got.vmlinux.exports),
                fx::expected_lines(&spec.exports, "vmlinux", crcs != Crcs::None),
                "{what}"
            );
            let endian = if arch.big_endian {
                Endian::Big
            } else {
                Endian::Little
            };
            assert_eq!(got.endian, endian, "{what}");
            // On 32-bit, `Absolute` CRC words are u32 too.
            if crcs != Crcs::Word || arch.is_64 {
                assert_eq!(got.vmlinux.layout.crcs, storage, "{what}");
            }
            assert_eq!(got.relocations, 0, "{what}");
            if layout.relative() {
                assert_eq!(got.load_base, None, "{what}");
                assert_eq!(got.vmlinux.layout.ksymtab, layout_of(layout), "{what}");
            } else {
                assert_eq!(got.load_base, Some(base), "{what}");
                let class = if arch.is_64 {
                    Class::Elf64
                } else {
                    Class::Elf32
                };
                assert_eq!(got.class, class, "{what}");
                if arch.is_64 {
                    assert_eq!(got.vmlinux.layout.ksymtab, layout_of(layout), "{what}");
                }
            }
        }
    }
}

#[test]
fn tiny_tables_are_found_too() {
    for layout in [Layout::Prel32Namespaced, Layout::AbsoluteNamespaced] {
        let spec = Spec::new(fx::AARCH64, layout, Crcs::Data);
        let (image, _) = fx::build_raw_image(&spec);
        let got = read(&image).unwrap_or_else(|e| panic!("{layout:?}: {e}"));
        assert_eq!(
            lines(&got.vmlinux.exports),
            fx::expected_lines(&spec.exports, "vmlinux", true),
            "{layout:?}"
        );
    }
}

#[test]
fn kflagstab_marks_gpl_exports_of_the_single_table() {
    for arch in [fx::AARCH64, fx::S390X, fx::ARM] {
        for crcs in [Crcs::Data, Crcs::None] {
            let layout = if arch.is_64 {
                Layout::Prel32Namespaced
            } else {
                Layout::AbsoluteNamespaced
            };
            let mut spec = many(Spec::new(arch, layout, crcs), 30);
            spec.flags_table = true;
            let (image, _) = fx::build_raw_image(&spec);
            let got = read(&image).unwrap_or_else(|e| panic!("{} {crcs:?}: {e}", arch.name));
            assert!(
                got.vmlinux.layout.tables.has_flags(),
                "{} {crcs:?}",
                arch.name
            );
            assert_eq!(
                lines(&got.vmlinux.exports),
                fx::expected_lines(&spec.exports, "vmlinux", crcs != Crcs::None),
                "{} {crcs:?}",
                arch.name
            );
        }
    }
}

#[test]
fn null_namespaces_of_5_4_read_as_empty() {
    let mut spec = many(
        Spec::new(fx::AARCH64, Layout::Prel32Namespaced, Crcs::Data),
        20,
    );
    spec.null_namespace = true;
    let (image, _) = fx::build_raw_image(&spec);
    let got = read(&image).unwrap();
    assert_eq!(
        lines(&got.vmlinux.exports),
        fx::expected_lines(&spec.exports, "vmlinux", true)
    );
}

#[test]
fn zero_pointer_words_are_restored_from_the_images_relocations() {
    // arm64 4.6–4.18 RELOCATABLE: R_AARCH64_RELATIVE (1027); s390: R_390_RELATIVE (12).
    for (arch, relative) in [(fx::AARCH64, 1027), (fx::S390X, 12)] {
        let spec = many(Spec::new(arch, Layout::AbsoluteNamespaced, Crcs::Data), 60);
        let elf = fx::build_vmlinux_elf(&spec);
        let image = fx::raw_image_with_relocations(&elf, relative);
        let got = read(&image).unwrap_or_else(|e| panic!("{}: {e}", arch.name));
        assert_eq!(got.load_base, Some(arch.base), "{}", arch.name);
        // value, name and namespace of every record.
        assert_eq!(got.relocations, 3 * spec.exports.len(), "{}", arch.name);
        assert_eq!(
            lines(&got.vmlinux.exports),
            fx::expected_lines(&spec.exports, "vmlinux", true),
            "{}",
            arch.name
        );
    }
}

#[test]
fn an_image_without_tables_is_reported() {
    let zeros = vec![0u8; 1 << 16];
    let mut text: Vec<u8> = (0..1u32 << 14)
        .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
        .collect();
    text.extend_from_slice(b"just\0some\0strings\0here\0and\0there\0");
    for data in [zeros, text] {
        let err = read(&data).unwrap_err();
        assert!(
            matches!(&err, Problem::NoExports(m) if m.contains("no run of at least 4 sorted kernel_symbol records")),
            "{err}"
        );
    }
}

#[test]
fn crc_tables_of_unexpected_size_are_reported() {
    let spec = many(
        Spec::new(fx::AARCH64, Layout::AbsoluteNamespaced, Crcs::Data),
        20,
    );
    let mut elf = fx::build_vmlinux_elf(&spec);
    // Move both symbol tables 8 bytes down (absolute pointers stay valid): 8 more bytes lie
    // before __ksymtab_strings than the CRC tables fill.
    for name in ["__ksymtab", "__ksymtab_gpl"] {
        let i = elf.index_of(name).unwrap();
        elf.section_mut(i).addr -= 8;
    }
    let (image, _) = fx::raw_image(&elf);
    let err = read(&image).unwrap_err();
    assert!(
        matches!(&err, Problem::Exports(m) if m.contains("which fits no __kcrctab/__kflagstab layout")),
        "{err}"
    );
}

#[test]
fn kernel_reads_a_bare_raw_image_by_scanning_and_elf_by_sections() {
    let spec = many(
        Spec::new(fx::AARCH64, Layout::Prel32Namespaced, Crcs::Data),
        20,
    );
    let (image, _) = fx::build_raw_image(&spec);
    let got = crate::kernel::read_image_bytes(&image, 1 << 30).unwrap();
    assert_eq!(got.tables_located_by, crate::kernel::TableSource::Scan);
    assert!(!got.image.is_elf);
    assert_eq!(got.vmlinux.exports.len(), spec.exports.len());
    let elf = fx::build_vmlinux(&spec);
    let got = crate::kernel::read_image_bytes(&elf, 1 << 30).unwrap();
    assert_eq!(got.tables_located_by, crate::kernel::TableSource::Sections);
    // Not a kernel at all: the container error stands.
    let err = crate::kernel::read_image_bytes(&[0x42; 4096], 1 << 30).unwrap_err();
    assert!(matches!(err, Problem::UnknownFormat { .. }), "{err}");
}

#[test]
fn a_symbol_exported_twice_identically_is_one_export() {
    // arm64 5.10 exports memcpy, memset, clear_page, … twice, side by side in __ksymtab.
    let mut spec = many(
        Spec::new(fx::AARCH64, Layout::Prel32Namespaced, Crcs::Data),
        20,
    );
    let twice = fx::exp("sym_003_x", "EXPORT_SYMBOL", "", 0x5000_0000 + 3 * 7919);
    assert!(spec.exports.contains(&twice));
    spec.exports.push(twice);
    let (image, _) = fx::build_raw_image(&spec);
    let got = read(&image).unwrap();
    spec.exports.pop();
    assert_eq!(
        lines(&got.vmlinux.exports),
        fx::expected_lines(&spec.exports, "vmlinux", true)
    );
}

/// Lines of `exports` as the tool writes them (for comparing with a fixture's).
fn fixture_lines(spec: &Spec, with_crc: bool) -> Vec<String> {
    fx::expected_lines(&spec.all_exports(), "vmlinux", with_crc)
}

#[test]
fn tables_in_link_order_of_kernels_before_3_0_are_read_past_kallsyms_decoys() {
    // 2.6.x: entries not sorted, absolute pointers, CRC words or none, and kallsyms_addresses
    // before the tables, whose neighbouring pointers pair up like records naming the strings.
    for arch in fx::ALL_ARCHES {
        for crcs in [Crcs::None, Crcs::Word] {
            for symsearch in [false, true] {
                let what = format!("{} {crcs:?} symsearch={symsearch}", arch.name);
                let mut spec = Spec::old_kernel(arch, crcs, 300);
                spec.kallsyms = true;
                spec.symsearch = symsearch;
                let (image, base) = fx::build_raw_image(&spec);
                let got = read(&image).unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(
                    lines(&got.vmlinux.exports),
                    fixture_lines(&spec, crcs != Crcs::None),
                    "{what}"
                );
                assert_eq!(got.vmlinux.layout.order, EntryOrder::LinkOrder, "{what}");
                assert_eq!(got.load_base, Some(base), "{what}");
            }
        }
    }
}

#[test]
fn the_kernels_list_of_its_tables_names_three_adjacent_ones() {
    // CONFIG_UNUSED_SYMBOLS=y: __ksymtab, _gpl and _unused hold entries. Their count alone
    // cannot tell which tables they are; kernel/module.c's symsearch array can.
    for arch in [fx::ARM, fx::X86_64] {
        let mut spec = Spec::old_kernel(arch, Crcs::Word, 200);
        spec.kallsyms = true;
        for (i, e) in spec.exports.iter_mut().enumerate() {
            if i % 50 == 7 {
                e.kind = "EXPORT_UNUSED_SYMBOL";
            }
        }
        spec.symsearch = true;
        let (image, _) = fx::build_raw_image(&spec);
        let got = read(&image).unwrap_or_else(|e| panic!("{}: {e}", arch.name));
        assert_eq!(
            lines(&got.vmlinux.exports),
            fixture_lines(&spec, true),
            "{}",
            arch.name
        );
        // Without the array: an error, not a guess.
        spec.symsearch = false;
        let (image, _) = fx::build_raw_image(&spec);
        let err = read(&image).unwrap_err();
        assert!(
            matches!(&err, Problem::Exports(m) if m.contains("cannot tell which")),
            "{}: {err}",
            arch.name
        );
    }
}

#[test]
fn arm_aliases_named_outside_the_strings_are_exports_of_their_own() {
    // 2.6.x armksyms.c: EXPORT_SYMBOL_ALIAS(kern_fp_enter, fp_enter) and two more, named by
    // string literals in .rodata, in the middle of __ksymtab.
    let mut spec = Spec::old_kernel(fx::ARM, Crcs::None, 200);
    spec.kallsyms = true;
    let target = spec.exports[10].name.clone();
    for alias in ["kern_fp_enter", "fp_printk", "fp_send_sig"] {
        spec.aliases.push((alias.into(), target.clone()));
    }
    let (image, _) = fx::build_raw_image(&spec);
    let got = read(&image).unwrap();
    assert_eq!(lines(&got.vmlinux.exports), fixture_lines(&spec, false));
}

#[test]
fn a_name_moved_to_the_tail_of_its_string_is_never_the_answer() {
    // A damaged entry whose name pointer moved one byte on ("bb_name1" -> "b_name1") still
    // reads, sorted, without a duplicate: only the string "bb_name1", now named by no entry,
    // shows it.
    for (arch, layout) in [
        (fx::ARM, Layout::AbsoluteNamespaced),
        (fx::AARCH64, Layout::Prel32Namespaced),
    ] {
        let mut spec = Spec::new(arch, layout, Crcs::Data);
        spec.exports = ('a'..='p')
            .enumerate()
            .map(|(i, c)| {
                fx::exp(
                    &format!("{c}{c}_name{i}"),
                    "EXPORT_SYMBOL",
                    "",
                    0x100 + i as u32,
                )
            })
            .collect();
        let elf = fx::build_vmlinux_elf(&spec);
        let (mut image, base) = fx::raw_image(&elf);
        assert!(read(&image).is_ok(), "{}", arch.name);
        let tab = &elf.sections[elf.index_of("__ksymtab").unwrap() - 1];
        let field = layout.field(&arch);
        // Entry 1's name field.
        let at = (tab.addr - base) as usize + layout.entry(&arch) + field;
        let mut v = [0u8; 4];
        v.copy_from_slice(&image[at..at + 4]);
        let moved = (u32::from_le_bytes(v) + 1).to_le_bytes();
        image[at..at + 4].copy_from_slice(&moved);
        let err = read(&image).unwrap_err();
        assert!(
            matches!(&err, Problem::Exports(m) if m.contains("named by no export entry")),
            "{}: {err}",
            arch.name
        );
    }
}
