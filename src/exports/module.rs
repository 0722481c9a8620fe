//! Exports of a loadable module (`.ko`, a relocatable ELF file).
//!
//! In a `.ko` the pointer fields of `__ksymtab*` are not filled in: each has a relocation against a
//! symbol (`__kstrtab_foo` in `__ksymtab_strings`, the exported object itself, …). A field's
//! target is therefore `symbol + addend`, whatever the relocation type (PC-relative or absolute,
//! REL or RELA), which gives one code path for every architecture and era.
//!
//! CRCs: in 4.10–5.18 each `__kcrctab*` word is relocated against an absolute `__crc_foo` symbol
//! whose value is the CRC (CONFIG_MODULE_REL_CRCS: a symbol placed on the CRC word in a section);
//! from 5.19 the CRC is plain data in `__kcrctab*` with no relocation.

use std::collections::hash_map::{Entry, HashMap};

use serde::Serialize;

use super::era::{CrcStorage, EntryOrder, KsymtabLayout, TableKinds, TableLayout};
use super::vmlinux::{self, RawEntry};
use super::{Export, ExportKind};
use crate::bytes::c_str;
use crate::elf::{Elf, Reloc, Symbol, SymbolSection};
use crate::error::Problem;

/// The exports of one module and the era of its tables.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleExports {
    /// Exports in table order.
    pub exports: Vec<Export>,
    /// The layout of its tables, `None` when the module exports nothing.
    pub layout: Option<TableLayout>,
}

impl ModuleExports {
    /// How the CRCs are stored ([`CrcStorage::None`] for a module that exports nothing).
    pub fn crc_storage(&self) -> CrcStorage {
        self.layout.map_or(CrcStorage::None, |l| l.crcs)
    }
}

/// Where a relocated pointer field points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Offset within a section of the module.
    InSection { index: usize, offset: u64 },
    /// An absolute value (SHN_ABS symbol plus addend).
    Absolute(u64),
    /// No relocation: a field left zero (5.4's "no namespace").
    Null,
}

struct Resolver<'a, 'd> {
    elf: &'a Elf<'d>,
    symbols: &'a [Symbol],
}

impl Resolver<'_, '_> {
    fn target(&self, relocs: &[Reloc], offset: u64) -> Result<Target, Problem> {
        let Ok(at) = relocs.binary_search_by_key(&offset, |r| r.offset) else {
            return Ok(Target::Null);
        };
        let r = relocs[at];
        let sym = self.symbols.get(r.sym as usize).ok_or_else(|| {
            Problem::Elf(format!(
                "relocation names symbol {} which does not exist",
                r.sym
            ))
        })?;
        match sym.section {
            SymbolSection::Absolute => {
                Ok(Target::Absolute(sym.value.wrapping_add(r.addend as u64)))
            }
            SymbolSection::Undefined => Err(Problem::Exports(format!(
                "export table field at {offset:#x} refers to an undefined symbol"
            ))),
            SymbolSection::Reserved(n) => Err(Problem::Exports(format!(
                "export table field at {offset:#x} refers to a symbol in reserved section {n:#x}"
            ))),
            SymbolSection::Section(index) => Ok(Target::InSection {
                index,
                offset: sym.value.wrapping_add(r.addend as u64),
            }),
        }
    }
}

/// Read the exports of a module from its ELF bytes.
///
/// ```no_run
/// let bytes = std::fs::read("hello.ko").unwrap();
/// let module = symvers::exports::module::read(&bytes)
///     .map_err(|problem| symvers::Error::format("hello.ko", problem))?;
/// let mut table = symvers::symvers::Table::default();
/// table.extend_from_exports("extra/hello", &module.exports);
/// # Ok::<(), symvers::Error>(())
/// ```
pub fn read(data: &[u8]) -> Result<ModuleExports, Problem> {
    read_elf(&Elf::parse_module(data)?)
}

