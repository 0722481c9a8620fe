//! Exports of a linked kernel (vmlinux): tables addressed by virtual address.
//!
//! Locating the tables (by section name in an ELF vmlinux, or by structure in a raw image) is
//! separate from decoding them: both feed a [`TableSet`] and an [`AddressSpace`] to [`decode`].

use serde::Serialize;

use super::era::{CrcStorage, EntryOrder, KsymtabLayout, TableKinds, TableLayout};
use super::{is_symbol_name, Export, ExportKind};
use crate::bytes::{c_str, read_uint, sign_extend};
use crate::elf::{Elf, Endian};
use crate::error::Problem;

/// A range of kernel virtual addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Region {
    /// First address.
    pub addr: u64,
    /// Length in bytes.
    pub len: u64,
}

impl Region {
    fn contains(&self, addr: u64) -> bool {
        addr >= self.addr && addr - self.addr < self.len
    }
}

/// Where a kernel's export tables lie.
#[derive(Debug, Clone, Default)]
pub struct TableSet {
    /// `__ksymtab_strings`.
    pub strings: Option<Region>,
    /// `__ksymtab{suffix}` per kind, in table order, each with its `__kcrctab{suffix}`.
    pub tables: Vec<TableRegions>,
    /// `__kflagstab` (7.x), parallel to the `__ksymtab` table.
    pub flags: Option<Region>,
}

/// One symbol table and its CRC table.
#[derive(Debug, Clone, Copy)]
pub struct TableRegions {
    /// The kind the table's section name gives.
    pub kind: ExportKind,
    /// `__ksymtab{suffix}`.
    pub symbols: Region,
    /// `__kcrctab{suffix}`, absent without MODVERSIONS.
    pub crcs: Option<Region>,
}

/// A view of the kernel's memory by virtual address.
pub trait AddressSpace {
    /// The `len` bytes at `addr`, if they are all mapped by the file.
    fn bytes_at(&self, addr: u64, len: u64) -> Option<&[u8]>;
    /// Byte order of the kernel.
    fn endian(&self) -> Endian;
    /// Pointer size of the kernel.
    fn word_size(&self) -> usize;
}

impl AddressSpace for Elf<'_> {
    fn bytes_at(&self, addr: u64, len: u64) -> Option<&[u8]> {
        let offset = usize::try_from(self.addr_to_offset(addr)?).ok()?;
        let len = usize::try_from(len).ok()?;
        // The range must stay within the section or segment that maps `addr`.
        let end_offset = self.addr_to_offset(addr.checked_add(len.saturating_sub(1) as u64)?)?;
        if len > 0 && Some(end_offset) != offset.checked_add(len - 1).map(|e| e as u64) {
            return None;
        }
        self.data.get(offset..offset.checked_add(len)?)
    }
    fn endian(&self) -> Endian {
        self.endian
    }
    fn word_size(&self) -> usize {
        self.class.word_size()
    }
}

/// The exports of a linked kernel and the era of its tables.
#[derive(Debug, Clone, Serialize)]
pub struct VmlinuxExports {
    /// The exports in table order.
    pub exports: Vec<Export>,
    /// The layout of the tables they were read from.
    #[serde(flatten)]
    pub layout: TableLayout,
}

impl VmlinuxExports {
    /// True when the kernel has CRC tables (CONFIG_MODVERSIONS).
    pub fn modversions(&self) -> bool {
        self.layout.modversions()
    }
}

/// Find the export tables of an ELF vmlinux by section name.
pub fn tables_from_sections(elf: &Elf) -> TableSet {
    let region = |name: &str| {
        elf.section_by_name(name).map(|(_, s)| Region {
            addr: s.addr,
            len: s.size,
        })
    };
    let mut set = TableSet {
        strings: region("__ksymtab_strings"),
        flags: region("__kflagstab"),
        tables: Vec::new(),
    };
    for kind in ExportKind::ALL {
        if let Some(symbols) = region(kind.ksymtab_section()) {
            set.tables.push(TableRegions {
                kind,
                symbols,
                // 2.6.x linker scripts keep an empty `__kcrctab` output section in kernels
                // without CONFIG_MODVERSIONS: no CRCs.
                crcs: region(kind.kcrctab_section()).filter(|r| r.len > 0),
            });
        }
    }
    set
}

