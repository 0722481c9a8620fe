use super::*;
use std::fs;

fn tree() -> tempdir::Dir {
    tempdir::Dir::new()
}

/// A minimal temporary folder (no extra dependency): removed on drop.
mod tempdir {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    pub struct Dir(PathBuf);
    static N: AtomicUsize = AtomicUsize::new(0);
    impl Dir {
        pub fn new() -> Self {
            let p = std::env::temp_dir().join(format!(
                "symvers-locate-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn install(root: &Path, base: &str, release: &str, image: &str) {
    fs::create_dir_all(root.join(base).join(release).join("kernel")).unwrap();
    let image = root.join(image.replace("REL", release));
    fs::create_dir_all(image.parent().unwrap()).unwrap();
    fs::write(image, b"image").unwrap();
}

#[test]
fn single_release_under_root_is_found_in_each_layout() {
    for (base, image) in [
        ("lib/modules", "boot/vmlinuz-REL"),
        ("usr/lib/modules", "usr/lib/modules/REL/vmlinuz"),
        ("lib/modules", "boot/vmlinux-REL"),
        ("usr/lib/modules", "boot/0123abcd/REL/linux"),
        ("usr/lib/modules", "efi/0123abcd/REL/linux"),
    ] {
        let dir = tree();
        install(dir.path(), base, "6.1.0-test", image);
        let src = Source {
            root: Some(dir.path().to_path_buf()),
            ..Source::default()
        };
        let found = src.locate().unwrap();
        assert_eq!(found.release.as_deref(), Some("6.1.0-test"));
        assert_eq!(
            found.image,
            Some(dir.path().join(image.replace("REL", "6.1.0-test"))),
            "{image}"
        );
        assert_eq!(found.modules, [dir.path().join(base).join("6.1.0-test")]);
    }
}

#[test]
fn several_releases_must_be_chosen() {
    let dir = tree();
    install(dir.path(), "lib/modules", "6.1.0-a", "boot/vmlinuz-REL");
    install(
        dir.path(),
        "usr/lib/modules",
        "6.12.0-b",
        "boot/vmlinuz-REL",
    );
    let src = Source {
        root: Some(dir.path().to_path_buf()),
        ..Source::default()
    };
    match src.locate().unwrap_err() {
        Error::AmbiguousRelease { releases, .. } => {
            assert_eq!(
                releases,
                vec!["6.1.0-a".to_string(), "6.12.0-b".to_string()]
            )
        }
        e => panic!("unexpected {e}"),
    }
    let chosen = Source {
        release: Some("6.12.0-b".into()),
        ..src
    };
    assert_eq!(
        chosen.locate().unwrap().image,
        Some(dir.path().join("boot/vmlinuz-6.12.0-b"))
    );
}

#[test]
fn missing_image_names_every_place_searched() {
    let dir = tree();
    fs::create_dir_all(dir.path().join("lib/modules/6.1.0-x/kernel")).unwrap();
    let src = Source {
        root: Some(dir.path().to_path_buf()),
        ..Source::default()
    };
    let err = src.locate().unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("kernel image for 6.1.0-x not found"),
        "{text}"
    );
    for place in [
        "boot/vmlinuz-6.1.0-x",
        "usr/lib/modules/6.1.0-x/vmlinuz",
        "lib/modules/6.1.0-x/vmlinuz",
    ] {
        assert!(
            text.contains(&dir.path().join(place).display().to_string()),
            "{place} in {text}"
        );
    }
}

#[test]
fn empty_root_says_no_release() {
    let dir = tree();
    let src = Source {
        root: Some(dir.path().to_path_buf()),
        ..Source::default()
    };
    let text = src.locate().unwrap_err().to_string();
    assert!(
        text.starts_with("kernel release (a folder with modules) not found"),
        "{text}"
    );
}

#[test]
fn explicit_image_and_modules_need_no_release() {
    let src = Source {
        image: Some("/x/vmlinuz".into()),
        modules: vec!["/x/lib/modules/6.1.0-9-amd64".into()],
        ..Source::default()
    };
    let found = src.locate().unwrap();
    assert_eq!(found.release.as_deref(), Some("6.1.0-9-amd64"));
}

/// `--modules /lib/modules` (the folder of modules folders) is an error naming the folders it
/// holds; it used to give a table whose modules were all named `REL/kernel/…`, exit 0.
#[test]
fn a_folder_of_modules_folders_is_refused() {
    let t = tree();
    let root = t.path();
    install(root, "lib/modules", "6.1.0-9-amd64", "boot/vmlinuz-REL");
    install(root, "lib/modules", "6.1.0-8-amd64", "boot/vmlinuz-REL");
    let parent = root.join("lib/modules");
    for src in [
        Source {
            image: Some(root.join("boot/vmlinuz-6.1.0-9-amd64")),
            modules: vec![parent.clone()],
            ..Source::default()
        },
        Source {
            release: Some("6.1.0-9-amd64".into()),
            modules: vec![parent.clone()],
            ..Source::default()
        },
    ] {
        let err = src.locate().unwrap_err();
        assert!(
            matches!(&err, Error::ModulesParent { releases, .. } if releases == &["6.1.0-8-amd64", "6.1.0-9-amd64"]),
            "{err}"
        );
        assert!(err.to_string().contains("give --modules"), "{err}");
    }
    let err = Source {
        modules: vec![parent.clone()],
        ..Source::default()
    }
    .locate_modules()
    .unwrap_err();
    assert!(matches!(err, Error::ModulesParent { .. }), "{err}");
    // A module set without release folders (Android's vendor_dlkm) is a modules folder.
    let set = root.join("vendor_dlkm/lib/modules");
    fs::create_dir_all(&set).unwrap();
    fs::write(set.join("vendor.ko"), b"").unwrap();
    fs::create_dir_all(set.join("sub/kernel")).unwrap();
    let src = Source {
        modules: vec![set.clone()],
        ..Source::default()
    };
    assert_eq!(src.locate_modules().unwrap().modules, [set]);
}
