//! An ELF vmlinux without section headers, read by its segments.

use super::*;
use crate::fixtures::{self as fx, Crcs, Layout, Spec};

const LIMIT: u64 = 1 << 30;

/// A vmlinux of `spec` as `build_vmlinux` writes it, and the same without section headers.
fn with_and_without_section_headers(spec: &Spec) -> (Vec<u8>, Vec<u8>) {
    let mut elf = fx::build_vmlinux_elf(spec);
    let whole = elf.build();
    elf.no_section_headers = true;
    (whole, elf.build())
}

/// Enough exports that the scan is certain.
fn spec(arch: fx::Arch, layout: Layout, crcs: Crcs) -> Spec {
    let mut spec = Spec::new(arch, layout, crcs);
    for i in 0..300u32 {
        let kind = if i % 3 == 0 {
            "EXPORT_SYMBOL"
        } else {
            "EXPORT_SYMBOL_GPL"
        };
        let ns = if layout.namespaced() && i % 7 == 0 {
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
    spec
}

#[test]
fn a_vmlinux_without_section_headers_is_read_by_its_segments() {
    for (arch, layout, crcs) in [
        (fx::X86_64, Layout::Prel32Namespaced, Crcs::Data),
        (fx::PPC64, Layout::AbsoluteNamespaced, Crcs::Data),
        (fx::I386, Layout::Absolute, Crcs::Word),
        (fx::ARM, Layout::Absolute, Crcs::None),
        (fx::S390X, Layout::Prel32Namespaced, Crcs::Data),
    ] {
        let what = format!("{} {layout:?} {crcs:?}", arch.name);
        let (whole, stripped) = with_and_without_section_headers(&spec(arch, layout, crcs));
        let expected = read_image_bytes(&whole, LIMIT).unwrap();
        assert_eq!(expected.tables_located_by, TableSource::Sections);
        let got = read_image_bytes(&stripped, LIMIT).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(got.tables_located_by, TableSource::Segments, "{what}");
        assert_eq!(got.vmlinux.exports, expected.vmlinux.exports, "{what}");
        assert_eq!(got.class, expected.class, "{what}");
        assert_eq!(got.endian, expected.endian, "{what}");
        // Cut right after its last segment: the section headers are gone too.
        let end = crate::elf::Header::parse(&whole)
            .unwrap()
            .program_headers
            .iter()
            .map(|ph| (ph.offset + ph.filesz) as usize)
            .max()
            .unwrap();
        let got = read_image_bytes(&whole[..end], LIMIT).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(got.vmlinux.exports, expected.vmlinux.exports, "{what} cut");
        // Cut inside a segment: an error, never a shorter table.
        let err = read_image_bytes(&stripped[..end - 1], LIMIT).unwrap_err();
        assert!(matches!(err, Problem::Truncated(_)), "{what}: {err:?}");
    }
}

#[test]
fn segments_far_apart_are_scanned_as_separate_ranges() {
    // x86_64 links its per-CPU segment at address 0, 2^64 - 2 GiB away from the rest.
    let spec = spec(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    let mut elf = fx::build_vmlinux_elf(&spec);
    elf.add(fx::Sec {
        addr: 0,
        flags: 3,
        ..fx::Sec::progbits(".data..percpu", vec![0x5a; 4096])
    });
    let expected = read_image_bytes(&elf.build(), LIMIT).unwrap();
    elf.no_section_headers = true;
    let got = read_image_bytes(&elf.build(), LIMIT).unwrap();
    assert_eq!(got.tables_located_by, TableSource::Segments);
    assert_eq!(got.vmlinux.exports, expected.vmlinux.exports);
}

#[test]
fn an_elf_without_section_headers_or_tables_is_an_error() {
    let mut elf = fx::ElfFile::new(fx::X86_64, 2);
    elf.program_headers = true;
    elf.no_section_headers = true;
    elf.add(fx::Sec {
        addr: 0xffff_ffff_8100_0000,
        ..fx::Sec::progbits(".text", vec![0x90; 8192])
    });
    let err = read_image_bytes(&elf.build(), LIMIT).unwrap_err();
    assert!(matches!(err, Problem::NoExports(_)), "{err:?}");
    // No loadable segments either.
    elf.program_headers = false;
    let err = read_image_bytes(&elf.build(), LIMIT).unwrap_err();
    assert!(matches!(err, Problem::NoExports(_)), "{err:?}");
}
