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

    // A 2.6.12 kernel (its banner says so): three columns, what its modpost reads.
    let mut spec = Spec::new(fixtures::I386, Layout::Absolute, Crcs::Word);
    spec.exports = vec![fixtures::exp("init_mm", "EXPORT_SYMBOL", "", 0x1234)];
    let image = root.join("vmlinux-2.6.12.1");
    fs::write(
        &image,
        fixtures::build_vmlinux_with(&spec, &fixtures::banner("2.6.12.1")),
    )
    .unwrap();
    let i = image.to_str().unwrap();
    let out = symvers(&["dump", "--vmlinux-only", "--image", i]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "0x00001234\tinit_mm\tvmlinux\n");
    let out = symvers(&[
        "dump",
        "--vmlinux-only",
        "--image",
        i,
        "--symvers-format",
        "4col",
    ]);
    assert_eq!(
        text(&out.stdout),
        "0x00001234\tinit_mm\tvmlinux\tEXPORT_SYMBOL\n"
    );
    let _ = fs::remove_dir_all(&root);
}

/// `symvers ARGS` run in folder `dir`.
fn symvers_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_symvers"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn output_dash_is_standard_output() {
    let t = Tree::new("dash", Crcs::Data);
    let out = symvers_in(&t.root, &["dump", "--root", ".", "-o", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), expected_table(true));
    assert!(!t.root.join("-").exists(), "a file named - was written");
}

