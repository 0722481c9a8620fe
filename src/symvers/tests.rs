use super::*;

fn entry(crc: u32, symbol: &str, module: &str, kind: ExportKind, ns: &str) -> Entry {
    Entry {
        crc,
        symbol: symbol.into(),
        module: module.into(),
        kind,
        namespace: ns.into(),
    }
}

fn sample() -> Table {
    Table {
        entries: vec![
            entry(0x4c9d28b0, "phys_base", "vmlinux", ExportKind::Plain, ""),
            entry(
                0x0000_0001,
                "usb_stor_x",
                "drivers/usb/storage/usb-storage",
                ExportKind::Gpl,
                "USB_STORAGE",
            ),
            entry(0, "old", "m", ExportKind::UnusedGpl, ""),
        ],
    }
}

#[test]
fn writes_modpost_format_in_each_column_order() {
    let t = sample();
    assert_eq!(
        t.to_text(Columns::Modern),
        "0x4c9d28b0\tphys_base\tvmlinux\tEXPORT_SYMBOL\t\n\
         0x00000001\tusb_stor_x\tdrivers/usb/storage/usb-storage\tEXPORT_SYMBOL_GPL\tUSB_STORAGE\n\
         0x00000000\told\tm\tEXPORT_UNUSED_SYMBOL_GPL\t\n"
    );
    assert_eq!(
        t.to_text(Columns::NamespaceSecond).lines().nth(1).unwrap(),
        "0x00000001\tusb_stor_x\tUSB_STORAGE\tdrivers/usb/storage/usb-storage\tEXPORT_SYMBOL_GPL"
    );
    assert_eq!(
        t.to_text(Columns::NoNamespace).lines().next().unwrap(),
        "0x4c9d28b0\tphys_base\tvmlinux\tEXPORT_SYMBOL"
    );
}

#[test]
fn parse_inverts_write_for_every_column_order() {
    let t = sample();
    for columns in [Columns::Modern, Columns::NamespaceSecond] {
        let back = Table::parse(&t.to_text(columns), Path::new("x")).unwrap();
        assert_eq!(back, t, "{columns:?}");
    }
    let back = Table::parse(&t.to_text(Columns::NoNamespace), Path::new("x")).unwrap();
    let mut without_ns = t.clone();
    for e in &mut without_ns.entries {
        e.namespace.clear();
    }
    assert_eq!(back, without_ns);
}

#[test]
fn parse_errors_name_file_and_line() {
    let cases = [
        (
            "0x1\ta\tm\n",
            "line 1: expected 4 or 5 tab-separated fields, found 3",
        ),
        (
            "0x00000001\ta\tm\tEXPORT_SYMBOL\t\n1234\tb\tm\tEXPORT_SYMBOL\t\n",
            "line 2: CRC \"1234\" does not start with 0x",
        ),
        (
            "0xzz\ta\tm\tEXPORT_SYMBOL\t\n",
            "line 1: CRC \"0xzz\" is not a 32-bit hex number",
        ),
        (
            "0x1\ta\tm\tEXPORT_WHATEVER\n",
            "line 1: unknown export type \"EXPORT_WHATEVER\"",
        ),
    ];
    for (text, expected) in cases {
        let err = Table::parse(text, Path::new("/t/Module.symvers")).unwrap_err();
        assert_eq!(err.to_string(), format!("/t/Module.symvers: {expected}"));
    }
}