/// Check where the export sections of an ELF vmlinux lie: each apart from every other section,
/// in the kernel's memory and in the file, and its tables aligned to their 4-byte or word
/// fields. The linker lays sections out one after another: overlapping ones have a damaged
/// address, offset or size, and would be read from another section's bytes.
fn check_sections(elf: &Elf) -> Result<(), Problem> {
    use crate::elf::consts::{SHF_ALLOC, SHT_NOBITS};
    let is_export = |name: &[u8]| {
        name.starts_with(b"__ksymtab") || name.starts_with(b"__kcrctab") || name == b"__kflagstab"
    };
    let has_bytes = |s: &crate::elf::Section| s.kind != SHT_NOBITS && s.size > 0;
    let loaded = |s: &crate::elf::Section| s.flags & SHF_ALLOC != 0 && s.size > 0;
    let apart = |a: u64, a_len: u64, b: u64, b_len: u64| {
        a.saturating_add(a_len) <= b || b.saturating_add(b_len) <= a
    };
    for (i, s) in elf.sections.iter().enumerate() {
        if !is_export(s.name) || s.size == 0 {
            continue;
        }
        let name = String::from_utf8_lossy(s.name);
        let unit = if s.name == b"__ksymtab_strings" || s.name == b"__kflagstab" {
            1
        } else {
            4
        };
        if s.addr % unit != 0 {
            return Err(Problem::Exports(format!(
                "{name} lies at {:#x}, not aligned to its {unit}-byte fields",
                s.addr
            )));
        }
        let in_file = s
            .offset
            .checked_add(s.size)
            .is_some_and(|end| end <= elf.data.len() as u64);
        if has_bytes(s) && !in_file {
            return Err(Problem::Exports(format!("{name} lies outside the file")));
        }
        // A loaded section lies in a PT_LOAD at the same distance from its start in memory
        // and in the file.
        if loaded(s) && has_bytes(s) && !elf.segments.is_empty() {
            let at = elf
                .segments
                .iter()
                .find(|p| s.addr >= p.vaddr && s.addr - p.vaddr < p.filesz)
                .map(|p| p.offset.checked_add(s.addr - p.vaddr));
            if at != Some(Some(s.offset)) {
                return Err(Problem::Exports(format!(
                    "{name} (address {:#x}, file offset {:#x}) is not where the program \
                     headers load it",
                    s.addr, s.offset
                )));
            }
        }
        for (j, o) in elf.sections.iter().enumerate() {
            if i == j {
                continue;
            }
            let in_memory = loaded(s) && loaded(o) && !apart(s.addr, s.size, o.addr, o.size);
            let in_file =
                has_bytes(s) && has_bytes(o) && !apart(s.offset, s.size, o.offset, o.size);
            if in_memory || in_file {
                return Err(Problem::Exports(format!(
                    "{name} overlaps section {} {}",
                    String::from_utf8_lossy(o.name),
                    if in_memory {
                        "in memory"
                    } else {
                        "in the file"
                    }
                )));
            }
        }
    }
    Ok(())
}

/// Read the exports of an ELF vmlinux (stripped or not) from its named sections.
pub fn read_elf(elf: &Elf) -> Result<VmlinuxExports, Problem> {
    check_sections(elf)?;
    let set = tables_from_sections(elf);
    if set.tables.is_empty() {
        return Err(Problem::NoExports(
            "the ELF file has no __ksymtab sections (not a vmlinux, or a stripped one without section headers)".into(),
        ));
    }
    let (layout, entries) = detect_layout(elf, &set)?;
    assemble(elf, &set, layout, &entries)
}

