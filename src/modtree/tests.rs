use super::*;
use crate::fixtures::{self as fx, Crcs, Layout, Spec};
use std::fs;

struct Dir(PathBuf);
impl Dir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("symvers-modtree-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn module_names_strip_kernel_and_every_suffix() {
    assert_eq!(
        module_name("kernel/lib/crc-itu-t.ko").as_deref(),
        Some("lib/crc-itu-t")
    );
    assert_eq!(module_name("kernel/net/x.ko.xz").as_deref(), Some("net/x"));
    assert_eq!(module_name("kernel/a/b.ko.zst").as_deref(), Some("a/b"));
    assert_eq!(
        module_name("updates/dkms/foo.ko.gz").as_deref(),
        Some("updates/dkms/foo")
    );
    assert_eq!(module_name("extra/bar.ko").as_deref(), Some("extra/bar"));
    assert_eq!(module_name("modules.dep"), None);
    assert_eq!(module_name("kernel/a/readme.txt"), None);
}

#[test]
fn walk_orders_by_modules_order_then_path_and_skips_build_links() {
    let d = Dir::new("walk");
    for rel in [
        "kernel/b/two.ko",
        "kernel/a/one.ko.xz",
        "kernel/c/three.ko.zst",
        "extra/x.ko",
    ] {
        let p = d.0.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, b"").unwrap();
    }
    fs::create_dir_all(d.0.join("build/should/not")).unwrap();
    fs::write(d.0.join("build/should/not/seen.ko"), b"").unwrap();
    // modules.order names uncompressed files even when the tree holds compressed ones.
    fs::write(
        d.0.join("modules.order"),
        "kernel/c/three.ko\nkernel/b/two.ko\n",
    )
    .unwrap();
    let names: Vec<String> = list_modules(&d.0)
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    // Unlisted modules follow in path order: extra/ sorts before kernel/.
    assert_eq!(names, ["c/three", "b/two", "extra/x", "a/one"]);
}

#[test]
fn read_module_sniffs_compression_not_the_name() {
    let d = Dir::new("sniff");
    let spec = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    let ko = fx::build_module(&spec);
    let mut buf = Vec::new();
    for (name, format) in [("gzip", "plain.ko.xz"), ("zstd", "a.ko"), ("xz", "b.ko.gz")] {
        let path = d.0.join(format);
        fs::write(&path, fx::compress(name, &ko)).unwrap();
        let got = read_module(&path, 1 << 30, &mut buf).unwrap();
        assert_eq!(got.exports.len(), spec.exports.len(), "{name} as {format}");
    }
}

#[test]
fn bad_module_files_name_the_file_and_the_problem() {
    let d = Dir::new("bad");
    let mut buf = Vec::new();
    let empty = d.0.join("empty.ko");
    fs::write(&empty, b"").unwrap();
    let err = read_module(&empty, 1 << 30, &mut buf).unwrap_err();
    assert!(
        matches!(&err, Error::Format { path, problem: Problem::Empty } if path == &empty),
        "{err:?}"
    );
    let text = err.to_string();
    assert_eq!(text, format!("{}: the file is empty", empty.display()));

    let garbage = d.0.join("garbage.ko");
    fs::write(&garbage, b"garbage!").unwrap();
    let err = read_module(&garbage, 1 << 30, &mut buf).unwrap_err();
    assert!(
        matches!(&err, Error::Format { path, problem: Problem::NotAModule { .. } } if path == &garbage),
        "{err:?}"
    );

    let spec = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    let packed = fx::compress("xz", &fx::build_module(&spec));
    let cut = d.0.join("cut.ko.xz");
    fs::write(&cut, &packed[..packed.len() / 2]).unwrap();
    let text = read_module(&cut, 1 << 30, &mut buf)
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with(&format!("{}: xz data does not decode", cut.display())),
        "{text}"
    );

    let bomb = d.0.join("bomb.ko.zst");
    fs::write(&bomb, fx::compress("zstd", &vec![0u8; 4 << 20])).unwrap();
    let text = read_module(&bomb, 1 << 20, &mut buf)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("decompresses to more than 1048576 bytes"),
        "{text}"
    );

    let missing = d.0.join("missing.ko");
    let err = read_module(&missing, 1 << 30, &mut buf).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");

    let dir_named_ko = d.0.join("dir.ko");
    fs::create_dir_all(&dir_named_ko).unwrap();
    let text = read_module(&dir_named_ko, 1 << 30, &mut buf)
        .unwrap_err()
        .to_string();
    assert!(text.contains("not a regular file"), "{text}");
}

