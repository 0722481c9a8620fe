use super::*;
use crate::fixtures::{self as fx, Crcs, Layout, Spec};

const LIMIT: u64 = 1 << 30;

/// Every compression the kernel's build offers for images, as `compress()` names them.
const KERNEL_COMPRESSIONS: [(&str, Compression); 7] = [
    ("gzip", Compression::Gzip),
    ("bzip2", Compression::Bzip2),
    ("lzma", Compression::Lzma),
    ("xz", Compression::Xz),
    ("lzo", Compression::Lzo),
    ("lz4", Compression::Lz4Legacy),
    ("zstd", Compression::Zstd),
];

fn vmlinux() -> Vec<u8> {
    fx::build_vmlinux(&Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data))
}

/// The kernel's build appends the size to every format but gzip, whose own trailer has it
/// (scripts/Makefile.lib `size_append`; x86 since 2.6.30).
fn piggy(name: &str, kernel: &[u8]) -> Vec<u8> {
    let packed = fx::compress(name, kernel);
    if name == "gzip" {
        packed
    } else {
        fx::with_size_trailer(packed, kernel.len())
    }
}

#[test]
fn bzimage_with_every_compression() {
    let kernel = vmlinux();
    for (name, format) in KERNEL_COMPRESSIONS {
        let payload = piggy(name, &kernel);
        let image = fx::bzimage(&payload);
        let k = unwrap(&image, LIMIT).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(k.bytes.as_ref() == kernel.as_slice(), "{name}");
        assert_eq!(k.info.container, Container::BzImage, "{name}");
        assert_eq!(k.info.compression, Some(format), "{name}");
        assert_eq!(k.info.payload_offset, 5 * 512 + 0x400, "{name}");
        assert_eq!(k.info.payload_size, payload.len() as u64, "{name}");
        assert_eq!(k.info.kernel_size, kernel.len() as u64, "{name}");
        assert!(k.info.is_elf);
        assert_eq!(k.info.kind, KernelKind::Elf);
        assert_eq!(k.info.arch, Some(Arch::X86));
        assert_eq!(k.info.layers.len(), 1);
    }
}

#[test]
fn bzimage_exports_read_end_to_end() {
    let image = fx::bzimage(&piggy("lzo", &vmlinux()));
    let k = crate::kernel::read_image_bytes(&image, LIMIT).unwrap();
    assert_eq!(k.vmlinux.exports.len(), fx::sample_exports().len());
    assert_eq!(k.image.compression, Some(Compression::Lzo));
}

#[test]
fn elf_vmlinux_given_directly() {
    let kernel = vmlinux();
    let k = unwrap(&kernel, LIMIT).unwrap();
    assert!(matches!(k.bytes, Cow::Borrowed(_)));
    assert_eq!(k.info.container, Container::Elf);
    assert_eq!(k.info.compression, None);
    assert_eq!(k.info.arch, Some(Arch::X86));
    assert!(k.info.layers.is_empty());
}

#[test]
fn bare_compressed_vmlinux() {
    let kernel = vmlinux();
    let packed = fx::compress("xz", &kernel);
    let k = unwrap(&packed, LIMIT).unwrap();
    assert_eq!(k.info.container, Container::Compressed);
    assert_eq!(k.info.compression, Some(Compression::Xz));
    assert!(k.bytes.as_ref() == kernel.as_slice());
}

#[test]
fn arm64_raw_image_is_the_kernel() {
    let img = fx::arm64_image(64 << 10, false);
    let k = unwrap(&img, LIMIT).unwrap();
    assert_eq!(k.info.container, Container::Raw);
    assert_eq!(k.info.kind, KernelKind::Arm64Image);
    assert_eq!(k.info.arch, Some(Arch::Arm64));
    assert_eq!(k.info.class_hint, Some(Class::Elf64));
    assert_eq!(k.info.endian_hint, Some(Endian::Little));
    assert!(!k.info.is_elf);
    assert_eq!(k.bytes.len(), img.len());

    let be_image = fx::arm64_image(64 << 10, true);
    let be = unwrap(&be_image, LIMIT).unwrap();
    assert_eq!(be.info.endian_hint, Some(Endian::Big));
}

