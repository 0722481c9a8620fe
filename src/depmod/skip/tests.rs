use super::*;
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, SystemTime};

/// A modules folder with `files` (relative paths) written, removed on drop.
struct Tree(PathBuf);

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tree(tag: &str, files: &[&str]) -> (Tree, Vec<ModuleFile>) {
    let dir = std::env::temp_dir().join(format!("symvers-skip-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let list = files
        .iter()
        .map(|rel| {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"module").unwrap();
            // One time for every file of the build, as a package gives them.
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
                .unwrap();
            ModuleFile {
                path,
                name: crate::modtree::module_name(rel).unwrap(),
                rel: rel.to_string(),
                folder: 0,
            }
        })
        .collect();
    (Tree(dir), list)
}

/// An index file at `dir/name` written "later" than everything else.
fn index_file(dir: &Path, name: &str, when: SystemTime) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, b"index").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(when)
        .unwrap();
    path
}

struct Case {
    index: Index,
    exporters: Exporters,
    order: HashMap<String, usize>,
}

fn case(dir: &Path, files: &[ModuleFile], owners: &[&str], when: SystemTime) -> Case {
    // The build's modules.order, written with the modules (after them).
    std::fs::write(dir.join("modules.order"), b"order").unwrap();
    let modules: BTreeMap<String, String> = files
        .iter()
        .map(|f| (f.kmod_name(), f.rel.clone()))
        .collect();
    Case {
        index: Index {
            path: index_file(dir, "modules.dep.bin", when),
            modules,
        },
        exporters: Exporters {
            path: index_file(dir, "modules.symbols.bin", when),
            modules: owners.iter().map(|o| o.to_string()).collect::<HashSet<_>>(),
        },
        order: files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), i))
            .collect(),
    }
}

fn later() -> SystemTime {
    SystemTime::now() + Duration::from_secs(3600)
}

const FILES: [&str; 3] = ["kernel/a.ko", "kernel/lib/b.ko.xz", "kernel/lib/quiet.ko"];

#[test]
fn modules_no_owner_names_are_left_unread() {
    let (t, files) = tree("ok", &FILES);
    let c = case(&t.0, &files, &["a", "b"], later());
    let skip = plan(&t.0, &c.index, &c.exporters, &files, &c.order).unwrap();
    assert_eq!(skip, [false, false, true]);
}

#[test]
fn a_module_the_index_does_not_list_is_read() {
    let (t, mut files) = tree("unlisted", &FILES);
    let c = case(&t.0, &files, &["a", "b"], later());
    let (_t2, extra) = tree("unlisted-extra", &["kernel/lib/new.ko"]);
    files.extend(extra);
    let skip = plan(&t.0, &c.index, &c.exporters, &files, &c.order).unwrap();
    assert_eq!(skip, [false, false, true, false]);
}

#[test]
fn without_modules_order_the_builds_modules_are_those_under_kernel() {
    let (t, files) = tree(
        "noorder",
        &["kernel/a.ko", "kernel/lib/quiet.ko", "updates/u.ko"],
    );
    let mut c = case(&t.0, &files, &["a"], later());
    c.order.clear();
    let skip = plan(&t.0, &c.index, &c.exporters, &files, &c.order).unwrap();
    // updates/u.ko owns nothing but is not the build's: it may export a name a build module
    // owns in the index (one owner per symbol), so it is read.
    assert_eq!(skip, [false, true, false]);
    // An owner outside kernel/ may have taken a symbol another module exports too.
    let c = case(&t.0, &files, &["a", "u"], later());
    let mut order = c.order.clone();
    order.clear();
    let got = plan(&t.0, &c.index, &c.exporters, &files, &order);
    assert_eq!(got, Err(Fallback::OutsideBuild("updates/u.ko".into())));
}

#[test]
fn an_owner_modules_dep_does_not_list() {
    let (t, files) = tree("ghost", &FILES);
    let c = case(&t.0, &files, &["a", "ghost"], later());
    let got = plan(&t.0, &c.index, &c.exporters, &files, &c.order);
    assert_eq!(got, Err(Fallback::UnknownOwner("ghost".into())));
}