fn touch(path: &Path) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, b"").unwrap();
}

fn names(walk: &Walk) -> Vec<&str> {
    walk.files.iter().map(|f| f.name.as_str()).collect()
}

#[test]
fn kmod_names_are_the_file_name_up_to_its_first_dot() {
    assert_eq!(kmod_name("kernel/lib/crc-itu-t.ko.xz"), "crc_itu_t");
    assert_eq!(kmod_name("updates/dkms/nvidia-drm.ko"), "nvidia_drm");
    assert_eq!(kmod_name("x.y.ko"), "x");
}

#[test]
fn folder_links_are_followed_and_named_by_the_walked_path() {
    // The example: kernel/ is a link to the real folder, elsewhere.
    let d = Dir::new("kernel-link");
    let real = d.0.join("real-kernel");
    touch(&real.join("lib/crc-itu-t.ko"));
    touch(&real.join("net/core/x.ko.xz"));
    let mods = d.0.join("lib/modules/6.1.0-1");
    fs::create_dir_all(&mods).unwrap();
    std::os::unix::fs::symlink("../../../real-kernel", mods.join("kernel")).unwrap();
    // A second link to a folder already read, and a link to the tree's own top: read once.
    std::os::unix::fs::symlink("kernel/net", mods.join("net-again")).unwrap();
    std::os::unix::fs::symlink(".", mods.join("loop")).unwrap();
    let walk = walk_modules(&mods).unwrap();
    assert!(walk.failures.is_empty() && walk.broken_links.is_empty());
    assert_eq!(names(&walk), ["lib/crc-itu-t", "net/core/x"]);
    assert_eq!(walk.files[0].rel, "kernel/lib/crc-itu-t.ko");
    assert_eq!(walk.files[0].path, mods.join("kernel/lib/crc-itu-t.ko"));
    assert_eq!(walk.skipped.len(), 2, "{:?}", walk.skipped);
    assert!(walk.skipped.contains(&Skipped::AlreadyRead {
        path: mods.join("net-again"),
        first: mods.join("kernel/net"),
    }));
}

#[test]
fn absolute_links_resolve_inside_the_root() {
    // RPM's weak-updates/: absolute links into another release's extra/.
    let d = Dir::new("weak");
    let root = &d.0;
    let other = root.join("lib/modules/5.14.0-1/extra/vendor");
    touch(&other.join("drv.ko.xz"));
    let mods = root.join("lib/modules/5.14.0-2");
    fs::create_dir_all(mods.join("weak-updates/vendor")).unwrap();
    std::os::unix::fs::symlink(
        "/lib/modules/5.14.0-1/extra/vendor/drv.ko.xz",
        mods.join("weak-updates/vendor/drv.ko.xz"),
    )
    .unwrap();
    // A whole folder linked absolutely, and a link that leads nowhere inside the root.
    std::os::unix::fs::symlink("/lib/modules/5.14.0-1/extra", mods.join("extra")).unwrap();
    std::os::unix::fs::symlink("/nowhere/gone.ko", mods.join("weak-updates/gone.ko")).unwrap();
    let options = WalkOptions {
        root: Some(root.clone()),
        ..WalkOptions::default()
    };
    let walk = walk_modules_with(&mods, &options).unwrap();
    assert_eq!(
        names(&walk),
        ["extra/vendor/drv", "weak-updates/vendor/drv"]
    );
    assert_eq!(walk.files[0].path, other.join("drv.ko.xz"));
    assert_eq!(walk.files[1].path, other.join("drv.ko.xz"));
    assert_eq!(walk.broken_links.len(), 1);
    let text = walk.broken_links[0].to_string();
    assert!(
        text.contains(
            "weak-updates/gone.ko: a symbolic link to /nowhere/gone.ko, which cannot be followed"
        ),
        "{text}"
    );
    assert!(walk.failures.is_empty());
    // Without the root the same absolute links point at the host's files, which do not exist.
    let host = walk_modules(&mods).unwrap();
    assert!(host.files.is_empty(), "{:?}", host.files);
    assert_eq!(host.broken_links.len(), 3);
}

