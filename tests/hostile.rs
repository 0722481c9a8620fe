//! Hostile input: truncated, bit-flipped, empty, not-ELF and crafted files, decompression bombs,
//! and module trees with loops, FIFOs, unreadable entries and vanishing files. Every case asserts
//! the specific error (variant and message), and that it comes back promptly instead of a panic,
//! a hang or an allocation the size of a lie in a header.

#[path = "common/fixtures.rs"]
mod fixtures;

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fixtures::{Crcs, Layout, Spec};
use symvers::error::{Error, FileKind, Problem};
use symvers::exports::module;
use symvers::{image, kernel, modinfo, modtree};

const LIMIT: u64 = 64 << 20;

/// A scratch folder removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("symvers-hostile-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
    fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // Unreadable folders left by a test must become removable again.
        let _ = Command::new("chmod")
            .arg("-R")
            .arg("u+rwx")
            .arg(&self.0)
            .status();
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Run `f` on another thread and fail the test if it does not return within `secs` seconds: a
/// hang is a bug, and must not hang the test suite too.
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("did not finish within {secs} s"))
}

fn x86_module() -> Vec<u8> {
    fixtures::build_module(&Spec::new(
        fixtures::X86_64,
        Layout::Prel32Namespaced,
        Crcs::Data,
    ))
}

fn x86_vmlinux() -> Vec<u8> {
    fixtures::build_vmlinux(&Spec::new(
        fixtures::X86_64,
        Layout::Prel32Namespaced,
        Crcs::Data,
    ))
}

/// Problems a damaged ELF file may legitimately produce (not decompression or text problems).
fn is_elf_problem(p: &Problem) -> bool {
    matches!(
        p,
        Problem::Elf(_) | Problem::Exports(_) | Problem::NoExports(_) | Problem::NotAModule { .. }
    )
}

/// Overwrite bytes of a 64-bit little-endian ELF file (the x86_64 fixtures).
fn put_le(bytes: &mut [u8], at: usize, value: u64, size: usize) {
    bytes[at..at + size].copy_from_slice(&value.to_le_bytes()[..size]);
}

fn get_le(bytes: &[u8], at: usize, size: usize) -> u64 {
    let mut b = [0u8; 8];
    b[..size].copy_from_slice(&bytes[at..at + size]);
    u64::from_le_bytes(b)
}

/// Offset of field `field_at` of section header `index` of an x86_64 fixture.
fn shdr_field(bytes: &[u8], index: usize, field_at: usize) -> usize {
    let shoff = get_le(bytes, 0x28, 8) as usize;
    shoff + index * 64 + field_at
}

const SH_OFFSET: usize = 24;
const SH_SIZE: usize = 32;

// ---------------------------------------------------------------------------------------------
// Truncation, bit flips, empty and foreign files.

#[test]
fn every_truncation_of_a_module_is_a_malformed_elf_error() {
    for arch in fixtures::ALL_ARCHES {
        let ko = fixtures::build_module(&Spec::new(arch, Layout::Absolute, Crcs::AbsoluteSymbols));
        // The section header table is at the end, so every cut damages it.
        for len in (0..ko.len()).step_by(7).chain([ko.len() - 1]) {
            let err = module::read(&ko[..len]).unwrap_err();
            match (&err, len) {
                (Problem::Elf(m), 0..=3) => assert_eq!(m, "no ELF magic"),
                (Problem::Elf(m), 4) => assert_eq!(m, "unknown ELF class"),
                (Problem::Elf(m), _) => assert!(
                    m.starts_with("Invalid ELF") || m.contains("lies outside the file"),
                    "{} cut at {len}: {m}",
                    arch.name
                ),
                _ => panic!("{} cut at {len}: {err:?}", arch.name),
            }
            // The loader-facing reader agrees.
            let err = modinfo::read(&ko[..len]).unwrap_err();
            assert!(matches!(err, Problem::Elf(_)), "{err:?}");
        }
    }
}

#[test]
fn every_truncation_of_a_vmlinux_is_an_error_or_the_whole_table() {
    let v = x86_vmlinux();
    let whole = kernel::read_image_bytes(&v, LIMIT).unwrap();
    // Cut after its loadable segments, a vmlinux without its section headers is read by its
    // segments; cut anywhere before, it is an error.
    let segments_end = symvers::elf::Header::parse(&v)
        .unwrap()
        .program_headers
        .iter()
        .map(|ph| ph.offset + ph.filesz)
        .max()
        .unwrap() as usize;
    for len in (0..v.len()).step_by(5).chain([v.len() - 1]) {
        let err = match kernel::read_image_bytes(&v[..len], LIMIT) {
            Ok(k) => {
                assert!(len >= segments_end, "cut at {len} read");
                assert_eq!(k.tables_located_by, kernel::TableSource::Segments);
                assert_eq!(k.vmlinux.exports, whole.vmlinux.exports, "cut at {len}");
                continue;
            }
            Err(err) => err,
        };
        match len {
            // Too short to be anything: "none: the file is empty" or a hex prefix.
            0..=3 => assert!(
                matches!(err, Problem::UnknownFormat { .. } | Problem::Empty),
                "{len}: {err:?}"
            ),
            _ => assert!(
                is_elf_problem(&err) || matches!(err, Problem::Truncated(_)),
                "cut at {len}: {err:?}"
            ),
        }
    }
}

#[test]
fn every_truncation_of_a_compressed_image_is_a_specific_error() {
    let v = x86_vmlinux();
    for format in ["gzip", "xz", "zstd", "bzip2", "lz4"] {
        let payload = fixtures::with_size_trailer(fixtures::compress(format, &v), v.len());
        let bz = fixtures::bzimage(&payload);
        // The fixture puts 64 bytes of padding after the payload, as objcopy may.
        let payload_end = bz.len() - 64;
        let payload_start = payload_end - payload.len();
        assert!(
            image::unwrap(&bz[..payload_end], LIMIT)
                .unwrap()
                .info
                .is_elf
        );
        for len in (0..payload_end).step_by(61).chain([payload_end - 1]) {
            let err = match image::unwrap(&bz[..len], LIMIT) {
                Ok(k) => panic!("{format} cut at {len} unwrapped to {} bytes", k.bytes.len()),
                Err(e) => e,
            };
            match err {
                // Cut inside the setup header: no "HdrS" (or no payload fields) to find.
                Problem::UnknownFormat { .. } | Problem::Empty | Problem::Truncated(_)
                    if len < payload_start => {}
                // The header declares more payload than is left.
                Problem::Truncated(ref m) => {
                    assert!(m.contains("runs past the end"), "{format} {len}: {m}")
                }
                _ => panic!("{format} cut at {len}: {err:?}"),
            }
        }
        // A bare stream cut short fails in its decoder (not in a container check).
        let cut = &payload[..payload.len() / 2];
        let err = image::unwrap(cut, LIMIT).unwrap_err();
        let name = if format == "lz4" {
            "lz4-legacy"
        } else {
            format
        };
        assert!(
            matches!(err, Problem::Decompress { format: f, .. } if f == name),
            "{format}: {err:?}"
        );
    }
}

