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
        Problem::Inside {
            path: "bzImage (zstd payload at 0xe00)".into(),
            problem: Box::new(Problem::TooLarge {
                format: "zstd",
                limit: 1000
            })
        }
    );
    // The same through scanning: the limit error is reported, not "nothing found".
    let zimage = fx::arm_zimage(&piggy("xz", &fx::raw_kernel(300 << 10)), &[]);
    assert_eq!(
        unwrap(&zimage, 100 << 10).unwrap_err(),
        Problem::Inside {
            path: "arm zImage (scanned for a compressed kernel from 0x0)".into(),
            problem: Box::new(Problem::TooLarge {
                format: "xz",
                limit: 100 << 10
            })
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

#[test]
fn uimage_lz4_takes_either_framing_and_lzma_any_properties() {
    let img = fx::arm64_image(256 << 10, false);
    // IH_COMP_LZ4 around what plain `lz4` writes and around the kernel build's `lz4 -l`.
    for (name, format) in [
        ("lz4-frame", Compression::Lz4Frame),
        ("lz4", Compression::Lz4Legacy),
    ] {
        let file = fx::uimage(&fx::compress(name, &img), 22, 2, 5);
        let k = unwrap(&file, LIMIT).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(k.info.compression, Some(format), "{name}");
        assert!(k.bytes.as_ref() == img.as_slice(), "{name}");
    }
    // OpenWrt: `lzma e -lc1 -lp2 -pb2` under IH_COMP_LZMA.
    let file = fx::uimage(&fx::compress("lzma-openwrt", &img), 22, 2, 3);
    let k = unwrap(&file, LIMIT).unwrap();
    assert_eq!(k.info.compression, Some(Compression::Lzma));
    assert!(k.bytes.as_ref() == img.as_slice());
    // A header naming another family is still checked against the payload.
    let wrong = fx::uimage(&fx::compress("lz4-frame", &img), 22, 2, 1);
    assert_eq!(
        unwrap(&wrong, LIMIT).unwrap_err(),
        Problem::CompressionMismatch {
            container: "U-Boot uImage",
            named: "gzip",
            found: "lz4-frame",
            offset: 64
        }
    );
}

#[test]
fn fit_image_with_every_compression_and_data_placement() {
    let img = fx::arm64_image(200 << 10, false);
    let dtb = fx::board_dtb();
    for (its, name, format) in [
        ("none", "", None),
        ("gzip", "gzip", Some(Compression::Gzip)),
        ("bzip2", "bzip2", Some(Compression::Bzip2)),
        ("lzma", "lzma", Some(Compression::Lzma)),
        ("lzo", "lzo", Some(Compression::Lzo)),
        ("lz4", "lz4-frame", Some(Compression::Lz4Frame)),
        ("lz4", "lz4", Some(Compression::Lz4Legacy)),
        ("zstd", "zstd", Some(Compression::Zstd)),
    ] {
        let data = if name.is_empty() {
            img.clone()
        } else {
            fx::compress(name, &img)
        };
        for place in [
            fx::FitData::Inline,
            fx::FitData::External,
            fx::FitData::Position,
        ] {
            let what = format!("{its} {name} {place:?}");
            let images = [
                fx::FitImage {
                    name: "fdt-1",
                    kind: "flat_dt",
                    compression: "none",
                    data: &dtb,
                },
                fx::FitImage {
                    name: "kernel-1",
                    kind: "kernel",
                    compression: its,
                    data: &data,
                },
            ];
            let file = fx::fit(&images, place, Some("kernel-1"));
            let k = unwrap(&file, LIMIT).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(k.bytes.as_ref() == img.as_slice(), "{what}");
            assert_eq!(k.info.container, Container::Fit, "{what}");
            assert_eq!(k.info.layers[0].compression, format, "{what}");
            assert_eq!(k.info.layers[0].payload_size, data.len() as u64, "{what}");
            let at = k.info.layers[0].payload_offset as usize;
            assert!(file[at..at + data.len()] == data[..], "{what}");
            assert_eq!(k.info.arch, Some(Arch::Arm64), "{what}");
            assert_eq!(k.info.kind, KernelKind::Arm64Image, "{what}");
        }
    }
}

#[test]
fn fit_kernel_is_the_one_the_default_configuration_names() {
    let arm64 = fx::arm64_image(64 << 10, false);
    let riscv = fx::riscv_image(64 << 10);
    let images = [
        fx::FitImage {
            name: "kernel-1",
            kind: "kernel",
            compression: "none",
            data: &riscv,
        },
        fx::FitImage {
            name: "kernel-2",
            kind: "kernel_noload",
            compression: "none",
            data: &arm64,
        },
    ];
    let file = fx::fit(&images, fx::FitData::Inline, Some("kernel-2"));
    assert_eq!(
        unwrap(&file, LIMIT).unwrap().info.kind,
        KernelKind::Arm64Image
    );
    // Without configurations: the first kernel image.
    let file = fx::fit(&images, fx::FitData::Inline, None);
    assert_eq!(
        unwrap(&file, LIMIT).unwrap().info.kind,
        KernelKind::RiscvImage
    );
    // A configuration naming an image that is not there, or one that is no kernel.
    let err = unwrap(
        &fx::fit(&images, fx::FitData::Inline, Some("kernel-9")),
        LIMIT,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Problem::Container { container: "FIT image", detail } if detail.contains("kernel-9")),
        "{err:?}"
    );
    let ramdisk = [fx::FitImage {
        name: "ramdisk-1",
        kind: "ramdisk",
        compression: "none",
        data: &arm64,
    }];
    let err = unwrap(
        &fx::fit(&ramdisk, fx::FitData::Inline, Some("ramdisk-1")),
        LIMIT,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Problem::Container { detail, .. } if detail.contains("\"ramdisk\"")),
        "{err:?}"
    );
    let err = unwrap(&fx::fit(&ramdisk, fx::FitData::Inline, None), LIMIT).unwrap_err();
    assert_eq!(
        err,
        Problem::Container {
            container: "FIT image",
            detail: "no image in /images is a kernel".into()
        }
    );
}

