use super::*;
use std::fs;

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("symvers-depmodd-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

#[test]
fn files_are_read_by_name_across_folders_the_first_folder_winning() {
    let root = scratch("order");
    // Sorted by name whatever the folder: 00 (lib), 10 (etc, hiding usr/lib's 10), 20 (usr/lib).
    write(&root, "lib/depmod.d/00-first.conf", "search updates\n");
    write(&root, "etc/depmod.d/10-vendor.conf", "search vendor\n");
    write(&root, "usr/lib/depmod.d/10-vendor.conf", "search hidden\n");
    write(&root, "usr/lib/depmod.d/20-last.conf", "search built-in\n");
    // Not configuration: no .conf ending, too short a name, a hidden file, a folder.
    write(&root, "etc/depmod.d/notes.txt", "search nope\n");
    write(&root, "etc/depmod.d/.hidden.conf", "search nope\n");
    write(&root, "etc/depmod.d/.conf", "search nope\n");
    fs::create_dir_all(root.join("run/depmod.d/dir.conf")).unwrap();
    let config = load(&root, Some("6.1.0-50-amd64"));
    assert_eq!(
        config.search,
        [
            Search::Folder("updates".into()),
            Search::Folder("vendor".into()),
            Search::BuiltIn
        ]
    );
    assert_eq!(
        config.files,
        [
            root.join("lib/depmod.d/00-first.conf"),
            root.join("etc/depmod.d/10-vendor.conf"),
            root.join("usr/lib/depmod.d/20-last.conf"),
        ]
    );
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn no_search_line_means_updates_first() {
    let config = Config::default();
    assert_eq!(config.searches(), [Search::Folder("updates".into())]);
}

#[test]
fn lines_are_parsed_as_depmod_parses_them() {
    let mut config = Config::default();
    let text = "\
# a comment
search updates \\
   extra built-in\texternal
override crc-itu-t * extra
override megaraid_sas ^6\\.1\\. weak-updates/megaraid_sas
override other 5\\.10.* extra
external 6.1.* /opt/vendor
exclude test \tdebug
include other.conf
override missing-fields *
frobnicate all
override bad [ extra
";
    let file = Path::new("/etc/depmod.d/x.conf");
    parse_into(&mut config, text, file, Some("6.1.0-50-amd64"));
    assert_eq!(
        config.search,
        [
            Search::Folder("updates".into()),
            Search::Folder("extra".into()),
            Search::BuiltIn,
            Search::External
        ]
    );
    let overrides: Vec<&str> = config.overrides.iter().map(|o| o.path.as_str()).collect();
    // `5\.10.*` does not match 6.1.0-50-amd64: that line does not apply.
    assert_eq!(
        overrides,
        ["extra/crc-itu-t", "weak-updates/megaraid_sas/megaraid_sas"]
    );
    assert_eq!(config.overrides[0].at, (file.to_path_buf(), 4));
    assert_eq!(config.externals, ["/opt/vendor"]);
    assert_eq!(config.excludes, ["test", "debug"]);
    let warnings: Vec<String> = config.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings[0].starts_with("/etc/depmod.d/x.conf:10: override needs"),
        "{warnings:?}"
    );
    assert!(warnings[1].starts_with("/etc/depmod.d/x.conf:11: unknown command \"frobnicate\""));
    assert!(warnings[2].contains(":12: release pattern \"[\" is not a regular expression"));
}

#[test]
fn without_a_release_only_star_lines_apply() {
    let mut config = Config::default();
    parse_into(
        &mut config,
        "override a * extra\noverride b 6.* extra\n",
        Path::new("x.conf"),
        None,
    );
    assert_eq!(config.overrides.len(), 1);
    assert!(config.warnings[0]
        .to_string()
        .contains("the release is unknown"));
}
