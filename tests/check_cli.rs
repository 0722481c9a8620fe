//! The `versions`, `check` and `diff` subcommands, driven through the binary: output and exit
//! codes (0 yes, 1 no, 2 error).

#[path = "common/fixtures.rs"]
mod fixtures;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fixtures::{Crcs, Layout, Spec};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("symvers-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn symvers(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_symvers"))
        .args(args)
        .output()
        .expect("run symvers")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const KERNEL_TABLE: &str = "\
0x0000aaaa\tmodule_layout\tvmlinux\tEXPORT_SYMBOL\t
0x0000bbbb\t_printk\tvmlinux\tEXPORT_SYMBOL\t
0x0000cccc\tcrc_itu_t\tlib/crc-itu-t\tEXPORT_SYMBOL\t
0x0000dddd\tkthread_run\tvmlinux\tEXPORT_SYMBOL_GPL\t
";

/// A module importing `_printk` and `crc_itu_t` with the given CRC for `crc_itu_t`, on a
/// big-endian 64-bit architecture and xz-compressed, to exercise every reader at once.
fn write_module(dir: &Path, name: &str, crc_itu_t: u32, license: &str) -> PathBuf {
    let mut s = Spec::new(fixtures::S390X, Layout::Prel32Namespaced, Crcs::Data);
    s.exports.clear();
    s.imports = vec!["_printk".into(), "crc_itu_t".into()];
    s.versions = vec![
        (0xaaaa, "module_layout".into()),
        (0xbbbb, "_printk".into()),
        (crc_itu_t, "crc_itu_t".into()),
    ];
    s.modinfo = vec![format!("license={license}"), format!("name={name}")];
    let path = dir.join(format!("{name}.ko.xz"));
    std::fs::write(&path, fixtures::compress("xz", &fixtures::build_module(&s))).unwrap();
    path
}

