use super::*;
use crate::fixtures::{compress, lzo1x_literals, lzop, with_size_trailer};

/// Bytes that compress, with enough repetition for real matches and enough variety for
/// literals, and larger than one lzop (256 KiB) block.
fn sample(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut x: u32 = 0x1234_5678;
    while out.len() < len {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        if x >> 28 < 5 {
            out.extend_from_slice(b"__ksymtab_strings EXPORT_SYMBOL_GPL ");
        } else {
            out.push((x >> 16) as u8);
        }
    }
    out.truncate(len);
    out
}

const FORMATS: [(&str, Compression); 8] = [
    ("gzip", Compression::Gzip),
    ("bzip2", Compression::Bzip2),
    ("lzma", Compression::Lzma),
    ("xz", Compression::Xz),
    ("lzo", Compression::Lzo),
    ("lzo-literal", Compression::Lzo),
    ("lz4", Compression::Lz4Legacy),
    ("zstd", Compression::Zstd),
];

#[test]
fn every_format_round_trips_with_trailer_and_padding() {
    let data = sample(700_000);
    for (name, format) in FORMATS {
        let mut packed = with_size_trailer(compress(name, &data), data.len());
        packed.extend([0u8; 13]);
        assert_eq!(Compression::sniff(&packed), Some(format), "{name}");
        let out = decompress(&packed, format, 1 << 30).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out.len(), data.len(), "{name}");
        assert!(out == data, "{name}: different bytes");
    }
}

#[test]
fn every_format_respects_the_limit() {
    let data = sample(300_000);
    for (name, format) in FORMATS {
        let packed = compress(name, &data);
        let err = decompress(&packed, format, 100_000).unwrap_err();
        assert_eq!(
            err,
            Problem::TooLarge {
                format: format.name(),
                limit: 100_000
            },
            "{name}"
        );
        let mut out = vec![1, 2, 3];
        decompress_into(&packed, format, 100_000, &mut out).unwrap_err();
        assert_eq!(out, [1, 2, 3], "{name}: partial output left behind");
    }
}

#[test]
fn lz4_small_kernel_trailer_is_not_a_block() {
    // A payload below one block's bound: its size trailer (here 50_000) is a plausible block
    // size, but nothing follows it.
    let data = sample(50_000);
    let packed = with_size_trailer(compress("lz4", &data), data.len());
    assert_eq!(
        decompress(&packed, Compression::Lz4Legacy, 1 << 20).unwrap(),
        data
    );
    // Real garbage after the stream is still an error, not silently ignored.
    let mut bad = compress("lz4", &data);
    bad.extend(1000u32.to_le_bytes());
    bad.extend([0xaa; 10]);
    let err = decompress(&bad, Compression::Lz4Legacy, 1 << 20).unwrap_err();
    assert_eq!(
        err,
        Problem::Decompress {
            format: "lz4",
            detail: "block 1 runs past the end of the data".into()
        }
    );
}

#[test]
fn lz4_concatenated_streams() {
    let (a, b) = (sample(10_000), sample(20_000));
    let mut packed = compress("lz4", &a);
    packed.extend(compress("lz4", &b));
    let out = decompress(&packed, Compression::Lz4Legacy, 1 << 20).unwrap();
    assert_eq!(out, [a, b].concat());
}

#[test]
fn lzo_literal_lengths_at_the_encoding_edges() {
    for len in [0, 1, 3, 4, 238, 239, 272, 273, 274, 528, 5000] {
        let data = sample(len);
        let mut out = Vec::new();
        lzo::decode_into(&lzop(&data, lzo1x_literals), 1 << 20, None, &mut out)
            .unwrap_or_else(|e| panic!("{len}: {e}"));
        assert_eq!(out, data, "{len}");
    }
}

#[test]
fn lzo_bad_checksum_is_reported() {
    let data = sample(1000);
    let mut packed = compress("lzo", &data);
    // Header: 9 magic + 25 fields + 4 checksum; block: dst_len, src_len, then the adler32.
    let check_at = 9 + 25 + 4 + 8;
    packed[check_at] ^= 0xff;
    let err = decompress(&packed, Compression::Lzo, 1 << 20).unwrap_err();
    let Problem::Decompress { format, detail } = err else {
        panic!("{err:?}")
    };
    assert_eq!(format, "lzo");
    assert!(detail.starts_with("block 0: checksum "), "{detail}");
}

#[test]
fn lzo_rejects_non_lzo1x_method() {
    let mut packed = compress("lzo-literal", b"hello hello");
    packed[9 + 6] = 0x80; // method byte after version, library version, version needed
    let err = decompress(&packed, Compression::Lzo, 1 << 20).unwrap_err();
    assert_eq!(
        err,
        Problem::Decompress {
            format: "lzo",
            detail: "lzop method 128 is not LZO1X".into()
        }
    );
}

#[test]
fn lzma_magic_in_machine_code_is_not_sniffed() {
    // "5d 00 00" followed by a dictionary size that no encoder writes.
    let code = [
        0x5d, 0x00, 0x00, 0x12, 0x34, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ];
    assert_eq!(Compression::sniff(&code), None);
    let real = compress("lzma", b"payload");
    assert_eq!(Compression::sniff(&real), Some(Compression::Lzma));
}

#[test]
fn zboot_names() {
    assert_eq!(
        Compression::from_zboot_name(b"xzkern"),
        Some(Compression::Xz)
    );
    assert_eq!(
        Compression::from_zboot_name(b"zstd22"),
        Some(Compression::Zstd)
    );
    assert_eq!(
        Compression::from_zboot_name(b"lz4"),
        Some(Compression::Lz4Legacy)
    );
    assert_eq!(Compression::from_zboot_name(b"brotli"), None);
}

#[test]
fn a_stream_decodes_only_as_far_as_asked_and_then_the_rest() {
    let data = sample(700_000);
    for (name, format) in FORMATS {
        let packed = compress(name, &data);
        let mut stream = Decoder::new(&packed, format, 1 << 30, None).unwrap();
        if matches!(
            format,
            Compression::Zstd | Compression::Lz4Legacy | Compression::Lzo
        ) {
            // Decoded in one call: the first fill decodes it all.
            assert!(stream.fill_to(100_000).unwrap() == data, "{name}");
            assert!(stream.ended(), "{name}");
            continue;
        }
        let prefix = stream.fill_to(100_000).unwrap();
        assert!(
            prefix.len() >= 100_000 && prefix.len() < data.len(),
            "{name}"
        );
        assert!(prefix == &data[..prefix.len()], "{name}: different prefix");
        assert!(!stream.ended(), "{name}");
        let all = stream.finish().unwrap();
        assert!(all == data, "{name}: different bytes");
    }
}

#[test]
fn a_stream_stops_at_its_end_and_at_the_limit() {
    let data = sample(300_000);
    let packed = compress("xz", &data);
    let mut stream = Decoder::new(&packed, Compression::Xz, 1 << 30, Some(300_000)).unwrap();
    assert_eq!(stream.fill_to(1 << 20).unwrap().len(), data.len());
    assert!(stream.ended());
    let mut stream = Decoder::new(&packed, Compression::Xz, 200_000, None).unwrap();
    assert_eq!(
        stream.fill_to(250_000).unwrap_err(),
        Problem::TooLarge {
            format: "xz",
            limit: 200_000
        }
    );
    let stream = Decoder::new(&packed, Compression::Xz, 200_000, None).unwrap();
    assert!(stream.finish().is_err());
}
