//! The binary end to end on a generated installed-kernel tree: kbuild hand-off options,
//! kmod-style arguments, and the man page / completion generator.

#[path = "common/fixtures.rs"]
mod fixtures;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fixtures::{self as fx, exp, Crcs, Layout, Spec};

const REL: &str = "6.1.0-test-amd64";

/// A root with `boot/vmlinuz-REL` (a bzImage around an xz vmlinux exporting the sample
/// symbols), `lib/modules/REL/kernel/lib/helper.ko` exporting `mod_helper` and `mod_other`, and
/// `user.ko` (outside the tree) that calls `alpha_func`, `mod_helper` and `missing_sym`.
struct Tree {
    root: PathBuf,
}

impl Tree {
    fn new(name: &str) -> Self {
        let root = std::env::temp_dir().join(format!("symvers-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let vmlinux =
            fx::build_vmlinux(&Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data));
        let image = fx::bzimage(&fx::with_size_trailer(
            fx::compress("xz", &vmlinux),
            vmlinux.len(),
        ));
        write(&root.join(format!("boot/vmlinuz-{REL}")), &image);
        let mut helper = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data);
        helper.exports = vec![
            exp("mod_helper", "EXPORT_SYMBOL_GPL", "", 0x1111_2222),
            exp("mod_other", "EXPORT_SYMBOL", "", 0x3333_4444),
        ];
        write(
            &root.join(format!("lib/modules/{REL}/kernel/lib/helper.ko")),
            &fx::build_module(&helper),
        );
        let mut user =
            fx::build_module_elf(&Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data));
        for name in ["alpha_func", "mod_helper", "missing_sym"] {
            user.sym(name, 0, true, 0);
        }
        write(&root.join("user.ko"), &user.build());
        Tree { root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn symvers(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_symvers"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn vmlinux_lines() -> Vec<String> {
    fx::expected_lines(&fx::sample_exports(), "vmlinux", true)
}

const HELPER: &str = "0x11112222\tmod_helper\tlib/helper\tEXPORT_SYMBOL_GPL\t";
const OTHER: &str = "0x33334444\tmod_other\tlib/helper\tEXPORT_SYMBOL\t";

fn sorted(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines.sort();
    lines
}

#[test]
fn basedir_alias_and_positional_release() {
    let t = Tree::new("basedir");
    let root = t.root.to_str().unwrap();
    let mut expected = vmlinux_lines();
    expected.extend([HELPER.to_string(), OTHER.to_string()]);
    expected.sort();
    for args in [
        vec!["dump", "-b", root],
        vec!["dump", "--basedir", root, REL],
        vec!["dump", "--root", root, "--release", REL],
    ] {
        let out = symvers(&args);
        assert_eq!(sorted(&stdout(&out)), expected, "{args:?}");
        // Nothing on stderr: no progress line when stderr is not a terminal.
        assert_eq!(stderr(&out), "", "{args:?}");
    }
    let out = symvers(&["dump", "-b", root, "--release", REL, REL]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn vmlinux_only_needs_no_modules_folder() {
    let t = Tree::new("vmlinux-only");
    std::fs::remove_dir_all(t.path("lib")).unwrap();
    let image = t.path(&format!("boot/vmlinuz-{REL}"));
    let out = symvers(&["dump", "--vmlinux-only", "--image", image.to_str().unwrap()]);
    assert_eq!(sorted(&stdout(&out)), vmlinux_lines());
    // Found by release under a root, too.
    let out = symvers(&[
        "dump",
        "--vmlinux-only",
        "-b",
        t.root.to_str().unwrap(),
        REL,
    ]);
    assert_eq!(sorted(&stdout(&out)), vmlinux_lines());
}

#[test]
fn only_used_by_keeps_the_undefined_symbols() {
    let t = Tree::new("used-by");
    let root = t.root.to_str().unwrap();
    let user = t.path("user.ko");
    let out = symvers(&["dump", "-b", root, "--only-used-by", user.to_str().unwrap()]);
    let alpha = "0x12345678\talpha_func\tvmlinux\tEXPORT_SYMBOL\t";
    assert_eq!(stdout(&out), format!("{alpha}\n{HELPER}\n"));
    assert_eq!(
        stderr(&out),
        "symvers: warning: 1 of the symbols asked for is not exported by this kernel \
         (modpost will call it undefined unless another object provides it): missing_sym\n"
    );
    // --quiet silences the warning, not the table.
    let out = symvers(&[
        "-q",
        "dump",
        "-b",
        root,
        "--only-used-by",
        user.to_str().unwrap(),
    ]);
    assert_eq!(stdout(&out), format!("{alpha}\n{HELPER}\n"));
    assert_eq!(stderr(&out), "");
    // --symbols adds names; --modules-only drops vmlinux's.
    let out = symvers(&[
        "dump",
        "-q",
        "-b",
        root,
        "--only-used-by",
        user.to_str().unwrap(),
        "--symbols",
        "mod_other, delta",
        "--modules-only",
    ]);
    // In export-table order: __ksymtab before __ksymtab_gpl.
    assert_eq!(stdout(&out), format!("{OTHER}\n{HELPER}\n"));
}

#[test]
fn not_in_leaves_out_what_the_headers_tree_lists() {
    let t = Tree::new("not-in");
    let root = t.root.to_str().unwrap();
    let headers = t.path("Module.symvers");
    let out = symvers(&[
        "dump",
        "-b",
        root,
        "--vmlinux-only",
        "-o",
        headers.to_str().unwrap(),
    ]);
    assert_eq!(stdout(&out), "");
    let out = symvers(&[
        "dump",
        "-q",
        "-b",
        root,
        "--only-used-by",
        t.path("user.ko").to_str().unwrap(),
        "--not-in",
        headers.to_str().unwrap(),
    ]);
    assert_eq!(stdout(&out), format!("{HELPER}\n"));
}

#[test]
fn output_keeps_a_backup() {
    let t = Tree::new("backup");
    let root = t.root.to_str().unwrap();
    let target = t.path("build/Module.symvers");
    write(&target, b"distro table\n");
    let out = symvers(&["-v", "dump", "-b", root, "-o", target.to_str().unwrap()]);
    stdout(&out);
    assert!(
        stderr(&out).contains("kept the previous"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(t.path("build/Module.symvers.orig")).unwrap(),
        b"distro table\n"
    );
    assert_eq!(sorted(&std::fs::read_to_string(&target).unwrap()).len(), 7);
    // --no-backup replaces without a second copy.
    let out = symvers(&[
        "dump",
        "-b",
        root,
        "--vmlinux-only",
        "--no-backup",
        "-o",
        target.to_str().unwrap(),
    ]);
    stdout(&out);
    assert!(!t.path("build/Module.symvers.orig.1").exists());
    assert_eq!(
        sorted(&std::fs::read_to_string(&target).unwrap()),
        vmlinux_lines()
    );
}

#[test]
fn generate_writes_man_pages_and_completions() {
    let t = Tree::new("generate");
    let dir = t.path("assets");
    let out = symvers(&["generate", "all", dir.to_str().unwrap()]);
    stdout(&out);
    let man = std::fs::read_to_string(dir.join("man/symvers-dump.1")).unwrap();
    assert!(
        man.starts_with(".ie") || man.contains(".TH symvers-dump 1"),
        "{man}"
    );
    assert!(man.contains("only\\-used\\-by"), "options are listed");
    assert!(man.contains("Examples:"), "after_help becomes a section");
    assert!(dir.join("man/symvers.1").is_file());
    // The packaging helper itself is hidden: no page, not in completions.
    assert!(!dir.join("man/symvers-generate.1").exists());
    let bash = std::fs::read_to_string(dir.join("completions/symvers.bash")).unwrap();
    assert!(bash.contains("--only-used-by") && bash.contains("complete -F _symvers"));
    assert!(dir.join("completions/_symvers").is_file());
    assert!(dir.join("completions/symvers.fish").is_file());
}

/// Man pages: the synopsis names each option's value (`--release REL`, not `[--release]`), and
/// the text after --help (the examples) is in no-fill mode with hyphenation off, so that an
/// example is printed as written and can be copied: no path reflowed or hyphenated.
#[test]
fn man_pages_have_value_placeholders_and_copyable_examples() {
    let t = Tree::new("manpages");
    let dir = t.path("man");
    let out = symvers(&["generate", "man", dir.to_str().unwrap()]);
    stdout(&out);
    for page in ["symvers-dump.1", "symvers-check.1", "symvers-info.1"] {
        let man = std::fs::read_to_string(dir.join(page)).unwrap();
        assert!(man.contains("\n.nh\n"), "{page}: hyphenation is on");
        let synopsis = man
            .split(".SH SYNOPSIS\n")
            .nth(1)
            .and_then(|s| s.lines().next())
            .unwrap_or_default()
            .to_string();
        assert!(
            synopsis.contains("[\\fB\\-\\-release\\fR\\ \\fIREL\\fR]"),
            "{page}: {synopsis}"
        );
        // The examples block: every line of --help's examples, verbatim but for roff's escapes.
        let block = man
            .split("\n.nf\n")
            .nth(1)
            .and_then(|b| b.split("\n.fi\n").next())
            .unwrap_or_default()
            .to_string();
        let name = page.trim_end_matches(".1").trim_start_matches("symvers-");
        let help = stdout(&symvers(&[name, "--help"]));
        let examples = help.split("Examples:").nth(1).unwrap_or_default();
        let mut seen = 0;
        for line in examples.lines().filter(|l| l.starts_with("  symvers ")) {
            let roff = line.replace('\\', "\\e").replace('-', "\\-");
            assert!(
                block.lines().any(|l| l == roff),
                "{page}: {line:?} not kept as one line"
            );
            seen += 1;
        }
        assert!(seen > 0, "{page}: no examples found in --help");
    }
    let dump = std::fs::read_to_string(dir.join("symvers-dump.1")).unwrap();
    assert!(dump.contains("[\\fB\\-o\\fR|\\fB\\-\\-output\\fR\\ \\fIFILE\\fR]"));
}

#[test]
fn every_subcommand_help_has_an_example() {
    let out = symvers(&["--help"]);
    let help = stdout(&out);
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A wrapped description continues on a line indented further.
        .filter(|l| !l[2..].starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.contains(&"dump"), "{commands:?}");
    for c in commands {
        let help = stdout(&symvers(&[c, "--help"]));
        assert!(
            help.contains(&format!("  symvers {c}")),
            "symvers {c} --help: {help}"
        );
    }
}

#[test]
fn json_counts_follow_the_filters() {
    let t = Tree::new("json");
    let out = symvers(&[
        "dump",
        "-b",
        t.root.to_str().unwrap(),
        "--symbols",
        "mod_other,alpha_func",
        "--format",
        "json",
    ]);
    let text = stdout(&out);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["counts"]["vmlinux_exports"], 5);
    assert_eq!(doc["counts"]["module_exports"], 1);
    assert_eq!(doc["counts"]["total"], 2);
    assert_eq!(doc["symbols"][1]["symbol"], "mod_other");
    assert_eq!(doc["symbols"][1]["crc_hex"], "0x33334444");
}
