use super::*;
use crate::fixtures as fx;
use std::path::Path;

fn files(paths: &[&str]) -> Vec<ModuleFile> {
    paths
        .iter()
        .map(|rel| ModuleFile {
            path: PathBuf::from("/m").join(rel.trim_start_matches('/')),
            name: crate::modtree::module_name(rel).unwrap(),
            rel: rel.to_string(),
            folder: 0,
        })
        .collect()
}

fn config(text: &str) -> Config {
    let mut config = Config::default();
    config::parse_into(
        &mut config,
        text,
        Path::new("/etc/depmod.d/t.conf"),
        Some("6.1.0-1"),
    );
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    config
}

/// The copy kept for each module found more than once, whatever order the copies are given in
/// (the result must not depend on it unless the reason says so).
fn chosen(paths: &[&str], config: &Config) -> Vec<(String, String, Reason)> {
    let list = files(paths);
    let r = resolve(&list, &[(config, None)]);
    let mut reversed: Vec<&str> = paths.to_vec();
    reversed.reverse();
    let again = resolve(&files(&reversed), &[(config, None)]);
    let describe = |r: &Resolution, list: &[ModuleFile]| -> Vec<(String, String, Reason)> {
        r.shadowings
            .iter()
            .map(|s| {
                (
                    s.module.clone(),
                    list[s.chosen].rel.clone(),
                    s.reason.clone(),
                )
            })
            .collect()
    };
    assert_eq!(describe(&r, &list), describe(&again, &files(&reversed)));
    let kept: Vec<&str> = list
        .iter()
        .zip(&r.keep)
        .filter(|(_, k)| **k)
        .map(|(f, _)| f.rel.as_str())
        .collect();
    assert_eq!(
        kept.len(),
        list.len() - r.shadowings.iter().map(|s| s.shadowed.len()).sum::<usize>()
    );
    describe(&r, &list)
}

#[test]
fn updates_come_before_the_kernels_own_copy_by_default() {
    let got = chosen(
        &[
            "kernel/lib/crc-itu-t.ko.xz",
            "updates/crc-itu-t.ko",
            "kernel/lib/crc16.ko",
        ],
        &Config::default(),
    );
    assert_eq!(
        got,
        [(
            "crc_itu_t".into(),
            "updates/crc-itu-t.ko".into(),
            Reason::Search(None)
        )]
    );
}

#[test]
fn search_lines_rank_folders_first_listed_first() {
    // Ubuntu's /etc/depmod.d/ubuntu.conf.
    let ubuntu = config("# Ubuntu\nsearch updates ubuntu built-in\n");
    assert_eq!(
        chosen(&["kernel/a/x.ko", "ubuntu/x.ko"], &ubuntu)[0],
        (
            "x".into(),
            "ubuntu/x.ko".into(),
            // The search line is cited, not depmod's default.
            Reason::Search(Some(("/etc/depmod.d/t.conf".into(), 2)))
        )
    );
    assert_eq!(
        chosen(&["ubuntu/x.ko", "updates/dkms/x.ko"], &ubuntu)[0].1,
        "updates/dkms/x.ko"
    );
    // RHEL's dist.conf: weak-updates/ after the kernel's own modules.
    let rhel = config("search updates extra built-in weak-updates\n");
    assert_eq!(
        chosen(&["weak-updates/x.ko", "kernel/drivers/x.ko.xz"], &rhel)[0].1,
        "kernel/drivers/x.ko.xz"
    );
    assert_eq!(
        chosen(&["extra/x.ko", "kernel/drivers/x.ko.xz"], &rhel)[0].1,
        "extra/x.ko"
    );
}

#[test]
fn an_override_wins_over_the_search_order() {
    // A RHEL driver-update kmod: its weak-updates/ copy replaces the in-kernel driver.
    let rhel = config(
        "search updates extra built-in weak-updates\n\
         override megaraid_sas * weak-updates/megaraid_sas\n",
    );
    let got = chosen(
        &[
            "kernel/drivers/scsi/megaraid/megaraid_sas.ko.xz",
            "weak-updates/megaraid_sas/megaraid_sas.ko",
        ],
        &rhel,
    );
    assert_eq!(got[0].1, "weak-updates/megaraid_sas/megaraid_sas.ko");
    assert_eq!(got[0].2, Reason::Override("/etc/depmod.d/t.conf".into(), 2));
}

