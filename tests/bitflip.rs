//! Every single-bit flip of small real-shaped modules, read as `dump` reads them next to their
//! kernel: each flip must give the same exports, an error, or a change confined to the bytes
//! that hold CRC values and names (which no reader of one file can tell from the real ones;
//! `dump --verify` checks them against other modules' imports). Never lost or extra exports,
//! CRCs zeroed or lost, export types changed or namespaces foreign.

#[path = "common/fixtures.rs"]
mod fixtures;

use std::ops::Range;

use fixtures::{Crcs, Layout, Spec};
use symvers::elf::{Class, Elf, Endian};
use symvers::exports::Export;

/// The outcome of one flip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Same,
    Error,
    /// Only CRC values or the bytes of names or namespaces differ, and the flipped bit holds
    /// one.
    CrcOrName,
    /// Anything else: the kind of result this test exists to rule out.
    Other,
}

/// Byte ranges of `ko` whose flips may change a CRC value, a name or a namespace and nothing
/// else: the
/// `__ksymtab_strings` and `__kcrctab*` data, and the `st_value` of every `__crc_` symbol
/// (4.10–5.18: the CRC is that value).
fn crc_and_name_bytes(ko: &[u8]) -> Vec<Range<usize>> {
    let elf = Elf::parse(ko).unwrap();
    let mut out = Vec::new();
    let range = |s: &symvers::elf::Section| s.offset as usize..(s.offset + s.size) as usize;
    for s in &elf.sections {
        if s.name == b"__ksymtab_strings" || s.name.starts_with(b"__kcrctab") {
            out.push(range(s));
        }
    }
    let symtab = elf.sections.iter().find(|s| s.name == b".symtab").unwrap();
    let strtab = &elf.sections[symtab.link as usize];
    let strings = &ko[range(strtab)];
    let (size, value_at, value_len) = match elf.class {
        Class::Elf32 => (16, 4, 4),
        Class::Elf64 => (24, 8, 8),
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = ko[at..at + 4].try_into().unwrap();
        match elf.endian {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    };
    for sym in range(symtab).step_by(size) {
        let name_at = u32_at(sym) as usize;
        let name = &strings[name_at..];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap()];
        if name.starts_with(b"__crc_") {
            out.push(sym + value_at..sym + value_at + value_len);
        }
    }
    out
}

fn classify(
    base: &[Export],
    got: &Result<Vec<Export>, String>,
    bit_in_crc_or_name: bool,
) -> Outcome {
    let Ok(got) = got else {
        return Outcome::Error;
    };
    if got == base {
        return Outcome::Same;
    }
    // A flip inside a namespace's bytes changes it as one inside a name changes the name.
    let confined = got.len() == base.len()
        && base.iter().zip(got).all(|(b, g)| {
            b.kind == g.kind
                && (b.namespace == g.namespace
                    || !b.namespace.is_empty() && b.namespace.len() == g.namespace.len())
                && b.crc.is_some() == g.crc.is_some()
                && !(b.crc.is_some_and(|c| c != 0) && g.crc == Some(0))
        });
    if confined && bit_in_crc_or_name {
        Outcome::CrcOrName
    } else {
        Outcome::Other
    }
}

/// Counts of each outcome, and the first flips of kind Other.
#[derive(Debug, Default)]
struct Counts {
    same: usize,
    error: usize,
    crc_or_name: usize,
    other: Vec<(usize, String)>,
}

