use super::*;
use crate::fixtures::{self as fx, Crcs, Layout, Spec};

fn vmlinux() -> Vec<u8> {
    fx::build_vmlinux(&Spec::new(fx::X86_64, Layout::Prel32Namespaced, Crcs::Data))
}

#[test]
fn bzimage_with_each_compression_unwraps_to_the_elf() {
    let kernel = vmlinux();
    for name in ["gzip", "xz", "zstd", "bzip2", "lzma", "lz4"] {
        let mut payload = fx::compress(name, &kernel);
        if name != "gzip" {
            payload = fx::with_size_trailer(payload, kernel.len());
        }
        let image = fx::bzimage(&payload);
        let got = unwrap(&image, 1 << 30).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.bytes.as_ref(), &kernel[..], "{name}");
        assert_eq!(got.info.container, Container::BzImage);
        assert_eq!(got.info.compression.map(|c| c.name()), Some(name));
        assert_eq!(got.info.payload_size, payload.len() as u64);
        assert!(got.info.is_elf);
    }
}

#[test]
fn elf_is_taken_as_is_and_bare_streams_are_decompressed() {
    let kernel = vmlinux();
    let got = unwrap(&kernel, 1 << 30).unwrap();
    assert_eq!(got.info.container, Container::Elf);
    assert!(matches!(got.bytes, std::borrow::Cow::Borrowed(_)));
    let packed = fx::compress("zstd", &kernel);
    let got = unwrap(&packed, 1 << 30).unwrap();
    assert_eq!(got.info.container, Container::Compressed);
    assert_eq!(got.bytes.as_ref(), &kernel[..]);
}

#[test]
fn not_a_kernel_is_an_unknown_format() {
    let err = unwrap(b"hello, world", 1 << 30).unwrap_err();
    assert_eq!(
        err,
        Problem::UnknownFormat("68 65 6c 6c 6f 2c 20 77".into())
    );
    let err = unwrap(b"", 1 << 30).unwrap_err();
    assert_eq!(
        err,
        Problem::UnknownFormat("none: the file is empty".into())
    );
}

#[test]
fn truncated_bzimage_payload_is_reported() {
    let payload = fx::compress("xz", &vmlinux());
    let image = fx::bzimage(&payload);
    let cut = &image[..image.len() - 64 - payload.len() / 2];
    let err = unwrap(cut, 1 << 30).unwrap_err();
    assert!(
        matches!(&err, Problem::Truncated(m) if m.contains("runs past the end")),
        "{err}"
    );
}

#[test]
fn bzimage_with_unknown_payload_compression_is_reported() {
    let image = fx::bzimage(b"not compressed at all, just text");
    let err = unwrap(&image, 1 << 30).unwrap_err();
    assert!(
        matches!(&err, Problem::UnknownFormat(m) if m.contains("no known compression magic")),
        "{err}"
    );
}

#[test]
fn old_boot_protocol_is_reported() {
    let mut image = fx::bzimage(&fx::compress("gzip", &vmlinux()));
    image[0x206..0x208].copy_from_slice(&0x0204u16.to_le_bytes());
    let err = unwrap(&image, 1 << 30).unwrap_err();
    assert!(
        matches!(&err, Problem::UnknownFormat(m) if m.contains("boot protocol 2.04")),
        "{err}"
    );
}

#[test]
fn nested_containers_stop_at_the_depth_limit() {
    let mut data = b"not a kernel".to_vec();
    for _ in 0..MAX_DEPTH + 1 {
        data = fx::compress("gzip", &data);
    }
    let err = unwrap(&data, 1 << 30).unwrap_err();
    assert!(
        matches!(&err, Problem::UnknownFormat(m) if m.contains("nested containers")),
        "{err}"
    );
}