#[test]
fn a_plain_device_tree_or_a_damaged_one_is_no_kernel_container() {
    let dtb = fx::board_dtb();
    let err = unwrap(&dtb, LIMIT).unwrap_err();
    assert!(
        matches!(&err, Problem::Container { container: "flattened device tree", detail } if detail.contains("not a FIT image")),
        "{err:?}"
    );
    // Nor is it read as a raw kernel by the export reader's fallback.
    assert_eq!(
        crate::kernel::read_image_bytes(&dtb, LIMIT).unwrap_err(),
        err
    );
    let img = fx::arm64_image(64 << 10, false);
    let file = fx::fit(
        &[fx::FitImage {
            name: "kernel-1",
            kind: "kernel",
            compression: "none",
            data: &img,
        }],
        fx::FitData::External,
        None,
    );
    assert!(matches!(
        unwrap(&file[..file.len() - 1], LIMIT).unwrap_err(),
        Problem::Truncated(_)
    ));
    assert!(matches!(
        unwrap(&dtb[..dtb.len() - 1], LIMIT).unwrap_err(),
        Problem::Truncated(_)
    ));
    let mut bad_token = dtb.clone();
    let structure = u32::from_be_bytes(bad_token[8..12].try_into().unwrap()) as usize;
    bad_token[structure + 3] = 0x7;
    let err = unwrap(&bad_token, LIMIT).unwrap_err();
    assert!(
        matches!(&err, Problem::Container { container: "flattened device tree", detail }
            if detail.starts_with("not a valid device tree: ")),
        "{err:?}"
    );
}

#[test]
fn a_compressed_kernel_whose_banner_shows_through_is_found_after_an_unknown_header() {
    let kernel = fx::raw_kernel(300 << 10);
    for (name, format) in [
        ("lz4", Compression::Lz4Legacy),
        ("lz4-frame", Compression::Lz4Frame),
        ("lzo-literal", Compression::Lzo),
        ("gzip", Compression::Gzip),
    ] {
        let mut file = b"VENDOR-HEADER v2 ".repeat(8);
        let offset = file.len();
        let packed = piggy(name, &kernel);
        if name != "gzip" {
            // LZ4 and LZO keep the banner as a literal: the case this test is about.
            assert!(probe::has_banner(&packed), "{name}");
        }
        file.extend(&packed);
        let k = unwrap(&file, LIMIT).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(k.info.container, Container::Embedded, "{name}");
        assert_eq!(k.info.compression, Some(format), "{name}");
        assert_eq!(k.info.payload_offset, offset as u64, "{name}");
        assert!(k.bytes.as_ref() == kernel.as_slice(), "{name}");
    }
    // A raw kernel with a stream before its banner that is no kernel stays a raw kernel.
    let mut raw = kernel.clone();
    let decoy = fx::compress("gzip", b"the built-in initramfs, not a kernel");
    raw[512..512 + decoy.len()].copy_from_slice(&decoy);
    let k = unwrap(&raw, LIMIT).unwrap();
    assert_eq!(k.info.container, Container::Raw);
    assert!(k.info.layers.is_empty());
}