#[test]
fn bit_flips_in_a_module_give_exports_or_a_typed_problem() {
    for (name, ko) in [
        ("x86_64", x86_module()),
        (
            "arm",
            fixtures::build_module(&Spec::new(fixtures::ARM, Layout::Absolute, Crcs::Word)),
        ),
        (
            "s390x",
            fixtures::build_module(&Spec::new(
                fixtures::S390X,
                Layout::Prel32Namespaced,
                Crcs::AbsoluteSymbols,
            )),
        ),
    ] {
        let (mut ok, mut errors) = (0, 0);
        for at in (0..ko.len()).step_by(3) {
            for bit in [0, 3, 7] {
                let mut bad = ko.clone();
                bad[at] ^= 1 << bit;
                match module::read(&bad) {
                    Ok(m) => {
                        ok += 1;
                        // Whatever was read is a table the kernel could have: identifiers,
                        // each once.
                        let mut names: Vec<&str> =
                            m.exports.iter().map(|e| e.name.as_str()).collect();
                        names.sort_unstable();
                        assert!(names.windows(2).all(|w| w[0] != w[1]), "{name} {at}");
                    }
                    Err(p) => {
                        errors += 1;
                        assert!(is_elf_problem(&p), "{name} flip {at}/{bit}: {p:?}");
                    }
                }
                let _ = modinfo::read(&bad);
            }
        }
        // Flips in padding and unused bytes are harmless; flips in headers and tables are not.
        assert!(ok > 0 && errors > 0, "{name}: {ok} ok, {errors} errors");
    }
}

#[test]
fn bit_flips_in_a_vmlinux_give_exports_or_a_typed_problem() {
    let v = x86_vmlinux();
    for at in 0..v.len() {
        let mut bad = v.clone();
        bad[at] ^= 0x80;
        if let Err(p) = kernel::read_image_bytes(&bad, LIMIT) {
            assert!(
                is_elf_problem(&p) || matches!(p, Problem::UnknownFormat { .. }),
                "flip at {at}: {p:?}"
            );
        }
    }
}

#[test]
fn specific_header_damage_names_the_problem() {
    let ko = x86_module();
    let mut bad = ko.clone();
    bad[1] = b'X';
    assert_eq!(
        module::read(&bad).unwrap_err(),
        Problem::Elf("no ELF magic".into())
    );
    let mut bad = ko.clone();
    bad[4] = 9;
    assert_eq!(
        module::read(&bad).unwrap_err(),
        Problem::Elf("unknown ELF class".into())
    );
    // A vmlinux is not a module.
    assert_eq!(
        module::read(&x86_vmlinux()).unwrap_err(),
        Problem::NotAModule {
            detail: "an ELF file of type 2 (a module is a relocatable object, type 1)".into()
        }
    );
}

