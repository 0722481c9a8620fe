//! The `versions`, `check`, `weak-modules`, `symbol-list` and `diff` subcommands and `dump
//! --verify`, driven through the binary: output and exit codes (0 yes, 1 no, 2 error).

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
    // The counts name what they count and add up to the module's imports, whatever the
    // kernel lacks.
    assert!(
        stdout.contains("good.ko.xz: would load (2 imports: 2 versions match)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "bad.ko.xz: would NOT load (2 imports: 1 version matches, 1 version differs)\n"
        ),
        "{stdout}"
    );
    let short = dir.join("short.symvers");
    std::fs::write(&short, KERNEL_TABLE.replace("crc_itu_t", "other")).unwrap();
    let out = symvers(&[
        "check",
        "--against",
        short.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert!(
        text(&out.stdout).contains(
            "good.ko.xz: would NOT load (2 imports: 1 version matches, 1 is not exported)\n"
        ),
        "{}",
        text(&out.stdout)
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
        "old 4 symbols, new 4: 2 unchanged, 1 changed, 1 removed, 1 added; changes: 1 crc, 0 export, 0 namespace, 0 moved; 2 breaking changes, 0 tolerated\n"
    );

    // A symbol changed in two ways is one changed symbol, counted under both kinds; the line
    // says so, and the symbols still add up (unchanged + changed + removed = old).
    let twice = dir.join("twice.symvers");
    std::fs::write(
        &twice,
        changed.replace(
            "0x0000cccd\tcrc_itu_t\tlib/crc-itu-t\tEXPORT_SYMBOL\t",
            "0x0000cccd\tcrc_itu_t\tlib/crc-itu-t\tEXPORT_SYMBOL_GPL\t",
        ),
    )
    .unwrap();
    let out = symvers(&["diff", "--format", "short", o, twice.to_str().unwrap()]);
    assert_eq!(
        text(&out.stdout),
        "old 4 symbols, new 4: 2 unchanged, 1 changed, 1 removed, 1 added; changes: 1 crc, 1 export, 0 namespace, 0 moved (1 symbol has more than one, counted under each); 3 breaking changes, 0 tolerated\n"
    );
    let out = symvers(&["diff", "--format", "json", o, twice.to_str().unwrap()]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &doc["summary"];
    assert_eq!(s["changed"], 1);
    assert_eq!(s["several_changes"], 1);
    let sum = |keys: &[&str]| keys.iter().map(|k| s[*k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(
        sum(&["unchanged", "changed", "removed"]),
        sum(&["old_symbols"])
    );
    assert_eq!(
        sum(&["unchanged", "changed", "added"]),
        sum(&["new_symbols"])
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

/// A module `name` importing `imports` with `versions`, exporting `exports`, for `arch`.
fn write_set_module(
    dir: &Path,
    name: &str,
    arch: fixtures::Arch,
    imports: &[&str],
    versions: &[(u32, &str)],
    exports: &[(&str, u32)],
) -> PathBuf {
    let mut s = Spec::new(arch, Layout::Prel32Namespaced, Crcs::Data);
    s.exports = exports
        .iter()
        .map(|(n, crc)| fixtures::exp(n, "EXPORT_SYMBOL", "", *crc))
        .collect();
    s.imports = imports.iter().map(|s| s.to_string()).collect();
    s.versions = versions.iter().map(|(c, n)| (*c, n.to_string())).collect();
    s.modinfo = vec!["license=GPL".into(), format!("name={name}")];
    let path = dir.join(format!("{name}.ko"));
    std::fs::write(&path, fixtures::build_module(&s)).unwrap();
    path
}

/// Two modules given together: the user's import of the provider's export resolves in the set
/// (alone it is "Unknown symbol").
#[test]
fn check_judges_the_modules_as_a_set() {
    let dir = scratch("check-set");
    let table = dir.join("Module.symvers");
    std::fs::write(&table, KERNEL_TABLE).unwrap();
    let provider = write_set_module(
        &dir,
        "provider",
        fixtures::X86_64,
        &["_printk"],
        &[(0xaaaa, "module_layout"), (0xbbbb, "_printk")],
        &[("provider_value", 0x1111)],
    );
    let user = write_set_module(
        &dir,
        "user",
        fixtures::X86_64,
        &["_printk", "provider_value"],
        &[
            (0xaaaa, "module_layout"),
            (0xbbbb, "_printk"),
            (0x1111, "provider_value"),
        ],
        &[],
    );
    let (t, p, u) = (
        table.to_str().unwrap(),
        provider.to_str().unwrap(),
        user.to_str().unwrap(),
    );
    let out = symvers(&["check", "--against", t, u]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("error: Unknown symbol provider_value"));
    let out = symvers(&["check", "--against", t, u, p]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "user.ko: would load (2 imports: 2 versions match; 1 from the set: needs provider)"
        ),
        "{stdout}"
    );
    // A Module.symvers does not say the architecture: said so.
    assert!(
        stdout.contains("modules' architecture: not checked (a Module.symvers file does not say the kernel's architecture)"),
        "{stdout}"
    );
    let out = symvers(&["check", "--against", t, "--format", "json", u, p]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["modules"][0]["needs"][0], "provider");
    assert_eq!(doc["modules"][0]["counts"]["from_set"], 1);
    assert_eq!(doc["outcome"], "loads");

    // The kernel imports of the pair, as a list; checked against a list that lacks one.
    let out = symvers(&["symbol-list", u, p]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "_printk\n");
    let out = symvers(&["symbol-list", "--format", "android", u, p]);
    assert_eq!(text(&out.stdout), "[abi_symbol_list]\n  _printk\n");
    let list = dir.join("abi_gki_x86_64_vendor");
    std::fs::write(&list, "[abi_symbol_list]\n  kmalloc\n").unwrap();
    let out = symvers(&[
        "check",
        "--against",
        t,
        "--symbol-list",
        list.to_str().unwrap(),
        u,
        p,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains(&format!(
            "  symbol list: _printk is not in {}",
            list.display()
        )),
        "{}",
        text(&out.stdout)
    );
    // The verdicts say "would load": one last line says why the exit code is 1.
    assert!(
        text(&out.stdout).ends_with(&format!(
            "symbol lists: 2 kernel imports of 2 modules are not in {}\n",
            list.display()
        )),
        "{}",
        text(&out.stdout)
    );
    std::fs::write(&list, "[rhel9_x86_64_stablelist]\n\t_printk\n").unwrap();
    let out = symvers(&[
        "check",
        "--against",
        t,
        "--symbol-list",
        list.to_str().unwrap(),
        u,
        p,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).ends_with(&format!(
            "symbol lists: every kernel import is in {}\n",
            list.display()
        )),
        "{}",
        text(&out.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A module without one symbol's version against a table: whether it loads depends on the
/// kernel (Debian's refuse, mainline warns), so never "would load" unless told.
#[test]
fn unknown_strictness_is_never_would_load() {
    let dir = scratch("check-strict");
    let table = dir.join("Module.symvers");
    std::fs::write(&table, KERNEL_TABLE).unwrap();
    let m = write_set_module(
        &dir,
        "partial",
        fixtures::X86_64,
        &["_printk", "crc_itu_t"],
        &[(0xaaaa, "module_layout"), (0xbbbb, "_printk")],
        &[],
    );
    let (t, m) = (table.to_str().unwrap(), m.to_str().unwrap());
    let out = symvers(&["check", "--against", t, m]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("partial.ko: may NOT load"), "{stdout}");
    assert!(
        stdout.contains("  depends: no symbol version for crc_itu_t"),
        "{stdout}"
    );
    assert!(
        stdout.contains("--strict-versions or --no-strict-versions"),
        "{stdout}"
    );
    let out = symvers(&["check", "--against", t, "--no-strict-versions", m]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = symvers(&["check", "--against", t, "--strict-versions", m]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("partial.ko: would NOT load"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// An installed kernel says its modules' machine: a module for another one gets the loader's
/// ELF header message and nothing else.
#[test]
fn check_refuses_a_foreign_architecture_from_an_installed_kernel() {
    let dir = scratch("check-arch");
    let (image, modules) = write_kernel(&dir, 0x1234_5678);
    let foreign = write_set_module(
        &dir,
        "foreign",
        fixtures::AARCH64,
        &["alpha_func", "no_such_symbol"],
        &[(0x1234_5678, "alpha_func")],
        &[],
    );
    let out = symvers(&[
        "check",
        "--image",
        image.to_str().unwrap(),
        "--modules",
        modules.to_str().unwrap(),
        foreign.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("  modules must be: x86_64, 64-bit little-endian"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  error: Invalid architecture in ELF header: 183"),
        "{stdout}"
    );
    assert!(!stdout.contains("Unknown symbol"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A table listing a symbol twice is read with a warning naming both lines.
#[test]
fn tables_listing_a_symbol_twice_are_warned_about() {
    let dir = scratch("check-twice");
    let old = dir.join("old.symvers");
    std::fs::write(&old, KERNEL_TABLE).unwrap();
    let new = dir.join("new.symvers");
    std::fs::write(
        &new,
        format!("{KERNEL_TABLE}\n0x0000cccd\tcrc_itu_t\tupdates/crc-itu-t\tEXPORT_SYMBOL\t\n"),
    )
    .unwrap();
    let out = symvers(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!(
            "symvers: warning: {}:6: crc_itu_t is listed again (first at line 3: CRC 0x0000cccc there, 0x0000cccd here, module lib/crc-itu-t there, updates/crc-itu-t here)",
            new.display()
        )),
        "{}",
        text(&out.stderr)
    );
    // check --against: an import of it depends on which module is loaded.
    let m = write_module(&dir, "ours", 0xcccc, "GPL");
    let out = symvers(&[
        "check",
        "--against",
        new.to_str().unwrap(),
        m.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("crc_itu_t is listed more than once in the table"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// An installed kernel REL under `root`: an ELF vmlinux exporting `alpha_func` with CRC
/// `alpha_crc`, and one in-tree module.
fn install_kernel(root: &Path, rel: &str, alpha_crc: u32) -> PathBuf {
    let mut vmlinux = Spec::new(fixtures::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    vmlinux.exports = vec![fixtures::exp("alpha_func", "EXPORT_SYMBOL", "", alpha_crc)];
    std::fs::create_dir_all(root.join("boot")).unwrap();
    std::fs::write(
        root.join(format!("boot/vmlinux-{rel}")),
        fixtures::build_vmlinux(&vmlinux),
    )
    .unwrap();
    let modules = root.join(format!("lib/modules/{rel}"));
    std::fs::create_dir_all(modules.join("kernel/lib")).unwrap();
    let mut prov = Spec::new(fixtures::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    prov.exports = vec![fixtures::exp("prov_fn", "EXPORT_SYMBOL", "", 0x7777)];
    std::fs::write(
        modules.join("kernel/lib/prov.ko"),
        fixtures::build_module(&prov),
    )
    .unwrap();
    modules
}

/// The out-of-tree modules of one installed kernel (a pair, one using the other's export)
/// against others: loads as is where the CRCs are the same, needs a rebuild where not; a matrix
/// for several kernels.
#[test]
fn weak_modules_judges_out_of_tree_modules_across_kernels() {
    let root = scratch("weak-modules");
    let old = install_kernel(&root, "6.1.0-1-amd64", 0x1234_5678);
    install_kernel(&root, "6.1.0-2-amd64", 0x1234_5678);
    install_kernel(&root, "6.12.0-1-amd64", 0x0bad_0bad);
    let dkms = old.join("updates/dkms");
    std::fs::create_dir_all(&dkms).unwrap();
    write_set_module(
        &dkms,
        "base",
        fixtures::X86_64,
        &["alpha_func"],
        &[(0x1234_5678, "alpha_func")],
        &[("base_fn", 0x4242)],
    );
    write_set_module(
        &dkms,
        "top",
        fixtures::X86_64,
        &["base_fn", "prov_fn"],
        &[(0x4242, "base_fn"), (0x7777, "prov_fn")],
        &[],
    );
    let r = root.to_str().unwrap();
    let loader = ["--no-strict-versions", "--no-force-load"];
    let mut args = vec![
        "weak-modules",
        "-b",
        r,
        "--from",
        "6.1.0-1-amd64",
        "--to",
        "6.1.0-2-amd64",
    ];
    args.extend(loader);
    let out = symvers(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("updates/dkms/base.ko: loads as is\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("updates/dkms/top.ko: loads as is\n"),
        "{stdout}"
    );

    // Every other installed kernel: a matrix; base needs a rebuild on 6.12, and so does top,
    // which needs base.
    let mut args = vec!["weak-modules", "-b", r, "--from", "6.1.0-1-amd64"];
    args.extend(loader);
    let out = symvers(&args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .skip(1)
        .take(3)
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        rows,
        [
            vec!["module", "6.1.0-2-amd64", "6.12.0-1-amd64"],
            vec!["updates/dkms/base.ko", "loads as is", "needs a rebuild"],
            vec!["updates/dkms/top.ko", "loads as is", "needs a rebuild"],
        ],
        "{stdout}"
    );
    assert!(
        stdout.contains("updates/dkms/base.ko on 6.12.0-1-amd64: disagrees about version of symbol alpha_func (module 0x12345678, kernel 0x0bad0bad)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("updates/dkms/top.ko on 6.12.0-1-amd64: needs base_fn from base of this set, which would not load"),
        "{stdout}"
    );
    let mut args = vec![
        "weak-modules",
        "-b",
        r,
        "--from",
        "6.1.0-1-amd64",
        "--format",
        "json",
    ];
    args.extend(loader);
    let out = symvers(&args);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["all_load"], false);
    assert_eq!(doc["targets"][1]["release"], "6.12.0-1-amd64");
    assert_eq!(doc["targets"][1]["modules"][0]["answer"], "needs a rebuild");
    assert_eq!(doc["targets"][0]["modules"][1]["needs"][0], "base");
    let _ = std::fs::remove_dir_all(&root);
}

/// `dump --verify --compare-with --format json`: both results are objects of the document.
#[test]
fn dump_verify_and_compare_in_json() {
    let dir = scratch("verify-json");
    let (image, modules) = write_kernel(&dir, 0x1234_5679);
    let (i, m) = (image.to_str().unwrap(), modules.to_str().unwrap());
    let table = dir.join("Module.symvers");
    let out = symvers(&[
        "dump",
        "--image",
        i,
        "--modules",
        m,
        "-o",
        table.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let altered = dir.join("altered.symvers");
    let content = std::fs::read_to_string(&table).unwrap();
    std::fs::write(&altered, content.replace("0x00007777", "0x00007778")).unwrap();
    let out = symvers(&[
        "dump",
        "--image",
        i,
        "--modules",
        m,
        "--verify",
        "--compare-with",
        altered.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["verify"]["clean"], false);
    assert_eq!(doc["verify"]["disagree"], 1);
    assert_eq!(doc["verify"]["disagreements"][0]["symbol"], "alpha_func");
    assert_eq!(doc["verify"]["disagreements"][0]["module_crc"], 0x1234_5679);
    assert_eq!(doc["compare"]["identical"], false);
    assert_eq!(doc["compare"]["summary"]["crc_changed"], 1);
    assert_eq!(doc["compare"]["changes"][0]["symbol"], "prov_fn");
    // Without the options the document has neither object.
    let out = symvers(&["dump", "--image", i, "--modules", m, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc.get("verify").is_none() && doc.get("compare").is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A FROM kernel without out-of-tree modules: nothing to judge, no kernel read, exit 0.
#[test]
fn weak_modules_without_out_of_tree_modules() {
    let root = scratch("weak-modules-none");
    install_kernel(&root, "6.1.0-1-amd64", 1);
    let out = symvers(&[
        "weak-modules",
        "-b",
        root.to_str().unwrap(),
        "--from",
        "6.1.0-1-amd64",
        "--to",
        "9.9.9-not-installed",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("0 modules outside kernel/ in "));
    let _ = std::fs::remove_dir_all(&root);
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
