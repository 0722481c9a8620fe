use super::{PrefixReader, Want};
use crate::elf::consts::{PT_LOAD, PT_NOTE};
use crate::exports::ExportKind;
use crate::fixtures::{self as fx, Crcs, Exp, Layout, Sec, SegmentSpec, Spec};
use crate::image::EARLY_PROBE;
use crate::kernel::{read_image_bytes, read_image_bytes_with, Decode, KernelExports, TableSource};

const LIMIT: u64 = 1 << 30;

/// `n` exports, plain and GPL, some in a namespace, names sorted apart from their link order.
fn exports(n: usize) -> Vec<Exp> {
    (0..n)
        .map(|i| {
            let kind = if i % 3 == 0 {
                "EXPORT_SYMBOL_GPL"
            } else {
                "EXPORT_SYMBOL"
            };
            let namespace = if i % 7 == 0 { "SOME_NS" } else { "" };
            let crc = (i as u32).wrapping_mul(0x9e37_79b9);
            fx::exp(
                &format!("sym_{:04}_{}", (i * 37) % n, i),
                kind,
                namespace,
                crc,
            )
        })
        .collect()
}

/// How the fixture kernel's program headers are laid out.
#[derive(Clone, Copy, PartialEq)]
enum Segments {
    /// x86_64: text, read-only data, tables and notes in one PT_LOAD, a PT_NOTE, then data.
    NoteAfterTables,
    /// No PT_NOTE: the first PT_LOAD ends after the tables.
    LoadOnly,
    /// The first PT_LOAD holds only the text; the tables are further on.
    TablesInSecondLoad,
}

/// A vmlinux with `spec`'s tables, a note and a megabyte of data after them, and its program
/// headers laid out as `segments` says.
fn vmlinux(spec: &Spec, segments: Segments) -> Vec<u8> {
    let mut f = fx::build_vmlinux_elf(spec);
    let end = f
        .sections
        .iter()
        .map(|s| s.addr + s.data.len() as u64)
        .max()
        .unwrap();
    let tables_last = f.sections.len();
    let notes = f.add(Sec {
        addr: end.div_ceil(4) * 4,
        ..Sec::progbits(
            ".notes",
            b"\x04\0\0\0\x08\0\0\0\x01\0\0\0Linux\0\0\0".to_vec(),
        )
    });
    let mut x: u32 = 1;
    let data: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    let data = f.add(Sec {
        addr: (end + 0x1000).div_ceil(0x1000) * 0x1000,
        align: 0x1000,
        ..Sec::progbits(".data", data)
    });
    let segment = |kind, flags, first, last| SegmentSpec {
        kind,
        flags,
        first,
        last,
    };
    f.segments = match segments {
        Segments::NoteAfterTables => vec![
            segment(PT_LOAD, 5, 1, notes),
            segment(PT_LOAD, 6, data, data),
            segment(PT_NOTE, 4, notes, notes),
        ],
        Segments::LoadOnly => vec![
            segment(PT_LOAD, 5, 1, notes),
            segment(PT_LOAD, 6, data, data),
        ],
        Segments::TablesInSecondLoad => vec![
            segment(PT_LOAD, 5, 1, 1),
            segment(PT_LOAD, 4, 2, tables_last),
            segment(PT_LOAD, 6, notes, data),
        ],
    };
    f.build()
}

fn bzimage(kernel: &[u8], format: &str) -> Vec<u8> {
    fx::bzimage(&fx::with_size_trailer(
        fx::compress(format, kernel),
        kernel.len(),
    ))
}

/// Read `image` both ways and check that they agree and that the early read is the one
/// expected.
fn read_both(image: &[u8], source: TableSource) -> KernelExports {
    let early = read_image_bytes(image, LIMIT).unwrap();
    let whole = read_image_bytes_with(image, LIMIT, Decode::Whole).unwrap();
    assert_eq!(whole.tables_located_by, TableSource::Sections);
    assert!(!whole.image.partial);
    assert_eq!(early.tables_located_by, source);
    assert_eq!(early.image.partial, source == TableSource::PrefixScan);
    assert_eq!(early.vmlinux.exports, whole.vmlinux.exports);
    assert_eq!(early.vmlinux.layout, whole.vmlinux.layout);
    assert_eq!(early.vmlinux.layout, whole.vmlinux.layout);
    assert_eq!((early.class, early.endian), (whole.class, whole.endian));
    early
}