fn flip_every_bit(spec: &Spec) -> Counts {
    let kernel = symvers::kernel::read_image_bytes(&fixtures::build_vmlinux(spec), 1 << 30)
        .expect("the fixture kernel reads");
    let ko = fixtures::build_module(spec);
    let read = |bytes: &[u8]| {
        symvers::dump::read_module_for(&kernel, bytes)
            .map(|m| m.exports)
            .map_err(|e| e.to_string())
    };
    let base = read(&ko).expect("the fixture module reads");
    assert!(!base.is_empty());
    let allowed = crc_and_name_bytes(&ko);
    let mut counts = Counts::default();
    let mut bad = ko.clone();
    for byte in 0..ko.len() {
        let in_crc_or_name = allowed.iter().any(|r| r.contains(&byte));
        for bit in 0..8 {
            bad[byte] ^= 1 << bit;
            let got = read(&bad);
            match classify(&base, &got, in_crc_or_name) {
                Outcome::Same => counts.same += 1,
                Outcome::Error => counts.error += 1,
                Outcome::CrcOrName => counts.crc_or_name += 1,
                Outcome::Other => {
                    if std::env::var_os("BITFLIP_DEBUG").is_some() {
                        let sec = Elf::parse(&ko)
                            .unwrap()
                            .sections
                            .iter()
                            .find(|s| (s.offset..s.offset + s.size).contains(&(byte as u64)))
                            .map(|s| String::from_utf8_lossy(s.name).into_owned());
                        eprintln!(
                            "bit {} byte {byte:#x} in {sec:?}: {got:?}\n  base {base:?}",
                            byte * 8 + bit
                        );
                    }
                    counts
                        .other
                        .push((byte * 8 + bit, format!("{:?}", got.map(|e| e.len()))))
                }
            }
            bad[byte] ^= 1 << bit;
        }
    }
    counts
}

/// Modules as Debian's kernels have them: x86_64 6.1 (PREL32 entries with namespaces, CRCs as
/// data), x86_64 5.10 (CRCs through absolute `__crc_` symbols), armhf (absolute pointers, REL
/// relocations), s390x (big-endian); each with plain, GPL-only and namespaced exports, imports,
/// `__versions` and `.modinfo`.
fn shapes() -> Vec<(&'static str, Spec)> {
    let shape = |arch, layout, crcs| {
        let mut spec = Spec::new(arch, layout, crcs);
        spec.exports = vec![
            fixtures::exp("usb_alpha_register", "EXPORT_SYMBOL", "", 0x1a2b_3c4d),
            fixtures::exp("usb_beta", "EXPORT_SYMBOL_GPL", "USB_STORAGE", 0x5e6f_7081),
            fixtures::exp("usb_gamma_get", "EXPORT_SYMBOL_GPL", "", 0x92a3_b4c5),
            fixtures::exp("usb_delta_put_x", "EXPORT_SYMBOL", "", 0xd6e7_f809),
        ];
        spec.imports = vec!["printk".into(), "kmalloc".into()];
        spec.versions = vec![
            (0x1111_2222, "printk".into()),
            (0x3333_4444, "kmalloc".into()),
        ];
        spec.modinfo = vec!["license=GPL".into(), "name=usb_shape".into()];
        spec
    };
    vec![
        (
            "x86_64 6.1",
            shape(fixtures::X86_64, Layout::Prel32Namespaced, Crcs::Data),
        ),
        (
            "x86_64 5.10",
            shape(
                fixtures::X86_64,
                Layout::Prel32Namespaced,
                Crcs::AbsoluteSymbols,
            ),
        ),
        (
            "armhf 6.1",
            shape(fixtures::ARM, Layout::AbsoluteNamespaced, Crcs::Data),
        ),
        (
            "s390x 6.1",
            shape(fixtures::S390X, Layout::Prel32Namespaced, Crcs::Data),
        ),
    ]
}

#[test]
fn every_bit_flip_of_a_module_is_the_same_table_an_error_or_a_crc_or_name_change() {
    let mut total = Counts::default();
    for (name, spec) in shapes() {
        let c = flip_every_bit(&spec);
        eprintln!(
            "{name}: {} flips: same {}, error {}, CRC or name {}, other {}",
            c.same + c.error + c.crc_or_name + c.other.len(),
            c.same,
            c.error,
            c.crc_or_name,
            c.other.len()
        );
        assert!(
            c.other.is_empty(),
            "{name}: {} flips gave another table, e.g. (bit, exports) {:?}",
            c.other.len(),
            &c.other[..c.other.len().min(8)]
        );
        total.same += c.same;
        total.error += c.error;
        total.crc_or_name += c.crc_or_name;
    }
    eprintln!(
        "all: same {}, error {}, CRC or name {}",
        total.same, total.error, total.crc_or_name
    );
}