/// The era of tables found by section name, where nothing but the data says it: the first
/// `struct kernel_symbol` layout whose tables read, in an order of some era ([`EntryOrder`]),
/// without contradicting themselves, and the CRC storage ([`crc_storage`]). Returns the entries
/// read with that layout too.
fn detect_layout<'a>(
    space: &'a dyn AddressSpace,
    set: &TableSet,
) -> Result<(TableLayout, Vec<Vec<RawEntry<'a>>>), Problem> {
    let (strings, strings_bytes) = strings_of(space, set)?;
    let word = space.word_size();
    let kinds: Vec<ExportKind> = set.tables.iter().map(|t| t.kind).collect();
    let tables = TableKinds::of_sections(&kinds, set.flags.is_some());
    // Why the layouts that read did not fit, for the error when none does.
    let mut refused: Option<String> = None;
    for ksymtab in KsymtabLayout::ALL {
        let Ok(entries) = set
            .tables
            .iter()
            .map(|t| decode_names(space, t.symbols, ksymtab, strings, strings_bytes))
            .collect::<Result<Vec<_>, _>>()
        else {
            continue;
        };
        let Some(order) = order_of(&entries) else {
            refused.get_or_insert_with(|| {
                "the entries are neither sorted by name (3.0+) nor in link order (before 3.0)"
                    .to_string()
            });
            continue;
        };
        let crcs = match set
            .tables
            .iter()
            .zip(&entries)
            .filter_map(|(t, e)| Some((t.crcs?, e.len())))
            .max_by_key(|&(_, count)| count)
        {
            Some((region, count)) => {
                let by_size =
                    CrcStorage::from_table_size(region.len, count, word).ok_or_else(|| {
                        Problem::Exports(format!(
                            "a __kcrctab of {} bytes does not fit {count} symbols",
                            region.len
                        ))
                    })?;
                crc_storage(space, region, count, by_size)
            }
            None => CrcStorage::None,
        };
        let layout = TableLayout {
            ksymtab,
            crcs,
            tables,
            order,
        };
        if let Some(why) = layout.contradiction(word) {
            refused.get_or_insert_with(|| why.to_string());
            continue;
        }
        return Ok((layout, entries));
    }
    Err(Problem::Exports(match refused {
        Some(why) => format!("the __ksymtab tables do not read as any kernel's: {why}"),
        None => {
            format!("no known kernel_symbol layout fits the __ksymtab tables ({word}-byte words)")
        }
    }))
}

/// The order all tables of `entries` are in (see [`EntryOrder::of_tables`]).
fn order_of(entries: &[Vec<RawEntry>]) -> Option<EntryOrder> {
    let keyed: Vec<Vec<(&[u8], Option<u64>)>> = entries
        .iter()
        .map(|t| t.iter().map(|e| (e.name, e.name_at)).collect())
        .collect();
    EntryOrder::of_tables(&keyed)
}

/// How a `__kcrctab` at `region` of `count` entries stores its CRCs, given the storage its size
/// says: a 4-byte table whose every entry, read as a self-relative offset, lands on four mapped
/// bytes is CONFIG_MODULE_REL_CRCS (random CRCs would almost never all do so, nor would all of
/// 16); too short a table to tell keeps the size's answer.
pub fn crc_storage(
    space: &dyn AddressSpace,
    region: Region,
    count: usize,
    by_size: CrcStorage,
) -> CrcStorage {
    if by_size != CrcStorage::U32 || count < 16 {
        return by_size;
    }
    let relative = relative_crcs(space, region, count).is_some();
    if relative {
        CrcStorage::Relative
    } else {
        by_size
    }
}

/// The CRCs of a CONFIG_MODULE_REL_CRCS table (`__crc_sym - .` per entry), `None` when an
/// entry leads outside the mapped kernel.
fn relative_crcs(space: &dyn AddressSpace, region: Region, count: usize) -> Option<Vec<u32>> {
    let bytes = space.bytes_at(region.addr, region.len)?;
    let endian = space.endian();
    (0..count)
        .map(|i| {
            let raw = read_uint(bytes, i * 4, 4, endian)?;
            let at = region
                .addr
                .wrapping_add((i * 4) as u64)
                .wrapping_add(sign_extend(raw, 4) as u64);
            let b = space.bytes_at(at, 4)?;
            read_uint(b, 0, 4, endian).map(|v| v as u32)
        })
        .collect()
}

