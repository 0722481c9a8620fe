//! depmod's symbol index (`modules.symbols[.bin]`) lets `dump` leave unread the modules that
//! export nothing; every reason not to trust it makes it read everything.
//!
//! The trees built here carry an index that *lies* about one module, `liar`: it exports
//! `liar_x`, but the index does not name it. A dump that trusts the index therefore lacks its
//! line (which proves the module was left unread), and a dump that falls back has it.

#[path = "common/fixtures.rs"]
mod fixtures;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use fixtures::{exp, Crcs, Exp, Layout, Spec, X86_64};

const REL: &str = "6.12.1-test";

/// A scratch root folder, removed on drop.
struct Root(PathBuf);

impl Root {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("symvers-index-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Root(dir)
    }

    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }

    fn modules(&self) -> PathBuf {
        self.0.join(format!("lib/modules/{REL}"))
    }

    /// Write `bytes` at `rel` inside the modules folder.
    fn put(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.modules().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn spec(exports: &[Exp]) -> Spec {
    let mut s = Spec::new(X86_64, Layout::Prel32Namespaced, Crcs::Data);
    s.exports = exports.to_vec();
    s
}

fn module(exports: &[Exp], release: &str) -> Vec<u8> {
    let mut s = spec(exports);
    s.modinfo = vec![
        "license=GPL".into(),
        format!("vermagic={release} SMP preempt mod_unload modversions "),
    ];
    fixtures::build_module(&s)
}

/// The modules of the tree: path in the modules folder, exports; `quiet` exports nothing.
fn modules() -> Vec<(&'static str, Vec<Exp>)> {
    vec![
        (
            "kernel/drivers/x/alpha.ko",
            vec![exp("alpha_x", "EXPORT_SYMBOL", "", 0x1111)],
        ),
        (
            "kernel/lib/beta.ko",
            vec![exp("beta_x", "EXPORT_SYMBOL_GPL", "NS", 0x2222)],
        ),
        ("kernel/lib/quiet.ko", vec![]),
        (
            "kernel/lib/liar.ko",
            vec![exp("liar_x", "EXPORT_SYMBOL", "", 0x3333)],
        ),
    ]
}

/// The index's owners: every module that exports, except `liar`.
const OWNERS: [(&str, &str); 2] = [("symbol:alpha_x", "alpha"), ("symbol:beta_x", "beta")];

/// A time after every file written by the test, for the index files.
fn later() -> SystemTime {
    SystemTime::now() + Duration::from_secs(3600)
}

/// The time a package gives every file of the kernel's build (SOURCE_DATE_EPOCH).
fn built() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn set_mtime(path: &Path, time: SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

/// A Debian-like root with the modules of [`modules`], `modules.order`, and depmod's index
/// (written "later" than the modules).
fn tree(tag: &str) -> Root {
    let r = Root::new(tag);
    let vmlinux = fixtures::build_vmlinux_with(
        &spec(&[exp("core_x", "EXPORT_SYMBOL", "", 0x0a0a)]),
        &fixtures::banner(REL),
    );
    let image = fixtures::bzimage(&fixtures::with_size_trailer(
        fixtures::compress("xz", &vmlinux),
        vmlinux.len(),
    ));
    let boot = r.0.join("boot");
    fs::create_dir_all(&boot).unwrap();
    fs::write(boot.join(format!("vmlinuz-{REL}")), image).unwrap();
    let mut order = String::new();
    for (path, exports) in modules() {
        set_mtime(&r.put(path, &module(&exports, REL)), built());
        order += &format!("{path}\n");
    }
    set_mtime(&r.put("modules.order", order.as_bytes()), built());
    write_dep(&r, &modules().iter().map(|(p, _)| *p).collect::<Vec<_>>());
    write_symbols(&r, &OWNERS);
    r
}

fn write_dep(r: &Root, paths: &[&str]) {
    let list: Vec<(&str, &[&str])> = paths.iter().map(|p| (*p, &[][..])).collect();
    let path = r.put("modules.dep.bin", &fixtures::modules_dep_bin(&list));
    set_mtime(&path, later());
}

fn write_symbols(r: &Root, owners: &[(&str, &str)]) {
    let entries: Vec<(&str, Vec<(u32, &str)>)> =
        owners.iter().map(|(k, m)| (*k, vec![(0, *m)])).collect();
    let path = r.put("modules.symbols.bin", &fixtures::kmod_index(&entries));
    set_mtime(&path, later());
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

/// `dump -v --root ROOT ARGS`: (exit code, table, standard error).
fn dump(r: &Root, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["dump", "-v", "--root", r.arg()];
    all.extend_from_slice(args);
    let out = symvers(&all);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

const CORE: &str = "0x00000a0a\tcore_x\tvmlinux\tEXPORT_SYMBOL\t\n";
const ALPHA: &str = "0x00001111\talpha_x\tdrivers/x/alpha\tEXPORT_SYMBOL\t\n";
const BETA: &str = "0x00002222\tbeta_x\tlib/beta\tEXPORT_SYMBOL_GPL\tNS\n";
const LIAR: &str = "0x00003333\tliar_x\tlib/liar\tEXPORT_SYMBOL\t\n";

/// The whole table.
fn full() -> String {
    [CORE, ALPHA, BETA, LIAR].concat()
}

/// The dump falls back, says why (`why` in its standard error), has every module's lines, and
/// equals the `--no-index` read.
fn falls_back(r: &Root, args: &[&str], why: &str) {
    let (code, table, stderr) = dump(r, args);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("read every module, not using depmod's symbol index")
            && stderr.contains(why),
        "{why:?} not in\n{stderr}"
    );
    assert!(table.contains(LIAR), "{table}");
    let mut full_args = args.to_vec();
    full_args.push("--no-index");
    let (_, again, _) = dump(r, &full_args);
    assert_eq!(table, again);
}

#[test]
fn a_trusted_index_leaves_the_modules_that_export_nothing_unread() {
    let r = tree("trusted");
    let (code, table, stderr) = dump(&r, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    // liar was not read: the index says it exports nothing.
    assert_eq!(table, [CORE, ALPHA, BETA].concat());
    assert!(
        stderr.contains("modules.symbols.bin: left 2 modules that export nothing unread"),
        "{stderr}"
    );
    let (code, table, stderr) = dump(&r, &["--no-index"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(table, full());
    assert!(stderr.contains("--no-index"), "{stderr}");
}

#[test]
fn the_text_index_serves_as_well() {
    let r = tree("text");
    fs::remove_file(r.modules().join("modules.symbols.bin")).unwrap();
    fs::remove_file(r.modules().join("modules.dep.bin")).unwrap();
    let dep: String = modules().iter().map(|(p, _)| format!("{p}:\n")).collect();
    set_mtime(&r.put("modules.dep", dep.as_bytes()), later());
    let symbols = "# Aliases for symbols, used by symbol_request().\nalias symbol:alpha_x alpha\nalias symbol:beta_x beta\n";
    set_mtime(&r.put("modules.symbols", symbols.as_bytes()), later());
    let (code, table, stderr) = dump(&r, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(table, [CORE, ALPHA, BETA].concat(), "{stderr}");
    assert!(
        stderr.contains("modules.symbols: left 2 modules"),
        "{stderr}"
    );
}

#[test]
fn no_symbol_index() {
    let r = tree("nosym");
    fs::remove_file(r.modules().join("modules.symbols.bin")).unwrap();
    falls_back(&r, &[], "no modules.symbols or modules.symbols.bin");
}

#[test]
fn no_dep_index() {
    let r = tree("nodep");
    fs::remove_file(r.modules().join("modules.dep.bin")).unwrap();
    falls_back(&r, &[], "no modules.dep or modules.dep.bin");
}

#[test]
fn a_corrupt_symbol_index() {
    let r = tree("corrupt");
    let path = r.put("modules.symbols.bin", b"\xb0\x07\xf4\x57garbage");
    set_mtime(&path, later());
    falls_back(&r, &[], "modules.symbols.bin: not a valid depmod index");
    // A modules.dep.bin-like index where a symbol index belongs.
    let entries = vec![("alpha", vec![(0, "kernel/drivers/x/alpha.ko:")])];
    set_mtime(
        &r.put("modules.symbols.bin", &fixtures::kmod_index(&entries)),
        later(),
    );
    falls_back(&r, &[], "not a modules.symbols index");
}

#[test]
fn an_unreadable_symbol_index() {
    let r = tree("unreadable");
    let path = r.modules().join("modules.symbols.bin");
    fs::remove_file(&path).unwrap();
    // A folder where the file belongs cannot be read as one.
    fs::create_dir(&path).unwrap();
    falls_back(&r, &[], "modules.symbols.bin");
}

#[test]
fn an_index_older_than_a_module() {
    let r = tree("older");
    for name in ["modules.dep.bin", "modules.symbols.bin"] {
        set_mtime(
            &r.modules().join(name),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
        );
    }
    falls_back(&r, &[], "changed after depmod last ran");
}

#[test]
fn a_module_touched_after_depmod_ran() {
    let r = tree("touched");
    // Rewritten now, with its old contents: its change time is after the index's.
    set_mtime(&r.modules().join("modules.symbols.bin"), SystemTime::now());
    std::thread::sleep(Duration::from_millis(20));
    let liar = r.modules().join("kernel/lib/liar.ko");
    let bytes = fs::read(&liar).unwrap();
    fs::write(&liar, bytes).unwrap();
    // Its modification time set back before the index: the change time still tells.
    set_mtime(
        &liar,
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
    );
    falls_back(&r, &[], "lib/liar.ko changed after depmod last ran");
}

#[test]
fn a_module_the_index_does_not_list_is_read() {
    let r = tree("unlisted");
    r.put(
        "kernel/lib/newer.ko",
        &module(&[exp("newer_x", "EXPORT_SYMBOL", "", 0x4444)], REL),
    );
    let (code, table, stderr) = dump(&r, &["--keep-going"]);
    assert_eq!(code, Some(0), "{stderr}");
    // Read although the index does not name it; liar still left unread.
    let newer = "0x00004444\tnewer_x\tlib/newer\tEXPORT_SYMBOL\t\n";
    assert_eq!(table, [CORE, ALPHA, BETA, newer].concat(), "{stderr}");
    assert!(stderr.contains("left 2 modules"), "{stderr}");
}

#[test]
fn a_module_removed_after_depmod_ran() {
    let r = tree("removed");
    fs::remove_file(r.modules().join("kernel/drivers/x/alpha.ko")).unwrap();
    let (code, table, stderr) = dump(&r, &["--keep-going"]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("the index lists modules that are gone"),
        "{stderr}"
    );
    assert_eq!(table, [CORE, BETA, LIAR].concat());
}

#[test]
fn no_modules_order_takes_the_modules_under_kernel_as_the_builds() {
    let r = tree("noorder");
    fs::remove_file(r.modules().join("modules.order")).unwrap();
    let (code, table, stderr) = dump(&r, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(table, [CORE, ALPHA, BETA].concat(), "{stderr}");
    // An owner outside kernel/: everything is read.
    r.put(
        "updates/gamma.ko",
        &module(&[exp("gamma_x", "EXPORT_SYMBOL", "", 0x5555)], REL),
    );
    let mut paths: Vec<&str> = modules().iter().map(|(p, _)| *p).collect();
    paths.push("updates/gamma.ko");
    write_dep(&r, &paths);
    write_symbols(&r, &[OWNERS[0], OWNERS[1], ("symbol:gamma_x", "gamma")]);
    falls_back(
        &r,
        &[],
        "updates/gamma.ko exports symbols and is not one of the kernel build's own",
    );
}

#[test]
fn an_owner_outside_the_kernel_build() {
    let r = tree("outside");
    r.put("modules.order", b"kernel/drivers/x/alpha.ko\n");
    falls_back(
        &r,
        &[],
        "kernel/lib/beta.ko exports symbols and is not one of the kernel build's own",
    );
}

#[test]
fn an_owner_modules_dep_does_not_list() {
    let r = tree("ghost");
    write_symbols(&r, &[OWNERS[0], OWNERS[1], ("symbol:ghost_x", "ghost")]);
    falls_back(&r, &[], "modules.symbols names ghost");
}

#[test]
fn a_module_installed_twice() {
    let r = tree("twice");
    r.put(
        "updates/beta.ko",
        &module(&[exp("beta_x", "EXPORT_SYMBOL_GPL", "NS", 0x2222)], REL),
    );
    let mut paths: Vec<&str> = modules().iter().map(|(p, _)| *p).collect();
    paths[1] = "updates/beta.ko";
    write_dep(&r, &paths);
    let (code, table, stderr) = dump(&r, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("beta is installed more than once"),
        "{stderr}"
    );
    assert!(
        table.contains("0x00002222\tbeta_x\tupdates/beta\t"),
        "{table}"
    );
    assert!(table.contains(LIAR));
    let (_, all, stderr) = dump(&r, &["--all-copies"]);
    assert!(stderr.contains("--all-copies reads copies"), "{stderr}");
    assert!(all.contains(LIAR) && all.contains(BETA), "{all}");
}

#[test]
fn a_module_reached_through_a_link() {
    let r = tree("link");
    let liar = r.modules().join("kernel/lib/liar.ko");
    let elsewhere = r.0.join("srv/liar.ko");
    fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    fs::rename(&liar, &elsewhere).unwrap();
    std::os::unix::fs::symlink("/srv/liar.ko", &liar).unwrap();
    falls_back(&r, &[], "liar.ko is a symbolic link");
}

#[test]
fn several_modules_folders() {
    let r = tree("several");
    let other = r.0.join("vendor");
    fs::create_dir_all(&other).unwrap();
    fs::write(
        other.join("gamma.ko"),
        module(&[exp("gamma_x", "EXPORT_SYMBOL", "", 0x5555)], REL),
    )
    .unwrap();
    let modules = r.modules();
    let (code, table, stderr) = dump(
        &r,
        &[
            "--modules",
            modules.to_str().unwrap(),
            "--modules",
            other.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("several modules folders"), "{stderr}");
    assert!(table.contains(LIAR) && table.contains("gamma_x"), "{table}");
}

#[test]
fn verify_reads_every_module() {
    let r = tree("verify");
    let (code, table, stderr) = dump(&r, &["--verify"]);
    assert!(matches!(code, Some(0) | Some(1)), "{stderr}");
    assert!(
        stderr.contains("every module's imports are read"),
        "{stderr}"
    );
    assert!(table.contains(LIAR));
}

#[test]
fn modules_of_several_releases_read_the_rest() {
    let r = tree("vermagic");
    // Another release's module with the build's time (a package's own, as it were).
    let alpha = r.put(
        "kernel/drivers/x/alpha.ko",
        &module(
            &[exp("alpha_x", "EXPORT_SYMBOL", "", 0x1111)],
            "6.12.0-other",
        ),
    );
    set_mtime(&alpha, built());
    for name in ["modules.dep.bin", "modules.symbols.bin"] {
        set_mtime(&r.modules().join(name), later());
    }
    falls_back(
        &r,
        &["--allow-release-mismatch"],
        "the modules read were built for several releases",
    );
}

// ---------------------------------------------------------------------------------------------
// dump --update

/// `dump -v --root ROOT --update -o OUT ARGS`: (exit code, what OUT holds, standard error).
fn update(r: &Root, out: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["--update", "-o", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let (code, _, stderr) = dump(r, &all);
    (code, fs::read_to_string(out).unwrap_or_default(), stderr)
}

/// The full read of the tree as it is now.
fn full_read(r: &Root) -> String {
    let (code, table, stderr) = dump(r, &["--no-index", "--keep-going"]);
    assert!(matches!(code, Some(0) | Some(3)), "{stderr}");
    table
}

const NOT_DECODED: &str = "unchanged since the state of --update, not decoded again";

#[test]
fn update_reads_nothing_when_nothing_changed() {
    let r = tree("update-same");
    let out = r.0.join("Module.symvers");
    let (code, first, stderr) = update(&r, &out, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("does not exist yet; reading everything"),
        "{stderr}"
    );
    assert!(r.0.join("Module.symvers.symvers-state").is_file());
    let (code, second, stderr) = update(&r, &out, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(first, second);
    assert!(stderr.contains(NOT_DECODED), "{stderr}");
    // alpha and beta were read the first time, quiet and liar left unread by the index: all
    // four are the same files now.
    assert!(
        stderr.contains("--update: 4 modules unchanged since the previous run"),
        "{stderr}"
    );
    // The same as a run without --update (which trusts the same index).
    let (_, plain, _) = dump(&r, &[]);
    assert_eq!(second, plain);
}

#[test]
fn update_rereads_changed_added_and_removed_modules() {
    let r = tree("update-changes");
    let out = r.0.join("Module.symvers");
    // Without the index, every module is in the state.
    let (code, _, stderr) = update(&r, &out, &["--no-index"]);
    assert_eq!(code, Some(0), "{stderr}");
    std::thread::sleep(Duration::from_millis(20));
    // beta rebuilt with another CRC: the same length, a new time.
    r.put(
        "kernel/lib/beta.ko",
        &module(&[exp("beta_x", "EXPORT_SYMBOL_GPL", "NS", 0x2223)], REL),
    );
    let (code, table, stderr) = update(&r, &out, &["--no-index"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(table.contains("0x00002223\tbeta_x"), "{table}");
    assert_eq!(table, full_read(&r));
    assert!(stderr.contains("3 modules unchanged"), "{stderr}");
    assert!(stderr.contains(NOT_DECODED), "{stderr}");
    // A module added.
    r.put(
        "kernel/lib/zeta.ko",
        &module(&[exp("zeta_x", "EXPORT_SYMBOL", "", 0x6666)], REL),
    );
    let (code, table, stderr) = update(&r, &out, &["--no-index", "--keep-going"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(table.contains("zeta_x"), "{table}");
    assert_eq!(table, full_read(&r));
    // A module removed (the index still lists it: an error both ways, the rest written).
    fs::remove_file(r.modules().join("kernel/drivers/x/alpha.ko")).unwrap();
    let (code, table, stderr) = update(&r, &out, &["--no-index", "--keep-going"]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(!table.contains("alpha_x"), "{table}");
    assert_eq!(table, full_read(&r));
}

#[test]
fn update_decodes_a_changed_image_again() {
    let r = tree("update-image");
    let out = r.0.join("Module.symvers");
    update(&r, &out, &[]);
    let vmlinux = fixtures::build_vmlinux_with(
        &spec(&[exp("core_x", "EXPORT_SYMBOL", "", 0x0b0b)]),
        &fixtures::banner(REL),
    );
    let image = fixtures::bzimage(&fixtures::with_size_trailer(
        fixtures::compress("xz", &vmlinux),
        vmlinux.len(),
    ));
    fs::write(r.0.join(format!("boot/vmlinuz-{REL}")), image).unwrap();
    let (code, table, stderr) = update(&r, &out, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains(NOT_DECODED), "{stderr}");
    assert!(table.starts_with("0x00000b0b\tcore_x"), "{table}");
    let (_, plain, _) = dump(&r, &[]);
    assert_eq!(table, plain);
}

#[test]
fn update_does_not_trust_an_edited_output_or_a_damaged_state() {
    let r = tree("update-trust");
    let out = r.0.join("Module.symvers");
    update(&r, &out, &[]);
    let (_, plain, _) = dump(&r, &[]);
    // The output edited by hand: its state no longer goes with it.
    fs::write(&out, "0x00000000\tedited\tvmlinux\tEXPORT_SYMBOL\t\n").unwrap();
    let (code, table, stderr) = update(&r, &out, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("is not the file the state") && stderr.contains("reading everything"),
        "{stderr}"
    );
    assert!(!stderr.contains(NOT_DECODED), "{stderr}");
    assert_eq!(table, plain);
    // A damaged state.
    fs::write(r.0.join("Module.symvers.symvers-state"), "{\"format\": 1").unwrap();
    let (code, table, stderr) = update(&r, &out, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("not a state this version writes"),
        "{stderr}"
    );
    assert_eq!(table, plain);
    // JSON output keeps no state.
    let (code, _, stderr) = update(&r, &r.0.join("out.json"), &["--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("only the Module.symvers text is updated"),
        "{stderr}"
    );
}

#[test]
fn update_keeps_filters_out_of_the_state() {
    // The state holds the whole table: a filtered run and a later unfiltered one agree with
    // full runs.
    let r = tree("update-filter");
    let out = r.0.join("Module.symvers");
    let (code, table, stderr) = update(&r, &out, &["--symbols", "alpha_x"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(table, ALPHA);
    let (code, table, stderr) = update(&r, &out, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains(NOT_DECODED), "{stderr}");
    let (_, plain, _) = dump(&r, &[]);
    assert_eq!(table, plain);
}

#[test]
fn update_keeps_what_a_trusted_index_left_unread_after_the_index_went_stale() {
    let r = tree("update-stale");
    // depmod ran "now", not in the future: a module rewritten later is newer than its index.
    std::thread::sleep(Duration::from_millis(20));
    for name in ["modules.dep.bin", "modules.symbols.bin"] {
        set_mtime(&r.modules().join(name), SystemTime::now());
    }
    std::thread::sleep(Duration::from_millis(20));
    let out = r.0.join("Module.symvers");
    let (code, first, stderr) = update(&r, &out, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    // liar was left unread (the index hides it): not in the table.
    assert!(!first.contains("liar_x"), "{first}");
    std::thread::sleep(Duration::from_millis(20));
    // alpha rebuilt after depmod ran: the index is stale now.
    r.put(
        "kernel/drivers/x/alpha.ko",
        &module(&[exp("alpha_x", "EXPORT_SYMBOL", "", 0x1112)], REL),
    );
    let (code, table, stderr) = update(&r, &out, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("changed after depmod last ran"), "{stderr}");
    // beta, quiet and liar are the same files: taken from the state, liar still without lines.
    assert!(stderr.contains("3 modules unchanged"), "{stderr}");
    assert_eq!(
        table,
        [CORE, ALPHA.replace("1111", "1112").as_str(), BETA].concat()
    );
}

/// A module added next to an image the state keeps (not decoded again) is still checked
/// against that kernel: one of another architecture is a failure, as in a full read.
#[test]
fn update_checks_an_added_module_against_the_kept_image() {
    let r = tree("update-foreign");
    let out = r.0.join("Module.symvers");
    let (code, _, stderr) = update(&r, &out, &["--no-index"]);
    assert_eq!(code, Some(0), "{stderr}");
    let mut foreign = Spec::new(fixtures::AARCH64, Layout::Prel32Namespaced, Crcs::Data);
    foreign.exports = vec![exp("foreign_x", "EXPORT_SYMBOL", "", 0x7777)];
    r.put("kernel/lib/foreign.ko", &fixtures::build_module(&foreign));
    let (code, table, stderr) = update(&r, &out, &["--no-index", "--keep-going"]);
    assert!(stderr.contains(NOT_DECODED), "{stderr}");
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("foreign.ko: not a module of this kernel"),
        "{stderr}"
    );
    assert!(!table.contains("foreign_x"), "{table}");
    assert_eq!(table, full_read(&r));
}

/// A module copied over one of the build's own paths, depmod run since (its index is fresh):
/// it exports what another module exports, and the index keeps one owner per symbol. Its time
/// is not the build's: everything is read, and the table has both lines, as a full read.
#[test]
fn a_module_copied_over_the_build_after_depmod() {
    let r = tree("copied-over");
    // quiet (exports nothing in the build) replaced by a copy of beta, written now.
    r.put(
        "kernel/lib/quiet.ko",
        &module(&[exp("beta_x", "EXPORT_SYMBOL_GPL", "NS", 0x2222)], REL),
    );
    // depmod ran again: fresh index files, beta still the owner of beta_x.
    for name in ["modules.dep.bin", "modules.symbols.bin"] {
        set_mtime(&r.modules().join(name), later());
    }
    falls_back(
        &r,
        &[],
        "quiet.ko was written after the kernel build's other modules",
    );
    let (_, table, stderr) = dump(&r, &["--keep-going"]);
    assert_eq!(table, full_read(&r), "{stderr}");
    assert_eq!(table.matches("\tbeta_x\t").count(), 2, "{table}");
}
