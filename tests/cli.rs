//! The `symvers` binary driven end to end on generated kernel trees.

#[path = "common/fixtures.rs"]
mod fixtures;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fixtures::{Crcs, Layout, Spec};

struct Tree {
    root: PathBuf,
}

impl Tree {
    /// A Debian-like installed kernel: /boot/vmlinuz-REL (bzImage, xz) and lib/modules/REL with
    /// two compressed modules and modules.order.
    fn new(tag: &str, crcs: Crcs) -> Self {
        let root = std::env::temp_dir().join(format!("symvers-cli-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let rel = "6.1.0-test-amd64";
        let mods = root.join("lib/modules").join(rel);
        fs::create_dir_all(mods.join("kernel/lib")).unwrap();
        fs::create_dir_all(mods.join("kernel/net/core")).unwrap();
        fs::create_dir_all(root.join("boot")).unwrap();

        let vmlinux =
            fixtures::build_vmlinux(&Spec::new(fixtures::X86_64, Layout::Prel32Namespaced, crcs));
        let payload =
            fixtures::with_size_trailer(fixtures::compress("xz", &vmlinux), vmlinux.len());
        fs::write(
            root.join("boot").join(format!("vmlinuz-{rel}")),
            fixtures::bzimage(&payload),
        )
        .unwrap();

        let mut a = Spec::new(fixtures::X86_64, Layout::Prel32Namespaced, crcs);
        a.exports = vec![fixtures::exp("crc_itu_t", "EXPORT_SYMBOL", "", 0x09a34a2b)];
        fs::write(
            mods.join("kernel/lib/crc-itu-t.ko.xz"),
            fixtures::compress("xz", &fixtures::build_module(&a)),
        )
        .unwrap();
        let mut b = Spec::new(fixtures::X86_64, Layout::Prel32Namespaced, crcs);
        b.exports = vec![
            fixtures::exp("net_thing", "EXPORT_SYMBOL_GPL", "NETNS", 0x11112222),
            fixtures::exp("net_other", "EXPORT_SYMBOL", "", 0x33334444),
        ];
        fs::write(
            mods.join("kernel/net/core/netthing.ko.zst"),
            fixtures::compress("zstd", &fixtures::build_module(&b)),
        )
        .unwrap();
        fs::write(
            mods.join("modules.order"),
            "kernel/net/core/netthing.ko\nkernel/lib/crc-itu-t.ko\n",
        )
        .unwrap();
        Tree { root }
    }

    fn modules(&self) -> PathBuf {
        self.root.join("lib/modules/6.1.0-test-amd64")
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn symvers(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_symvers"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn expected_table(crc: bool) -> String {
    let spec = Spec::new(fixtures::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    // vmlinux first (table order: __ksymtab then __ksymtab_gpl, each by name), then modules in
    // modules.order order.
    let mut vm: Vec<&fixtures::Exp> = Vec::new();
    for kind in ["EXPORT_SYMBOL", "EXPORT_SYMBOL_GPL"] {
        let mut table: Vec<&fixtures::Exp> =
            spec.exports.iter().filter(|e| e.kind == kind).collect();
        table.sort_by(|a, b| a.name.cmp(&b.name));
        vm.extend(table);
    }
    let c = |v: u32| if crc { v } else { 0 };
    let mut out = String::new();
    for e in vm {
        out += &format!(
            "0x{:08x}\t{}\tvmlinux\t{}\t{}\n",
            c(e.crc),
            e.name,
            e.kind,
            e.namespace
        );
    }
    out += &format!(
        "0x{:08x}\tnet_other\tnet/core/netthing\tEXPORT_SYMBOL\t\n",
        c(0x33334444)
    );
    out += &format!(
        "0x{:08x}\tnet_thing\tnet/core/netthing\tEXPORT_SYMBOL_GPL\tNETNS\n",
        c(0x11112222)
    );
    out += &format!(
        "0x{:08x}\tcrc_itu_t\tlib/crc-itu-t\tEXPORT_SYMBOL\t\n",
        c(0x09a34a2b)
    );
    out
}

#[test]
fn dump_root_writes_the_whole_table_in_documented_order() {
    let t = Tree::new("root", Crcs::Data);
    let out = symvers(&["dump", "--root", t.root.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), expected_table(true));
    assert_eq!(text(&out.stderr), "");
    // Explicit image and modules give the same table.
    let image = t.root.join("boot/vmlinuz-6.1.0-test-amd64");
    let out2 = symvers(&[
        "dump",
        "--image",
        image.to_str().unwrap(),
        "--modules",
        t.modules().to_str().unwrap(),
    ]);
    assert_eq!(out2.stdout, out.stdout);
}

#[test]
fn no_modversions_writes_zero_crcs_and_warns_once() {
    let t = Tree::new("nocrc", Crcs::None);
    let out = symvers(&["dump", "--root", t.root.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), expected_table(false));
    let err = text(&out.stderr);
    assert_eq!(
        err.matches("without CONFIG_MODVERSIONS").count(),
        1,
        "{err}"
    );
}

#[test]
fn output_file_is_written_atomically_and_kept_on_failure() {
    let t = Tree::new("out", Crcs::Data);
    let target = t.root.join("Module.symvers");
    let out = symvers(&[
        "dump",
        "--root",
        t.root.to_str().unwrap(),
        "-o",
        target.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(fs::read_to_string(&target).unwrap(), expected_table(true));
    assert!(out.stdout.is_empty());

    // A corrupt module makes the run fail; the existing file stays as it was.
    fs::write(
        t.modules().join("kernel/lib/broken.ko.xz"),
        b"\xfd7zXZ\0garbage",
    )
    .unwrap();
    let out = symvers(&[
        "dump",
        "--root",
        t.root.to_str().unwrap(),
        "-o",
        target.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("1 of 3 modules could not be read"), "{err}");
    assert!(
        err.contains("kernel/lib/broken.ko.xz: xz data does not decode"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), expected_table(true));
}

#[test]
fn keep_going_writes_what_could_be_read_and_exits_3() {
    let t = Tree::new("keep", Crcs::Data);
    fs::write(t.modules().join("kernel/lib/broken.ko"), b"not an elf").unwrap();
    let out = symvers(&["dump", "--root", t.root.to_str().unwrap(), "--keep-going"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(text(&out.stdout), expected_table(true));
    let err = text(&out.stderr);
    assert!(
        err.contains("broken.ko: not a kernel module: neither an ELF file nor compressed"),
        "{err}"
    );
    assert!(err.contains("1 of 3 modules could not be read"), "{err}");
}

#[test]
fn json_output_has_records_and_detection() {
    let t = Tree::new("json", Crcs::Data);
    let out = symvers(&[
        "dump",
        "--root",
        t.root.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["release"], "6.1.0-test-amd64");
    assert_eq!(v["kernel"]["container"], "bz-image");
    assert_eq!(v["kernel"]["compression"], "xz");
    assert_eq!(v["kernel"]["class"], "elf64");
    assert_eq!(v["kernel"]["endian"], "little");
    assert_eq!(v["kernel"]["layout"], "prel32-namespaced");
    assert_eq!(v["kernel"]["modversions"], true);
    assert_eq!(v["counts"]["vmlinux_exports"], 5);
    assert_eq!(v["counts"]["module_exports"], 3);
    assert_eq!(v["counts"]["module_files"], 2);
    let first = &v["symbols"][5];
    assert_eq!(first["symbol"], "net_other");
    assert_eq!(first["crc"], 0x33334444u32);
    assert_eq!(first["crc_hex"], "0x33334444");
    assert_eq!(first["module"], "net/core/netthing");
    assert_eq!(first["export"], "EXPORT_SYMBOL");
    assert_eq!(first["namespace"], "");
}

#[test]
fn errors_name_the_file_and_exit_2() {
    let t = Tree::new("errors", Crcs::Data);
    let image = t.root.join("boot/vmlinuz-6.1.0-test-amd64");
    fs::write(&image, b"this is not a kernel").unwrap();
    let out = symvers(&["dump", "--root", t.root.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "symvers: {}: not a kernel image or ELF file (first bytes 74 68 69 73 20 69 73 20): \
             none of ELF, bzImage, EFI zboot, Android boot image, U-Boot uImage, FIT image, \
             arm64/RISC-V Image header, arm zImage, s390 image, compressed stream, kernel \
             banner matched, and no compressed kernel was found inside\n",
            image.display()
        )
    );
    assert!(out.stdout.is_empty());

    let out = symvers(&["dump", "--root", "/nonexistent/root"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("symvers: kernel release (a folder with modules) not found")
    );

    let out = symvers(&["dump", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn truncated_image_is_an_error_naming_it() {
    let t = Tree::new("trunc", Crcs::Data);
    let image = t.root.join("boot/vmlinuz-6.1.0-test-amd64");
    let bytes = fs::read(&image).unwrap();
    fs::write(&image, &bytes[..bytes.len() / 2]).unwrap();
    let out = symvers(&["dump", "--root", t.root.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "symvers: {}: truncated: bzImage payload",
            image.display()
        )),
        "{err}"
    );
}

#[test]
fn help_documents_exit_codes_and_examples() {
    let out = symvers(&["dump", "--help"]);
    let help = text(&out.stdout);
    assert!(help.contains("Exit codes:"), "{help}");
    assert!(help.contains("Examples:"), "{help}");
    assert!(Path::new(env!("CARGO_BIN_EXE_symvers")).exists());
}

#[test]
fn column_order_follows_the_kernel_unless_asked() {
    // A 4.19–5.3 kernel: PREL32 entries without a namespace field → four columns.
    let root = std::env::temp_dir().join(format!("symvers-cli-cols-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let mods = root.join("lib/modules/5.3.0-old");
    fs::create_dir_all(mods.join("kernel/lib")).unwrap();
    fs::create_dir_all(root.join("boot")).unwrap();
    let mut spec = Spec::new(fixtures::X86_64, Layout::Prel32, Crcs::AbsoluteSymbols);
    spec.exports = vec![fixtures::exp("old_func", "EXPORT_SYMBOL", "", 0xabcd0123)];
    let vmlinux = fixtures::build_vmlinux(&spec);
    fs::write(
        root.join("boot/vmlinuz-5.3.0-old"),
        fixtures::bzimage(&fixtures::compress("gzip", &vmlinux)),
    )
    .unwrap();
    let mut m = Spec::new(fixtures::X86_64, Layout::Prel32, Crcs::AbsoluteSymbols);
    m.exports = vec![fixtures::exp(
        "mod_func",
        "EXPORT_SYMBOL_GPL",
        "",
        0x00000042,
    )];
    fs::write(mods.join("kernel/lib/m.ko"), fixtures::build_module(&m)).unwrap();
    let r = root.to_str().unwrap();

    let out = symvers(&["dump", "--root", r]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "0xabcd0123\told_func\tvmlinux\tEXPORT_SYMBOL\n0x00000042\tmod_func\tlib/m\tEXPORT_SYMBOL_GPL\n"
    );
    let out = symvers(&["dump", "--root", r, "--symvers-format", "5.4"]);
    assert_eq!(
        text(&out.stdout).lines().next(),
        Some("0xabcd0123\told_func\t\tvmlinux\tEXPORT_SYMBOL")
    );
    let out = symvers(&["dump", "--root", r, "--symvers-format", "5.6"]);
    assert_eq!(
        text(&out.stdout).lines().next(),
        Some("0xabcd0123\told_func\tvmlinux\tEXPORT_SYMBOL\t")
    );
    let _ = fs::remove_dir_all(&root);
}