#[test]
fn non_utf8_names_fail_only_where_a_module_is_lost() {
    use std::os::unix::ffi::OsStrExt;
    let d = Dir::new("utf8");
    let bad = OsStr::from_bytes(b"caf\xe9");
    touch(&d.0.join("kernel").join(bad).join("x.ko"));
    touch(&d.0.join("kernel").join(bad).join("readme.txt"));
    touch(&d.0.join("kernel/empty").join(bad).join("notes"));
    touch(&d.0.join("kernel/ok.ko"));
    let walk = walk_modules(&d.0).unwrap();
    assert_eq!(names(&walk), ["ok"]);
    assert_eq!(walk.failures.len(), 1, "{:?}", walk.failures);
    assert!(matches!(
        &walk.failures[0],
        Error::Format { path, problem: Problem::NonUtf8Name } if path.ends_with("x.ko")
    ));
}

#[test]
fn modules_renamed_added_or_removed_during_the_walk_are_named() {
    let d = Dir::new("race");
    touch(&d.0.join("kernel/drm/drm.ko"));
    touch(&d.0.join("kernel/drm/helper.ko"));
    touch(&d.0.join("kernel/lib/a.ko"));
    let walk = walk_modules(&d.0).unwrap();
    assert!(walk.changes().is_empty());
    // Renamed away and back after the listing: the names are the same again, but a listing
    // taken meanwhile may have missed it, and the folder's times say it changed. (The wait lets
    // the file system's coarse clock tick, as it does between a listing and the end of a read.)
    std::thread::sleep(std::time::Duration::from_millis(30));
    fs::rename(d.0.join("kernel/lib/a.ko"), d.0.join("kernel/lib/a.tmp")).unwrap();
    fs::rename(d.0.join("kernel/lib/a.tmp"), d.0.join("kernel/lib/a.ko")).unwrap();
    let changes: Vec<String> = walk.changes().iter().map(|e| e.to_string()).collect();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(
        changes[0].contains("kernel/lib: the folder changed while it was read (entries were renamed, added or removed while it was listed)"),
        "{changes:?}"
    );
    // drm.ko was renamed while the folder was listed (it was read as drm.ko.tmp: skipped).
    fs::rename(
        d.0.join("kernel/drm/drm.ko"),
        d.0.join("kernel/drm/drm.ko.tmp"),
    )
    .unwrap();
    let during = walk_modules(&d.0).unwrap();
    fs::rename(
        d.0.join("kernel/drm/drm.ko.tmp"),
        d.0.join("kernel/drm/drm.ko"),
    )
    .unwrap();
    fs::remove_file(d.0.join("kernel/drm/helper.ko")).unwrap();
    touch(&d.0.join("kernel/lib/new/b.ko"));
    let mut changes: Vec<String> = during.changes().iter().map(|e| e.to_string()).collect();
    changes.sort();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(
        changes[0].contains("kernel/drm: the folder changed while it was read (drm.ko appeared; helper.ko vanished)"),
        "{changes:?}"
    );
    assert!(changes[1].contains("kernel/lib: the folder changed while it was read (new appeared)"));
}