/// [`read_both`] on `spec`'s kernel laid out as `segments`, in an xz bzImage.
fn read_xz(spec: &Spec, segments: Segments, source: TableSource) -> KernelExports {
    read_both(&bzimage(&vmlinux(spec, segments), "xz"), source)
}

#[test]
fn a_streamed_kernel_is_decoded_only_up_to_its_notes() {
    let mut spec = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    spec.exports = exports(400);
    let kernel = vmlinux(&spec, Segments::NoteAfterTables);
    for format in ["xz", "gzip", "bzip2", "lzma"] {
        let early = read_both(&bzimage(&kernel, format), TableSource::PrefixScan);
        assert!(
            early.image.kernel_size < kernel.len() as u64 - (1 << 20),
            "{format}"
        );
        assert_eq!(early.vmlinux.exports.len(), 400);
        let gpl = early
            .vmlinux
            .exports
            .iter()
            .filter(|e| e.kind == ExportKind::Gpl);
        assert_eq!(gpl.count(), 134);
    }
}

#[test]
fn without_notes_the_first_load_segment_is_scanned() {
    for (arch, layout) in [
        (fx::X86_64, Layout::Prel32Namespaced),
        (fx::I386, Layout::Prel32),
        (fx::I386, Layout::Absolute),
        (fx::X86_64, Layout::AbsoluteNamespaced),
    ] {
        let mut spec = Spec::new(arch, layout, Crcs::Data);
        spec.exports = exports(300);
        read_xz(&spec, Segments::LoadOnly, TableSource::PrefixScan);
    }
}

#[test]
fn one_table_with_flags_and_no_crcs_stop_early_too() {
    let mut spec = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::None);
    spec.exports = exports(300);
    spec.flags_table = true;
    read_xz(&spec, Segments::NoteAfterTables, TableSource::PrefixScan);
    spec.flags_table = false;
    read_xz(&spec, Segments::NoteAfterTables, TableSource::PrefixScan);
}

#[test]
fn tables_beyond_the_stops_are_read_from_the_whole_kernel() {
    let mut spec = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    spec.exports = exports(300);
    read_xz(&spec, Segments::TablesInSecondLoad, TableSource::Sections);
}

#[test]
fn any_doubt_decodes_the_whole_kernel() {
    // Too few records to be sure of.
    let mut spec = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    spec.exports = exports(100);
    read_xz(&spec, Segments::NoteAfterTables, TableSource::Sections);

    // Only plain exports: one table without __kflagstab could be two tables whose boundary
    // the name order does not show.
    spec.exports = exports(300);
    for e in &mut spec.exports {
        e.kind = "EXPORT_SYMBOL";
    }
    read_xz(&spec, Segments::NoteAfterTables, TableSource::Sections);

    // A string of __ksymtab_strings that no record names: a record was missed. The record
    // that named it names its neighbour's string instead (equal names keep the order).
    spec.exports = exports(300);
    let kernel = vmlinux(&spec, Segments::NoteAfterTables);
    assert_eq!(drive(&kernel), Want::Stop);
    let mut orphaned = kernel.clone();
    let elf = crate::elf::Elf::parse(&kernel).unwrap();
    let table = elf.section_by_name("__ksymtab").unwrap().1.offset as usize;
    let name_field = |record: usize| table + record * 12 + 4;
    let target = |record: usize| {
        let at = name_field(record);
        let raw = i32::from_le_bytes(kernel[at..at + 4].try_into().unwrap());
        at as i64 + i64::from(raw)
    };
    let moved = (target(11) - name_field(10) as i64) as i32;
    orphaned[name_field(10)..name_field(10) + 4].copy_from_slice(&moved.to_le_bytes());
    assert_eq!(drive(&orphaned), Want::All);
}

/// Offer `kernel` to a [`PrefixReader`] as a decoder would, up to its final answer.
fn drive(kernel: &[u8]) -> Want {
    let mut reader = PrefixReader::new();
    let mut len = EARLY_PROBE;
    loop {
        match reader.want(&kernel[..len.min(kernel.len())]) {
            Want::Bytes(n) => len = n,
            last => return last,
        }
    }
}

#[test]
fn kernels_in_one_call_formats_and_raw_kernels_are_never_cut() {
    let mut spec = Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    spec.exports = exports(300);
    let kernel = vmlinux(&spec, Segments::NoteAfterTables);
    for format in ["zstd", "lz4", "lzo"] {
        read_both(&bzimage(&kernel, format), TableSource::Sections);
    }
    read_both(&kernel, TableSource::Sections);
}
