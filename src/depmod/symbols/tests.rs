use super::*;
use crate::fixtures as fx;

#[test]
fn the_binary_index_names_every_owner() {
    let data = fx::kmod_index(&[
        ("symbol:crc_itu_t", vec![(0, "crc_itu_t")]),
        ("symbol:crc_itu_t_table", vec![(0, "crc_itu_t")]),
        ("symbol:mii_link_ok", vec![(3, "mii")]),
    ]);
    let owners = parse_bin(&data).unwrap();
    assert_eq!(
        owners,
        HashSet::from(["crc_itu_t".to_string(), "mii".to_string()])
    );
}

#[test]
fn a_binary_index_of_another_kind_is_refused() {
    let data = fx::modules_dep_bin(&[("kernel/drivers/net/mii.ko", &[])]);
    let err = parse_bin(&data).unwrap_err().to_string();
    assert!(err.contains("not a modules.symbols index"), "{err}");
    let err = parse_bin(b"\xb0\x07\xf4\x57\x00\x02")
        .unwrap_err()
        .to_string();
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn the_text_index_and_its_errors() {
    let owners = parse_text(
        b"# Aliases for symbols\nalias symbol:mii_link_ok mii\n\nalias symbol:x crc_itu_t\n",
    )
    .unwrap();
    assert_eq!(
        owners,
        HashSet::from(["crc_itu_t".to_string(), "mii".to_string()])
    );
    let err = parse_text(b"alias symbol:a mii\nalias pci:v* mii\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2"), "{err}");
    assert!(parse_text(b"alias symbol:a\n").is_err());
    assert!(parse_text(b"\xff\xfe").is_err());
}

#[test]
fn the_binary_file_wins_and_none_is_no_error() {
    let dir = std::env::temp_dir().join(format!("symvers-symbols-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    assert_eq!(read(&dir).unwrap(), None);
    std::fs::write(dir.join("modules.symbols"), "alias symbol:a text\n").unwrap();
    let ix = read(&dir).unwrap().unwrap();
    assert_eq!(ix.path, dir.join("modules.symbols"));
    std::fs::write(
        dir.join("modules.symbols.bin"),
        fx::kmod_index(&[("symbol:a", vec![(0, "bin")])]),
    )
    .unwrap();
    let ix = read(&dir).unwrap().unwrap();
    assert_eq!(ix.modules, HashSet::from(["bin".to_string()]));
    std::fs::write(dir.join("modules.symbols.bin"), b"garbage").unwrap();
    let err = read(&dir).unwrap_err().to_string();
    assert!(err.contains("modules.symbols.bin"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
