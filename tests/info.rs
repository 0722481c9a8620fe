//! `symvers info` driven as a binary on generated kernels.

#[path = "common/fixtures.rs"]
mod fixtures;

use std::path::{Path, PathBuf};
use std::process::Command;

use fixtures::{Crcs, Layout, Spec};

/// A fresh folder for one test (removed at the start, left behind for inspection).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("symvers-info-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn info(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_symvers"))
        .arg("info")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn modules_tree(dir: &Path) -> PathBuf {
    let modules = dir.join("lib/modules/6.1.0-test");
    let drivers = modules.join("kernel/drivers");
    std::fs::create_dir_all(&drivers).unwrap();
    let ko = fixtures::build_module(&Spec::new(
        fixtures::X86_64,
        Layout::Prel32Namespaced,
        Crcs::Data,
    ));
    std::fs::write(drivers.join("a.ko"), &ko).unwrap();
    std::fs::write(drivers.join("b.ko.xz"), fixtures::compress("xz", &ko)).unwrap();
    std::fs::write(drivers.join("c.ko.xz"), fixtures::compress("xz", &ko)).unwrap();
    modules
}

#[test]
fn bzimage_text_and_json() {
    let dir = scratch("bzimage");
    let vmlinux = fixtures::build_vmlinux(&Spec::new(
        fixtures::X86_64,
        Layout::Prel32Namespaced,
        Crcs::Data,
    ));
    let payload = fixtures::with_size_trailer(fixtures::compress("lzo", &vmlinux), vmlinux.len());
    let image = dir.join("vmlinuz");
    std::fs::write(&image, fixtures::bzimage(&payload)).unwrap();
    let modules = modules_tree(&dir);
    let (image, modules) = (image.to_str().unwrap(), modules.to_str().unwrap());

    let (code, text, err) = info(&["--image", image, "--modules", modules]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("container:   bzImage\n"), "{text}");
    assert!(text.contains("compression: lzo\n"), "{text}");
    assert!(
        text.contains(&format!(
            "kernel:      ELF vmlinux, {} bytes\n",
            vmlinux.len()
        )),
        "{text}"
    );
    assert!(
        text.contains("arch:        x86, 64-bit, little-endian\n"),
        "{text}"
    );
    assert!(text.contains("  EXPORT_SYMBOL: 3\n"), "{text}");
    assert!(text.contains("  EXPORT_SYMBOL_GPL: 2\n"), "{text}");
    assert!(text.contains("modversions: on\n"), "{text}");
    assert!(text.contains("modules:     3 files in "), "{text}");
    assert!(text.contains("(1 none, 2 xz)"), "{text}");

    let (code, json, err) = info(&["--image", image, "--modules", modules, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["kernel"]["container"], "bz-image");
    assert_eq!(doc["kernel"]["compression"], "lzo");
    assert_eq!(doc["kernel"]["payload_offset"], 5 * 512 + 0x400);
    assert_eq!(doc["kernel"]["payload_size"], payload.len());
    assert_eq!(doc["kernel"]["is_elf"], true);
    assert_eq!(doc["elf"]["class"], "elf64");
    assert_eq!(doc["exports"]["total"], 5);
    assert_eq!(doc["exports"]["modversions"], true);
    assert_eq!(doc["module_files"], 3);
    assert_eq!(doc["module_compressions"]["xz"], 2);
}

#[test]
fn raw_arm_zimage_reports_container_without_exports() {
    let dir = scratch("zimage");
    let kernel = fixtures::raw_kernel(200 << 10);
    let piggy = fixtures::with_size_trailer(fixtures::compress("xz", &kernel), kernel.len());
    let image = dir.join("zImage");
    std::fs::write(&image, fixtures::arm_zimage(&piggy, b"\xd0\x0d\xfe\xed")).unwrap();
    let extracted = dir.join("kernel.bin");
    let (code, text, err) = info(&[
        "--image",
        image.to_str().unwrap(),
        "--extract",
        extracted.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("container:   arm zImage\n"), "{text}");
    assert!(
        text.contains("  layer 0:   arm zImage → xz payload at 0x4000, "),
        "{text}"
    );
    assert!(text.contains("kernel:      raw memory image, "), "{text}");
    assert!(
        text.contains("arch:        arm, 32-bit, little-endian\n"),
        "{text}"
    );
    assert!(text.contains("exports:     unavailable: "), "{text}");
    assert!(!text.contains("modules:"), "{text}");
    assert!(std::fs::read(&extracted).unwrap() == kernel);
}

#[test]
fn not_a_kernel_is_exit_code_2() {
    let dir = scratch("garbage");
    let image = dir.join("vmlinuz");
    std::fs::write(&image, b"hello world, not a kernel").unwrap();
    let (code, text, err) = info(&["--image", image.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(text.is_empty());
    assert!(
        err.ends_with(
            "vmlinuz: not a kernel image or ELF file (first bytes 68 65 6c 6c 6f 20 77 6f): \
             none of ELF, bzImage, EFI zboot, Android boot image, U-Boot uImage, FIT image, \
             arm64/RISC-V Image header, arm zImage, s390 image, compressed stream, kernel \
             banner matched, and no compressed kernel was found inside\n"
        ),
        "{err}"
    );
}

#[test]
fn every_layer_is_shown_and_a_failure_names_the_containers() {
    let dir = scratch("layers");
    // An Android boot image holding an `Image.lz4` in the LZ4 frame format (plain `lz4`).
    let kernel = fixtures::arm64_image(64 << 10, false);
    let lz4 = fixtures::compress("lz4-frame", &kernel);
    let boot = dir.join("boot.img");
    std::fs::write(&boot, fixtures::android_boot(&lz4, 2)).unwrap();
    let (code, text, err) = info(&["--image", boot.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("container:   Android boot image\n"), "{text}");
    assert!(
        text.contains(&format!(
            "  layer 0:   Android boot image → stored payload at 0x800, {0} bytes → {0} bytes\n",
            lz4.len()
        )),
        "{text}"
    );
    assert!(
        text.contains("  layer 1:   compressed stream → lz4-frame payload at 0x0, "),
        "{text}"
    );
    assert!(text.contains("compression: lz4-frame\n"), "{text}");

    // The same kernel in a FIT image whose gzip payload is damaged: exit 2, and the error
    // says which container held it and what failed there.
    let mut gz = fixtures::compress("gzip", &kernel);
    let cut = gz.len() / 2;
    gz.truncate(cut);
    let images = [fixtures::FitImage {
        name: "kernel-1",
        kind: "kernel",
        compression: "gzip",
        data: &gz,
    }];
    let fit = dir.join("image.itb");
    std::fs::write(
        &fit,
        fixtures::fit(&images, fixtures::FitData::Inline, None),
    )
    .unwrap();
    let (code, text, err) = info(&["--image", fit.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(text.is_empty());
    assert!(
        err.contains("image.itb: FIT image (gzip payload at 0x"),
        "{err}"
    );
    assert!(err.contains("): gzip data does not decode: "), "{err}");

    // A board's device tree given as the image.
    let dtb = dir.join("board.dtb");
    std::fs::write(&dtb, fixtures::board_dtb()).unwrap();
    let (code, _, err) = info(&["--image", dtb.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.ends_with(
            "board.dtb: flattened device tree: it has no /images node: a board's device tree \
             (.dtb), not a FIT image with a kernel\n"
        ),
        "{err}"
    );
}
