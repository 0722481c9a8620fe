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
