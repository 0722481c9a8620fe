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