#[test]
fn an_owner_outside_the_build() {
    let (t, files) = tree("outside", &FILES);
    let mut c = case(&t.0, &files, &["a", "b"], later());
    c.order.remove("lib/b");
    let got = plan(&t.0, &c.index, &c.exporters, &files, &c.order);
    assert_eq!(
        got,
        Err(Fallback::OutsideBuild("kernel/lib/b.ko.xz".into()))
    );
}

#[test]
fn a_module_changed_when_or_after_the_index_was_written() {
    let (t, files) = tree("changed", &FILES);
    let c = case(
        &t.0,
        &files,
        &["a"],
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
    );
    let got = plan(&t.0, &c.index, &c.exporters, &files, &c.order);
    assert_eq!(got, Err(Fallback::Changed(files[0].path.clone())));
}

#[test]
fn a_module_reached_through_a_link() {
    let (t, mut files) = tree("link", &FILES);
    let c = case(&t.0, &files, &["a"], later());
    let link = t.0.join("kernel/lib/linked.ko");
    std::os::unix::fs::symlink(t.0.join("kernel/a.ko"), &link).unwrap();
    files.push(ModuleFile {
        path: link.clone(),
        name: "lib/linked".into(),
        rel: "kernel/lib/linked.ko".into(),
        folder: 0,
    });
    let got = plan(&t.0, &c.index, &c.exporters, &files, &c.order);
    assert_eq!(got, Err(Fallback::Link(link)));
}

#[test]
fn an_index_file_that_cannot_be_examined() {
    let (t, files) = tree("gone", &FILES);
    let c = case(&t.0, &files, &["a"], later());
    std::fs::remove_file(&c.exporters.path).unwrap();
    let got = plan(&t.0, &c.index, &c.exporters, &files, &c.order);
    assert!(matches!(got, Err(Fallback::Unreadable(_))), "{got:?}");
}

#[test]
fn compressed_modules_none_of_which_owns_a_symbol() {
    // A kmod without zstd lists the .ko.zst modules but reads no symbols from them.
    let (t, files) = tree(
        "zst",
        &[
            "kernel/a.ko.xz",
            "kernel/lib/b.ko.zst",
            "kernel/lib/c.ko.zst",
            "kernel/d.ko",
        ],
    );
    let c = case(&t.0, &files, &["a"], later());
    let got = plan(&t.0, &c.index, &c.exporters, &files, &c.order);
    assert_eq!(got, Err(Fallback::NoOwnerCompressed("zst")));
    // One owner among them, and plain modules without any: trusted.
    let c = case(&t.0, &files, &["a", "c"], later());
    let skip = plan(&t.0, &c.index, &c.exporters, &files, &c.order).unwrap();
    assert_eq!(skip, [false, true, false, true]);
}

/// A module copied over one of the build's own paths after the build (depmod ran since, so the
/// index is fresh): its exports may duplicate another module's, which the index keeps one owner
/// of; the build is not trusted then. Without modules.order, one file of another time than the
/// rest does the same.
#[test]
fn a_file_written_over_the_build_after_it() {
    let (t, files) = tree("altered", &FILES);
    let c = case(&t.0, &files, &["a", "b"], later());
    assert!(plan(&t.0, &c.index, &c.exporters, &files, &c.order).is_ok());
    // quiet.ko replaced now: later than modules.order.
    std::fs::write(&files[2].path, b"another module").unwrap();
    let c = case(&t.0, &files, &["a", "b"], later());
    std::fs::File::options()
        .write(true)
        .open(t.0.join("modules.order"))
        .unwrap()
        .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .unwrap();
    assert_eq!(
        plan(&t.0, &c.index, &c.exporters, &files, &c.order),
        Err(Fallback::AlteredBuild(files[2].path.clone()))
    );
    let mut order = c.order.clone();
    order.clear();
    assert_eq!(
        plan(&t.0, &c.index, &c.exporters, &files, &order),
        Err(Fallback::AlteredBuild(files[2].path.clone()))
    );
}
