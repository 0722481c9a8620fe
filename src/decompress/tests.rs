use super::*;
use crate::fixtures;

fn sample() -> Vec<u8> {
    // Compressible but not trivial: an ELF-ish header and repeated identifiers.
    let mut data = b"\x7fELF".to_vec();
    for i in 0..5000u32 {
        data.extend_from_slice(format!("symbol_{i}\0").as_bytes());
        data.extend_from_slice(&i.to_le_bytes());
    }
    data
}

const FORMATS: [(&str, Compression); 6] = [
    ("gzip", Compression::Gzip),
    ("xz", Compression::Xz),
    ("zstd", Compression::Zstd),
    ("bzip2", Compression::Bzip2),
    ("lzma", Compression::Lzma),
    ("lz4", Compression::Lz4Legacy),
];

#[test]
fn every_format_round_trips_and_is_sniffed() {
    let data = sample();
    for (name, format) in FORMATS {
        let packed = fixtures::compress(name, &data);
        assert_eq!(Compression::sniff(&packed), Some(format), "{name}");
        let out = decompress(&packed, format, 1 << 30).unwrap();
        assert_eq!(out, data, "{name}");
    }
}

#[test]
fn size_trailer_and_padding_after_the_stream_are_ignored() {
    let data = sample();
    for (name, format) in FORMATS {
        let mut packed = fixtures::with_size_trailer(fixtures::compress(name, &data), data.len());
        packed.extend([0u8; 16]);
        let out = decompress(&packed, format, 1 << 30)
            .unwrap_or_else(|e| panic!("{name} with trailer: {e}"));
        assert_eq!(out, data, "{name}");
    }
}

#[test]
fn truncated_streams_are_errors_not_short_output() {
    let data = sample();
    for (name, format) in FORMATS {
        let packed = fixtures::compress(name, &data);
        for cut in [packed.len() / 2, packed.len() - 1] {
            let result = decompress(&packed[..cut], format, 1 << 30);
            assert!(
                matches!(result, Err(Problem::Decompress { format: f, .. }) if f == format.name()),
                "{name} cut at {cut}: {:?}",
                result.map(|v| v.len())
            );
        }
    }
}

#[test]
fn output_beyond_the_limit_is_refused() {
    let data = vec![0u8; 1 << 20];
    for (name, format) in FORMATS {
        let packed = fixtures::compress(name, &data);
        let err = decompress(&packed, format, 1000).unwrap_err();
        assert_eq!(
            err,
            Problem::TooLarge {
                format: format.name(),
                limit: 1000
            },
            "{name}"
        );
        // Exactly at the limit is fine.
        assert_eq!(decompress(&packed, format, 1 << 20).unwrap().len(), 1 << 20);
    }
}

#[test]
fn lz4_legacy_concatenated_streams_and_zero_padding() {
    let a = sample();
    let mut packed = fixtures::compress("lz4", &a);
    // A second stream starts with the magic again; then zero padding ends the data.
    packed.extend(fixtures::compress("lz4", b"tail data"));
    packed.extend([0u8; 8]);
    let out = decompress(&packed, Compression::Lz4Legacy, 1 << 30).unwrap();
    let mut expected = a.clone();
    expected.extend_from_slice(b"tail data");
    assert_eq!(out, expected);
}

#[test]
fn sniffing_needs_the_whole_magic() {
    assert_eq!(Compression::sniff(b""), None);
    assert_eq!(Compression::sniff(&[0x1f, 0x8b, 0x07]), None);
    assert_eq!(Compression::sniff(b"BZhx"), None);
    assert_eq!(Compression::sniff(b"\x7fELF"), None);
    assert_eq!(Compression::sniff(&[0xfd, b'7', b'z', b'X']), None);
}