/// Every module-named file reachable in a tree, found by a plain recursive walk that follows
/// every link: (walked path relative to `dir`, canonical path when it resolves).
fn oracle(dir: &Path) -> Vec<(PathBuf, Option<PathBuf>)> {
    fn go(dir: &Path, rel: &Path, depth: usize, out: &mut Vec<(PathBuf, Option<PathBuf>)>) {
        let Ok(entries) = fs::read_dir(dir.join(rel)) else {
            return;
        };
        for entry in entries.flatten() {
            let rel = rel.join(entry.file_name());
            let path = dir.join(&rel);
            if path.is_dir() {
                if depth < 6 {
                    go(dir, &rel, depth + 1, out);
                }
            } else if has_module_suffix(entry.file_name().as_os_str()) {
                out.push((rel, path.canonicalize().ok()));
            }
        }
    }
    let mut out = Vec::new();
    go(dir, Path::new(""), 0, &mut out);
    out
}

#[test]
fn every_way_the_walk_skips_a_module_is_read_or_reported() {
    use std::os::unix::ffi::OsStrExt;
    let d = Dir::new("nothing-silent");
    let m = &d.0;
    // Read: a plain module, one through a folder link, one through a file link.
    touch(&m.join("kernel/plain.ko"));
    touch(&m.join("elsewhere/linked/in-folder.ko"));
    std::os::unix::fs::symlink("../elsewhere/linked", m.join("kernel/folder-link")).unwrap();
    std::os::unix::fs::symlink("plain.ko", m.join("kernel/file-link.ko")).unwrap();
    // A folder reached twice: read once, under its first path.
    std::os::unix::fs::symlink("folder-link", m.join("kernel/again")).unwrap();
    // Broken: dangling, a loop, a link to a FIFO (refused by name when read).
    std::os::unix::fs::symlink("nowhere.ko", m.join("kernel/dangling.ko")).unwrap();
    std::os::unix::fs::symlink("loop2.ko", m.join("kernel/loop1.ko")).unwrap();
    std::os::unix::fs::symlink("loop1.ko", m.join("kernel/loop2.ko")).unwrap();
    let fifo = std::ffi::CString::new(m.join("kernel/pipe.ko").to_str().unwrap()).unwrap();
    // SAFETY: plain mkfifo(3) on a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    // Names that are not UTF-8: the file's own, a folder's.
    touch(&m.join("kernel").join(OsStr::from_bytes(b"bad\xff.ko")));
    touch(
        &m.join("kernel")
            .join(OsStr::from_bytes(b"dir\xff"))
            .join("inner.ko"),
    );
    // Folders depmod does not read: build/, source/, a depmod.d `exclude`.
    touch(&m.join("build/in-build.ko"));
    touch(&m.join("kernel/deep/source/in-source.ko"));
    touch(&m.join("kernel/debug/excluded.ko"));
    let options = WalkOptions {
        exclude: vec!["debug".into()],
        ..WalkOptions::default()
    };
    let walk = walk_modules_with(m, &options).unwrap();
    let results = read_modules(&walk.files, 1 << 20);

    // Every file listed is read (its failure, if any, is among the reports).
    let read: Vec<PathBuf> = walk.files.iter().map(|f| m.join(&f.rel)).collect();
    let mut reported: Vec<PathBuf> = walk
        .failures
        .iter()
        .chain(&walk.broken_links)
        .chain(results.iter().filter_map(|r| r.as_ref().err()))
        .map(|e| match e {
            Error::Format { path, .. } | Error::Io { path, .. } => path.clone(),
            other => panic!("{other}"),
        })
        .collect();
    for s in &walk.skipped {
        match s {
            Skipped::Excluded(path) => reported.push(path.clone()),
            // Its modules are read under the first path: found through canonical paths below.
            Skipped::AlreadyRead { .. } => {}
        }
    }
    let read_canonical: Vec<PathBuf> = read.iter().filter_map(|p| p.canonicalize().ok()).collect();
    let all = oracle(m);
    assert!(all.len() >= 10, "{all:?}");
    for (rel, canonical) in all {
        let path = m.join(&rel);
        let is_read = read.contains(&path)
            || canonical
                .as_ref()
                .is_some_and(|c| read_canonical.contains(c));
        let is_reported = reported.iter().any(|r| path.starts_with(r));
        assert!(
            is_read || is_reported,
            "{} was neither read nor reported",
            path.display()
        );
    }
    // The unreadable ones are all reported, and the readable ones are read; a folder inside the
    // tree is named by its own path, not by the links to it.
    assert_eq!(
        names(&walk),
        ["elsewhere/linked/in-folder", "file-link", "pipe", "plain"]
    );
    assert_eq!(walk.broken_links.len(), 3);
    assert_eq!(walk.failures.len(), 2);
}

