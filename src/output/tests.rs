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