#[test]
fn versions_prints_crc_and_symbol() {
    let dir = scratch("versions");
    let m = write_module(&dir, "ours", 0xcccc, "GPL");
    let out = symvers(&["versions", m.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "0x0000aaaa\tmodule_layout\n0x0000bbbb\t_printk\n0x0000cccc\tcrc_itu_t\n"
    );
    let missing = symvers(&["versions", dir.join("nope.ko").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).starts_with("symvers: "));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_exit_codes_follow_the_verdict() {
    let dir = scratch("check");
    let table = dir.join("Module.symvers");
    std::fs::write(&table, KERNEL_TABLE).unwrap();
    let good = write_module(&dir, "good", 0xcccc, "GPL");
    let bad = write_module(&dir, "bad", 0xccc0, "GPL");
    let t = table.to_str().unwrap();

    let out = symvers(&["check", "--against", t, good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("good.ko.xz: would load"));

    let out = symvers(&[
        "check",
        "--against",
        t,
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("bad.ko.xz: would NOT load"), "{stdout}");
    assert!(
        stdout.contains(
            "  error: disagrees about version of symbol crc_itu_t (module 0x0000ccc0, kernel 0x0000cccc)"
        ),
        "{stdout}"
    );

    let out = symvers(&[
        "check",
        "--against",
        t,
        "--format",
        "json",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["all_load"], false);
    assert_eq!(doc["modules"][0]["name"], "bad");
    assert_eq!(doc["modules"][0]["findings"][0]["kind"], "disagrees");
    assert_eq!(doc["modules"][0]["findings"][0]["kernel_crc"], 0xcccc);

    let out = symvers(&[
        "check",
        "--against",
        "/nonexistent/Module.symvers",
        good.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn diff_exit_codes_formats_and_rules() {
    let dir = scratch("diff");
    let old = dir.join("old.symvers");
    let new = dir.join("new.symvers.gz");
    std::fs::write(&old, KERNEL_TABLE).unwrap();
    let changed = KERNEL_TABLE
        .replace("0x0000cccc", "0x0000cccd")
        .replace("0x0000bbbb\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n", "")
        + "0x0000eeee\tnew_one\tvmlinux\tEXPORT_SYMBOL\t\n";
    std::fs::write(&new, fixtures::compress("gzip", changed.as_bytes())).unwrap();
    let (o, n) = (old.to_str().unwrap(), new.to_str().unwrap());

    let out = symvers(&["diff", "--format", "short", o, n]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "old 4 symbols, new 4: 2 unchanged, 1 added, 1 removed, 1 crc changed, 0 export changed, 0 namespace changed, 0 moved; 2 breaking, 0 tolerated\n"
    );
    let out = symvers(&["diff", o, n]);
    assert_eq!(
        text(&out.stdout).lines().take(3).collect::<Vec<_>>(),
        [
            "removed\t_printk\tvmlinux\t\tBREAKING",
            "crc\tcrc_itu_t\tlib/crc-itu-t\t0x0000cccc -> 0x0000cccd\tBREAKING",
            "added\tnew_one\tvmlinux\t\tok",
        ]
    );

    let rules = dir.join("rules");
    std::fs::write(&rules, "lib/* PASS\n_printk PASS\n").unwrap();
    let out = symvers(&[
        "diff",
        "--rules",
        rules.to_str().unwrap(),
        "--format",
        "json",
        o,
        n,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["summary"]["tolerated"], 2);
    assert_eq!(doc["summary"]["breaking"], 0);

    let out = symvers(&["diff", o]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("the new side is missing"));
    let out = symvers(&["diff", o, o]);
    assert_eq!(out.status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A kernel (plain ELF vmlinux exporting the sample symbols) with a modules tree of one provider
/// module (`kernel/lib/prov.ko`, exporting `prov_fn`) and one user importing from both.
fn write_kernel(dir: &Path, user_crc_for_alpha: u32) -> (PathBuf, PathBuf) {
    let vmlinux = Spec::new(fixtures::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    let image = dir.join("vmlinux");
    std::fs::write(&image, fixtures::build_vmlinux(&vmlinux)).unwrap();
    let modules = dir.join("lib/modules/6.1.0-test");
    std::fs::create_dir_all(modules.join("kernel/lib")).unwrap();
    let mut prov = Spec::new(fixtures::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    prov.exports = vec![fixtures::exp("prov_fn", "EXPORT_SYMBOL", "", 0x7777)];
    std::fs::write(
        modules.join("kernel/lib/prov.ko"),
        fixtures::build_module(&prov),
    )
    .unwrap();
    let mut user = Spec::new(fixtures::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    user.exports.clear();
    user.versions = vec![
        (user_crc_for_alpha, "alpha_func".into()),
        (0x7777, "prov_fn".into()),
    ];
    std::fs::write(
        modules.join("kernel/lib/user.ko.zst"),
        fixtures::compress("zstd", &fixtures::build_module(&user)),
    )
    .unwrap();
    (image, modules)
}

#[test]
fn dump_verify_and_compare_with() {
    let dir = scratch("verify");
    let (image, modules) = write_kernel(&dir, 0x1234_5678);
    let (i, m) = (image.to_str().unwrap(), modules.to_str().unwrap());
    let table = dir.join("Module.symvers");
    let out = symvers(&[
        "dump",
        "--image",
        i,
        "--modules",
        m,
        "--verify",
        "-o",
        table.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(
        "symvers: verify: 2 modules (1 without versions), 2 versioned imports: 2 agree, 0 disagree"
    ));

    // Comparing with itself agrees; with one CRC altered it does not.
    let t = table.to_str().unwrap();
    // A scratch file, not /dev/null: a broken atomic write would replace the device node.
    let sink = dir.join("out.symvers");
    let out = symvers(&[
        "dump",
        "--image",
        i,
        "--modules",
        m,
        "--compare-with",
        t,
        "-o",
        sink.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let altered = dir.join("altered.symvers");
    let content = std::fs::read_to_string(&table).unwrap();
    assert!(content.contains("0x00007777\tprov_fn\tlib/prov\tEXPORT_SYMBOL\t\n"));
    std::fs::write(&altered, content.replace("0x00007777", "0x00007778")).unwrap();
    let out = symvers(&[
        "dump",
        "--image",
        i,
        "--modules",
        m,
        "--compare-with",
        altered.to_str().unwrap(),
        "-o",
        sink.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("1 crc"), "{}", text(&out.stderr));

    // A module that recorded another CRC for a vmlinux export: a disagreement, exit code 1.
    let dir2 = scratch("verify-bad");
    let (image, modules) = write_kernel(&dir2, 0x1234_5679);
    let out = symvers(&[
        "dump",
        "--image",
        image.to_str().unwrap(),
        "--modules",
        modules.to_str().unwrap(),
        "--verify",
        "-o",
        sink.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(
            "symvers: verify: lib/user: imports alpha_func with CRC 0x12345679, the table has 0x12345678 (from vmlinux)"
        ),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&dir2);
}

/// --verify and --compare-with judge the whole table, not what the filters leave of it; and
/// with --keep-going the unreadable modules are named even when verify disagrees.
#[test]
fn dump_verifies_before_filtering_and_names_failures() {
    let dir = scratch("verify-filtered");
    let (image, modules) = write_kernel(&dir, 0x1234_5678);
    let (i, m) = (image.to_str().unwrap(), modules.to_str().unwrap());
    let table = dir.join("Module.symvers");
    let t = table.to_str().unwrap();
    let out = symvers(&["dump", "--image", i, "--modules", m, "-o", t]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let sink = dir.join("out.symvers");
    let s = sink.to_str().unwrap();
    for filter in [&["--modules-only"][..], &["--symbols", "prov_fn"][..]] {
        let mut args = vec!["dump", "--image", i, "--modules", m, "-o", s];
        args.extend_from_slice(filter);
        args.extend_from_slice(&["--verify", "--compare-with", t]);
        let out = symvers(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{filter:?}: {}",
            text(&out.stderr)
        );
    }

    std::fs::write(modules.join("kernel/lib/broken.ko"), b"not an ELF file").unwrap();
    let out = symvers(&[
        "dump",
        "--image",
        i,
        "--modules",
        m,
        "--keep-going",
        "--verify",
        "-o",
        s,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("broken.ko") && text(&out.stderr).contains("could not be read"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tables_of_old_modpost_are_read_by_diff_and_check() {
    // "(unknown)" export types (modpost 2.6.18–5.x) and three-column lines (before 2.6.18).
    let dir = scratch("old-modpost");
    let old = dir.join("old.symvers");
    std::fs::write(
        &old,
        "0x0000aaaa\tmodule_layout\tvmlinux\t(unknown)\n\
         0x0000bbbb\t_printk\tvmlinux\n\
         0x0000cccc\tcrc_itu_t\tlib/crc-itu-t\t(unknown)\n\
         0x0000dddd\tkthread_run\tvmlinux\n",
    )
    .unwrap();
    let new = dir.join("new.symvers");
    std::fs::write(&new, KERNEL_TABLE).unwrap();
    let out = symvers(&[
        "diff",
        "--format",
        "short",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("4 unchanged"),
        "{}",
        text(&out.stdout)
    );

    let m = write_module(&dir, "ours", 0xcccc, "GPL");
    let out = symvers(&[
        "check",
        "--against",
        old.to_str().unwrap(),
        m.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}