#[test]
fn copies_of_equal_rank_say_the_choice_depends_on_the_walk() {
    let got = chosen(&["extra/a/x.ko", "extra/b/x.ko"], &Config::default());
    assert_eq!(got[0].2, Reason::WalkOrder);
    // Two copies under updates/: depmod's rule tries the folder on the new copy only, so the
    // copy met last wins; met in path order, that is b.
    let got = chosen(&["updates/a/x.ko", "updates/b/x.ko"], &Config::default());
    assert_eq!(
        (got[0].1.as_str(), &got[0].2),
        ("updates/b/x.ko", &Reason::WalkOrder)
    );
}

#[test]
fn external_folders_rank_where_search_puts_them() {
    let mut c = config("search external built-in\n");
    c.externals.push("/opt/vendor".into());
    assert_eq!(
        chosen(&["kernel/x.ko", "/opt/vendor/x.ko"], &c)[0].1,
        "/opt/vendor/x.ko"
    );
    let mut c = config("search built-in external\n");
    c.externals.push("/opt/vendor".into());
    assert_eq!(
        chosen(&["kernel/x.ko", "/opt/vendor/x.ko"], &c)[0].1,
        "kernel/x.ko"
    );
}

fn index(modules: &[(&str, &str)]) -> Index {
    Index {
        path: "/m/modules.dep.bin".into(),
        modules: modules
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

#[test]
fn the_index_decides_and_a_stale_one_is_told() {
    let list = files(&["kernel/lib/crc-itu-t.ko", "updates/crc-itu-t.ko"]);
    let config = Config::default();
    // depmod ran before updates/ was added: modprobe still loads the kernel's copy.
    let ix = index(&[("crc_itu_t", "kernel/lib/crc-itu-t.ko")]);
    let r = resolve(&list, &[(&config, Some(&ix))]);
    assert_eq!(r.keep, [true, false]);
    let s = &r.shadowings[0];
    assert_eq!(s.reason, Reason::Index("/m/modules.dep.bin".into()));
    assert_eq!(s.configured, Some(1));
    assert!(r.missing.is_empty() && r.unlisted.is_empty());
}

#[test]
fn a_listed_module_not_found_is_an_error_and_unlisted_ones_are_counted() {
    let list = files(&["kernel/a.ko", "kernel/new.ko", "kernel/moved/b.ko"]);
    let config = Config::default();
    let ix = index(&[
        ("a", "kernel/a.ko"),
        ("b", "kernel/b.ko"),
        ("gone", "kernel/drivers/gone.ko.xz"),
    ]);
    let r = resolve(&list, &[(&config, Some(&ix))]);
    let missing: Vec<String> = r.missing.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        missing,
        [
            "/m/modules.dep.bin: lists b at kernel/b.ko, which is not in the tree; the tree has kernel/moved/b.ko (depmod ran before it changed?)",
            "/m/modules.dep.bin: lists gone at kernel/drivers/gone.ko.xz, which is not in the tree (modprobe cannot load it; depmod ran before it was removed?)",
        ]
    );
    assert_eq!(r.unlisted, [1]);
}

#[test]
fn absolute_index_paths_match_by_their_end() {
    // Android's modules.dep names modules by where the partition is mounted.
    let list = files(&["foo.ko", "bar.ko"]);
    let config = Config::default();
    let ix = index(&[
        ("foo", "/vendor/lib/modules/foo.ko"),
        ("bar", "/vendor/lib/modules/xbar.ko"),
    ]);
    let r = resolve(&list, &[(&config, Some(&ix))]);
    assert_eq!(r.missing.len(), 1, "{:?}", r.missing);
    assert!(r.missing[0]
        .to_string()
        .contains("lists bar at /vendor/lib/modules/xbar.ko"));
}

#[test]
fn folders_are_resolved_apart() {
    let mut list = files(&["x.ko", "x.ko"]);
    list[1].folder = 1;
    let config = Config::default();
    let r = resolve(&list, &[(&config, None), (&config, None)]);
    assert_eq!(r.keep, [true, true]);
    assert!(r.shadowings.is_empty());
}

#[test]
fn a_real_index_file_drives_the_choice() {
    let dir = std::env::temp_dir().join(format!("symvers-resolve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("modules.dep.bin"),
        fx::modules_dep_bin(&[("extra/x.ko", &[]), ("kernel/y.ko", &["extra/x.ko"])]),
    )
    .unwrap();
    let ix = index::read(&dir).unwrap().unwrap();
    let list = files(&["updates/x.ko", "extra/x.ko", "kernel/y.ko"]);
    let config = Config::default();
    let r = resolve(&list, &[(&config, Some(&ix))]);
    assert_eq!(r.keep, [false, true, true]);
    let _ = std::fs::remove_dir_all(&dir);
}
