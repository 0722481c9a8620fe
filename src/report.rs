//! JSON reports of the binary (schemas documented in docs/json.md).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use symvers::decompress::Compression;
use symvers::depmod::Reason;
use symvers::dump::Dump;
use symvers::elf::{Class, Endian};
use symvers::image::{Arch, Container, KernelKind, Layer, Unwrapped};
use symvers::symvers::Entry;

/// Version of the JSON schemas; bumped on incompatible changes (2: one name per field across
/// commands, `kernel_size` split from `decoded_size`).
pub const SCHEMA_VERSION: u32 = 2;

/// How far the kernel inside an image was decoded, in JSON.
#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "kebab-case")]
pub enum Decoded {
    /// All of it.
    Whole,
    /// Up to the end of its export tables (a streamed ELF kernel; docs/performance.md).
    UpToExportTables,
}

/// What an image unwrapped to, as `dump` and `info` both report it (`kernel` object of
/// docs/json.md). Built from the library's [`Unwrapped`] here, so the JSON names stay put when
/// the library's types change.
#[derive(Serialize)]
pub struct ImageFacts<'a> {
    container: Container,
    compression: Option<Compression>,
    payload_offset: u64,
    payload_size: u64,
    decoded: Decoded,
    /// Bytes of the kernel decoded.
    decoded_size: u64,
    /// The whole kernel's size; unknown (null) when decoding stopped early.
    kernel_size: Option<u64>,
    is_elf: bool,
    kind: KernelKind,
    arch: Option<Arch>,
    class_hint: Option<Class>,
    endian_hint: Option<Endian>,
    layers: &'a [Layer],
}

impl<'a> From<&'a Unwrapped> for ImageFacts<'a> {
    fn from(u: &'a Unwrapped) -> Self {
        ImageFacts {
            container: u.container,
            compression: u.compression,
            payload_offset: u.payload_offset,
            payload_size: u.payload_size,
            decoded: if u.partial {
                Decoded::UpToExportTables
            } else {
                Decoded::Whole
            },
            decoded_size: u.kernel_size,
            kernel_size: (!u.partial).then_some(u.kernel_size),
            is_elf: u.is_elf,
            kind: u.kind,
            arch: u.arch,
            class_hint: u.class_hint,
            endian_hint: u.endian_hint,
            layers: &u.layers,
        }
    }
}

/// The JSON name of a module file's compression from its name's ending (`zst` → `zstd`, `gz`
/// → `gzip`, `none`), so that modules and images name a format the same way.
pub fn module_compression_name(suffix: &str) -> String {
    let format = match suffix {
        "xz" => Compression::Xz,
        "zst" => Compression::Zstd,
        "gz" => Compression::Gzip,
        "bz2" => Compression::Bzip2,
        other => return other.to_string(),
    };
    crate::cmd::json_name(&format)
}

/// Module files per compression, under [`module_compression_name`]s.
pub fn module_compressions<'a>(
    by_suffix: impl IntoIterator<Item = (&'a str, usize)>,
) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (suffix, n) in by_suffix {
        *counts.entry(module_compression_name(suffix)).or_insert(0) += n;
    }
    counts
}

/// A duration in milliseconds, rounded to a tenth: more digits are noise.
pub fn milliseconds(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

/// A table record in JSON, as `dump`'s `symbols` array holds it.
#[derive(Serialize)]
pub struct Record<'a> {
    crc: u32,
    crc_hex: String,
    symbol: &'a str,
    module: &'a str,
    export: &'static str,
    namespace: &'a str,
}

impl<'a> From<&'a Entry> for Record<'a> {
    fn from(e: &'a Entry) -> Self {
        Record {
            crc: e.crc,
            crc_hex: format!("0x{:08x}", e.crc),
            symbol: &e.symbol,
            module: &e.module,
            export: e.kind.as_str(),
            namespace: &e.namespace,
        }
    }
}

/// The `dump --format json` document; `checks` (the `verify` and `compare` objects of
/// `--verify` and `--compare-with`) are added to it.
pub fn dump_json(dump: &Dump, checks: serde_json::Map<String, serde_json::Value>) -> String {
    let kernel = dump.kernel.as_ref().map(|k| {
        let mut kernel = match serde_json::to_value(ImageFacts::from(&k.image)) {
            Ok(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let exports = json!({
            "tables_located_by": k.tables_located_by,
            "load_base": k.load_base.map(|b| format!("{b:#x}")),
            "relocations_applied": k.relocations,
            "class": k.class,
            "endian": k.endian,
            "layout": k.vmlinux.layout.ksymtab,
            "crc_storage": k.vmlinux.layout.crcs,
            "table_kinds": k.vmlinux.layout.tables,
            "flags_table": k.vmlinux.layout.tables.has_flags(),
            "entry_order": k.vmlinux.layout.order,
            "modversions": k.modversions(),
        });
        if let Value::Object(exports) = exports {
            kernel.extend(exports);
        }
        kernel
    });
    let banner = dump.kernel.as_ref().and_then(|k| k.banner.as_ref());
    let shadowed: Vec<Value> = dump
        .shadowed
        .iter()
        .map(|s| {
            json!({
                "module": s.module,
                "chosen": s.chosen.rel,
                "shadowed": s.shadowed.iter().map(|f| f.rel.as_str()).collect::<Vec<_>>(),
                "reason": match &s.reason {
                    Reason::Override(..) => "override",
                    Reason::Search(_) => "search",
                    Reason::Index(..) => "index",
                    Reason::WalkOrder => "walk-order",
                },
                "configured": s.configured.as_ref().map(|f| f.rel.as_str()),
            })
        })
        .collect();
    let doc = json!({
        "schema": SCHEMA_VERSION,
        "release": dump.release(),
        "banner": banner,
        "modules_release": dump.modules_release.as_ref().map(|m| json!({
            "release": m.release,
            "evidence": m.evidence,
        })),
        "image": dump.located.image,
        "modules_dir": dump.located.modules_dir(),
        "modules_dirs": dump.located.modules,
        "kernel": kernel,
        "counts": {
            "vmlinux_exports": dump.kernel.as_ref().map_or(0, |k| k.vmlinux.exports.len()),
            "module_files": dump.module_files.len(),
            "module_compressions": module_compressions(
                dump.module_compressions.iter().map(|(s, n)| (s.as_str(), *n))
            ),
            // Counted from the records: dump's filters (--only-used-by, …) may have removed some.
            "module_exports": dump.table.entries.iter().filter(|e| e.module != "vmlinux").count(),
            "total": dump.table.entries.len(),
            "failed_modules": dump.failures.len(),
            "shadowed_modules": dump.shadowed.len(),
        },
        "failures": dump.failures.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
        "warnings": dump.warnings.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
        "shadowed": shadowed,
        "depmod_index": dump.indexes,
        "symbols": dump.table.entries.iter().map(Record::from).collect::<Vec<_>>(),
    });
    let mut doc = doc;
    if let Some(object) = doc.as_object_mut() {
        object.extend(checks);
    }
    json_text(&doc)
}

/// `value` as pretty-printed JSON with a final newline, as every `--format json` prints it.
pub fn json_text(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}