/// A folder that is missing or takes no new file is an error before the kernel is read: the
/// kernel named here does not exist, and the error is about the output.
#[test]
fn an_unwritable_output_folder_is_an_error_before_the_work() {
    let dir = std::env::temp_dir().join(format!("symvers-cli-nodir-{}", std::process::id()));
    let missing = dir.join("no/such/folder");
    let target = missing.join("Module.symvers");
    let out = symvers(&[
        "dump",
        "--root",
        "/nonexistent/root",
        "-o",
        target.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "symvers: {}: the output folder does not exist\n",
            missing.display()
        )
    );
    assert!(!dir.exists());

    // A file of /proc exists, but no file can be made beside it to replace it: said plainly,
    // naming the folder, before the work.
    let out = symvers(&[
        "dump",
        "--root",
        "/nonexistent/root",
        "-o",
        "/proc/self/comm",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("symvers: /proc/")
            && err.contains("no new file can be created in this folder")
            && err.contains("comm is written as a new file here that is then renamed over it"),
        "{err}"
    );
    // The same check guards info --extract.
    let out = symvers(&[
        "info",
        "--image",
        "/nonexistent/vmlinuz",
        "--extract",
        target.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("the output folder does not exist"),
        "{}",
        text(&out.stderr)
    );
}

/// Replacing a file keeps the old one as FILE.orig and says so on standard error; --no-backup
/// keeps none, for `dump -o` and `info --extract` alike; --quiet silences the note.
#[test]
fn backups_are_announced_and_no_backup_keeps_none() {
    let t = Tree::new("backup", Crcs::Data);
    let r = t.root.to_str().unwrap();
    let file = t.root.join("Module.symvers");
    let f = file.to_str().unwrap();
    fs::write(&file, "the distribution's table\n").unwrap();
    let out = symvers(&["dump", "--root", r, "-o", f]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        format!("symvers: kept the previous {f} as {f}.orig (--no-backup: keep none)\n")
    );
    assert_eq!(
        fs::read_to_string(format!("{f}.orig")).unwrap(),
        "the distribution's table\n"
    );

    fs::write(&file, "another table\n").unwrap();
    let out = symvers(&["-q", "dump", "--root", r, "-o", f]);
    assert_eq!(text(&out.stderr), "");
    assert!(Path::new(&format!("{f}.orig.1")).exists());

    fs::write(&file, "a third table\n").unwrap();
    let out = symvers(&["dump", "--root", r, "-o", f, "--no-backup"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stderr), "");
    assert!(!Path::new(&format!("{f}.orig.2")).exists());
    assert_eq!(fs::read_to_string(&file).unwrap(), expected_table(true));

    let image = t.root.join("boot/vmlinuz-6.1.0-test-amd64");
    let vmlinux = t.root.join("vmlinux");
    let v = vmlinux.to_str().unwrap();
    fs::write(&vmlinux, b"old").unwrap();
    let extract = |extra: &[&str]| {
        let mut args = vec!["info", "--image", image.to_str().unwrap(), "--extract", v];
        args.extend_from_slice(extra);
        symvers(&args)
    };
    let out = extract(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("kept the previous {v} as {v}.orig")),
        "{}",
        text(&out.stderr)
    );
    fs::write(&vmlinux, b"old again").unwrap();
    let out = extract(&["--no-backup"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!Path::new(&format!("{v}.orig.1")).exists());
    assert!(fs::read(&vmlinux).unwrap().starts_with(b"\x7fELF"));
}

/// `-v` is listed on every subcommand (a global option): each must say more with it.
#[test]
fn verbose_says_more_on_every_subcommand() {
    let t = Tree::new("verbose", Crcs::Data);
    let r = t.root.to_str().unwrap();
    let table = t.root.join("table.symvers");
    fs::write(&table, expected_table(true)).unwrap();
    let tb = table.to_str().unwrap();
    let module = t.modules().join("kernel/lib/crc-itu-t.ko.xz");
    let m = module.to_str().unwrap();
    let generated = t.root.join("generated");
    let g = generated.to_str().unwrap();
    fs::create_dir_all(t.root.join("boot")).unwrap();
    fs::write(
        t.root.join("boot/config-6.1.0-test-amd64"),
        "CONFIG_MODVERSIONS=y\n",
    )
    .unwrap();
    let source = t.root.join("no-source-tree");
    let s = source.to_str().unwrap();
    let cases: [&[&str]; 11] = [
        &["dump", "--root", r],
        &["config", "--root", r],
        &["prepare", s, "-o", g, "--root", r],
        &["versions", m],
        &["check", "--against", tb, m],
        &["check", "--root", r, m],
        &["weak-modules", "--root", r, "--from", "6.1.0-test-amd64"],
        &["symbol-list", m],
        &["diff", tb, tb],
        &["info", "--root", r],
        &["generate", "man", g],
    ];
    let cli = clap_subcommands();
    for case in cases {
        let plain = symvers(case);
        let mut args = vec!["-v"];
        args.extend_from_slice(case);
        let verbose = symvers(&args);
        assert_eq!(plain.status.code(), verbose.status.code(), "{case:?}");
        assert!(
            verbose.stderr.len() > plain.stderr.len(),
            "symvers -v {case:?} says nothing more: {}",
            text(&verbose.stderr)
        );
    }
    // Every subcommand is among the cases.
    for sub in cli {
        assert!(
            cases.iter().any(|c| c[0] == sub),
            "no -v case for symvers {sub}"
        );
    }
}

/// The subcommands `symvers --help` lists, plus the hidden `generate`.
fn clap_subcommands() -> Vec<String> {
    let help = text(&symvers(&["--help"]).stdout);
    let mut subs: Vec<String> = help
        .split("Commands:")
        .nth(1)
        .unwrap_or("")
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A wrapped description continues on a line indented further.
        .filter(|l| !l[2..].starts_with(' '))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|s| s != "help")
        .collect();
    assert!(subs.contains(&"dump".to_string()), "{help}");
    subs.push("generate".into());
    subs
}

/// One name per field: across every `--format json` document, a field name always holds the
/// same kind of value (`elf` was a bool in dump and an object in info; `versions` an array in
/// `versions` and a string in `check`), compressions are named alike for images and modules,
/// and times are rounded.
#[test]
fn json_fields_mean_one_thing_across_commands() {
    use serde_json::Value;
    let t = Tree::new("jsonnames", Crcs::Data);
    let r = t.root.to_str().unwrap();
    let mut spec = Spec::new(fixtures::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    // It exports nothing: vmlinux already has the sample exports, and a module offering them
    // again is refused ("exports duplicate symbol … (owned by kernel)").
    spec.exports.clear();
    spec.imports = vec!["crc_itu_t".into()];
    spec.versions = vec![(0x09a34a2b, "crc_itu_t".into())];
    let m = t.root.join("user.ko");
    fs::write(&m, fixtures::build_module(&spec)).unwrap();
    let m = m.to_str().unwrap();
    let table = t.root.join("table.symvers");
    fs::write(&table, expected_table(true)).unwrap();
    let tb = table.to_str().unwrap();
    let docs: Vec<(&str, Value)> = [
        ("dump", vec!["dump", "--root", r, "--format", "json"]),
        ("info", vec!["info", "--root", r, "--format", "json"]),
        ("versions", vec!["versions", m, "--format", "json"]),
        ("check", vec!["check", "--root", r, m, "--format", "json"]),
        ("diff", vec!["diff", tb, tb, "--format", "json"]),
    ]
    .into_iter()
    .map(|(name, args)| {
        let out = symvers(&args);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
        (name, serde_json::from_slice(&out.stdout).unwrap())
    })
    .collect();

    fn kind(v: &Value) -> &'static str {
        match v {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
    fn walk(
        doc: &str,
        v: &Value,
        kinds: &mut std::collections::BTreeMap<String, Vec<(String, &'static str)>>,
    ) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    if !v.is_null() {
                        kinds
                            .entry(k.clone())
                            .or_default()
                            .push((doc.to_string(), kind(v)));
                    }
                    // Maps keyed by data (exports per kind, files per compression) are not
                    // field names.
                    if !matches!(k.as_str(), "tables" | "module_compressions") {
                        walk(doc, v, kinds);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(doc, i, kinds)),
            _ => {}
        }
    }
    let mut kinds = std::collections::BTreeMap::new();
    for (name, doc) in &docs {
        walk(name, doc, &mut kinds);
    }
    for (field, seen) in &kinds {
        let first = seen[0].1;
        assert!(
            seen.iter().all(|(_, k)| *k == first),
            "field {field:?} holds different kinds: {seen:?}"
        );
    }

    let dump = &docs[0].1;
    let info = &docs[1].1;
    // Image facts under the same names in dump and info.
    for field in [
        "container",
        "compression",
        "payload_size",
        "decoded",
        "decoded_size",
        "kernel_size",
        "is_elf",
    ] {
        assert_eq!(dump["kernel"][field], info["kernel"][field], "{field}");
    }
    assert_eq!(dump["kernel"]["decoded"], "whole");
    assert!(dump["kernel"].get("elf").is_none());
    // Compression names: the image's (`zstd`, `xz`) for modules too, not the file ending.
    let names: Vec<&String> = dump["counts"]["module_compressions"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(names, ["xz", "zstd"]);
    assert_eq!(
        info["module_compressions"],
        dump["counts"]["module_compressions"]
    );
    assert_eq!(info["modules_dir"], dump["modules_dir"]);
    assert_eq!(info["module_files"], dump["counts"]["module_files"]);
    // Times in tenths of a millisecond at most.
    let ms = info["unwrap_ms"].as_f64().unwrap();
    assert_eq!((ms * 10.0).round() / 10.0, ms, "{ms}");
    // Module version records name the symbol as dump's records do.
    assert!(docs[2].1["modules"][0]["versions"][0]["symbol"].is_string());
}

/// A module without versions, or without the table asked for, prints no lines: standard error
/// says why.
#[test]
fn empty_version_answers_explain_themselves() {
    let dir = std::env::temp_dir().join(format!("symvers-cli-empty-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let mut spec = Spec::new(fixtures::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    spec.imports = vec!["printk".into()];
    spec.versions = vec![(0x1234, "printk".into())];
    let with = dir.join("with.ko");
    fs::write(&with, fixtures::build_module(&spec)).unwrap();
    spec.versions.clear();
    let without = dir.join("without.ko");
    fs::write(&without, fixtures::build_module(&spec)).unwrap();

    let out = symvers(&["versions", without.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "");
    assert!(
        text(&out.stderr).contains("without.ko: no symbol versions: the module has no __versions section (built without CONFIG_MODVERSIONS"),
        "{}",
        text(&out.stderr)
    );
    let out = symvers(&["versions", "--table", "extended", with.to_str().unwrap()]);
    assert_eq!(text(&out.stdout), "");
    assert!(
        text(&out.stderr).contains("with.ko: no extended version table")
            && text(&out.stderr).contains("its __versions has 1 record (--table basic)"),
        "{}",
        text(&out.stderr)
    );
    // An answer with lines needs no note; --quiet silences the notes.
    let out = symvers(&["versions", with.to_str().unwrap()]);
    assert_eq!(text(&out.stderr), "");
    let out = symvers(&["-q", "versions", without.to_str().unwrap()]);
    assert_eq!(text(&out.stderr), "");
    let _ = fs::remove_dir_all(&dir);
}