#[test]
fn empty_and_foreign_files_are_unknown_formats() {
    assert_eq!(
        kernel::read_image_bytes(b"", LIMIT).unwrap_err(),
        Problem::Empty
    );
    assert_eq!(
        image::unwrap(b"#!/bin/sh\necho hi\n", LIMIT).unwrap_err(),
        Problem::UnknownFormat {
            first_bytes: "23 21 2f 62 69 6e 2f 73".into()
        }
    );
    let d = Dir::new("foreign");
    let mut buf = Vec::new();
    for (name, bytes, expected) in [
        ("empty.ko", &b""[..], Problem::Empty),
        (
            "script.ko",
            &b"#!/bin/sh\n"[..],
            Problem::NotAModule {
                detail: "neither an ELF file nor compressed (first bytes 23 21 2f 62 69 6e 2f 73)"
                    .into(),
            },
        ),
    ] {
        let path = d.write(name, bytes);
        let err = modtree::read_module(&path, LIMIT, &mut buf).unwrap_err();
        match err {
            Error::Format { path: p, problem } => {
                assert_eq!((p, problem), (path, expected));
            }
            other => panic!("{other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Crafted ELF headers: offsets and sizes beyond the end, huge counts.

#[test]
fn section_beyond_the_end_of_the_file_is_named() {
    let ko = x86_module();
    let elf = fixtures::build_module_elf(&Spec::new(
        fixtures::X86_64,
        Layout::Prel32Namespaced,
        Crcs::Data,
    ));
    let ksymtab = elf.index_of("__ksymtab").unwrap();
    let cases: [(usize, u64, &str); 4] = [
        // sh_size far beyond the file: must not size a Vec or a loop from it.
        (SH_SIZE, 0x7fff_ffff_fff0, "size 0x7ffffffffff0"),
        (SH_SIZE, u64::MAX, "size 0xffffffffffffffff"),
        (SH_OFFSET, 0x10_0000_0000, "offset 0x1000000000"),
        // offset + size overflows u64.
        (SH_OFFSET, u64::MAX - 4, "offset 0xfffffffffffffffb"),
    ];
    for (field, value, shown) in cases {
        let mut bad = ko.clone();
        put_le(&mut bad, shdr_field(&ko, ksymtab, field), value, 8);
        let err = within(10, move || module::read(&bad)).unwrap_err();
        match err {
            Problem::Elf(m) => {
                assert!(
                    m.starts_with("section __ksymtab (") && m.contains(shown),
                    "{m}"
                );
                assert!(m.ends_with("lies outside the file"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn vmlinux_section_beyond_the_end_is_refused() {
    let v = x86_vmlinux();
    let elf = fixtures::build_vmlinux_elf(&Spec::new(
        fixtures::X86_64,
        Layout::Prel32Namespaced,
        Crcs::Data,
    ));
    for name in ["__ksymtab", "__ksymtab_strings", "__kcrctab"] {
        let index = elf.index_of(name).unwrap();
        let mut bad = v.clone();
        put_le(&mut bad, shdr_field(&v, index, SH_OFFSET), u64::MAX - 8, 8);
        let err = kernel::read_image_bytes(&bad, LIMIT).unwrap_err();
        assert_eq!(
            err,
            Problem::Exports(format!("{name} lies outside the file")),
            "{name}"
        );
    }
}

#[test]
fn huge_section_counts_fail_fast() {
    let ko = x86_module();
    // e_shnum = 65535 with the table where it is: runs past the end.
    let mut bad = ko.clone();
    put_le(&mut bad, 0x3c, 0xffff, 2);
    let err = within(10, move || module::read(&bad)).unwrap_err();
    assert!(
        matches!(&err, Problem::Elf(m) if m.starts_with("Invalid ELF section header")),
        "{err:?}"
    );
    // e_shnum = 0: the count is in section 0's sh_size (extended numbering); claim 2^40.
    let mut bad = ko.clone();
    put_le(&mut bad, 0x3c, 0, 2);
    put_le(&mut bad, shdr_field(&ko, 0, SH_SIZE), 1 << 40, 8);
    let err = within(10, move || module::read(&bad)).unwrap_err();
    assert_eq!(err, Problem::Elf("Invalid ELF extended e_shnum".into()));
    // e_shoff beyond the file.
    let mut bad = ko.clone();
    put_le(&mut bad, 0x28, u64::MAX - 63, 8);
    let err = within(10, move || module::read(&bad)).unwrap_err();
    assert!(
        matches!(&err, Problem::Elf(m) if m.starts_with("Invalid ELF")),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Tables that make no sense.

#[test]
fn crc_table_shorter_than_the_symbol_table_is_reported() {
    let spec = Spec::new(fixtures::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    let mut elf = fixtures::build_vmlinux_elf(&spec);
    let i = elf.index_of("__kcrctab_gpl").unwrap();
    let len = elf.section_mut(i).data.len();
    elf.section_mut(i).data.truncate(len - 4);
    let err = kernel::read_image_bytes(&elf.build(), LIMIT).unwrap_err();
    assert_eq!(
        err,
        Problem::Exports(format!(
            "__kcrctab_gpl is {} bytes, which does not fit {} symbols",
            len - 4,
            len / 4
        ))
    );

    let mut elf = fixtures::build_module_elf(&spec);
    let i = elf.index_of("__kcrctab").unwrap();
    let len = elf.section_mut(i).data.len();
    elf.section_mut(i).data.truncate(len - 4);
    let err = module::read(&elf.build()).unwrap_err();
    assert_eq!(
        err,
        Problem::Exports(format!(
            "__kcrctab is {} bytes, which does not fit {} symbols",
            len - 4,
            len / 4
        ))
    );
}

#[test]
fn names_outside_the_strings_section_are_reported() {
    let spec = Spec::new(fixtures::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    let mut elf = fixtures::build_vmlinux_elf(&spec);
    // Shrink __ksymtab_strings to nothing: every name points past its end.
    let i = elf.index_of("__ksymtab_strings").unwrap();
    elf.section_mut(i).data.truncate(1);
    let err = kernel::read_image_bytes(&elf.build(), LIMIT).unwrap_err();
    assert_eq!(
        err,
        Problem::Exports(
            "no known kernel_symbol layout fits the __ksymtab tables (8-byte words)".into()
        )
    );
    let mut elf = fixtures::build_module_elf(&spec);
    let i = elf.index_of("__ksymtab_strings").unwrap();
    elf.section_mut(i).data.truncate(1);
    assert_eq!(
        module::read(&elf.build()).unwrap_err(),
        Problem::Exports("no known kernel_symbol layout fits the module's __ksymtab".into())
    );
}

#[test]
fn a_symbol_exported_twice_by_one_object_is_reported() {
    let mut spec = Spec::new(fixtures::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    // Once plain and once GPL-only: two tables, each sorted, together naming it twice.
    spec.exports = vec![
        fixtures::exp("twice", "EXPORT_SYMBOL", "", 1),
        fixtures::exp("twice", "EXPORT_SYMBOL_GPL", "", 2),
    ];
    let expected = Problem::Exports("symbol twice is exported twice".into());
    assert_eq!(
        kernel::read_image_bytes(&fixtures::build_vmlinux(&spec), LIMIT).unwrap_err(),
        expected
    );
    assert_eq!(
        module::read(&fixtures::build_module(&spec)).unwrap_err(),
        expected
    );
}

// ---------------------------------------------------------------------------------------------
// Decompression bombs and nesting.

#[test]
fn decompression_bombs_fail_fast_with_the_limit() {
    // 32 MiB of zeros compress to a few KiB: 32 times the limit.
    let zeros = vec![0u8; 32 << 20];
    for format in ["gzip", "xz", "zstd", "bzip2"] {
        let bomb = fixtures::compress(format, &zeros);
        assert!(bomb.len() < 64 << 10, "{format}: {}", bomb.len());
        let start = Instant::now();
        let err = image::unwrap(&bomb, 1 << 20).unwrap_err();
        assert_eq!(
            err,
            Problem::TooLarge {
                format: match format {
                    "bzip2" => "bzip2",
                    f => f,
                },
                limit: 1 << 20
            },
            "{format}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{format}: {:?}",
            start.elapsed()
        );
    }
    // The same bomb as a module file: the module limit applies and the error names the file.
    let d = Dir::new("bomb");
    let path = d.write(
        "kernel/bomb.ko.zst",
        &fixtures::compress("zstd", &zeros[..16 << 20]),
    );
    let err = modtree::read_module(&path, 1 << 20, &mut Vec::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: zstd data decompresses to more than 1048576 bytes (limit); refusing",
            path.display()
        )
    );
}

#[test]
fn an_lzma_header_asking_for_a_huge_dictionary_is_refused() {
    // lzma "alone" header: properties 0x5d, a 2 GiB dictionary, unknown size; then junk.
    let mut bomb = vec![0x5d, 0x00, 0x00, 0x00, 0x80];
    bomb.extend([0xff; 8]);
    bomb.extend([0u8; 64]);
    let err = image::unwrap(&bomb, LIMIT).unwrap_err();
    assert!(
        matches!(&err, Problem::Decompress { format: "lzma", detail } if detail.contains("emory")),
        "{err:?}"
    );
}

#[test]
fn nested_containers_stop_at_the_depth_limit() {
    // gzip inside gzip inside … : each layer is a valid stream around the next.
    let mut data = x86_vmlinux();
    for _ in 0..=image::MAX_DEPTH {
        data = fixtures::compress("gzip", &data);
    }
    let err = image::unwrap(&data, LIMIT).unwrap_err();
    assert!(
        matches!(&err, Problem::TooDeep { depth, .. } if *depth == image::MAX_DEPTH),
        "{err:?}"
    );
    // MAX_DEPTH layers are fine.
    let mut data = x86_vmlinux();
    for _ in 0..image::MAX_DEPTH {
        data = fixtures::compress("gzip", &data);
    }
    assert!(image::unwrap(&data, LIMIT).unwrap().info.is_elf);
    // A bzImage whose payload is a bzImage of itself (as far as a crafted file can go).
    let inner = fixtures::bzimage(&fixtures::compress("gzip", b"not a kernel"));
    let mut outer = fixtures::compress("gzip", &inner);
    for _ in 0..8 {
        outer = fixtures::bzimage(&fixtures::compress("gzip", &outer));
    }
    let err = image::unwrap(&outer, LIMIT).unwrap_err();
    assert!(matches!(&err, Problem::TooDeep { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// The modules walk.

#[test]
fn symlink_loops_and_dangling_links_are_named_and_folders_are_read_once() {
    let d = Dir::new("links");
    let root = d.0.clone();
    d.write("kernel/good.ko", &x86_module());
    std::os::unix::fs::symlink("b.ko", root.join("kernel/a.ko")).unwrap();
    std::os::unix::fs::symlink("a.ko", root.join("kernel/b.ko")).unwrap();
    std::os::unix::fs::symlink("nowhere.ko", root.join("kernel/dangling.ko")).unwrap();
    // Folder links back up the tree: followed, as depmod follows them, but a folder already
    // read is not read again, so the walk ends.
    std::os::unix::fs::symlink("..", root.join("kernel/up")).unwrap();
    std::os::unix::fs::symlink(".", root.join("kernel/self.ko")).unwrap();

    let walk = within(20, move || modtree::walk_modules(&root).unwrap());
    assert!(walk.failures.is_empty(), "{:?}", walk.failures);
    let names: Vec<&str> = walk.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["good"]);
    let k = d.0.join("kernel");
    let mut broken: Vec<String> = walk.broken_links.iter().map(|e| e.to_string()).collect();
    broken.sort();
    assert_eq!(
        broken,
        [
            format!(
                "{}: a symbolic link to b.ko, which cannot be followed: Too many levels of symbolic links (os error 40)",
                k.join("a.ko").display()
            ),
            format!(
                "{}: a symbolic link to a.ko, which cannot be followed: Too many levels of symbolic links (os error 40)",
                k.join("b.ko").display()
            ),
            format!(
                "{}: a symbolic link to nowhere.ko, which cannot be followed: No such file or directory (os error 2)",
                k.join("dangling.ko").display()
            ),
        ]
    );
    let mut skipped = walk.skipped.clone();
    skipped.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    assert_eq!(
        skipped,
        [
            modtree::Skipped::AlreadyRead {
                path: k.join("self.ko"),
                first: k.clone(),
            },
            modtree::Skipped::AlreadyRead {
                path: k.join("up"),
                first: d.0.clone(),
            },
        ]
    );
    // Listing the tree wholesale fails on the broken links.
    assert!(modtree::list_modules(&d.0).is_err());
}

#[test]
fn fifos_and_folders_named_ko_do_not_hang_the_walk() {
    let d = Dir::new("fifo");
    d.write("kernel/good.ko", &x86_module());
    let fifo = d.0.join("kernel/pipe.ko");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: plain mkfifo(3) on a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    // A folder named like a module is a folder: walked into, as depmod does.
    d.write("kernel/folder.ko/inner.ko", &x86_module());

    let root = d.0.clone();
    let (walk, results) = within(20, move || {
        let walk = modtree::walk_modules(&root).unwrap();
        let results = modtree::read_modules(&walk.files, LIMIT);
        (walk, results)
    });
    let names: Vec<&str> = walk.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["folder.ko/inner", "good", "pipe"]);
    assert!(results[0].is_ok() && results[1].is_ok());
    assert!(
        matches!(
            results[2].as_ref().unwrap_err(),
            Error::Format { path, problem: Problem::NotRegularFile(FileKind::Special) } if path == &fifo
        ),
        "{:?}",
        results[2]
    );
    // The image path too: `--image` pointing at a FIFO is refused, not waited on.
    let fifo2 = fifo.clone();
    let err = within(20, move || kernel::read_image(&fifo2, LIMIT)).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
}

#[test]
fn a_module_that_vanishes_after_the_walk_is_named() {
    let d = Dir::new("vanish");
    d.write("kernel/a.ko", &x86_module());
    let gone = d.write("kernel/gone.ko", &x86_module());
    let walk = modtree::walk_modules(&d.0).unwrap();
    fs::remove_file(&gone).unwrap();
    let results = modtree::read_modules(&walk.files, LIMIT);
    assert!(results[0].is_ok());
    match &results[1] {
        Err(Error::Io { path, source }) => {
            assert_eq!(path, &gone);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Through the binary: unreadable entries, duplicates, interrupted output.

/// A small installed kernel under `root`: /boot/vmlinuz-REL and two modules.
fn tree(d: &Dir) -> PathBuf {
    let rel = "6.1.0-hostile";
    let v = x86_vmlinux();
    let payload = fixtures::with_size_trailer(fixtures::compress("xz", &v), v.len());
    d.write(&format!("boot/vmlinuz-{rel}"), &fixtures::bzimage(&payload));
    let mods = format!("lib/modules/{rel}");
    let mut a = Spec::new(fixtures::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    a.exports = vec![fixtures::exp("net_thing", "EXPORT_SYMBOL", "", 0x1111_2222)];
    d.write(
        &format!("{mods}/kernel/net/a.ko"),
        &fixtures::build_module(&a),
    );
    let mut b = a.clone();
    b.exports = vec![fixtures::exp(
        "lib_thing",
        "EXPORT_SYMBOL_GPL",
        "",
        0x3333_4444,
    )];
    d.write(
        &format!("{mods}/kernel/lib/b.ko"),
        &fixtures::build_module(&b),
    );
    d.0.join(mods)
}

/// Run the binary; as an unprivileged user (nobody) when the tests run as root, because root
/// reads files whatever their mode. `d` receives a copy of the binary, since the build folder
/// may be in a home folder nobody cannot enter.
fn symvers_unprivileged(d: &Dir, args: &[&str]) -> Output {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let mut cmd = if root {
        let bin = d.0.join("symvers-bin");
        if !bin.exists() {
            fs::copy(env!("CARGO_BIN_EXE_symvers"), &bin).unwrap();
        }
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
        c.arg(bin);
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_symvers"))
    };
    cmd.args(args).output().unwrap()
}

fn make_world_readable(d: &Dir) {
    let _ = Command::new("chmod")
        .arg("-R")
        .arg("a+rX")
        .arg(&d.0)
        .status();
    // Every folder up to the scratch folder must be searchable by nobody too.
    let _ = Command::new("chmod")
        .arg("a+x")
        .arg(std::env::temp_dir())
        .status();
}

#[test]
fn unreadable_module_and_folder_are_named_errors() {
    let d = Dir::new("perm");
    let mods = tree(&d);
    make_world_readable(&d);
    let a = mods.join("kernel/net/a.ko");
    fs::set_permissions(&a, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    let root = d.0.to_str().unwrap();

    let out = symvers_unprivileged(&d, &["dump", "--root", root]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains(&format!(
            "  {}: Permission denied (os error 13)",
            a.display()
        )),
        "{stderr}"
    );

    // --keep-going: the rest of the table, exit code 3.
    let out = symvers_unprivileged(&d, &["dump", "--root", root, "--keep-going"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\tlib_thing\tlib/b\t"), "{stdout}");
    assert!(!stdout.contains("net_thing"), "{stdout}");

    // An unreadable folder: the walk names it and goes on (with --keep-going).
    fs::set_permissions(&a, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let net = mods.join("kernel/net");
    fs::set_permissions(&net, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    let out = symvers_unprivileged(&d, &["dump", "--root", root, "--keep-going"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "symvers: {}: Permission denied (os error 13)",
            net.display()
        )),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("lib_thing"));
    let out = symvers_unprivileged(&d, &["dump", "--root", root]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_symbol_exported_by_two_modules_is_a_warning_naming_both() {
    let d = Dir::new("dup");
    let mods = tree(&d);
    // A module of another name exporting the same symbol (a copy under the same name would
    // shadow the original, as modprobe sees it).
    fs::create_dir_all(mods.join("updates")).unwrap();
    fs::copy(mods.join("kernel/net/a.ko"), mods.join("updates/a-fork.ko")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_symvers"))
        .args(["dump", "--root", d.0.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "symvers: warning: net_thing is exported by more than one module: net/a, updates/a-fork ("
        ),
        "{stderr}"
    );
    // Both lines stay in the table: it describes what is installed.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("\tnet_thing\t").count(), 2, "{stdout}");
}

#[test]
fn interrupting_dump_never_leaves_a_partial_output_file() {
    use std::os::unix::process::ExitStatusExt;
    let d = Dir::new("interrupt");
    tree(&d);
    let out = d.0.join("out/Module.symvers");
    fs::create_dir_all(out.parent().unwrap()).unwrap();
    let root = d.0.to_str().unwrap().to_string();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "dump",
            "--root",
            &root,
            "-o",
            out.to_str().unwrap(),
            "--no-backup",
        ];
        args.extend_from_slice(extra);
        Command::new(env!("CARGO_BIN_EXE_symvers"))
            .args(&args)
            .spawn()
            .unwrap()
    };
    // The complete table, written once without interruption; its duration spreads the signals.
    let started = Instant::now();
    assert!(run(&[]).wait().unwrap().success());
    let duration = started.elapsed();
    let complete = fs::read(&out).unwrap();
    let old = b"an older table that must survive\n".to_vec();
    let mut interrupted = 0;
    for i in 0..40u64 {
        fs::write(&out, &old).unwrap();
        let mut child = run(&[]);
        // Spread the signals over the first half of the run, which takes a few milliseconds
        // (the second half would be lost on a loaded machine, where runs end early).
        std::thread::sleep(duration * i as u32 / 80);
        let signal = if i % 2 == 0 {
            libc::SIGTERM
        } else {
            libc::SIGINT
        };
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let status = child.wait().unwrap();
        let now = fs::read(&out).unwrap();
        if status.signal().is_some() {
            interrupted += 1;
        }
        assert!(
            now == old || now == complete,
            "run {i} ({status:?}) left {} bytes",
            now.len()
        );
        let names: Vec<String> = fs::read_dir(out.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["Module.symvers"], "run {i} ({status:?})");
    }
    // Many runs were really cut short (a loaded machine may finish some before the signal).
    assert!(
        interrupted >= 8,
        "only {interrupted} of 40 runs were interrupted"
    );
}

fn symvers(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_symvers"))
        .args(args)
        .output()
        .unwrap()
}

/// A table line that modpost could not have written (a `0x+` CRC, which `u32` parsing takes; an
/// empty module column) stops every command that reads a table, naming the file and the line,
/// instead of becoming a plausible record.
#[test]
fn table_lines_modpost_never_writes_are_refused_by_every_reader() {
    let d = Dir::new("strict");
    let mods = tree(&d);
    let root = d.0.to_str().unwrap().to_string();
    let module = mods.join("kernel/net/a.ko");
    let good = "0x11112222\tnet_thing\tnet/a\tEXPORT_SYMBOL\t\n";
    for (bad, detail) in [
        (
            "0x+3334444\tlib_thing\tlib/b\tEXPORT_SYMBOL_GPL\t\n",
            "CRC \"0x+3334444\" is not written as modpost writes one: 0x and 8 lower-case hex digits",
        ),
        (
            "0x33334444\tlib_thing\t\tEXPORT_SYMBOL_GPL\t\n",
            "lib_thing: empty module column (modpost writes vmlinux or the module's path)",
        ),
    ] {
        let file = d.write("bad.symvers", format!("{good}{bad}").as_bytes());
        let file = file.to_str().unwrap();
        for args in [
            vec!["diff", file, file],
            vec!["check", "--against", file, module.to_str().unwrap()],
            vec!["dump", "--root", &root, "--compare-with", file],
            vec!["dump", "--root", &root, "--not-in", file],
        ] {
            let out = symvers(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(
                stderr.contains(&format!("symvers: {file}:2: {detail}")),
                "{args:?}: {stderr}"
            );
            assert!(out.stdout.is_empty(), "{args:?}");
        }
    }
}

/// A symbol listed twice is never reduced to one line without a word: `diff` warns for a file
/// and for an installed kernel alike, and `--compare-with` counts lines beyond the first as a
/// difference.
#[test]
fn a_symbol_listed_twice_is_named_by_diff_and_compare_with() {
    let d = Dir::new("twice");
    let mods = tree(&d);
    let root = d.0.to_str().unwrap().to_string();
    let out = symvers(&["dump", "--root", &root]);
    assert_eq!(out.status.code(), Some(0));
    let rebuilt = String::from_utf8(out.stdout).unwrap();
    let first = 1 + rebuilt
        .lines()
        .position(|l| l.contains("\tlib_thing\t"))
        .unwrap();
    let file = d.write(
        "twice.symvers",
        format!("{rebuilt}0x99999999\tlib_thing\tupdates/b\tEXPORT_SYMBOL_GPL\t\n").as_bytes(),
    );
    let file = file.to_str().unwrap();
    let again = rebuilt.lines().count() + 1;
    let warning = format!(
        "symvers: warning: {file}:{again}: lib_thing is listed again (first at line {first}: CRC 0x33334444 there, 0x99999999 here, module lib/b there, updates/b here)"
    );

    // The file agrees with the rebuilt table on every first line, but not on the second.
    let out = symvers(&["dump", "--root", &root, "--compare-with", file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&warning), "{stderr}");
    assert!(
        stderr.contains(
            "symvers: compare: lib_thing is listed 2 times there (lib/b 0x33334444 EXPORT_SYMBOL_GPL, updates/b 0x99999999 EXPORT_SYMBOL_GPL) and 1 time rebuilt (lib/b 0x33334444 EXPORT_SYMBOL_GPL)"
        ),
        "{stderr}"
    );
    let out = symvers(&[
        "dump",
        "--root",
        &root,
        "--compare-with",
        file,
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["compare"]["identical"], false);
    assert_eq!(doc["compare"]["repeated"][0]["symbol"], "lib_thing");
    assert_eq!(
        doc["compare"]["repeated"][0]["old"][1]["module"],
        "updates/b"
    );

    let out = symvers(&["diff", file, file]);
    assert!(String::from_utf8_lossy(&out.stderr).contains(&warning));

    // An installed kernel whose updates/ repeats a module: each side of diff says which copy
    // it read (the one modprobe loads) and which it left out, so no export is dropped silently.
    fs::create_dir_all(mods.join("updates")).unwrap();
    fs::copy(mods.join("kernel/net/a.ko"), mods.join("updates/a.ko")).unwrap();
    let out = symvers(&["diff", "--old-root", &root, "--new-root", &root]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr
            .matches("module a is installed 2 times: updates/a.ko is the one modprobe loads")
            .count(),
        2,
        "{stderr}"
    );
}

/// `-o FILE` whose write fails (here: a file size limit, as a full disk would) leaves FILE as it
/// was and no backup: failed runs used to leave one more `FILE.orig.N` each. The next run that
/// succeeds keeps the original once.
#[test]
fn failed_output_writes_leave_no_backup() {
    use std::os::unix::process::CommandExt;
    let d = Dir::new("nobackup");
    tree(&d);
    let root = d.0.to_str().unwrap().to_string();
    let out_dir = d.0.join("out");
    fs::create_dir_all(&out_dir).unwrap();
    let out = out_dir.join("Module.symvers");
    fs::write(&out, b"the distribution's table\n").unwrap();
    let run = |limit: Option<u64>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_symvers"));
        cmd.args(["dump", "--root", &root, "-o", out.to_str().unwrap()]);
        if let Some(bytes) = limit {
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    // EFBIG from write(2) instead of death by SIGXFSZ.
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                    let lim = libc::rlimit {
                        rlim_cur: bytes,
                        rlim_max: bytes,
                    };
                    if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        cmd.output().unwrap()
    };
    for _ in 0..2 {
        let result = run(Some(64));
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("File too large"), "{stderr}");
    }
    let names = |dir: &std::path::Path| {
        let mut n: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names(&out_dir), ["Module.symvers"]);
    assert_eq!(fs::read(&out).unwrap(), b"the distribution's table\n");
    let result = run(None);
    assert_eq!(result.status.code(), Some(0));
    assert_eq!(names(&out_dir), ["Module.symvers", "Module.symvers.orig"]);
    assert_eq!(
        fs::read(out_dir.join("Module.symvers.orig")).unwrap(),
        b"the distribution's table\n"
    );
}

/// `-o LINK` where LINK points to a file that does not exist yet: the link stays and its target
/// is written (it used to be replaced by a regular file).
#[test]
fn output_through_a_dangling_symlink_keeps_the_link() {
    let d = Dir::new("dangling");
    tree(&d);
    let root = d.0.to_str().unwrap().to_string();
    fs::create_dir_all(d.0.join("build")).unwrap();
    let link = d.0.join("Module.symvers");
    std::os::unix::fs::symlink("build/Module.symvers", &link).unwrap();
    let out = symvers(&["dump", "--root", &root, "-o", link.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let table = fs::read_to_string(d.0.join("build/Module.symvers")).unwrap();
    assert!(table.contains("\tnet_thing\tnet/a\t"), "{table}");
}

/// How the binary's standard streams are set up for one run.
#[derive(Clone, Copy, Debug)]
enum Stream {
    /// A pipe whose reading end is closed before the run writes (`2>&1 | true`).
    ClosedPipe,
    /// Closed when the process starts (`>&-`, `2>&-`).
    Closed,
    /// /dev/full: every write fails with ENOSPC.
    Full,
}

/// Run the binary with standard output (`fd` 1) or standard error (`fd` 2) set up as `how`;
/// the other stream is captured.
fn run_with_stream(args: &[&str], fd: i32, how: Stream) -> (Option<i32>, String) {
    use std::os::fd::FromRawFd;
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_symvers"));
    cmd.args(args);
    let (this, other) = match how {
        Stream::ClosedPipe => {
            // The reading end is closed before the run starts: every write fails with EPIPE.
            let mut fds = [0; 2];
            // SAFETY: pipe(2) fills `fds`; the reading end is closed at once and the writing
            // end owned by the Stdio.
            let write_end = unsafe {
                assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
                libc::close(fds[0]);
                std::os::fd::OwnedFd::from_raw_fd(fds[1])
            };
            (Stdio::from(write_end), Stdio::piped())
        }
        Stream::Closed => (Stdio::null(), Stdio::piped()),
        Stream::Full => (
            Stdio::from(
                fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            ),
            Stdio::piped(),
        ),
    };
    if fd == 1 {
        cmd.stdout(this).stderr(other);
    } else {
        cmd.stderr(this).stdout(other);
    }
    if let Stream::Closed = how {
        // SAFETY: close(2) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::close(fd);
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().unwrap();
    let mut captured = String::new();
    let other = if fd == 1 {
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read>)
    } else {
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read>)
    };
    if let Some(mut other) = other {
        std::io::Read::read_to_string(&mut other, &mut captured).unwrap();
    }
    (child.wait().unwrap().code(), captured)
}

/// A standard error that cannot take a warning (a closed pipe, closed at start, a full disk)
/// never panics (exit 101) and never stops `-o` from writing the table; the run ends with exit
/// code 4 since the warning did not arrive. With `-q` there is nothing to say: exit 0.
#[test]
fn a_failing_standard_error_still_writes_the_table_and_exits_4() {
    let d = Dir::new("stderr");
    let mods = tree(&d);
    // A note to give: a module installed twice (updates/ is the copy modprobe loads).
    fs::create_dir_all(mods.join("updates")).unwrap();
    fs::copy(mods.join("kernel/net/a.ko"), mods.join("updates/a.ko")).unwrap();
    let root = d.0.to_str().unwrap().to_string();
    let out = d.0.join("Module.symvers");
    for how in [Stream::ClosedPipe, Stream::Closed, Stream::Full] {
        let _ = fs::remove_file(&out);
        let args = ["dump", "--root", &root, "-o", out.to_str().unwrap()];
        let (code, _) = run_with_stream(&args, 2, how);
        assert_eq!(code, Some(4), "{how:?}");
        let table = fs::read_to_string(&out).unwrap_or_default();
        assert_eq!(
            table.matches("\tnet_thing\tupdates/a\t").count(),
            1,
            "{how:?}: {table}"
        );
        // Nothing to say: nothing lost.
        let _ = fs::remove_file(&out);
        let mut quiet = vec!["-q"];
        quiet.extend_from_slice(&args);
        let (code, _) = run_with_stream(&quiet, 2, how);
        assert_eq!(code, Some(0), "{how:?} -q");
        assert!(out.exists(), "{how:?} -q");
    }
    // The table on standard output and the warning lost: the table still arrives.
    let (code, stdout) = run_with_stream(&["dump", "--root", &root], 2, Stream::ClosedPipe);
    assert_eq!(code, Some(4));
    assert_eq!(stdout.matches("\tnet_thing\t").count(), 1, "{stdout}");
}

/// A standard output that cannot take the table (closed at start, which Rust's runtime turns
/// into /dev/null; a closed pipe; a full disk) is an error with exit code 4, never a success
/// with the table gone, and never a panic.
#[test]
fn a_failing_standard_output_is_exit_4_not_a_success() {
    let d = Dir::new("stdout");
    tree(&d);
    let root = d.0.to_str().unwrap().to_string();
    for (how, says) in [
        (
            Stream::Closed,
            "symvers: standard output is closed: the output went nowhere",
        ),
        (
            Stream::ClosedPipe,
            "symvers: cannot write to standard output (Broken pipe (os error 32))",
        ),
        (
            Stream::Full,
            "symvers: cannot write to standard output (No space left on device (os error 28))",
        ),
    ] {
        for args in [
            vec!["dump", "--root", &root],
            vec!["dump", "--root", &root, "--format", "json"],
            vec!["--help"],
        ] {
            let (code, stderr) = run_with_stream(&args, 1, how);
            assert_eq!(code, Some(4), "{how:?} {args:?}: {stderr}");
            if args[0] == "dump" {
                assert!(stderr.contains(says), "{how:?} {args:?}: {stderr}");
            }
        }
    }
}

/// Peak resident memory (bytes) of one run of the binary, from wait4(2)'s resource usage.
// wait4 reaps the child, which clippy does not see.
#[allow(clippy::zombie_processes)]
fn peak_rss(args: &[&str]) -> (Option<i32>, u64) {
    use std::os::unix::process::ExitStatusExt;
    let child = Command::new(env!("CARGO_BIN_EXE_symvers"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: wait4 on our own child, with valid out-pointers.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let pid = libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
        assert_eq!(pid, child.id() as libc::pid_t);
        usage
    };
    let status = std::process::ExitStatus::from_raw(status);
    // ru_maxrss is in KiB on Linux.
    (status.code(), usage.ru_maxrss as u64 * 1024)
}

/// Decompression bombs read by many threads at once: the limit on one module's decompressed
/// size bounds them all together (twice the limit), not once per thread: 8 bombs at `-j 8`
/// held about 8 times the limit before.
#[test]
fn decompression_bombs_in_parallel_share_one_budget() {
    // Measured from a fresh process running this test alone: the kernel starts a child's peak
    // resident size at its parent's resident size when it execs (exec_mmap), and the other
    // tests of this binary hold hundreds of MiB.
    if std::env::var_os("SYMVERS_BUDGET_CHILD").is_none() {
        let status = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "decompression_bombs_in_parallel_share_one_budget",
                "--test-threads=1",
                "--nocapture",
            ])
            .env("SYMVERS_BUDGET_CHILD", "1")
            .status()
            .unwrap();
        assert!(status.success(), "{status:?}");
        return;
    }
    let d = Dir::new("bombs");
    let mods = tree(&d);
    let limit_mib = 48u64;
    // 96 MiB of zeros: each decompresses past the limit.
    let zeros = vec![0u8; 96 << 20];
    // zstd and gzip: quick to make (xz takes seconds for this much); the budget does not
    // depend on the format.
    let bombs = [
        ("zst", fixtures::compress("zstd", &zeros)),
        ("gz", fixtures::compress("gzip", &zeros)),
    ];
    drop(zeros);
    for i in 0..8 {
        let (ext, bytes) = &bombs[i % bombs.len()];
        d.write(
            &format!("{}/kernel/bomb{i}.ko.{ext}", mods.display()),
            bytes,
        );
    }
    let root = d.0.to_str().unwrap().to_string();
    let limit = limit_mib.to_string();
    let (code, peak) = peak_rss(&[
        "dump",
        "--root",
        &root,
        "--keep-going",
        "-j",
        "8",
        "--module-limit",
        &limit,
    ]);
    assert_eq!(code, Some(3));
    let budget = symvers::modtree::budget_for(limit_mib << 20);
    eprintln!("peak {} MiB, budget {} MiB", peak >> 20, budget >> 20);
    // The budget, plus the allocator's and the program's own (a few tens of MiB); 8 bombs at
    // once would be 384 MiB.
    assert!(
        peak < budget + (budget >> 1) + (32 << 20),
        "peak {} MiB for a budget of {} MiB",
        peak >> 20,
        budget >> 20
    );
}

// ---------------------------------------------------------------------------------------------
// Modules that cannot belong to the kernel they are read with.

/// Dump an x86_64 6.x-style kernel (PREL32 namespaced, u32 CRCs) with the one module `ko`;
/// the failures.
fn dump_with_module(tag: &str, ko: &[u8]) -> Vec<Error> {
    let kernel = Spec::new(fixtures::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    dump_kernel_with_module(tag, &kernel, ko)
}

/// Dump the vmlinux of `kernel` with the one module `ko`; the failures.
fn dump_kernel_with_module(tag: &str, kernel: &Spec, ko: &[u8]) -> Vec<Error> {
    let dir = Dir::new(tag);
    let image = dir.write("vmlinux", &fixtures::build_vmlinux(kernel));
    dir.write("lib/modules/6.1.0-test/kernel/foreign.ko", ko);
    let options = symvers::dump::Options {
        source: symvers::locate::Source {
            image: Some(image),
            modules: vec![dir.0.join("lib/modules/6.1.0-test")],
            ..Default::default()
        },
        ..Default::default()
    };
    symvers::dump::dump(&options).unwrap().failures
}

fn exporting(arch: fixtures::Arch, layout: Layout, crcs: Crcs) -> Spec {
    let mut spec = Spec::new(arch, layout, crcs);
    spec.exports = vec![
        fixtures::exp("foreign_a", "EXPORT_SYMBOL", "", 0x1111),
        fixtures::exp("foreign_b", "EXPORT_SYMBOL_GPL", "", 0x2222),
    ];
    spec
}

#[test]
fn modules_of_another_machine_word_size_or_byte_order_are_refused() {
    for (arch, expected) in [
        (
            fixtures::AARCH64,
            "ELF machine 183 (arm64) next to a kernel for x86",
        ),
        (fixtures::I386, "a 32-bit module for a 64-bit kernel"),
        (
            fixtures::S390X,
            "a big-endian module for a little-endian kernel",
        ),
    ] {
        let spec = exporting(arch, Layout::Prel32Namespaced, Crcs::Data);
        let failures = dump_with_module(arch.name, &fixtures::build_module(&spec));
        assert_eq!(failures.len(), 1, "{}", arch.name);
        let text = failures[0].to_string();
        assert!(
            text.contains("foreign.ko: not a module of this kernel: ") && text.contains(expected),
            "{text}"
        );
    }
    // The kernel's own kind of module reads.
    let spec = exporting(fixtures::X86_64, Layout::Prel32Namespaced, Crcs::Data);
    assert!(dump_with_module("same", &fixtures::build_module(&spec)).is_empty());
}

#[test]
fn modules_whose_tables_are_of_another_era_than_the_kernels_are_refused() {
    for (layout, crcs, expected) in [
        // CRCs lost (a renamed __kcrctab): a MODVERSIONS kernel never has such a module.
        (
            Layout::Prel32Namespaced,
            Crcs::None,
            "without CRCs, but the kernel has CONFIG_MODVERSIONS",
        ),
        // CRCs read as unsigned long words: every CRC would be wrong.
        (
            Layout::Absolute,
            Crcs::Word,
            "its CRC entries are 8 bytes, the kernel's 4 bytes",
        ),
        (
            Layout::Absolute,
            Crcs::Data,
            "its kernel_symbol entries are 16 bytes, the kernel's 12 bytes with a namespace",
        ),
    ] {
        let mut spec = exporting(fixtures::X86_64, layout, crcs);
        if !layout.namespaced() {
            spec.exports.iter_mut().for_each(|e| e.namespace.clear());
        }
        let what = format!("{layout:?} {crcs:?}");
        let failures = dump_with_module(
            &format!("era-{layout:?}-{crcs:?}"),
            &fixtures::build_module(&spec),
        );
        assert_eq!(failures.len(), 1, "{what}");
        assert!(
            failures[0].to_string().contains(expected),
            "{what}: {}",
            failures[0]
        );
    }
    // A 3.x kernel sorts its modules' tables too: a module whose table is in link order
    // (pre-3.0, or entries moved) does not belong to it.
    let mut kernel = Spec::new(fixtures::X86_64, Layout::Absolute, Crcs::Word);
    kernel.exports.iter_mut().for_each(|e| e.namespace.clear());
    let mut module = exporting(fixtures::X86_64, Layout::Absolute, Crcs::Word);
    module.exports = vec![
        fixtures::exp("m_zeta", "EXPORT_SYMBOL", "", 1),
        fixtures::exp("m_alpha", "EXPORT_SYMBOL", "", 2),
    ];
    module.link_order = true;
    let failures = dump_kernel_with_module("era-order", &kernel, &fixtures::build_module(&module));
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].to_string().contains("not sorted by name"),
        "{}",
        failures[0]
    );
    module.link_order = false;
    assert!(
        dump_kernel_with_module("era-sorted", &kernel, &fixtures::build_module(&module)).is_empty()
    );
}
