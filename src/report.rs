//! JSON reports of the binary (schemas documented in docs/json.md).

use serde::Serialize;
use serde_json::json;

use symvers::dump::Dump;
use symvers::symvers::Entry;

/// Version of the JSON schemas; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Record<'a> {
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

/// The `dump --format json` document.
pub fn dump_json(dump: &Dump) -> String {
    let k = &dump.kernel;
    let vmlinux_count = k.vmlinux.exports.len();
    let doc = json!({
        "schema": SCHEMA_VERSION,
        "release": dump.located.release,
        "image": dump.located.image,
        "modules_dir": dump.located.modules,
        "kernel": {
            "container": k.image.container,
            "compression": k.image.compression,
            "payload_size": k.image.payload_size,
            "kernel_size": k.image.kernel_size,
            "partial": k.image.partial,
            "elf": k.image.is_elf,
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
        },
        "counts": {
            "vmlinux_exports": vmlinux_count,
            "module_files": dump.module_files.len(),
            "module_compressions": dump.module_compressions,
            // Counted from the records: dump's filters (--only-used-by, …) may have removed some.
            "module_exports": dump.table.entries.iter().filter(|e| e.module != "vmlinux").count(),
            "total": dump.table.entries.len(),
            "failed_modules": dump.failures.len(),
        },
        "failures": dump.failures.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
        "symbols": dump.table.entries.iter().map(Record::from).collect::<Vec<_>>(),
    });
    json_text(&doc)
}

/// `value` as pretty-printed JSON with a final newline, as every `--format json` prints it.
pub fn json_text(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}