/// Like [`read`], on a module already parsed (see [`Elf::parse_module`]).
///
/// Everything the file can vouch for itself is checked, each failure an error rather than a
/// shorter or different table: the export and CRC sections appear once each and hold data; a
/// CRC table has its export table; every entry names a string of `__ksymtab_strings`, every
/// string there is named, and no string is both a name and a namespace
/// (`vmlinux::check_strings`); each table is in the order of an era ([`EntryOrder`]); the
/// layout, CRC storage and table kinds fit one era ([`TableLayout::contradiction`]); and where
/// the symbol table still has modpost's `__ksymtab_NAME` and `__crc_NAME` symbols, they mark
/// the same entries and CRCs. What only the kernel can tell (its byte order, word size and
/// machine, whether it has CRCs, its era) is for the caller to compare (`dump` does).
pub fn read_elf(elf: &Elf) -> Result<ModuleExports, Problem> {
    let word = elf.class.word_size();
    // What the loader needs to take a file for a module (kernel/module/main.c
    // setup_load_info: "No module found in object", "module has no symbols (stripped?)"):
    // without them the section headers read are not a module's, e.g. a damaged e_shoff.
    for (name, why) in [
        (".gnu.linkonce.this_module", "No module found in object"),
        (".symtab", "module has no symbols (stripped?)"),
    ] {
        if elf.section_by_name(name).is_none() {
            return Err(Problem::NotAModule {
                detail: format!("no {name} section (the loader says \"{why}\")"),
            });
        }
    }
    // Each table with its length as it lies in the file: sh_size alone is not checked against the
    // file and must not size any allocation or loop.
    let mut tables: Vec<(ExportKind, usize, u64)> = Vec::new();
    let mut crc_sections: Vec<Option<usize>> = Vec::new();
    for kind in ExportKind::ALL {
        let symbols = export_section(elf, kind.ksymtab_section())?;
        let crcs = export_section(elf, kind.kcrctab_section())?;
        let len = match symbols {
            Some(i) => elf.section_data(i)?.len() as u64,
            None => 0,
        };
        let crc_len = match crcs {
            Some(i) => elf.section_data(i)?.len(),
            None => 0,
        };
        if crc_len > 0 && len == 0 {
            return Err(Problem::Exports(format!(
                "{} holds CRCs but there is no {} (renamed or removed?)",
                kind.kcrctab_section(),
                kind.ksymtab_section()
            )));
        }
        if let Some(i) = symbols {
            tables.push((kind, i, len));
            crc_sections.push(crcs);
        }
    }
    let strings_index = export_section(elf, "__ksymtab_strings")?;
    let marks = elf.symbols_with_prefix(b"__ksymtab_")?;
    if tables.iter().all(|&(_, _, len)| len == 0) {
        // Nothing is exported: nothing else may say otherwise.
        if let Some(i) = strings_index {
            if elf.section_data(i)?.iter().any(|&b| b != 0) {
                return Err(Problem::Exports(
                    "__ksymtab_strings holds export names but there is no __ksymtab (renamed or \
                     removed?)"
                        .into(),
                ));
            }
        }
        if let Some((_, name, _)) = marks.first() {
            return Err(Problem::Exports(format!(
                "symbol {} marks an export but there is no __ksymtab (renamed or removed?)",
                String::from_utf8_lossy(name)
            )));
        }
        return Ok(ModuleExports {
            exports: Vec::new(),
            layout: None,
        });
    }
    let strings_index = strings_index
        .ok_or_else(|| Problem::NoExports("__ksymtab present but no __ksymtab_strings".into()))?;
    let strings = elf.section_data(strings_index)?;
    let symbols = elf.symbols()?;
    let resolver = Resolver {
        elf,
        symbols: &symbols,
    };

    let string_at = |t: Target| -> Option<(&[u8], u64)> {
        match t {
            Target::InSection { index, offset } if index == strings_index => {
                Some((c_str(strings, usize::try_from(offset).ok()?)?, offset))
            }
            _ => None,
        }
    };

    // Detect the layout: the name field of every entry of every table must point into
    // __ksymtab_strings, and the tables must be in the order of some era. Relocations depend
    // on the field size only, so a table's are decoded once for the 4-byte and once at most
    // for the word-sized layouts.
    let mut relocations: HashMap<(usize, usize), Vec<Reloc>> = HashMap::new();
    let mut chosen = None;
    let mut refused = None;
    'layouts: for layout in KsymtabLayout::ALL {
        let field = layout.field_size(word);
        let size = layout.entry_size(word) as u64;
        if tables.iter().any(|&(_, _, len)| len % size != 0) {
            continue 'layouts;
        }
        let mut decoded = Vec::with_capacity(tables.len());
        for &(_, index, len) in &tables {
            let relocs = match relocations.entry((index, field)) {
                Entry::Occupied(known) => known.into_mut(),
                Entry::Vacant(slot) => slot.insert(elf.relocations_for(index, field)?),
            };
            let count = len / size;
            let mut entries = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
            for i in 0..count {
                let base = i * size;
                let name_target =
                    resolver.target(relocs, base + layout.name_offset(word) as u64)?;
                let Some((name, name_at)) = string_at(name_target) else {
                    continue 'layouts;
                };
                if !super::is_symbol_name(name) {
                    continue 'layouts;
                }
                let (namespace, namespace_at) = match layout.namespace_offset(word) {
                    Some(off) => match resolver.target(relocs, base + off as u64)? {
                        Target::Null => (&[][..], None),
                        t => match string_at(t) {
                            Some((ns, at)) => (ns, Some(at)),
                            None => continue 'layouts,
                        },
                    },
                    None => (&[][..], None),
                };
                entries.push(RawEntry {
                    name,
                    name_at: Some(name_at),
                    namespace,
                    namespace_at,
                });
            }
            decoded.push(entries);
        }
        let keyed: Vec<Vec<(&[u8], Option<u64>)>> = decoded
            .iter()
            .map(|t| t.iter().map(|e| (e.name, e.name_at)).collect())
            .collect();
        match EntryOrder::of_tables(&keyed) {
            // On 32-bit kernels PREL32 and absolute entries have the same size and their
            // relocations lead to the same targets: only the era tells them apart.
            Some(order) if order == EntryOrder::LinkOrder && layout.is_relative() => {
                refused.get_or_insert("entries in link order (before 3.0) cannot be PREL32");
            }
            Some(order) => {
                chosen = Some((layout, order, decoded));
                break;
            }
            None => {
                refused.get_or_insert(
                    "the entries are neither sorted by name (3.0+) nor in link order (before 3.0)",
                );
            }
        }
    }
    let (ksymtab, order, decoded) = chosen.ok_or_else(|| {
        Problem::Exports(match refused {
            Some(why) => format!("the module's __ksymtab tables do not read: {why}"),
            None => "no known kernel_symbol layout fits the module's __ksymtab".into(),
        })
    })?;
    // modpost's symbols first: they say which table was lost.
    let entry_size = ksymtab.entry_size(word) as u64;
    check_marks(&marks, &tables, &decoded, entry_size)?;
    let field = ksymtab.field_size(word);
    let relocs: Vec<&[Reloc]> = tables
        .iter()
        .map(|&(_, index, _)| {
            relocations
                .get(&(index, field))
                .map_or(&[][..], Vec::as_slice)
        })
        .collect();
    check_string_labels(elf, ksymtab, &relocs, &decoded)?;
    vmlinux::check_strings(strings, decoded.iter().flatten())?;

    let flags = match export_section(elf, "__kflagstab")? {
        Some(i) => Some(elf.section_data(i)?),
        None => None,
    };
    let mut crc_storage = CrcStorage::None;
    let mut exports = Vec::new();
    let mut crc_places: HashMap<&[u8], CrcPlace> = HashMap::new();
    for ((&(kind, _, _), entries), crc_index) in tables.iter().zip(&decoded).zip(&crc_sections) {
        let crcs = match crc_index {
            Some(crc_index) => {
                let name = kind.kcrctab_section();
                let (storage, crcs) = read_crcs(&resolver, *crc_index, entries.len(), name)?;
                crc_storage = storage;
                for (e, crc) in entries.iter().zip(&crcs) {
                    crc_places.insert(e.name, *crc);
                }
                Some(crcs.iter().map(|c| c.value).collect::<Vec<u32>>())
            }
            None => None,
        };
        let pairs: Vec<(&[u8], &[u8])> = entries.iter().map(|e| (e.name, e.namespace)).collect();
        exports.extend(super::table_exports(kind, &pairs, crcs.as_deref(), flags)?);
    }
    if crc_sections.iter().any(Option::is_some) && crc_sections.iter().any(Option::is_none) {
        let missing: Vec<&str> = tables
            .iter()
            .zip(&crc_sections)
            .filter(|((_, _, len), crcs)| *len > 0 && crcs.is_none())
            .map(|((kind, _, _), _)| kind.kcrctab_section())
            .collect();
        if !missing.is_empty() {
            return Err(Problem::Exports(format!(
                "some CRC tables are missing: {}",
                missing.join(", ")
            )));
        }
    }
    super::unique_exports(&mut exports, super::Identical::Refuse)?;
    if !crc_places.is_empty() {
        check_crc_symbols(elf, &crc_places)?;
    }
    let kinds: Vec<ExportKind> = tables.iter().map(|&(kind, _, _)| kind).collect();
    let layout = TableLayout {
        ksymtab,
        crcs: crc_storage,
        tables: TableKinds::of_sections(&kinds, flags.is_some()),
        order,
    };
    if let Some(why) = layout.contradiction(word) {
        return Err(Problem::Exports(format!(
            "the module's export tables do not read as any kernel's: {why}"
        )));
    }
    Ok(ModuleExports {
        exports,
        layout: Some(layout),
    })
}