/// `__ksymtab_strings` and its bytes.
fn strings_of<'a>(
    space: &'a dyn AddressSpace,
    set: &TableSet,
) -> Result<(Region, &'a [u8]), Problem> {
    let strings = set
        .strings
        .ok_or_else(|| Problem::NoExports("no __ksymtab_strings".into()))?;
    let bytes = space
        .bytes_at(strings.addr, strings.len)
        .ok_or_else(|| Problem::Exports("__ksymtab_strings lies outside the file".into()))?;
    Ok((strings, bytes))
}

/// Decode the tables of `set` in `space` with the era `layout` found by whoever located them.
pub fn decode(
    space: &dyn AddressSpace,
    set: &TableSet,
    layout: TableLayout,
) -> Result<VmlinuxExports, Problem> {
    let (strings, strings_bytes) = strings_of(space, set)?;
    let entries = set
        .tables
        .iter()
        .map(|t| {
            decode_names(space, t.symbols, layout.ksymtab, strings, strings_bytes)
                .map_err(|e| Problem::Exports(format!("{}: {e}", t.kind.ksymtab_section())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (t, entries) in set.tables.iter().zip(&entries) {
        let keyed: Vec<(&[u8], Option<u64>)> =
            entries.iter().map(|e| (e.name, e.name_at)).collect();
        if !layout.order.fits(&keyed) {
            return Err(Problem::Exports(format!(
                "{}: the entries are not {}",
                t.kind.ksymtab_section(),
                match layout.order {
                    EntryOrder::ByName => "sorted by name",
                    EntryOrder::LinkOrder => "in link order",
                }
            )));
        }
    }
    assemble(space, set, layout, &entries)
}

/// The exports of `set` from its decoded `entries` (one list per table) and its CRC and flag
/// tables.
fn assemble(
    space: &dyn AddressSpace,
    set: &TableSet,
    layout: TableLayout,
    entries: &[Vec<RawEntry>],
) -> Result<VmlinuxExports, Problem> {
    let (_, strings_bytes) = strings_of(space, set)?;
    check_strings(strings_bytes, entries.iter().flatten())?;
    let flags = match set.flags {
        Some(r) => Some(
            space
                .bytes_at(r.addr, r.len)
                .ok_or_else(|| Problem::Exports("__kflagstab lies outside the file".into()))?,
        ),
        None => None,
    };
    let mut exports: Vec<Export> = Vec::with_capacity(entries.iter().map(Vec::len).sum());
    for (spec, entries) in set.tables.iter().zip(entries) {
        let crcs = match spec.crcs {
            Some(region) => Some(read_crcs(
                space,
                region,
                entries.len(),
                spec.kind,
                layout.crcs,
            )?),
            None => None,
        };
        let pairs: Vec<(&[u8], &[u8])> = entries.iter().map(|e| (e.name, e.namespace)).collect();
        exports.extend(super::table_exports(
            spec.kind,
            &pairs,
            crcs.as_deref(),
            flags,
        )?);
    }
    if set.tables.iter().any(|t| t.crcs.is_some()) && set.tables.iter().any(|t| t.crcs.is_none()) {
        let missing: Vec<&str> = set
            .tables
            .iter()
            .filter(|t| t.crcs.is_none() && t.symbols.len > 0)
            .map(|t| t.kind.kcrctab_section())
            .collect();
        if !missing.is_empty() {
            return Err(Problem::Exports(format!(
                "some CRC tables are missing: {}",
                missing.join(", ")
            )));
        }
    }
    let identical = match layout.order {
        EntryOrder::ByName => super::Identical::Merge,
        EntryOrder::LinkOrder => super::Identical::FirstFound,
    };
    super::unique_exports(&mut exports, identical)?;
    Ok(VmlinuxExports { exports, layout })
}

/// Check `__ksymtab_strings` (`strings`) against the entries that name its strings: it holds
/// the names and namespaces of the exports and nothing else (the `__kstrtab_*` and
/// `__kstrtabns_*` strings of include/linux/export.h, later modpost's), so a string no entry
/// names, or a string named both as a symbol and as a namespace, means an entry was misread
/// or damaged (its name now leads to another export's string). Empty strings and the tails of
/// longer ones (the linker may merge strings) are not strings of their own here.
pub(crate) fn check_strings<'e, 'a: 'e>(
    strings: &[u8],
    entries: impl Iterator<Item = &'e RawEntry<'a>>,
) -> Result<(), Problem> {
    let mut names = Vec::new();
    let mut namespaces = Vec::new();
    for e in entries {
        names.extend(e.name_at);
        if !e.namespace.is_empty() {
            if !is_namespace(e.namespace) {
                return Err(Problem::Exports(format!(
                    "the namespace {:?} of {} is not a namespace name",
                    String::from_utf8_lossy(e.namespace),
                    String::from_utf8_lossy(e.name)
                )));
            }
            namespaces.extend(e.namespace_at);
        }
    }
    names.sort_unstable();
    names.dedup();
    // A namespace string of its own starts after a NUL: one that starts inside another
    // string is that string's tail (names may be tails of names, "memcpy" of "__memcpy", but a
    // namespace is never merged into an identifier).
    for &ns in &namespaces {
        let starts = usize::try_from(ns)
            .ok()
            .is_some_and(|at| at == 0 || strings.get(at - 1) == Some(&0));
        if !starts {
            return Err(Problem::Exports(format!(
                "a namespace at offset {ns:#x} of __ksymtab_strings starts inside another string"
            )));
        }
    }
    namespaces.sort_unstable();
    namespaces.dedup();
    if let Some(&both) = namespaces.iter().find(|at| names.binary_search(at).is_ok()) {
        return Err(Problem::Exports(format!(
            "the string {:?} of __ksymtab_strings is both an exported name and a namespace",
            String::from_utf8_lossy(
                usize::try_from(both)
                    .ok()
                    .and_then(|at| c_str(strings, at))
                    .unwrap_or_default()
            )
        )));
    }
    let named = |at: u64| names.binary_search(&at).is_ok() || namespaces.binary_search(&at).is_ok();
    let mut at = 0;
    while at < strings.len() {
        let len = strings[at..]
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(strings.len() - at);
        if len > 0 && !named(at as u64) {
            return Err(Problem::Exports(format!(
                "the string {:?} at offset {at:#x} of __ksymtab_strings is named by no export \
                 entry (an entry was misread or damaged)",
                String::from_utf8_lossy(&strings[at..at + len])
            )));
        }
        at += len + 1;
    }
    Ok(())
}

/// True for a namespace as `EXPORT_SYMBOL_NS` and modpost write them: an identifier
/// (`USB_STORAGE`), or since 6.13 `module:NAME[,NAME…]` (module names may hold `-`).
fn is_namespace(ns: &[u8]) -> bool {
    ns.iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b',' | b'-' | b'.'))
}

/// One decoded `struct kernel_symbol`: its name and namespace, with their offsets in
/// `__ksymtab_strings` (`None` for a name outside it, see [`EntryOrder::LinkOrder`], and for no
/// namespace).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawEntry<'a> {
    pub(crate) name: &'a [u8],
    pub(crate) name_at: Option<u64>,
    pub(crate) namespace: &'a [u8],
    pub(crate) namespace_at: Option<u64>,
}

