use super::*;
use crate::error::{Error, Problem};

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
        e.namespace = Name::default();
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
    /// A field of min..max characters that modpost could write: identifiers, paths,
    /// multi-byte UTF-8, and spaces where `spaces` (namespaces are C strings), but no tab or
    /// newline, which separate fields and lines, and no control character.
    fn field(&mut self, min: usize, max: usize, spaces: bool) -> String {
        const CHARS: &[char] = &[
            'a', 'z', 'A', 'Z', '0', '9', '_', '.', '$', '/', '-', 'é', 'λ', '💡', ' ',
        ];
        let chars = if spaces {
            CHARS
        } else {
            &CHARS[..CHARS.len() - 1]
        };
        let len = min + self.below(max - min + 1);
        (0..len).map(|_| chars[self.below(chars.len())]).collect()
    }
}

fn random_table(rng: &mut Rng) -> Table {
    let n = rng.below(40);
    let entries = (0..n)
        .map(|_| Entry {
            crc: rng.next() as u32,
            symbol: rng.field(1, 24, false),
            module: rng.field(1, 40, false).into(),
            kind: match rng.below(ExportKind::ALL.len() + 1) {
                0 => ExportType::Unknown,
                k => ExportKind::ALL[k - 1].into(),
            },
            namespace: if rng.below(3) == 0 {
                rng.field(1, 12, true).into()
            } else {
                Name::default()
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
            e.namespace = Name::default();
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

/// Lines modpost never writes are refused, each naming the file and the line: `u32` parsing
/// alone would take `0x+1234abcd` or `0x001234abcd`, and an empty module column would make a
/// table whose owner of a symbol is nobody.
#[test]
fn lines_modpost_never_writes_are_errors_naming_the_line() {
    let good = "0x0a1b2c3d\tgood\tvmlinux\tEXPORT_SYMBOL\t\n";
    let long = format!(
        "0x00000001\t{}\tvmlinux\tEXPORT_SYMBOL\t",
        "s".repeat(MAX_LINE)
    );
    let cases: Vec<(String, &str)> = vec![
        (
            "0x+1234abc\ts\tvmlinux\tEXPORT_SYMBOL\t".into(),
            "CRC \"0x+1234abc\" is not written as modpost writes one: 0x and 8 lower-case hex digits",
        ),
        (
            "0x1234abc\ts\tvmlinux\tEXPORT_SYMBOL\t".into(),
            "CRC \"0x1234abc\" is not written as modpost writes one: 0x and 8 lower-case hex digits",
        ),
        (
            "0x001234abcd\ts\tvmlinux\tEXPORT_SYMBOL\t".into(),
            "CRC \"0x001234abcd\" is not written as modpost writes one: 0x and 8 lower-case hex digits",
        ),
        (
            "0x1234ABCD\ts\tvmlinux\tEXPORT_SYMBOL\t".into(),
            "CRC \"0x1234ABCD\" is not written as modpost writes one: 0x and 8 lower-case hex digits",
        ),
        (
            "0x 1234abc\ts\tvmlinux\tEXPORT_SYMBOL\t".into(),
            "CRC \"0x 1234abc\" is not a 32-bit hex number",
        ),
        (
            "0x1234abcd\ts\t\tEXPORT_SYMBOL\t".into(),
            "s: empty module column (modpost writes vmlinux or the module's path)",
        ),
        (
            "0x1234abcd\ts\t\tEXPORT_SYMBOL".into(),
            "s: empty module column (modpost writes vmlinux or the module's path)",
        ),
        (
            "0x1234abcd\tmy sym\tvmlinux\tEXPORT_SYMBOL\t".into(),
            "symbol name \"my sym\" holds a space or control character, which modpost never writes",
        ),
        (
            "0x1234abcd\tsym\0\tvmlinux\tEXPORT_SYMBOL\t".into(),
            "symbol name \"sym\\0\" holds a space or control character, which modpost never writes",
        ),
        (
            "0x1234abcd\tsym\tlib/a b\tEXPORT_SYMBOL\t".into(),
            "module column \"lib/a b\" holds a space or control character, which modpost never writes",
        ),
        (
            "0x1234abcd\tsym\tvmlinux\tEXPORT_SYMBOL\tNS\u{1b}".into(),
            "namespace \"NS\\u{1b}\" holds a control character, which modpost never writes",
        ),
        (
            long,
            "line longer than 65536 bytes (modpost writes a CRC, a symbol name, a module path, an export type and a namespace)",
        ),
    ];
    let dir = std::env::temp_dir().join(format!("symvers-strict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (line, detail) in &cases {
        let text = format!("{good}{line}\n{good}");
        let err = Table::parse(&text, Path::new("t.symvers")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("t.symvers:2: {detail}"),
            "{line:?}"
        );
        // The same from a file, read as a stream.
        let path = dir.join("t.symvers");
        std::fs::write(&path, &text).unwrap();
        let err = read_file(&path, FILE_LIMIT).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}:2: {detail}", path.display()),
            "{line:?}"
        );
    }
    // What modpost writes still reads, CRLF and blank lines too.
    let t = Table::parse(
        &format!(
            "{good}\r\n\n0x00000000\ts2\tdrivers/x/y\tEXPORT_SYMBOL_GPL\tmodule:kvm,kvm-*\r\n"
        ),
        Path::new("t"),
    )
    .unwrap();
    assert_eq!(t.entries.len(), 2);
    assert_eq!(t.entries[1].namespace, "module:kvm,kvm-*");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A plain file is parsed as it streams in: line numbers count blank lines, bytes that are not
/// UTF-8 name their line, a line without end or a file past the limit stop the read.
#[test]
fn files_are_read_as_a_stream_with_line_numbers_and_limits() {
    let dir = std::env::temp_dir().join(format!("symvers-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("Module.symvers");
    let good = "0x0a1b2c3d\tgood\tvmlinux\tEXPORT_SYMBOL\t\n";
    std::fs::write(
        &path,
        format!("{good}\n\r\n0x0a1b2c3e\tnext\tlib/m\tEXPORT_SYMBOL\t\n"),
    )
    .unwrap();
    let (t, lines) = read_file_numbered(&path, FILE_LIMIT).unwrap();
    assert_eq!(lines, [1, 4]);
    assert_eq!(t.entries[1].module, "lib/m");

    let mut bytes = good.as_bytes().to_vec();
    bytes.extend_from_slice(b"0x0a1b2c3d\tbad\xff\tvmlinux\tEXPORT_SYMBOL\t\n");
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(
        read_file(&path, FILE_LIMIT).unwrap_err().to_string(),
        format!("{}:2: not UTF-8 text (byte 15 of the line)", path.display())
    );

    // 8 MiB without a newline: refused at the line cap, not read whole into one line.
    let mut bytes = good.as_bytes().to_vec();
    bytes.resize(8 << 20, b'x');
    std::fs::write(&path, &bytes).unwrap();
    let err = read_file(&path, FILE_LIMIT).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}:2: line longer than", path.display())),
        "{err}"
    );

    std::fs::write(&path, good.repeat(100)).unwrap();
    let limit = good.len() as u64 * 50;
    assert!(matches!(
        read_file(&path, limit).unwrap_err(),
        Error::Format { problem: Problem::FileTooLarge { limit: l, .. }, .. } if l == limit
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn repeats_group_the_lines_of_each_symbol_listed_more_than_once() {
    let mut t = sample();
    t.entries.push(Entry::new(
        2,
        "phys_base",
        "updates/x",
        ExportKind::Plain,
        "",
    ));
    t.entries
        .push(Entry::new(3, "old", "m2", ExportKind::Plain, ""));
    t.entries
        .push(Entry::new(4, "phys_base", "extra/y", ExportKind::Plain, ""));
    assert_eq!(t.repeats(), vec![vec![0, 3, 5], vec![2, 4]]);
    let dups = t.duplicates();
    assert_eq!(dups[0].symbol, "phys_base");
    assert_eq!(dups[0].modules, ["vmlinux", "updates/x", "extra/y"]);
    assert_eq!(dups[1].modules, ["m", "m2"]);
    assert!(sample().repeats().is_empty());
}

/// Module and namespace columns are shared between lines, not copied per line.
#[test]
fn module_names_are_shared_between_lines() {
    let text = "0x00000001\ta\tlib/m\tEXPORT_SYMBOL\tNS\n0x00000002\tb\tlib/m\tEXPORT_SYMBOL\tNS\n";
    let t = Table::parse(text, Path::new("t")).unwrap();
    assert!(std::ptr::eq(
        t.entries[0].module.as_str(),
        t.entries[1].module.as_str()
    ));
    assert!(std::ptr::eq(
        t.entries[0].namespace.as_str(),
        t.entries[1].namespace.as_str()
    ));
}

#[test]
fn releases_before_2_6_18_get_three_columns() {
    use super::release_version;
    assert_eq!(release_version("2.6.12.1"), Some((2, 6, 12)));
    assert_eq!(release_version("6.1.0-50-amd64"), Some((6, 1, 0)));
    assert_eq!(release_version("3.0-rc1"), Some((3, 0, 0)));
    assert_eq!(release_version("3.10.96+"), Some((3, 10, 96)));
    assert_eq!(release_version("vendor-6.1"), None);
    assert_eq!(
        Columns::for_kernel(None, Some("2.6.17.14")),
        Columns::NoExportType
    );
    assert_eq!(Columns::for_kernel(None, Some("2.6.18")), Columns::Modern);
    assert_eq!(Columns::for_kernel(None, None), Columns::Modern);
    assert_eq!(Columns::for_kernel(None, Some("odd")), Columns::Modern);
}