/// The index of the one section called `name` (an export table, its CRCs, strings or flags),
/// `None` when there is none. Two such sections, or one of `SHT_NOBITS` with a size (nothing
/// of it in the file), mean a damaged or crafted file: the loader would read one and miss the
/// other, or read nothing.
fn export_section(elf: &Elf, name: &str) -> Result<Option<usize>, Problem> {
    let mut found = elf
        .sections
        .iter()
        .enumerate()
        .filter(|(_, s)| s.name == name.as_bytes());
    let Some((index, section)) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() {
        return Err(Problem::Exports(format!("two sections are called {name}")));
    }
    if section.kind == crate::elf::consts::SHT_NOBITS && section.size > 0 {
        return Err(Problem::Exports(format!(
            "{name} is SHT_NOBITS: its {} bytes are not in the file",
            section.size
        )));
    }
    // Bytes outside the file are the first thing to say.
    elf.section_data(index)?;
    // The tables are arrays of 4-byte or word-sized fields, which `ld -r` places aligned: a
    // misaligned one has a damaged offset.
    let unit = if name == "__ksymtab_strings" || name == "__kflagstab" {
        1
    } else {
        4
    };
    if section.kind != crate::elf::consts::SHT_NOBITS && section.offset % unit != 0 {
        return Err(Problem::Exports(format!(
            "{name} starts at file offset {:#x}, not aligned to its {unit}-byte fields",
            section.offset
        )));
    }
    // `ld -r` gives every section its own bytes: one that overlaps another has a damaged
    // offset or size, and would read another section's bytes as CRCs or strings.
    let end = |s: &crate::elf::Section| s.offset.saturating_add(s.size);
    let has_bytes =
        |s: &crate::elf::Section| s.kind != crate::elf::consts::SHT_NOBITS && s.size > 0;
    if has_bytes(section) {
        if let Some(other) = elf.sections.iter().enumerate().find(|&(i, s)| {
            i != index && has_bytes(s) && s.offset < end(section) && section.offset < end(s)
        }) {
            return Err(Problem::Exports(format!(
                "{name} overlaps section {} in the file",
                String::from_utf8_lossy(other.1.name)
            )));
        }
    }
    Ok(Some(index))
}

