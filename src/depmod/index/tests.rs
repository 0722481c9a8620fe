use super::*;
use crate::fixtures as fx;

fn sample() -> Vec<u8> {
    fx::modules_dep_bin(&[
        ("kernel/lib/crc-itu-t.ko.xz", &[]),
        ("kernel/lib/crc16.ko.xz", &[]),
        ("kernel/lib/crc32c_generic.ko", &[]),
        (
            "kernel/drivers/net/foo.ko",
            &["kernel/lib/crc16.ko.xz", "kernel/lib/crc-itu-t.ko.xz"],
        ),
        ("updates/dkms/crc.ko", &[]),
    ])
}

#[test]
fn the_binary_index_gives_every_module_and_its_path() {
    let modules = parse_bin(&sample()).unwrap();
    let want: BTreeMap<String, String> = [
        ("crc", "updates/dkms/crc.ko"),
        ("crc16", "kernel/lib/crc16.ko.xz"),
        ("crc32c_generic", "kernel/lib/crc32c_generic.ko"),
        ("crc_itu_t", "kernel/lib/crc-itu-t.ko.xz"),
        ("foo", "kernel/drivers/net/foo.ko"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(modules, want);
    // The same lines as text give the same map.
    let text = "kernel/lib/crc-itu-t.ko.xz:\nkernel/lib/crc16.ko.xz:\n\
                kernel/lib/crc32c_generic.ko:\n\
                kernel/drivers/net/foo.ko: kernel/lib/crc16.ko.xz kernel/lib/crc-itu-t.ko.xz\n\
                updates/dkms/crc.ko:\n";
    assert_eq!(parse_text(text.as_bytes()).unwrap(), want);
}

#[test]
fn prefixes_are_shared_and_keys_come_out_in_order() {
    // Keys that share prefixes at every depth, one a prefix of another ("crc" and "crc16").
    let data = sample();
    let keys: Vec<String> = read_trie(&data)
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["crc", "crc16", "crc32c_generic", "crc_itu_t", "foo"]);
}

#[test]
fn the_lowest_priority_value_counts() {
    let data = fx::kmod_index(&[(
        "dup",
        vec![
            (7, "updates/dup.ko:"),
            (2, "kernel/dup.ko:"),
            (9, "extra/dup.ko:"),
        ],
    )]);
    assert_eq!(parse_bin(&data).unwrap()["dup"], "kernel/dup.ko");
}

#[test]
fn every_truncation_is_an_error_never_a_panic() {
    let data = sample();
    for len in 0..data.len() {
        assert!(
            parse_bin(&data[..len]).is_err(),
            "{len} of {} bytes parsed",
            data.len()
        );
    }
}

#[test]
fn damaged_headers_and_loops_are_named() {
    let mut data = sample();
    data[0] ^= 1;
    let err = parse_bin(&data).unwrap_err().to_string();
    assert!(
        err.contains("magic 0xb107f457, expected 0xb007f457"),
        "{err}"
    );

    let mut data = sample();
    data[5] = 3;
    let err = parse_bin(&data).unwrap_err().to_string();
    assert!(err.contains("format version 3.1"), "{err}");

    // A node whose only child is itself: a prefix "a", children 'b'..'b' pointing back.
    let mut data = vec![0u8; 12];
    data[..4].copy_from_slice(&MAGIC.to_be_bytes());
    data[4..8].copy_from_slice(&0x0002_0001u32.to_be_bytes());
    let node = 12u32 | HAS_PREFIX | HAS_CHILDREN;
    data[8..12].copy_from_slice(&node.to_be_bytes());
    data.extend_from_slice(b"a\0bb");
    data.extend_from_slice(&node.to_be_bytes());
    let err = parse_bin(&data).unwrap_err().to_string();
    assert!(err.contains("reached twice"), "{err}");

    // A value count larger than the file.
    let mut data = vec![0u8; 12];
    data[..4].copy_from_slice(&MAGIC.to_be_bytes());
    data[4..8].copy_from_slice(&0x0002_0001u32.to_be_bytes());
    data[8..12].copy_from_slice(&(12u32 | HAS_VALUES).to_be_bytes());
    data.extend_from_slice(&u32::MAX.to_be_bytes());
    let err = parse_bin(&data).unwrap_err().to_string();
    assert!(err.contains("more than the file holds"), "{err}");
}

#[test]
fn text_lines_without_a_path_are_named() {
    let err = parse_text(b"kernel/a.ko:\nno colon here\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn the_binary_index_is_preferred_and_absence_is_not_an_error() {
    let dir = std::env::temp_dir().join(format!("symvers-depindex-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    assert_eq!(read(&dir).unwrap(), None);
    std::fs::write(dir.join("modules.dep"), "kernel/text.ko:\n").unwrap();
    let ix = read(&dir).unwrap().unwrap();
    assert_eq!(ix.path, dir.join("modules.dep"));
    assert!(ix.modules.contains_key("text"));
    std::fs::write(
        dir.join("modules.dep.bin"),
        fx::modules_dep_bin(&[("kernel/bin.ko", &[])]),
    )
    .unwrap();
    let ix = read(&dir).unwrap().unwrap();
    assert_eq!(ix.path, dir.join("modules.dep.bin"));
    assert!(ix.modules.contains_key("bin") && !ix.modules.contains_key("text"));
    // A damaged index is an error naming it.
    std::fs::write(dir.join("modules.dep.bin"), b"garbage").unwrap();
    let err = read(&dir).unwrap_err().to_string();
    assert!(
        err.starts_with(&dir.join("modules.dep.bin").display().to_string()),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