/// Longest name read outside `__ksymtab_strings`.
const MAX_OUTSIDE_NAME: u64 = 128;

/// The NUL-terminated string at `addr` in `space`, read a byte at a time (at most
/// [`MAX_OUTSIDE_NAME`] bytes) since its length is not known.
fn c_str_at(space: &dyn AddressSpace, addr: u64) -> Option<&[u8]> {
    for len in 1..=MAX_OUTSIDE_NAME {
        let bytes = space.bytes_at(addr, len)?;
        if bytes.last() == Some(&0) {
            return Some(&bytes[..bytes.len() - 1]);
        }
    }
    None
}

/// Decode the name and namespace of every entry of one table with `layout`; an error says why
/// the layout does not fit (size not a multiple, a name outside `__ksymtab_strings`, not an
/// identifier). Entries of [`KsymtabLayout::Absolute`], the only layout of kernels before 3.0,
/// may name an identifier elsewhere in the kernel (see [`EntryOrder::LinkOrder`]).
fn decode_names<'a>(
    space: &'a dyn AddressSpace,
    table: Region,
    layout: KsymtabLayout,
    strings: Region,
    strings_bytes: &'a [u8],
) -> Result<Vec<RawEntry<'a>>, String> {
    let word = space.word_size();
    let size = layout.entry_size(word) as u64;
    if !table.len.is_multiple_of(size) {
        return Err(format!(
            "{} bytes are not a whole number of {size}-byte entries",
            table.len
        ));
    }
    let bytes = space
        .bytes_at(table.addr, table.len)
        .ok_or("the table lies outside the file")?;
    let field = layout.field_size(word);
    let endian = space.endian();
    let string_at = |addr: u64| -> Option<(&'a [u8], u64)> {
        if !strings.contains(addr) {
            return None;
        }
        let at = addr - strings.addr;
        Some((c_str(strings_bytes, usize::try_from(at).ok()?)?, at))
    };
    let outside_ok = layout.admits_link_order();
    let target = |offset: usize| -> Option<u64> {
        let raw = read_uint(bytes, offset, field, endian)?;
        if layout.is_relative() {
            if raw == 0 {
                return Some(0);
            }
            let field_addr = table.addr.checked_add(offset as u64)?;
            Some(field_addr.wrapping_add(sign_extend(raw, 4) as u64))
        } else {
            Some(raw)
        }
    };
    let mut entries = Vec::with_capacity(bytes.len() / size as usize);
    for (i, start) in (0..bytes.len()).step_by(size as usize).enumerate() {
        let addr = target(start + layout.name_offset(word));
        let (name, name_at) = match addr.and_then(string_at) {
            Some((name, at)) => (name, Some(at)),
            None => match addr.filter(|_| outside_ok).and_then(|a| c_str_at(space, a)) {
                Some(name) => (name, None),
                None => {
                    return Err(format!(
                        "entry {i}: the name is not a string of __ksymtab_strings"
                    ))
                }
            },
        };
        if !is_symbol_name(name) {
            return Err(format!(
                "entry {i}: the name {:?} is not a symbol name",
                String::from_utf8_lossy(name)
            ));
        }
        let (namespace, namespace_at) = match layout.namespace_offset(word) {
            // 5.4 stored no namespace as a zero offset / NULL pointer.
            Some(off) => match target(start + off) {
                Some(0) => (&[][..], None),
                addr => addr
                    .and_then(string_at)
                    .map(|(ns, at)| (ns, Some(at)))
                    .ok_or_else(|| {
                        format!("entry {i}: the namespace is not a string of __ksymtab_strings")
                    })?,
            },
            None => (&[][..], None),
        };
        entries.push(RawEntry {
            name,
            name_at,
            namespace,
            namespace_at,
        });
    }
    Ok(entries)
}