#[test]
fn modules_of_several_streams_or_frames_read_whole() {
    // What `cat a.zst b.zst`, pzstd, pigz -i or `xz -T` without blocks leave: the issue-13
    // example is a `.ko.zst` of two zstd frames.
    let d = Dir::new("multi");
    let ko = fx::build_module(&Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data));
    let plain = d.0.join("plain.ko");
    fs::write(&plain, &ko).unwrap();
    let want = read_module(&plain, 1 << 20, &mut Vec::new()).unwrap();
    let mut skippable_first = fx::skippable_frame(0xf, b"signature");
    skippable_first.extend(fx::compress("zstd", &ko));
    for (name, bytes) in [
        ("two.ko.zst", fx::concatenated("zstd", &ko, 2)),
        ("skippable.ko.zst", skippable_first),
        ("two.ko.gz", fx::concatenated("gzip", &ko, 2)),
        ("three.ko.xz", fx::concatenated("xz", &ko, 3)),
        ("two.ko.bz2", fx::concatenated("bzip2", &ko, 2)),
    ] {
        let path = d.0.join(name);
        fs::write(&path, bytes).unwrap();
        let got =
            read_module(&path, 1 << 20, &mut Vec::new()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.exports, want.exports, "{name}");
    }
}

/// A module that decompresses to far more than 8 times its file (past the first share of the
/// budget) is read again with the whole limit and gives the same exports; a compressed module
/// named `.ko` too; a module past the limit fails with the limit itself in the message.
#[test]
fn modules_past_their_first_share_of_the_budget_read_whole() {
    let d = Dir::new("budget");
    let spec = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    let elf = fx::build_module(&spec);
    let expected = module::read(&elf).unwrap();
    // Trailing zeros are outside every section: 4 MiB of them compress to almost nothing.
    let mut padded = elf.clone();
    padded.resize(elf.len() + (4 << 20), 0);
    let mut files = Vec::new();
    for (name, bytes) in [
        ("padded.ko.zst", fx::compress("zstd", &padded)),
        ("padded.ko.gz", fx::compress("gzip", &padded)),
        ("disguised.ko", fx::compress("xz", &padded)),
        ("plain.ko", elf.clone()),
    ] {
        let path = d.0.join(name);
        fs::write(&path, &bytes).unwrap();
        assert!(
            (bytes.len() as u64) * 8 < 1 << 20 || name == "plain.ko",
            "{name}: {}",
            bytes.len()
        );
        files.push(ModuleFile {
            path,
            name: name.into(),
            rel: name.into(),
            folder: 0,
        });
    }
    for result in read_modules(&files, DEFAULT_MODULE_LIMIT) {
        assert_eq!(result.unwrap().exports, expected.exports);
    }
    let err = read_modules(&files[..1], 2 << 20).remove(0).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: zstd data decompresses to more than 2097152 bytes (limit); refusing",
            files[0].path.display()
        )
    );
}