#[test]
fn arm64_image_gz_lz4_zst_xz() {
    let img = fx::arm64_image(200 << 10, false);
    for (name, format) in [
        ("gzip", Compression::Gzip),
        ("lz4", Compression::Lz4Legacy),
        ("zstd", Compression::Zstd),
        ("xz", Compression::Xz),
    ] {
        let packed = fx::compress(name, &img);
        let k = unwrap(&packed, LIMIT).unwrap();
        assert_eq!(k.info.container, Container::Compressed, "{name}");
        assert_eq!(k.info.compression, Some(format), "{name}");
        assert_eq!(k.info.kind, KernelKind::Arm64Image, "{name}");
        assert!(k.bytes.as_ref() == img.as_slice(), "{name}");
    }
}

#[test]
fn riscv_image_and_image_gz() {
    let img = fx::riscv_image(64 << 10);
    let k = unwrap(&img, LIMIT).unwrap();
    assert_eq!(k.info.kind, KernelKind::RiscvImage);
    assert_eq!(k.info.arch, Some(Arch::Riscv));
    let gz = fx::compress("gzip", &img);
    let k = unwrap(&gz, LIMIT).unwrap();
    assert_eq!(k.info.kind, KernelKind::RiscvImage);
    assert_eq!(k.info.compression, Some(Compression::Gzip));
}

#[test]
fn efi_zboot_with_every_type_name() {
    let img = fx::arm64_image(200 << 10, false);
    for (comp_type, name, format) in [
        ("gzip", "gzip", Compression::Gzip),
        ("lz4", "lz4", Compression::Lz4Legacy),
        ("lzma", "lzma", Compression::Lzma),
        ("lzo", "lzo", Compression::Lzo),
        ("xzkern", "xz", Compression::Xz),
        ("zstd22", "zstd", Compression::Zstd),
    ] {
        let packed = fx::compress(name, &img);
        // Makefile.zboot: the header's size leaves out the size trailer of non-gzip payloads.
        let payload = piggy(name, &img);
        let file = fx::zboot(&payload, packed.len(), comp_type, 0xaa64);
        let k = unwrap(&file, LIMIT).unwrap_or_else(|e| panic!("{comp_type}: {e}"));
        assert_eq!(k.info.container, Container::EfiZboot, "{comp_type}");
        assert_eq!(k.info.compression, Some(format), "{comp_type}");
        assert_eq!(k.info.payload_offset, 0x1000, "{comp_type}");
        assert_eq!(k.info.payload_size, packed.len() as u64, "{comp_type}");
        assert_eq!(k.info.arch, Some(Arch::Arm64), "{comp_type}");
        assert!(k.bytes.as_ref() == img.as_slice(), "{comp_type}");
    }
    let riscv = fx::zboot(&fx::compress("gzip", &img), 0, "gzip", 0x5064);
    // A zero payload size cannot hold a stream.
    assert!(matches!(
        unwrap(&riscv, LIMIT).unwrap_err(),
        Problem::NoCompressionMagic {
            container: "EFI zboot",
            ..
        }
    ));
}

#[test]
fn efi_zboot_header_and_payload_must_agree() {
    let img = fx::arm64_image(64 << 10, false);
    let packed = fx::compress("gzip", &img);
    let file = fx::zboot(&packed, packed.len(), "zstd22", 0xaa64);
    assert_eq!(
        unwrap(&file, LIMIT).unwrap_err(),
        Problem::CompressionMismatch {
            container: "EFI zboot",
            named: "zstd",
            found: "gzip",
            offset: 0x1000
        }
    );
    let unknown = fx::zboot(&packed, packed.len(), "brotli", 0xaa64);
    assert_eq!(
        unwrap(&unknown, LIMIT).unwrap_err(),
        Problem::UnknownCompressionName {
            container: "EFI zboot image",
            name: "brotli".into()
        }
    );
}