#[test]
fn lzma_with_any_properties_is_found_by_scanning_past_tables_of_small_integers() {
    let kernel = fx::raw_kernel(300 << 10);
    // A PE/COFF-like table of u32s before the payload: each `00 | 00 00 10 00 | size | 00`
    // passes the LZMA header check; after them a header whose "stream" is zeros, which an
    // LZMA decoder decodes to zeros without end.
    let mut table = Vec::new();
    for v in [0x1000u32, 0x2000, 0x10_0000, 0, 0x40_0000, 0, 0, 0x1000, 0] {
        table.extend(v.to_le_bytes());
    }
    let mut zeros = vec![0x00, 0x00, 0x00, 0x10, 0x00];
    zeros.extend([0xff; 8]);
    zeros.extend([0u8; 64 << 10]);
    let mut decoys = table.clone();
    decoys.extend(&zeros);
    let plausible = super::scan::candidates(&decoys, 0..decoys.len())
        .iter()
        .filter(|(_, c)| *c == Compression::Lzma)
        .count();
    assert!(plausible >= 3, "{plausible}");
    let piggy = piggy("lzma-openwrt", &kernel);
    let image = fx::arm_zimage(&[&decoys[..], &piggy[..]].concat(), &[]);
    let started = std::time::Instant::now();
    let k = unwrap(&image, LIMIT).unwrap();
    assert_eq!(k.info.compression, Some(Compression::Lzma));
    assert_eq!(k.info.payload_offset, 0x4000 + decoys.len() as u64);
    assert!(k.bytes.as_ref() == kernel.as_slice());
    // Without a kernel, the decoys fail fast: the stream of zeros is not decoded to the limit.
    let none = fx::arm_zimage(&decoys, &[]);
    assert!(matches!(
        unwrap(&none, LIMIT).unwrap_err(),
        Problem::NoKernelInside { .. }
    ));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn concatenated_payloads_unwrap_whole() {
    let kernel = vmlinux();
    // A bzImage's ELF payload in two gzip members: decoded (and stopped early) across them.
    let image = fx::bzimage(&fx::concatenated("gzip", &kernel, 2));
    let k = crate::kernel::read_image_bytes(&image, LIMIT).unwrap();
    assert_eq!(k.vmlinux.exports.len(), fx::sample_exports().len());
    let k = unwrap(&image, LIMIT).unwrap();
    assert!(k.bytes.as_ref() == kernel.as_slice());
    // An `Image.gz` of two members with a device tree appended, and in a uImage.
    let img = fx::arm64_image(200 << 10, false);
    for (name, format) in [
        ("gzip", Compression::Gzip),
        ("zstd", Compression::Zstd),
        ("xz", Compression::Xz),
        ("bzip2", Compression::Bzip2),
        ("lz4-frame", Compression::Lz4Frame),
    ] {
        let mut packed = fx::concatenated(name, &img, 3);
        if format != Compression::Xz {
            let file = fx::uimage(&packed, 22, 2, ih_comp(format));
            let k = unwrap(&file, LIMIT).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(k.bytes.as_ref() == img.as_slice(), "{name} in a uImage");
        }
        packed.extend(fx::board_dtb());
        let k = unwrap(&packed, LIMIT).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(k.info.compression, Some(format), "{name}");
        assert!(
            k.bytes.as_ref() == img.as_slice(),
            "{name} with a DTB appended"
        );
    }
}

#[test]
fn errors_inside_a_container_name_the_containers() {
    let img = fx::arm64_image(64 << 10, false);
    // A uImage whose gzip payload is cut: the error says where.
    let mut packed = fx::compress("gzip", &img);
    packed.truncate(packed.len() / 2);
    let file = fx::uimage(&packed, 22, 2, 1);
    let err = unwrap(&file, LIMIT).unwrap_err();
    let Problem::Inside { path, problem } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(path, "U-Boot uImage (gzip payload at 0x40)");
    assert!(matches!(
        **problem,
        Problem::Decompress { format: "gzip", .. }
    ));
    // Two layers down: an Android boot image holding unknown bytes.
    let boot = fx::android_boot(b"neither a kernel nor a known container, just bytes", 2);
    let err = unwrap(&boot, LIMIT).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "Android boot image (stored payload at 0x800): not a kernel image or ELF file \
             (first bytes 6e 65 69 74 68 65 72 20): none of ELF, bzImage, "
        ),
        "{err}"
    );
    // A bare stream says what it is by itself.
    let err = unwrap(&packed, LIMIT).unwrap_err();
    assert!(
        matches!(err, Problem::Decompress { format: "gzip", .. }),
        "{err:?}"
    );
}
