use super::*;
use crate::fixtures::{
    compress, concatenated, lz4_frame, lzma_alone, lzo1x_literals, lzop, skippable_frame,
    with_size_trailer,
};
use lz4_flex::frame::{BlockMode, BlockSize, FrameInfo};

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

const FORMATS: [(&str, Compression); 10] = [
    ("gzip", Compression::Gzip),
    ("bzip2", Compression::Bzip2),
    ("lzma", Compression::Lzma),
    ("lzma-openwrt", Compression::Lzma),
    ("xz", Compression::Xz),
    ("lzo", Compression::Lzo),
    ("lzo-literal", Compression::Lzo),
    ("lz4", Compression::Lz4Legacy),
    ("lz4-frame", Compression::Lz4Frame),
    ("zstd", Compression::Zstd),
];

/// The formats whose tools concatenate: one stream after another decodes to both.
const CONCATENATING: [(&str, Compression); 6] = [
    ("gzip", Compression::Gzip),
    ("bzip2", Compression::Bzip2),
    ("xz", Compression::Xz),
    ("zstd", Compression::Zstd),
    ("lz4", Compression::Lz4Legacy),
    ("lz4-frame", Compression::Lz4Frame),
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
            format: "lz4-legacy",
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

#[test]
fn concatenated_streams_decode_to_their_concatenation() {
    let data = sample(700_000);
    for (name, format) in CONCATENATING {
        for parts in [2, 3] {
            let packed = concatenated(name, &data, parts);
            assert_eq!(Compression::sniff(&packed), Some(format), "{name}");
            let out = decompress(&packed, format, 1 << 30)
                .unwrap_or_else(|e| panic!("{name} x{parts}: {e}"));
            assert!(
                out == data,
                "{name} x{parts}: {} of {} bytes",
                out.len(),
                data.len()
            );
            // Followed by what a kernel image has after its payload: the size trailer and
            // padding, or an appended device tree. They end the data cleanly.
            for tail in [
                with_size_trailer(Vec::new(), data.len()),
                vec![0u8; 13],
                b"\xd0\x0d\xfe\xed\x00\x00\x3a\xa1".to_vec(),
            ] {
                let mut trailed = packed.clone();
                trailed.extend(&tail);
                let out = decompress(&trailed, format, 1 << 30)
                    .unwrap_or_else(|e| panic!("{name} x{parts} + {tail:02x?}: {e}"));
                assert!(out == data, "{name} x{parts} + {tail:02x?}");
            }
        }
    }
}

#[test]
fn a_second_stream_cut_short_is_an_error() {
    let (a, b) = (sample(100_000), sample(50_000));
    for (name, format) in CONCATENATING {
        let first = compress(name, &a);
        let second = compress(name, &b);
        let packed = [&first[..], &second[..second.len() / 2]].concat();
        let err = decompress(&packed, format, 1 << 30).unwrap_err();
        assert!(
            matches!(err, Problem::Decompress { format: f, .. } if f == format.name()),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn the_limit_counts_every_stream() {
    let data = sample(300_000);
    for (name, format) in CONCATENATING {
        let packed = concatenated(name, &data, 3);
        assert_eq!(
            decompress(&packed, format, 250_000).unwrap_err(),
            Problem::TooLarge {
                format: format.name(),
                limit: 250_000
            },
            "{name}"
        );
    }
}

#[test]
fn a_stream_decodes_as_far_as_asked_across_members() {
    let data = sample(700_000);
    for (name, format) in [
        ("gzip", Compression::Gzip),
        ("bzip2", Compression::Bzip2),
        ("xz", Compression::Xz),
        ("lz4-frame", Compression::Lz4Frame),
    ] {
        let packed = concatenated(name, &data, 4);
        let mut stream = Decoder::new(&packed, format, 1 << 30, None).unwrap();
        // Past the first member (175_000 bytes), not to the end.
        let prefix = stream.fill_to(400_000).unwrap();
        assert!(
            prefix.len() >= 400_000 && prefix.len() < data.len(),
            "{name}"
        );
        assert!(prefix == &data[..prefix.len()], "{name}: different prefix");
        assert!(!stream.ended(), "{name}");
        assert!(stream.finish().unwrap() == data, "{name}");
    }
}

#[test]
fn xz_stream_padding_between_streams() {
    let (a, b) = (sample(40_000), sample(30_000));
    let mut packed = compress("xz", &a);
    packed.extend([0u8; 8]);
    packed.extend(compress("xz", &b));
    packed.extend([0u8; 4]);
    assert_eq!(
        decompress(&packed, Compression::Xz, 1 << 30).unwrap(),
        [a, b].concat()
    );
}

#[test]
fn skippable_frames_are_skipped_first_between_and_last() {
    let (a, b) = (sample(40_000), sample(30_000));
    for (name, format) in [
        ("zstd", Compression::Zstd),
        ("lz4-frame", Compression::Lz4Frame),
    ] {
        let mut packed = skippable_frame(0xf, b"metadata, not kernel bytes");
        packed.extend(skippable_frame(0, &[]));
        packed.extend(compress(name, &a));
        packed.extend(skippable_frame(3, &[0xff; 100]));
        packed.extend(compress(name, &b));
        packed.extend(skippable_frame(7, b"end"));
        assert_eq!(Compression::sniff(&packed), Some(format), "{name}");
        let out = decompress(&packed, format, 1 << 30).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(out == [&a[..], &b[..]].concat(), "{name}");
    }
    // A skippable frame before something else is no zstd or LZ4 stream.
    let mut other = skippable_frame(0, b"x");
    other.extend(compress("gzip", &a));
    assert_eq!(Compression::sniff(&other), None);
}

#[test]
fn lz4_frame_with_every_frame_option() {
    let data = sample(700_000);
    for mode in [BlockMode::Independent, BlockMode::Linked] {
        for size in [BlockSize::Max64KB, BlockSize::Max4MB] {
            for block_checksums in [false, true] {
                for content_checksum in [false, true] {
                    for content_size in [None, Some(data.len() as u64)] {
                        let info = FrameInfo::new()
                            .block_mode(mode)
                            .block_size(size)
                            .block_checksums(block_checksums)
                            .content_checksum(content_checksum)
                            .content_size(content_size);
                        let what = format!("{info:?}");
                        let packed = lz4_frame(&data, info);
                        assert_eq!(
                            Compression::sniff(&packed),
                            Some(Compression::Lz4Frame),
                            "{what}"
                        );
                        let out = decompress(&packed, Compression::Lz4Frame, 1 << 30)
                            .unwrap_or_else(|e| panic!("{what}: {e}"));
                        assert!(out == data, "{what}");
                    }
                }
            }
        }
    }
}

#[test]
fn lz4_frame_cut_short_or_damaged_is_an_error() {
    let data = sample(300_000);
    let packed = lz4_frame(
        &data,
        FrameInfo::new()
            .block_size(BlockSize::Max64KB)
            .block_checksums(true)
            .content_checksum(true),
    );
    // Every cut, also one at a block boundary, where a reader that trusts EOF would stop.
    for len in (7..packed.len())
        .step_by(997)
        .chain([packed.len() - 4, packed.len() - 1])
    {
        let err = decompress(&packed[..len], Compression::Lz4Frame, 1 << 30).unwrap_err();
        assert!(
            matches!(
                err,
                Problem::Decompress {
                    format: "lz4-frame",
                    ..
                }
            ),
            "cut at {len}: {err:?}"
        );
    }
    let mut damaged = packed.clone();
    let at = damaged.len() / 2;
    damaged[at] ^= 0x10;
    assert!(decompress(&damaged, Compression::Lz4Frame, 1 << 30).is_err());
}

#[test]
fn lzma_with_any_properties_byte() {
    let data = sample(200_000);
    // (lc, lp, pb): lzma -9's 0x5d, OpenWrt's 0x6d, the smallest 0x00, the largest liblzma
    // writes (lc 0, lp 4, pb 4: 0xd8), and lc 4 with pb 4.
    for (lc, lp, pb, props) in [
        (3, 0, 2, 0x5d),
        (1, 2, 2, 0x6d),
        (0, 0, 0, 0x00),
        (0, 4, 4, 0xd8),
        (4, 0, 4, 0xb8),
    ] {
        let packed = lzma_alone(&data, lc, lp, pb);
        assert_eq!(packed[0], props);
        assert_eq!(
            Compression::sniff(&packed),
            Some(Compression::Lzma),
            "{props:#04x}"
        );
        assert_eq!(
            decompress(&packed, Compression::Lzma, 1 << 30).unwrap(),
            data,
            "{props:#04x}"
        );
    }
}

#[test]
fn lzma_headers_no_encoder_writes_are_not_sniffed() {
    let real = lzma_alone(b"payload payload payload", 1, 2, 2);
    assert_eq!(Compression::sniff(&real), Some(Compression::Lzma));
    let with = |at: usize, byte: u8| {
        let mut h = real.clone();
        h[at] = byte;
        Compression::sniff(&h)
    };
    // pb = 5 (225), lc + lp = 5 (lc 3, lp 2: 3 + 2 * 9 = 21), a range coder that does not start
    // with 0, a dictionary that is no power of two (nor 1.5 times one).
    assert_eq!(with(0, 225), None);
    assert_eq!(with(0, 21), None);
    assert_eq!(with(13, 1), None);
    assert_eq!(with(1, 3), None);
    // Text never passes: the dictionary size would need NUL bytes.
    assert_eq!(
        Compression::sniff(b"0x12345678\tsym\tvmlinux\tEXPORT_SYMBOL\t\n"),
        None
    );
}

#[test]
fn lz4_framings_are_one_family() {
    assert_eq!(Compression::Lz4Frame.family(), "lz4");
    assert_eq!(Compression::Lz4Legacy.family(), "lz4");
    assert_ne!(Compression::Lz4Frame.name(), Compression::Lz4Legacy.name());
    assert_eq!(Compression::Zstd.family(), "zstd");
}
