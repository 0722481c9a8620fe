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

use super::era::{CrcStorage, KsymtabLayout, TableKinds, TableLayout};
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
pub fn read_elf(elf: &Elf) -> Result<ModuleExports, Problem> {
    // Each table with its length as it lies in the file: sh_size alone is not checked against the
    // file and must not size any allocation or loop.
    let mut tables: Vec<(ExportKind, usize, u64)> = Vec::new();
    for kind in ExportKind::ALL {
        if let Some((i, _)) = elf.section_by_name(kind.ksymtab_section()) {
            tables.push((kind, i, elf.section_data(i)?.len() as u64));
        }
    }
    if tables.iter().all(|&(_, _, len)| len == 0) {
        return Ok(ModuleExports {
            exports: Vec::new(),
            layout: None,
        });
    }
    let strings_index = elf
        .section_by_name("__ksymtab_strings")
        .map(|(i, _)| i)
        .ok_or_else(|| Problem::NoExports("__ksymtab present but no __ksymtab_strings".into()))?;
    let strings = elf.section_data(strings_index)?;
    let symbols = elf.symbols()?;
    let resolver = Resolver {
        elf,
        symbols: &symbols,
    };
    let word = elf.class.word_size();

    let string_at = |t: Target| -> Option<&[u8]> {
        match t {
            Target::InSection { index, offset } if index == strings_index => {
                c_str(strings, usize::try_from(offset).ok()?)
            }
            _ => None,
        }
    };

    // Detect the layout: the name field of every entry of every table must point into
    // __ksymtab_strings. Relocations depend on the field size only, so a table's are decoded
    // once for the 4-byte and once at most for the word-sized layouts.
    let mut relocations: HashMap<(usize, usize), Vec<Reloc>> = HashMap::new();
    let mut chosen = None;
    'layouts: for layout in KsymtabLayout::ALL {
        let field = layout.field_size(word);
        let size = layout.entry_size(word) as u64;
        if tables.iter().any(|&(_, _, len)| len % size != 0) {
            continue 'layouts;
        }
        let mut decoded = Vec::with_capacity(tables.len());
        for &(kind, index, len) in &tables {
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
                let Some(name) = string_at(name_target) else {
                    continue 'layouts;
                };
                if !super::is_symbol_name(name) {
                    continue 'layouts;
                }
                let namespace = match layout.namespace_offset(word) {
                    Some(off) => match resolver.target(relocs, base + off as u64)? {
                        Target::Null => &[][..],
                        t => match string_at(t) {
                            Some(ns) => ns,
                            None => continue 'layouts,
                        },
                    },
                    None => &[][..],
                };
                entries.push((name, namespace));
            }
            decoded.push((kind, entries));
        }
        chosen = Some((layout, decoded));
        break;
    }
    let (ksymtab, decoded) = chosen.ok_or_else(|| {
        Problem::Exports("no known kernel_symbol layout fits the module's __ksymtab".into())
    })?;

    let flags = match elf.section_by_name("__kflagstab") {
        Some((i, _)) => Some(elf.section_data(i)?),
        None => None,
    };
    let mut crc_storage = CrcStorage::None;
    let mut exports = Vec::new();
    for (kind, entries) in &decoded {
        let crc_name = kind.kcrctab_section();
        let crcs = match elf.section_by_name(crc_name) {
            Some((crc_index, _)) => {
                let (storage, crcs) = read_crcs(&resolver, crc_index, entries.len(), crc_name)?;
                crc_storage = storage;
                Some(crcs)
            }
            None => None,
        };
        exports.extend(super::table_exports(
            *kind,
            entries,
            crcs.as_deref(),
            flags,
        )?);
    }
    super::unique_exports(&mut exports, super::Identical::Refuse)?;
    let kinds: Vec<ExportKind> = decoded.iter().map(|(kind, _)| *kind).collect();
    Ok(ModuleExports {
        exports,
        layout: Some(TableLayout {
            ksymtab,
            crcs: crc_storage,
            tables: TableKinds::of_sections(&kinds, flags.is_some()),
        }),
    })
}

/// Read `count` CRCs from the `__kcrctab*` section at `index`.
fn read_crcs(
    resolver: &Resolver,
    index: usize,
    count: usize,
    name: &str,
) -> Result<(CrcStorage, Vec<u32>), Problem> {
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
    let mut crcs = Vec::with_capacity(count);
    for i in 0..count {
        let offset = (i * entry) as u64;
        let crc = match resolver.target(&relocs, offset)? {
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
            Target::Null => elf.read_uint(data, i * entry, entry).unwrap_or(0) as u32,
        };
        crcs.push(crc);
    }
    Ok((storage, crcs))
}