#[test]
fn arm_zimage_skips_false_magics_and_appended_dtb() {
    let kernel = fx::raw_kernel(300 << 10);
    for (name, format) in [
        ("xz", Compression::Xz),
        ("gzip", Compression::Gzip),
        ("lzo", Compression::Lzo),
        ("lz4", Compression::Lz4Legacy),
        ("lzma", Compression::Lzma),
    ] {
        let piggy = piggy(name, &kernel);
        // An appended DTB that itself holds a gzip stream which decodes (to a non-kernel).
        let mut dtb = b"\xd0\x0d\xfe\xed".to_vec();
        dtb.extend(fx::compress("gzip", b"not a kernel"));
        let image = fx::arm_zimage(&piggy, &dtb);
        let k = unwrap(&image, LIMIT).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(k.info.container, Container::ArmZimage, "{name}");
        assert_eq!(k.info.compression, Some(format), "{name}");
        assert_eq!(k.info.payload_offset, 0x4000, "{name}");
        // Up to the declared end: piggy and 64 bytes of decompressor data, not the DTB.
        assert_eq!(k.info.payload_size, piggy.len() as u64 + 64, "{name}");
        assert_eq!(k.info.kind, KernelKind::Raw, "{name}");
        assert_eq!(k.info.arch, Some(Arch::Arm));
        assert_eq!(k.info.class_hint, Some(Class::Elf32));
        assert_eq!(k.info.endian_hint, Some(Endian::Little));
        assert!(k.bytes.as_ref() == kernel.as_slice(), "{name}");
    }
}

#[test]
fn s390_image_after_a_false_xz_magic() {
    let kernel = fx::raw_kernel(300 << 10);
    let image = fx::s390_image(&piggy("xz", &kernel));
    let k = unwrap(&image, LIMIT).unwrap();
    assert_eq!(k.info.container, Container::S390);
    assert_eq!(k.info.compression, Some(Compression::Xz));
    assert_eq!(k.info.payload_offset, 0x12000);
    assert_eq!(k.info.arch, Some(Arch::S390));
    assert_eq!(k.info.endian_hint, Some(Endian::Big));
    assert!(k.bytes.as_ref() == kernel.as_slice());
}

