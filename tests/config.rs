//! `symvers config` and `symvers prepare`'s refusals, driven as a binary on generated kernels.

#[path = "common/fixtures.rs"]
mod fixtures;

use std::path::{Path, PathBuf};
use std::process::Command;

use fixtures::{Crcs, Layout, Spec, SAMPLE_CONFIG};

const RELEASE: &str = "6.1.0-test";

/// A fresh folder for one test (removed at the start, left behind for inspection).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("symvers-cfg-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn symvers(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_symvers"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn spec() -> Spec {
    Spec::new(fixtures::X86_64, Layout::Prel32Namespaced, Crcs::Data)
}

/// An x86 bzImage (gzip) of a vmlinux with the banner of `release` and, when given, an
/// IKCONFIG block of `config`.
fn bzimage(release: &str, config: Option<&str>) -> Vec<u8> {
    let mut extra = fixtures::banner(release);
    if let Some(c) = config {
        extra.extend(fixtures::ikconfig_block(c));
    }
    let vmlinux = fixtures::build_vmlinux_with(&spec(), &extra);
    fixtures::bzimage(&fixtures::compress("gzip", &vmlinux))
}

/// A root with `boot/vmlinuz-REL` (of `image`) and a modules folder with one module; returns the
/// root and the modules folder.
fn root_with(name: &str, image: &[u8]) -> (PathBuf, PathBuf) {
    let root = scratch(name);
    std::fs::create_dir_all(root.join("boot")).unwrap();
    std::fs::write(root.join(format!("boot/vmlinuz-{RELEASE}")), image).unwrap();
    let modules = root.join("lib/modules").join(RELEASE);
    let lib = modules.join("kernel/lib");
    std::fs::create_dir_all(&lib).unwrap();
    let mut module = spec();
    module.modinfo.push(format!(
        "vermagic={RELEASE} SMP preempt mod_unload modversions "
    ));
    std::fs::write(lib.join("a.ko"), fixtures::build_module(&module)).unwrap();
    (root, modules)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn ikconfig_from_a_bzimage() {
    let dir = scratch("bzimage");
    let image = dir.join("vmlinuz");
    std::fs::write(&image, bzimage(RELEASE, Some(SAMPLE_CONFIG))).unwrap();
    let (code, out, err) = symvers(&["config", "--image", s(&image)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, SAMPLE_CONFIG);
    assert!(
        err.contains(&format!(
            "configuration of {RELEASE}: IKCONFIG in the image {}",
            image.display()
        )),
        "{err}"
    );
    assert!(!err.contains("warning"), "{err}");

    // -o writes the same, atomically.
    let dest = dir.join(".config");
    let (code, out, err) = symvers(&["config", "--image", s(&image), "-o", s(&dest)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty());
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), SAMPLE_CONFIG);

    // A release that contradicts the image's banner is refused.
    let (code, out, err) = symvers(&["config", "--image", s(&image), "--release", "6.1.0-other"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("the image is release 6.1.0-test (its banner), not 6.1.0-other"),
        "{err}"
    );
}

#[test]
fn configs_module_then_installed_file() {
    let (root, modules) = root_with("module", &bzimage(RELEASE, None));
    let folder = modules.join("kernel/kernel");
    std::fs::create_dir_all(&folder).unwrap();
    let ko = fixtures::build_module_with(&spec(), &fixtures::ikconfig_block(SAMPLE_CONFIG));
    let configs = folder.join("configs.ko.zst");
    std::fs::write(&configs, fixtures::compress("zstd", &ko)).unwrap();
    let boot_config = root.join(format!("boot/config-{RELEASE}"));
    std::fs::write(&boot_config, "CONFIG_FROM_BOOT=y\n").unwrap();

    let (code, out, err) = symvers(&["config", "--root", s(&root)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, SAMPLE_CONFIG);
    assert!(
        err.contains(&format!("IKCONFIG in the module {}", configs.display())),
        "{err}"
    );

    std::fs::remove_file(&configs).unwrap();
    let (code, out, err) = symvers(&["config", "--root", s(&root), RELEASE]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "CONFIG_FROM_BOOT=y\n");
    assert!(
        err.contains(&format!(
            "configuration of {RELEASE}: {}",
            boot_config.display()
        )),
        "{err}"
    );
}

#[test]
fn a_configuration_of_another_build_is_flagged() {
    let (root, _) = root_with("mismatch", &bzimage(RELEASE, None));
    let other = SAMPLE_CONFIG.replace(
        "gcc-12 (Debian 12.2.0-14) 12.2.0",
        "gcc-13 (Debian 13.2.0-25) 13.2.0",
    );
    std::fs::write(root.join(format!("boot/config-{RELEASE}")), &other).unwrap();
    let (code, out, err) = symvers(&["config", "--root", s(&root)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, other);
    assert!(
        err.contains("warning: the configuration names the compiler \"gcc-13 (Debian 13.2.0-25) 13.2.0\", the kernel was built with \"gcc-12 (Debian 12.2.0-14) 12.2.0\""),
        "{err}"
    );
}

#[test]
fn no_configuration_anywhere_is_an_error_listing_the_places() {
    let (root, modules) = root_with("none", &bzimage(RELEASE, None));
    let (code, out, err) = symvers(&["config", "--root", s(&root)]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "{out}");
    for place in [
        format!("boot/vmlinuz-{RELEASE}"),
        format!("{}/kernel/kernel/configs.ko*", modules.display()),
        format!("boot/config-{RELEASE}"),
        format!("lib/modules/{RELEASE}/config"),
    ] {
        assert!(err.contains(&place), "{place} missing from {err}");
    }
    // Damaged IKCONFIG data is an error naming the image, not a fallback.
    let mut image = bzimage(RELEASE, None);
    let mut vm = fixtures::banner(RELEASE);
    let mut block = fixtures::ikconfig_block(SAMPLE_CONFIG);
    let mid = block.len() / 2;
    block[mid] ^= 0x55;
    vm.extend(block);
    image.clear();
    image.extend(fixtures::bzimage(&fixtures::compress(
        "gzip",
        &fixtures::build_vmlinux_with(&spec(), &vm),
    )));
    let path = root.join(format!("boot/vmlinuz-{RELEASE}"));
    std::fs::write(&path, &image).unwrap();
    std::fs::write(root.join(format!("boot/config-{RELEASE}")), "CONFIG_X=y\n").unwrap();
    let (code, out, err) = symvers(&["config", "--root", s(&root)]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains(&path.display().to_string()) && err.contains("CONFIG_IKCONFIG data"),
        "{err}"
    );
}

#[test]
fn info_shows_the_compiler_and_linker() {
    let dir = scratch("info");
    let image = dir.join("vmlinuz");
    std::fs::write(&image, bzimage(RELEASE, None)).unwrap();
    let (code, out, err) = symvers(&["info", "--image", s(&image)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("release:     {RELEASE}\n")), "{out}");
    assert!(
        out.contains("compiler:    gcc-12 (Debian 12.2.0-14) 12.2.0\n"),
        "{out}"
    );
    assert!(
        out.contains("linker:      GNU ld (GNU Binutils for Debian) 2.40\n"),
        "{out}"
    );
    let (code, out, _) = symvers(&["info", "--image", s(&image), "--format", "json"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc["banner"]["compiler"],
        "gcc-12 (Debian 12.2.0-14) 12.2.0"
    );
    assert_eq!(
        doc["banner"]["linker"],
        "GNU ld (GNU Binutils for Debian) 2.40"
    );
    assert_eq!(doc["banner"]["release"], RELEASE);
}

/// A source tree of `version` (just its top-level Makefile).
fn source_tree(dir: &Path, version: &str) -> PathBuf {
    let tree = dir.join("linux");
    std::fs::create_dir_all(&tree).unwrap();
    let mut parts = version.split('.');
    let text = format!(
        "VERSION = {}\nPATCHLEVEL = {}\nSUBLEVEL = {}\nEXTRAVERSION =\nNAME = Test\n",
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap()
    );
    std::fs::write(tree.join("Makefile"), text).unwrap();
    tree
}

/// prepare refuses what cannot work before it runs make (`--make false` proves it did not).
#[test]
fn prepare_refuses_early() {
    let (root, _) = root_with("prepare", &bzimage(RELEASE, Some(SAMPLE_CONFIG)));
    let dir = root.join("work");
    let run = |tree: &Path, extra: &[&str]| {
        let mut args = vec!["prepare", s(tree), "--root", s(&root), "--make", "false"];
        args.extend_from_slice(extra);
        symvers(&args)
    };

    let other_series = source_tree(&dir.join("a"), "6.10.3");
    let (code, out, err) = run(&other_series, &["-o", s(&dir.join("b1"))]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("the kernel is release 6.1.0-test, the source tree is version 6.10.3: not the same 6.10 series"),
        "{err}"
    );

    let not_a_tree = dir.join("empty");
    std::fs::create_dir_all(&not_a_tree).unwrap();
    let (code, _, err) = run(&not_a_tree, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("not a kernel source tree"), "{err}");

    let tree = source_tree(&dir.join("c"), "6.1.5");
    let busy = dir.join("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    let (code, _, err) = run(&tree, &["-o", s(&busy)]);
    assert_eq!(code, 2);
    assert!(
        err.contains("not empty and not a kbuild output folder"),
        "{err}"
    );

    std::fs::write(tree.join(".config"), SAMPLE_CONFIG).unwrap();
    let (code, _, err) = run(&tree, &["-o", s(&dir.join("b2"))]);
    assert_eq!(code, 2);
    assert!(err.contains("make mrproper"), "{err}");
    std::fs::remove_file(tree.join(".config")).unwrap();

    let (code, _, err) = run(&tree, &["-o", s(&dir.join("b3")), "--", "modules"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`modules` after -- is not a make variable"),
        "{err}"
    );

    // Modules of another release (their vermagic) are not this kernel's.
    let other = root.join(format!("lib/modules/{RELEASE}/kernel/lib/b.ko"));
    let mut module = spec();
    module
        .modinfo
        .push("vermagic=6.1.0-other SMP preempt mod_unload modversions ".into());
    std::fs::write(&other, fixtures::build_module(&module)).unwrap();
    std::fs::write(
        root.join(format!("lib/modules/{RELEASE}/modules.order")),
        "kernel/lib/b.ko\nkernel/lib/a.ko\n",
    )
    .unwrap();
    let (code, _, err) = run(&tree, &["-o", s(&dir.join("b5"))]);
    assert_eq!(code, 2);
    assert!(
        err.contains("the modules were built for release 6.1.0-other (their vermagic), the kernel is 6.1.0-test"),
        "{err}"
    );
    std::fs::remove_file(&other).unwrap();
    std::fs::remove_file(root.join(format!("lib/modules/{RELEASE}/modules.order"))).unwrap();

    // Nothing was created by the refused runs.
    for b in ["b1", "b2", "b3", "b5"] {
        assert!(!dir.join(b).exists(), "{b} was created");
    }

    // Past every early check, the first make run fails: its command line is in the error.
    let (code, out, err) = run(&tree, &["-o", s(&dir.join("b4"))]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("`false -C ") && err.contains(" olddefconfig` failed"),
        "{err}"
    );
}

/// A kernel of another architecture needs ARCH= (and a cross compiler) after `--`.
#[test]
fn prepare_asks_for_arch_of_a_foreign_kernel() {
    let foreign = if cfg!(target_arch = "aarch64") {
        fixtures::X86_64
    } else {
        fixtures::AARCH64
    };
    let mut extra = fixtures::banner(RELEASE);
    extra.extend(fixtures::ikconfig_block(SAMPLE_CONFIG));
    let vmlinux = fixtures::build_vmlinux_with(
        &Spec::new(foreign, Layout::Prel32Namespaced, Crcs::Data),
        &extra,
    );
    let (root, _) = root_with("foreign", &vmlinux);
    let tree = source_tree(&root.join("src"), "6.1.5");
    let (code, _, err) = symvers(&["prepare", s(&tree), "--root", s(&root), "--make", "false"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("give the kernel's ARCH and a cross compiler after --"),
        "{err}"
    );
}