/// Check modpost's `__ksymtab_NAME` symbols, where the symbol table still has them: each lies
/// in one of the export tables on the entry of NAME, and every entry has one. (modpost builds
/// Module.symvers from these symbols, the loader from the entries: they must agree.)
fn check_marks(
    marks: &[(usize, &[u8], crate::elf::Symbol)],
    tables: &[(ExportKind, usize, u64)],
    decoded: &[Vec<RawEntry>],
    entry_size: u64,
) -> Result<(), Problem> {
    if marks.is_empty() {
        return Ok(());
    }
    let mut marked: Vec<Vec<bool>> = decoded.iter().map(|t| vec![false; t.len()]).collect();
    for (_, full, symbol) in marks {
        let name = &full[b"__ksymtab_".len()..];
        let shown = || String::from_utf8_lossy(full);
        let SymbolSection::Section(index) = symbol.section else {
            return Err(Problem::Exports(format!(
                "symbol {} is not in an export table",
                shown()
            )));
        };
        let Some(t) = tables.iter().position(|&(_, i, _)| i == index) else {
            return Err(Problem::Exports(format!(
                "symbol {} lies in section {index}, which is no export table (renamed?)",
                shown()
            )));
        };
        let at = usize::try_from(symbol.value / entry_size).unwrap_or(usize::MAX);
        match decoded[t].get(at) {
            Some(e) if symbol.value % entry_size == 0 && e.name == name => marked[t][at] = true,
            _ => {
                return Err(Problem::Exports(format!(
                    "symbol {} does not mark the entry of {} in {}",
                    shown(),
                    String::from_utf8_lossy(name),
                    tables[t].0.ksymtab_section()
                )))
            }
        }
    }
    for ((kind, _, _), (entries, marked)) in tables.iter().zip(decoded.iter().zip(&marked)) {
        if let Some(i) = marked.iter().position(|m| !m) {
            return Err(Problem::Exports(format!(
                "entry {i} of {} ({}) has no __ksymtab_ symbol although the others have",
                kind.ksymtab_section(),
                String::from_utf8_lossy(entries[i].name)
            )));
        }
    }
    Ok(())
}

