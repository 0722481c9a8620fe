use std::path::Path;

use super::{diff, glob, Change, Rules, Target, Verdict};
use crate::exports::ExportKind::{Gpl, Plain};
use crate::symvers::{Entry, Table};

fn old() -> Table {
    Table {
        entries: vec![
            Entry::new(1, "same", "vmlinux", Plain, ""),
            Entry::new(2, "gone", "drivers/a", Plain, ""),
            Entry::new(3, "recrc", "vmlinux", Plain, ""),
            Entry::new(4, "tighten", "vmlinux", Plain, ""),
            Entry::new(5, "loosen", "vmlinux", Gpl, ""),
            Entry::new(6, "into_ns", "drivers/b", Gpl, ""),
            Entry::new(7, "out_of_ns", "drivers/b", Gpl, "NS"),
            Entry::new(8, "moves", "drivers/a", Plain, ""),
        ],
    }
}

fn new() -> Table {
    Table {
        entries: vec![
            Entry::new(1, "same", "vmlinux", Plain, ""),
            Entry::new(33, "recrc", "vmlinux", Plain, ""),
            Entry::new(4, "tighten", "vmlinux", Gpl, ""),
            Entry::new(5, "loosen", "vmlinux", Plain, ""),
            Entry::new(6, "into_ns", "drivers/b", Gpl, "NS"),
            Entry::new(7, "out_of_ns", "drivers/b", Gpl, ""),
            Entry::new(8, "moves", "drivers/c", Plain, ""),
            Entry::new(9, "fresh", "drivers/c", Plain, ""),
        ],
    }
}

fn changes(d: &super::Diff) -> Vec<(String, Change, bool, bool)> {
    d.changes
        .iter()
        .map(|c| (c.symbol.clone(), c.change.clone(), c.breaking, c.tolerated))
        .collect()
}

#[test]
fn every_kind_of_change_and_its_severity() {
    let d = diff(&old(), &new(), &Rules::default()).unwrap();
    assert_eq!(
        changes(&d),
        vec![
            ("fresh".into(), Change::Added, false, false),
            ("gone".into(), Change::Removed, true, false),
            (
                "into_ns".into(),
                Change::NamespaceChanged {
                    old: "".into(),
                    new: "NS".into()
                },
                true,
                false
            ),
            (
                "loosen".into(),
                Change::ExportChanged {
                    old: Gpl.into(),
                    new: Plain.into()
                },
                false,
                false
            ),
            (
                "moves".into(),
                Change::Moved {
                    old: "drivers/a".into(),
                    new: "drivers/c".into()
                },
                false,
                false
            ),
            (
                "out_of_ns".into(),
                Change::NamespaceChanged {
                    old: "NS".into(),
                    new: "".into()
                },
                false,
                false
            ),
            (
                "recrc".into(),
                Change::CrcChanged { old: 3, new: 33 },
                true,
                false
            ),
            (
                "tighten".into(),
                Change::ExportChanged {
                    old: Plain.into(),
                    new: Gpl.into()
                },
                true,
                false
            ),
        ]
    );
    let s = &d.summary;
    assert_eq!((s.old_symbols, s.new_symbols, s.unchanged), (8, 8, 1));
    assert_eq!((s.added, s.removed, s.crc_changed), (1, 1, 1));
    assert_eq!((s.export_changed, s.namespace_changed, s.moved), (2, 2, 1));
    assert_eq!((s.breaking, s.tolerated), (4, 0));
    assert!(d.has_breaking());
}

#[test]
fn identical_tables_have_no_changes() {
    let d = diff(&old(), &old(), &Rules::default()).unwrap();
    assert!(d.changes.is_empty());
    assert_eq!(d.summary.unchanged, 8);
    assert!(!d.has_breaking());
}

#[test]
fn rules_tolerate_by_symbol_module_and_namespace() {
    let text = "# tolerate everything of drivers/a and the NS namespace\n\
                recrc FAIL\n\
                re* PASS   # never reached for recrc\n\
                drivers/a.ko PASS\n\
                namespace:N? PASS\n\
                tight?n PASS\n";
    let rules = Rules::parse(text, Path::new("r")).unwrap();
    assert_eq!(rules.rules[2].target, Target::Module);
    assert_eq!(rules.rules[3].target, Target::Namespace);
    assert_eq!(rules.rules[0].verdict, Verdict::Fail);
    let d = diff(&old(), &new(), &rules).unwrap();
    let tolerated: Vec<&str> = d
        .changes
        .iter()
        .filter(|c| c.tolerated)
        .map(|c| c.symbol.as_str())
        .collect();
    assert_eq!(tolerated, ["gone", "into_ns", "tighten"]);
    assert_eq!((d.summary.breaking, d.summary.tolerated), (1, 3));
    assert!(d.has_breaking());
}

#[test]
fn bad_rules_name_the_line() {
    let err = Rules::parse("ok PASS\nbad MAYBE\n", Path::new("rules.txt")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rules.txt:2: verdict \"MAYBE\" is neither PASS nor FAIL"
    );
    let err = Rules::parse("lonely\n", Path::new("rules.txt")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rules.txt:1: expected \"PATTERN PASS|FAIL\", found 1 fields"
    );
}

#[test]
fn glob_matches_like_a_shell() {
    assert!(glob("*", ""));
    assert!(glob("a*c", "abbbc"));
    assert!(glob("a*c", "ac"));
    assert!(!glob("a*c", "acb"));
    assert!(glob("a?c", "abc"));
    assert!(!glob("a?c", "ac"));
    assert!(glob("*_gpl*", "x_gpl_y"));
    assert!(glob("drivers/*/foo", "drivers/a/b/foo"));
    assert!(!glob("exact", "exactly"));
}

#[test]
fn symvers_files_are_read_plain_or_compressed() {
    let dir = std::env::temp_dir().join(format!("symvers-diff-read-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = old().to_text(crate::symvers::Columns::Modern);
    for (name, bytes) in [
        ("plain", text.clone().into_bytes()),
        ("gz", crate::fixtures::compress("gzip", text.as_bytes())),
        ("xz", crate::fixtures::compress("xz", text.as_bytes())),
        ("zst", crate::fixtures::compress("zstd", text.as_bytes())),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let table = crate::symvers::read_file(&path, 1 << 20).unwrap();
        assert_eq!(table, old(), "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rules_file_must_be_a_regular_utf8_file() {
    let dir = std::env::temp_dir().join(format!("symvers-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("rules");
    std::fs::write(&bad, b"ok PASS\n\xff\xfe FAIL\n").unwrap();
    let err = Rules::read(&bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}:2: not UTF-8 text", bad.display())
    );
    // A FIFO is refused at once instead of waited on.
    let fifo = dir.join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let err = Rules::read(&fifo).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unknown_export_types_match_any() {
    use crate::symvers::ExportType;
    // A table of old modpost ("(unknown)") against a rebuilt one: no export change, and a
    // real change beside it is still seen.
    let mut old = old();
    for e in &mut old.entries {
        e.kind = ExportType::Unknown;
    }
    let d = diff(&old, &new(), &Rules::default()).unwrap();
    assert!(!changes(&d)
        .iter()
        .any(|(_, c, _, _)| matches!(c, Change::ExportChanged { .. })));
    assert!(changes(&d)
        .iter()
        .any(|(s, c, _, _)| s == "recrc" && matches!(c, Change::CrcChanged { .. })));
}
