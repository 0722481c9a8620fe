use super::*;

fn sample() -> Table {
    Table {
        entries: vec![
            Entry::new(0x4c9d28b0, "phys_base", "vmlinux", ExportKind::Plain, ""),
            Entry::new(
                0x0000_0001,
                "usb_stor_x",
                "drivers/usb/storage/usb-storage",
                ExportKind::Gpl,
                "USB_STORAGE",
            ),
            Entry::new(0, "old", "m", ExportKind::UnusedGpl, ""),
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
fn old_modpost_tables_read_and_write_back() {
    // modpost 2.6.18–5.x writes "(unknown)" for a type it did not learn; before 2.6.18 it
    // wrote three columns.
    let text = "0x94f2f78a\tusb_serial_register\tdrivers/usb/serial/usbserial\t(unknown)\n\
                0x00000000\tkfree\tvmlinux\tEXPORT_SYMBOL\n";
    let table = Table::parse(text, Path::new("Module.symvers")).unwrap();
    assert_eq!(table.entries[0].kind, ExportType::Unknown);
    assert!(!table.entries[0].kind.is_gpl_only());
    assert_eq!(table.entries[1].kind, ExportKind::Plain);
    assert_eq!(table.to_text(Columns::NoNamespace), text);

    let three = "0x00000000\tfirmware_unregister\tvmlinux\n0x00000000\tset_anon_super\tvmlinux\n";
    let table = Table::parse(three, Path::new("Module.symvers")).unwrap();
    assert!(table.entries.iter().all(|e| e.kind == ExportType::Unknown));
    assert_eq!(table.to_text(Columns::NoExportType), three);
    assert_eq!(
        table.to_text(Columns::NoNamespace),
        "0x00000000\tfirmware_unregister\tvmlinux\t(unknown)\n\
         0x00000000\tset_anon_super\tvmlinux\t(unknown)\n"
    );
}

#[test]
fn parse_errors_name_file_and_line() {
    let cases = [
        (
            "0x1\ta\n",
            (1, "expected 3 to 5 tab-separated fields, found 2"),
        ),
        (
            "0x00000001\ta\tm\tEXPORT_SYMBOL\t\n1234\tb\tm\tEXPORT_SYMBOL\t\n",
            (2, "CRC \"1234\" does not start with 0x"),
        ),
        (
            "0xzz\ta\tm\tEXPORT_SYMBOL\t\n",
            (1, "CRC \"0xzz\" is not a 32-bit hex number"),
        ),
        (
            "0x1\ta\tm\tEXPORT_WHATEVER\n",
            (1, "unknown export type \"EXPORT_WHATEVER\""),
        ),
        (
            "0x1\ta\tm\tEXPORT_SYMBOLX\t\n",
            (1, "unknown export type \"EXPORT_SYMBOLX\""),
        ),
    ];
    for (text, expected) in cases {
        let err = Table::parse(text, Path::new("/t/Module.symvers")).unwrap_err();
        let (line, detail) = expected;
        match &err {
            Error::Format {
                path,
                problem: Problem::Symvers { line: l, detail: d },
            } => {
                assert_eq!(path, Path::new("/t/Module.symvers"));
                assert_eq!((*l, d.as_str()), (line, detail), "{text:?}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            err.to_string(),
            format!("/t/Module.symvers:{line}: {detail}")
        );
    }
}

/// A tiny deterministic generator (xorshift64*): the property tests need no extra dependency,
/// and a failing case is reproduced by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// A field of 0..max characters: identifiers, paths, and any other character a line can
    /// hold (multi-byte UTF-8, spaces, `\r` inside), but no tab or newline, which separate
    /// fields and lines.
    fn field(&mut self, min: usize, max: usize) -> String {
        const CHARS: &[char] = &[
            'a', 'z', 'A', 'Z', '0', '9', '_', '.', '$', '/', '-', ' ', '\r', 'é', 'λ', '💡',
            '\u{0}',
        ];
        let len = min + self.below(max - min + 1);
        let mut s: String = (0..len).map(|_| CHARS[self.below(CHARS.len())]).collect();
        // A field may hold '\r', but a line ending in "\r\n" loses it to `str::lines`; modpost
        // would have written neither.
        while s.ends_with('\r') {
            s.pop();
        }
        if s.len() < min {
            s.push('x');
        }
        s
    }
}

fn random_table(rng: &mut Rng) -> Table {
    let n = rng.below(40);
    let entries = (0..n)
        .map(|_| Entry {
            crc: rng.next() as u32,
            symbol: rng.field(1, 24),
            module: rng.field(0, 40),
            kind: match rng.below(ExportKind::ALL.len() + 1) {
                0 => ExportType::Unknown,
                k => ExportKind::ALL[k - 1].into(),
            },
            namespace: if rng.below(3) == 0 {
                rng.field(1, 12)
            } else {
                String::new()
            },
        })
        .collect();
    Table { entries }
}

#[test]
fn property_writing_then_parsing_a_table_is_the_identity() {
    let path = Path::new("prop.symvers");
    for seed in 1..=3000u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let table = random_table(&mut rng);

        // 5.6+ columns carry every field.
        let text = table.to_text(Columns::Modern);
        let back = Table::parse(&text, path).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(back, table, "seed {seed}:\n{text}");
        // And the text is a fixed point.
        assert_eq!(back.to_text(Columns::Modern), text, "seed {seed}");

        // 2.6.18–5.3 columns have no namespace: the identity on tables without one.
        let mut plain = table.clone();
        for e in &mut plain.entries {
            e.namespace.clear();
        }
        let text = plain.to_text(Columns::NoNamespace);
        assert_eq!(
            Table::parse(&text, path).unwrap(),
            plain,
            "seed {seed}:\n{text}"
        );

        // Before 2.6.18: three columns, no type and no namespace.
        let mut bare = plain.clone();
        for e in &mut bare.entries {
            e.kind = ExportType::Unknown;
        }
        let text = bare.to_text(Columns::NoExportType);
        assert_eq!(
            Table::parse(&text, path).unwrap(),
            bare,
            "seed {seed}:\n{text}"
        );

        // 5.4–5.5 put the namespace third; the export column says which order a line has, so
        // this holds unless a module is itself named like an export macro (modpost never
        // writes one).
        if !table
            .entries
            .iter()
            .any(|e| ExportKind::parse(&e.module).is_some())
        {
            let text = table.to_text(Columns::NamespaceSecond);
            assert_eq!(
                Table::parse(&text, path).unwrap(),
                table,
                "seed {seed}:\n{text}"
            );
        }
    }
}

#[test]
fn property_parse_never_panics_on_damaged_tables() {
    let path = Path::new("damaged.symvers");
    for seed in 1..=2000u64 {
        let mut rng = Rng(seed.wrapping_mul(0xd134_2543_de82_ef95));
        let mut bytes = random_table(&mut rng).to_text(Columns::Modern).into_bytes();
        for _ in 0..1 + rng.below(4) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.below(bytes.len());
            match rng.below(3) {
                0 => bytes[at] = b"\t\n0xXZ"[rng.below(6)],
                1 => bytes.truncate(at),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        match Table::parse(&text, path) {
            Ok(t) => assert_eq!(Table::parse(&t.to_text(Columns::Modern), path).unwrap(), t),
            Err(Error::Format {
                problem: Problem::Symvers { line, .. },
                ..
            }) => assert!(line >= 1 && line <= text.lines().count(), "seed {seed}"),
            Err(e) => panic!("seed {seed}: {e}"),
        }
    }
}

#[test]
fn a_namespace_ending_in_cr_reads_the_same_in_every_column_order() {
    // Found by the symvers_parse fuzz target: in 5.4 order the namespace is not last, so its CR
    // survived, then was lost once written in 5.6 order.
    let path = Path::new("cr.symvers");
    let t = Table::parse("0x00000001\tsym\tNS\r\tvmlinux\tEXPORT_SYMBOL\n", path).unwrap();
    assert_eq!(t.entries[0].namespace, "NS");
    let again = Table::parse(&t.to_text(Columns::Modern), path).unwrap();
    assert_eq!(again, t);
}
