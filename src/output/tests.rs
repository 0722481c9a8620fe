use super::*;

#[test]
fn replaces_existing_file_and_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("symvers-output-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("Module.symvers");
    fs::write(&path, b"old contents that are longer").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    write_atomic(&path, b"new").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"new");
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o640
    );
    // No temporary file is left behind.
    let names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn failure_leaves_the_existing_file_untouched() {
    let missing_dir = std::env::temp_dir().join(format!("symvers-none-{}/x/y", std::process::id()));
    let err = write_atomic(&missing_dir.join("out"), b"data").unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
}

#[test]
fn backup_keeps_first_original_and_numbers_later_ones() {
    let dir = std::env::temp_dir().join(format!("symvers-backup-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("Module.symvers");
    // No file yet: nothing to keep.
    assert_eq!(backup_existing(&path, b"new").unwrap(), None);

    fs::write(&path, b"distro").unwrap();
    // Same contents: nothing to keep.
    assert_eq!(backup_existing(&path, b"distro").unwrap(), None);

    let first = backup_existing(&path, b"ours 1").unwrap().unwrap();
    assert_eq!(first, dir.join("Module.symvers.orig"));
    write_atomic(&path, b"ours 1").unwrap();
    assert_eq!(fs::read(&first).unwrap(), b"distro");

    let second = backup_existing(&path, b"ours 2").unwrap().unwrap();
    assert_eq!(second, dir.join("Module.symvers.orig.1"));
    write_atomic(&path, b"ours 2").unwrap();
    assert_eq!(fs::read(&first).unwrap(), b"distro");
    assert_eq!(fs::read(&second).unwrap(), b"ours 1");
    assert_eq!(fs::read(&path).unwrap(), b"ours 2");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_symlink_stays_a_link_and_its_target_is_replaced() {
    let dir = std::env::temp_dir().join(format!("symvers-output-link-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let real = dir.join("real.symvers");
    let link = dir.join("Module.symvers");
    fs::write(&real, b"old").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    write_atomic(&link, b"new").unwrap();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read(&real).unwrap(), b"new");
    let backup = backup_existing(&link, b"newer").unwrap().unwrap();
    assert_eq!(
        backup,
        fs::canonicalize(&dir).unwrap().join("real.symvers.orig")
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_fifo_is_written_in_place_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let dir = std::env::temp_dir().join(format!("symvers-output-fifo-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(&fifo).unwrap())
    };
    assert_eq!(backup_existing(&fifo, b"table").unwrap(), None);
    write_atomic(&fifo, b"table").unwrap();
    assert_eq!(reader.join().unwrap(), b"table");
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_folder_is_refused() {
    let err = write_atomic(&std::env::temp_dir(), b"x").unwrap_err();
    assert!(err.to_string().ends_with("is a folder"), "{err}");
}

/// Run this very test in a child process (libtest's `--exact` filter) with `mode` in the
/// environment; the child's half of the test acts on `dir` and is killed by a signal.
fn run_child(test: &str, mode: &str, dir: &Path) -> std::process::ExitStatus {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env("SYMVERS_OUTPUT_CHILD", mode)
        .env("SYMVERS_OUTPUT_DIR", dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
}

/// In the child: start replacing `Module.symvers`, write half of it, and die of `signal`
/// half-way, as when Ctrl-C or a package manager's SIGTERM arrives.
fn child_writes_and_dies(signal: libc::c_int) {
    let dir = PathBuf::from(std::env::var_os("SYMVERS_OUTPUT_DIR").unwrap());
    let _ = write_atomic_with(&dir.join("Module.symvers"), &NoWatch, |f| {
        f.write_all(b"0x00000001\thalf")?;
        f.sync_all()?;
        // SAFETY: raising a signal on ourselves.
        unsafe { libc::raise(signal) };
        f.write_all(b"\tnever reached\n")
    });
    unreachable!("the signal ends the process");
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn signal_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("symvers-signal-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("Module.symvers"), b"the good old table\n").unwrap();
    dir
}

/// The watch hears of the temporary file before it exists and of its end after the rename, so
/// that a signal handler (the binary's) can remove it at any moment in between.
#[test]
fn the_watch_hears_of_the_temporary_file_before_it_exists() {
    use std::cell::RefCell;
    #[derive(Default)]
    struct Record(RefCell<Vec<String>>);
    impl TempWatch for Record {
        fn creating(&self, path: &Path) {
            let exists = path.exists();
            self.0.borrow_mut().push(format!(
                "creating {} {exists}",
                path.file_name().unwrap().to_string_lossy()
            ));
        }
        fn gone(&self) {
            self.0.borrow_mut().push("gone".into());
        }
    }
    let dir = signal_dir("watch");
    let record = Record::default();
    write_atomic_with(&dir.join("Module.symvers"), &record, |f| {
        f.write_all(b"t\n")
    })
    .unwrap();
    let tmp = format!(".Module.symvers.tmp{}", std::process::id());
    assert_eq!(
        *record.0.borrow(),
        [format!("creating {tmp} false"), "gone".into()]
    );
    record.0.borrow_mut().clear();
    check_writable(&dir.join("Module.symvers"), &record).unwrap();
    assert_eq!(
        *record.0.borrow(),
        [format!("creating {tmp} false"), "gone".into()]
    );
    assert_eq!(files_in(&dir), ["Module.symvers"]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sigkill_during_write_keeps_the_target() {
    use std::os::unix::process::ExitStatusExt;
    if std::env::var("SYMVERS_OUTPUT_CHILD").as_deref() == Ok("kill") {
        child_writes_and_dies(libc::SIGKILL);
    }
    let dir = signal_dir("kill");
    let status = run_child(
        "output::tests::sigkill_during_write_keeps_the_target",
        "kill",
        &dir,
    );
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    // SIGKILL cannot be caught: the half-written temporary file stays, the target is intact.
    assert_eq!(
        fs::read(dir.join("Module.symvers")).unwrap(),
        b"the good old table\n"
    );
    let names = files_in(&dir);
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].starts_with(".Module.symvers.tmp"), "{names:?}");
    // A later run is not stopped by the stale temporary file, even with the same process id.
    fs::write(
        dir.join(format!(".Module.symvers.tmp{}", std::process::id())),
        b"stale",
    )
    .unwrap();
    write_atomic(&dir.join("Module.symvers"), b"new table\n").unwrap();
    assert_eq!(
        fs::read(dir.join("Module.symvers")).unwrap(),
        b"new table\n"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failing_writer_leaves_the_target_and_no_temporary_file() {
    let dir = signal_dir("fail");
    let err = write_atomic_with(&dir.join("Module.symvers"), &NoWatch, |f| {
        f.write_all(b"partial")?;
        Err(std::io::Error::other("disk full"))
    })
    .unwrap_err();
    assert!(err.to_string().ends_with(": disk full"), "{err}");
    assert_eq!(
        fs::read(dir.join("Module.symvers")).unwrap(),
        b"the good old table\n"
    );
    assert_eq!(files_in(&dir), ["Module.symvers"]);
    fs::remove_dir_all(&dir).unwrap();
}

/// A link whose target does not exist yet stays a link: the target is created, through a
/// chain of links, relative or absolute. A loop of links is an error, not a file written
/// somewhere.
#[test]
fn a_dangling_symlink_stays_a_link_and_its_target_is_created() {
    let dir = signal_dir("dangling");
    // Relative, to a folder beside the link.
    fs::create_dir_all(dir.join("real")).unwrap();
    let link = dir.join("Module.symvers.link");
    std::os::unix::fs::symlink("real/Module.symvers", &link).unwrap();
    // A chain: link2 -> (absolute) link -> real/Module.symvers.
    let link2 = dir.join("chain");
    std::os::unix::fs::symlink(&link, &link2).unwrap();
    check_writable(&link2, &NoWatch).unwrap();
    assert_eq!(
        write_atomic_keeping(&link2, &NoWatch, |f| f.write_all(b"new")).unwrap(),
        None
    );
    for l in [&link, &link2] {
        assert!(
            fs::symlink_metadata(l).unwrap().file_type().is_symlink(),
            "{l:?}"
        );
    }
    assert_eq!(fs::read(dir.join("real/Module.symvers")).unwrap(), b"new");
    assert_eq!(files_in(&dir.join("real")), ["Module.symvers"]);

    // A loop.
    let a = dir.join("loop-a");
    let b = dir.join("loop-b");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let err = write_atomic(&a, b"x").unwrap_err();
    assert!(
        err.to_string()
            .contains("Too many levels of symbolic links"),
        "{err}"
    );
    assert!(fs::symlink_metadata(&a).unwrap().file_type().is_symlink());
    fs::remove_dir_all(&dir).unwrap();
}

/// The new file gets the mode of the one it replaces (setgid included), and its owner and group
/// when running as root, which is how package hooks run.
#[test]
fn replacing_a_file_keeps_its_owner_and_mode() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = signal_dir("owner");
    let path = dir.join("Module.symvers");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o2604)).unwrap();
    let before = fs::metadata(&path).unwrap();
    write_atomic_keeping(&path, &NoWatch, |f| f.write_all(b"new")).unwrap();
    let after = fs::metadata(&path).unwrap();
    assert_ne!(before.ino(), after.ino(), "replaced, not rewritten");
    assert_eq!(after.mode() & 0o7777, 0o2604);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    if !root {
        eprintln!("not root: the owner kept is our own; run as root to check another's");
    }
    fs::remove_dir_all(&dir).unwrap();
}

/// A backup is made once per replacement that happened: a failed write leaves none (failed
/// runs used to leave one more `.orig.N` each), the same contents need none, and each real
/// replacement keeps the file it replaced under the next free name.
#[test]
fn a_backup_is_made_only_by_a_successful_replacement() {
    let dir = signal_dir("keep");
    let path = dir.join("Module.symvers");
    for _ in 0..3 {
        let err = write_atomic_keeping(&path, &NoWatch, |f| {
            f.write_all(b"partial")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(err.to_string().ends_with(": disk full"), "{err}");
    }
    assert_eq!(files_in(&dir), ["Module.symvers"]);
    let same = write_atomic_keeping(&path, &NoWatch, |f| f.write_all(b"the good old table\n"));
    assert_eq!(same.unwrap(), None);
    let first = write_atomic_keeping(&path, &NoWatch, |f| f.write_all(b"ours 1")).unwrap();
    assert_eq!(first, Some(dir.join("Module.symvers.orig")));
    let second = write_atomic_keeping(&path, &NoWatch, |f| f.write_all(b"ours 2")).unwrap();
    assert_eq!(second, Some(dir.join("Module.symvers.orig.1")));
    assert_eq!(
        fs::read(dir.join("Module.symvers.orig")).unwrap(),
        b"the good old table\n"
    );
    assert_eq!(
        fs::read(dir.join("Module.symvers.orig.1")).unwrap(),
        b"ours 1"
    );
    assert_eq!(fs::read(&path).unwrap(), b"ours 2");

    // The watch hears of the backup after the temporary file, before it exists.
    use std::cell::RefCell;
    #[derive(Default)]
    struct Record(RefCell<Vec<String>>);
    impl TempWatch for Record {
        fn creating(&self, path: &Path) {
            self.0
                .borrow_mut()
                .push(format!("creating {}", path.exists()));
        }
        fn gone(&self) {
            self.0.borrow_mut().push("gone".into());
        }
        fn keeping(&self, path: &Path) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            self.0
                .borrow_mut()
                .push(format!("keeping {name} {}", path.exists()));
        }
    }
    let record = Record::default();
    write_atomic_keeping(&path, &record, |f| f.write_all(b"ours 3")).unwrap();
    assert_eq!(
        *record.0.borrow(),
        [
            "creating false",
            "keeping Module.symvers.orig.2 false",
            "gone"
        ]
    );
    fs::remove_dir_all(&dir).unwrap();
}