/// Check the labels the name and namespace fields are relocated against, where they are
/// modpost's: the name field of the entry of NAME against `__kstrtab_NAME`, its namespace field
/// against `__kstrtabns_NAME` (include/linux/export-internal.h, and export.h before). A field
/// relocated against another export's label (a damaged relocation) reads that export's string.
fn check_string_labels(
    elf: &Elf,
    ksymtab: KsymtabLayout,
    relocs: &[&[Reloc]],
    decoded: &[Vec<RawEntry>],
) -> Result<(), Problem> {
    let labels = elf.symbols_with_prefix(b"__kstrtab")?;
    if labels.is_empty() {
        return Ok(());
    }
    let by_index: HashMap<usize, &[u8]> = labels.iter().map(|&(i, name, _)| (i, name)).collect();
    let word = elf.class.word_size();
    let size = ksymtab.entry_size(word) as u64;
    let fields = [Some((ksymtab.name_offset(word), &b"__kstrtab_"[..]))]
        .into_iter()
        .chain([ksymtab
            .namespace_offset(word)
            .map(|off| (off, &b"__kstrtabns_"[..]))])
        .flatten();
    let fields: Vec<(usize, &[u8])> = fields.collect();
    for (relocs, entries) in relocs.iter().zip(decoded) {
        for (i, e) in entries.iter().enumerate() {
            for &(off, prefix) in &fields {
                let at = i as u64 * size + off as u64;
                let Ok(r) = relocs.binary_search_by_key(&at, |r| r.offset) else {
                    continue;
                };
                let Some(label) = by_index.get(&(relocs[r].sym as usize)) else {
                    continue;
                };
                let expected = [prefix, e.name].concat();
                // The field points at the label itself: an addend moves it into another string.
                if *label != expected.as_slice() || relocs[r].addend != 0 {
                    return Err(Problem::Exports(format!(
                        "the entry of {} leads to the string labelled {}{:+}",
                        String::from_utf8_lossy(e.name),
                        String::from_utf8_lossy(label),
                        relocs[r].addend
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Where one export's CRC came from, for [`check_crc_symbols`].
#[derive(Debug, Clone, Copy)]
struct CrcPlace {
    value: u32,
    /// The `__kcrctab*` section and the entry's offset in it.
    table: (usize, u64),
    /// The symbol the entry is relocated against, if it is.
    symbol: Option<u32>,
}

/// Check modpost's `__crc_NAME` symbols against the CRCs read, where the symbol table has
/// them: an absolute one (4.10–5.18) holds the CRC itself, one in a section labels the word
/// that holds it (5.19+: the `__kcrctab*` entry; CONFIG_MODULE_REL_CRCS: the word the entry
/// points to). Each must be an export's, and agree with what its entry gave.
fn check_crc_symbols(elf: &Elf, places: &HashMap<&[u8], CrcPlace>) -> Result<(), Problem> {
    for (_, full, symbol) in elf.symbols_with_prefix(b"__crc_")? {
        let name = &full[b"__crc_".len()..];
        let shown = || String::from_utf8_lossy(full);
        let Some(place) = places.get(name) else {
            return Err(Problem::Exports(format!(
                "symbol {} holds a CRC but {} is not exported",
                shown(),
                String::from_utf8_lossy(name)
            )));
        };
        let agrees = match symbol.section {
            SymbolSection::Absolute => symbol.value as u32 == place.value,
            SymbolSection::Section(index) if place.symbol.is_none() => {
                (index, symbol.value) == place.table
            }
            SymbolSection::Section(index) => {
                let bytes = elf.section_data(index)?;
                let at = usize::try_from(symbol.value).unwrap_or(usize::MAX);
                elf.read_u32(bytes, at) == Some(place.value)
            }
            _ => false,
        };
        if !agrees {
            return Err(Problem::Exports(format!(
                "symbol {} disagrees with the CRC of {} in its __kcrctab ({:#010x})",
                shown(),
                String::from_utf8_lossy(name),
                place.value
            )));
        }
    }
    Ok(())
}

/// Read `count` CRCs from the `__kcrctab*` section at `index`: either every entry is relocated
/// (against an absolute `__crc_` symbol, 4.10–5.18 and before; or a word in a section,
/// CONFIG_MODULE_REL_CRCS) or none is (5.19+: the CRC is the entry's `u32`).
fn read_crcs(
    resolver: &Resolver,
    index: usize,
    count: usize,
    name: &str,
) -> Result<(CrcStorage, Vec<CrcPlace>), Problem> {
    let elf = resolver.elf;
    let data = elf.section_data(index)?;
    let word = elf.class.word_size();
    let mut storage =
        CrcStorage::from_table_size(data.len() as u64, count, word).ok_or_else(|| {
            Problem::Exports(format!(
                "{name} is {} bytes, which does not fit {count} symbols",
                data.len()
            ))
        })?;
    let entry = storage.entry_size(word).unwrap_or(4);
    let relocs = elf.relocations_for(index, entry)?;
    if !relocs.is_empty() && relocs.len() != count {
        return Err(Problem::Exports(format!(
            "{name}: {} of its {count} entries are relocated (all or none are)",
            relocs.len()
        )));
    }
    if relocs.is_empty() && storage == CrcStorage::Word && word != 4 {
        return Err(Problem::Exports(format!(
            "{name} holds {word}-byte CRC words without relocations (CRCs are data only since \
             5.19, as u32)"
        )));
    }
    let mut crcs = Vec::with_capacity(count);
    for i in 0..count {
        let offset = (i * entry) as u64;
        let symbol = relocs
            .binary_search_by_key(&offset, |r| r.offset)
            .ok()
            .map(|at| relocs[at].sym);
        let value = match resolver.target(&relocs, offset)? {
            Target::Absolute(value) => value as u32,
            Target::InSection {
                index: sec,
                offset: at,
            } => {
                // CONFIG_MODULE_REL_CRCS: the CRC word sits where the symbol points.
                storage = CrcStorage::Relative;
                let bytes = elf.section_data(sec)?;
                let at = usize::try_from(at).unwrap_or(usize::MAX);
                elf.read_u32(bytes, at).ok_or_else(|| {
                    Problem::Exports(format!("{name} entry {i} points outside its section"))
                })?
            }
            Target::Null if !relocs.is_empty() => {
                return Err(Problem::Exports(format!(
                    "{name}: entry {i} is not relocated but the others are"
                )))
            }
            Target::Null => {
                let value = elf.read_uint(data, i * entry, entry).unwrap_or(0) as u32;
                // 5.19+: modpost writes a CRC only where genksyms gave one (a symbol without
                // one has no entry), and a CRC32 of 0 is a chance of 2^-32: zeros mean the
                // table was misplaced or wiped.
                if value == 0 {
                    return Err(Problem::Exports(format!(
                        "{name} entry {i} is 0x00000000 (a CRC table misplaced or wiped)"
                    )));
                }
                value
            }
        };
        crcs.push(CrcPlace {
            value,
            table: (index, offset),
            symbol,
        });
    }
    Ok((storage, crcs))
}