/// Read a CRC table of `count` entries stored as `storage`.
fn read_crcs(
    space: &dyn AddressSpace,
    region: Region,
    count: usize,
    kind: ExportKind,
    storage: CrcStorage,
) -> Result<Vec<u32>, Problem> {
    let name = kind.kcrctab_section();
    let word = space.word_size();
    let entry = storage.entry_size(word).ok_or_else(|| {
        Problem::Exports(format!(
            "{name} present in a kernel whose tables have no CRCs"
        ))
    })?;
    if region.len != (count * entry) as u64 {
        return Err(Problem::Exports(format!(
            "{name} is {} bytes, which does not fit {count} symbols",
            region.len
        )));
    }
    if storage == CrcStorage::Relative {
        return relative_crcs(space, region, count).ok_or_else(|| {
            Problem::Exports(format!("{name}: a relative CRC lies outside the file"))
        });
    }
    let bytes = space
        .bytes_at(region.addr, region.len)
        .ok_or_else(|| Problem::Exports(format!("{name} lies outside the file")))?;
    let endian = space.endian();
    (0..count)
        .map(|i| {
            read_uint(bytes, i * entry, entry, endian)
                .map(|v| v as u32)
                .ok_or_else(|| Problem::Exports(format!("{name} ends before entry {i}")))
        })
        .collect()
}