#[test]
fn s390_image_without_a_kernel_is_an_error() {
    // Three decoys in the decompressor, and a gzip stream that decodes to something else.
    let image = fx::s390_image(&fx::compress("gzip", &[7u8; 5000]));
    let err = unwrap(&image, LIMIT).unwrap_err();
    assert!(
        matches!(
            err,
            Problem::NoKernelInside {
                container: "s390 image",
                candidates: 4,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn mips_vmlinuz_is_unwrapped_but_a_vmlinux_is_not() {
    let kernel = fx::raw_kernel(100 << 10);
    let payload = piggy("gzip", &kernel);
    for image_section in [true, false] {
        let vmlinuz = fx::mips_vmlinuz(&payload, image_section);
        assert_eq!(probe::kernel_kind(&vmlinuz), None);
        let k = unwrap(&vmlinuz, LIMIT).unwrap();
        assert_eq!(k.info.container, Container::ElfDecompressor);
        assert_eq!(k.info.compression, Some(Compression::Gzip));
        assert_eq!(k.info.arch, Some(Arch::Mips));
        assert_eq!(k.info.class_hint, Some(Class::Elf32));
        assert_eq!(k.info.endian_hint, Some(Endian::Big));
        assert!(k.bytes.as_ref() == kernel.as_slice(), "{image_section}");
    }

    // A MIPS vmlinux has export tables: it is the kernel itself.
    let vmlinux = fx::build_vmlinux(&Spec::new(fx::MIPS32BE, Layout::Absolute, Crcs::Data));
    assert_eq!(probe::kernel_kind(&vmlinux), Some(KernelKind::Elf));
    let k = unwrap(&vmlinux, LIMIT).unwrap();
    assert_eq!(k.info.container, Container::Elf);
    assert_eq!(k.info.arch, Some(Arch::Mips));
}

#[test]
fn elf_without_exports_or_payload_is_left_to_the_export_reader() {
    let elf = fx::mips_vmlinuz(b"no payload here", false);
    let k = unwrap(&elf, LIMIT).unwrap();
    assert_eq!(k.info.container, Container::Elf);
    assert_eq!(k.info.kind, KernelKind::Elf);
    assert!(k.info.layers.is_empty());
}

#[test]
fn android_boot_image_v0_and_v4_with_nested_image_gz() {
    let img = fx::arm64_image(100 << 10, false);
    let gz = fx::compress("gzip", &img);
    for version in [0, 2, 3, 4] {
        let boot = fx::android_boot(&gz, version);
        let k = unwrap(&boot, LIMIT).unwrap_or_else(|e| panic!("v{version}: {e}"));
        assert_eq!(k.info.container, Container::AndroidBoot, "v{version}");
        assert_eq!(k.info.layers.len(), 2, "v{version}");
        assert_eq!(k.info.layers[0].compression, None);
        assert_eq!(k.info.layers[1].container, Container::Compressed);
        assert_eq!(k.info.compression, Some(Compression::Gzip));
        assert_eq!(k.info.kind, KernelKind::Arm64Image);
        assert!(k.bytes.as_ref() == img.as_slice(), "v{version}");
    }
}

#[test]
fn limit_applies_to_the_payload() {
    let image = fx::bzimage(&piggy("zstd", &vmlinux()));
    assert_eq!(
        unwrap(&image, 1000).unwrap_err(),
        Problem::TooLarge {
            format: "zstd",
            limit: 1000
        }
    );
    // The same through scanning: the limit error is reported, not "nothing found".
    let zimage = fx::arm_zimage(&piggy("xz", &fx::raw_kernel(300 << 10)), &[]);
    assert_eq!(
        unwrap(&zimage, 100 << 10).unwrap_err(),
        Problem::TooLarge {
            format: "xz",
            limit: 100 << 10
        }
    );
}

#[test]
fn nesting_is_bounded() {
    let mut data = vmlinux();
    for _ in 0..MAX_DEPTH {
        data = fx::compress("gzip", &data);
    }
    let k = unwrap(&data, LIMIT).unwrap();
    assert_eq!(k.info.layers.len(), MAX_DEPTH);
    let deeper = fx::compress("gzip", &data);
    let err = unwrap(&deeper, LIMIT).unwrap_err();
    assert!(matches!(err, Problem::TooDeep { depth: 4, .. }), "{err:?}");
}

#[test]
fn scanning_tries_a_bounded_number_of_candidates() {
    let kernel = fx::raw_kernel(64 << 10);
    let mut data = b"JUNKJUNK".to_vec();
    // More false gzip headers than scan::MAX_ATTEMPTS before the real stream.
    for _ in 0..scan::MAX_ATTEMPTS {
        data.extend(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff\xff");
    }
    let mut reachable = data.clone();
    reachable.truncate(8 + 14 * (scan::MAX_ATTEMPTS - 1));
    reachable.extend(piggy("gzip", &kernel));
    let k = unwrap(&reachable, LIMIT).unwrap();
    assert_eq!(k.info.container, Container::Embedded);
    assert_eq!(
        k.info.payload_offset,
        8 + 14 * (scan::MAX_ATTEMPTS as u64 - 1)
    );

    data.extend(piggy("gzip", &kernel));
    let err = unwrap(&data, LIMIT).unwrap_err();
    assert_eq!(
        err,
        Problem::UnknownFormat {
            first_bytes: "4a 55 4e 4b 4a 55 4e 4b".into()
        }
    );
}

#[test]
fn unknown_bytes_and_empty_files() {
    assert_eq!(
        unwrap(b"hello world, not a kernel", LIMIT).unwrap_err(),
        Problem::UnknownFormat {
            first_bytes: "68 65 6c 6c 6f 20 77 6f".into()
        }
    );
    assert_eq!(unwrap(b"", LIMIT).unwrap_err(), Problem::Empty);
}

#[test]
fn raw_kernel_recognised_by_banner_only() {
    let kernel = fx::raw_kernel(64 << 10);
    assert_eq!(probe::kernel_kind(&kernel), Some(KernelKind::Raw));
    let k = unwrap(&kernel, LIMIT).unwrap();
    assert_eq!(k.info.container, Container::Raw);
    let mut no_banner = kernel.clone();
    let at = memchr::memmem::find(&no_banner, b"Linux version").unwrap();
    no_banner[at] = b'l';
    assert_eq!(probe::kernel_kind(&no_banner), None);
    // "Linux version" must be followed by a version number.
    assert!(!probe::has_banner(b"Linux version unknown"));
    assert!(probe::has_banner(b"xx Linux version 2.6.32 yy"));
}

/// `IH_COMP_*` of U-Boot's include/image.h for each compression the kernel's build offers.
fn ih_comp(format: Compression) -> u8 {
    match format {
        Compression::Gzip => 1,
        Compression::Bzip2 => 2,
        Compression::Lzma => 3,
        Compression::Lzo => 4,
        Compression::Lz4Legacy | Compression::Lz4Frame => 5,
        Compression::Zstd => 6,
        Compression::Xz => unreachable!("U-Boot has no xz"),
    }
}

#[test]
fn uimage_with_every_compression_and_stored() {
    let img = fx::arm64_image(256 << 10, false);
    for (name, format) in KERNEL_COMPRESSIONS {
        if format == Compression::Xz {
            continue;
        }
        let packed = fx::compress(name, &img);
        let file = fx::uimage(&packed, 22, 2, ih_comp(format));
        let k = unwrap(&file, LIMIT).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(k.bytes.as_ref() == img.as_slice(), "{name}");
        assert_eq!(k.info.container, Container::UImage, "{name}");
        assert_eq!(k.info.compression, Some(format), "{name}");
        assert_eq!(k.info.payload_offset, 64, "{name}");
        assert_eq!(k.info.arch, Some(Arch::Arm64), "{name}");
    }
    // IH_COMP_NONE around an x86 vmlinux, and a kernel type U-Boot does not load.
    let kernel = vmlinux();
    for image_type in [2, 14] {
        let file = fx::uimage(&kernel, 24, image_type, 0);
        let k = unwrap(&file, LIMIT).unwrap();
        assert!(k.bytes.as_ref() == kernel.as_slice());
        assert_eq!(k.info.layers[0].compression, None);
        assert!(k.info.is_elf);
    }
}

#[test]
fn uimage_multi_file_kernel_is_the_first_file() {
    let img = fx::arm64_image(128 << 10, false);
    let packed = fx::compress("gzip", &img);
    let data = fx::uimage_multi_data(&[&packed, b"\xd0\x0d\xfe\xed a device tree"]);
    let file = fx::uimage(&data, 22, 4, 1);
    let k = unwrap(&file, LIMIT).unwrap();
    assert!(k.bytes.as_ref() == img.as_slice());
    assert_eq!(k.info.layers[0].payload_offset, 64 + 12);
    assert_eq!(k.info.layers[0].payload_size, packed.len() as u64);
}

#[test]
fn uimage_damage_and_other_types_are_errors() {
    let img = fx::arm64_image(64 << 10, false);
    let file = fx::uimage(&fx::compress("gzip", &img), 22, 2, 1);
    let mut bad_header = file.clone();
    bad_header[40] ^= 1; // a byte of the name
    assert!(matches!(
        unwrap(&bad_header, LIMIT).unwrap_err(),
        Problem::ChecksumMismatch { what: "header", .. }
    ));
    let mut bad_data = file.clone();
    let last = bad_data.len() - 100;
    bad_data[last] ^= 0x40;
    assert!(matches!(
        unwrap(&bad_data, LIMIT).unwrap_err(),
        Problem::ChecksumMismatch { what: "data", .. }
    ));
    assert!(matches!(
        unwrap(&file[..file.len() - 1], LIMIT).unwrap_err(),
        Problem::Truncated(_)
    ));
    let ramdisk = fx::uimage(&fx::compress("gzip", &img), 22, 3, 1);
    assert!(matches!(
        unwrap(&ramdisk, LIMIT).unwrap_err(),
        Problem::BadHeaderField { value: 3, .. }
    ));
    let unknown = fx::uimage(&img, 22, 2, 9);
    assert!(matches!(
        unwrap(&unknown, LIMIT).unwrap_err(),
        Problem::BadHeaderField { value: 9, .. }
    ));
}
