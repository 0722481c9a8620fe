//! A small, class- and endian-neutral view of an ELF file.
//!
//! The `object` crate parses the file header and section table (with its bounds checks); this
//! module flattens them into one non-generic struct so that the export readers have a single code
//! path for 32/64-bit and little/big-endian kernels. Symbols and relocations are decoded on demand
//! from the raw tables, and every read is bounds-checked.

use object::elf;
use object::read::elf::{FileHeader, SectionHeader};
use object::{Endian as _, Endianness, ReadRef};

pub use crate::bytes::Endian;
use crate::bytes::{read_uint, sign_extend};
use crate::error::Problem;

/// Word size of the ELF file (and of the kernel's `unsigned long`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// ELFCLASS32.
    Elf32,
    /// ELFCLASS64.
    Elf64,
}

impl Class {
    /// Bytes in a pointer / `unsigned long`.
    pub fn word_size(self) -> usize {
        match self {
            Class::Elf32 => 4,
            Class::Elf64 => 8,
        }
    }
}

/// One section header, flattened.
#[derive(Debug, Clone)]
pub struct Section<'d> {
    /// Section name from the section-header string table (empty when there is none).
    pub name: &'d [u8],
    /// `sh_type`.
    pub kind: u32,
    /// `sh_flags`.
    pub flags: u64,
    /// `sh_addr`.
    pub addr: u64,
    /// `sh_offset`.
    pub offset: u64,
    /// `sh_size`.
    pub size: u64,
    /// `sh_link`.
    pub link: u32,
    /// `sh_info`.
    pub info: u32,
}

/// One `PT_LOAD` program header.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_offset`.
    pub offset: u64,
    /// `p_filesz`.
    pub filesz: u64,
}

/// One program header of any type, as [`Header::parse`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramHeader {
    /// `p_type`.
    pub kind: u32,
    /// `p_offset`.
    pub offset: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_vaddr`.
    pub vaddr: u64,
}

/// The file header and program headers of an ELF file, read from its first bytes alone
/// (the section headers usually sit at the end of the file).
#[derive(Debug, Clone)]
pub struct Header {
    /// 32 or 64 bit.
    pub class: Class,
    /// Byte order.
    pub endian: Endian,
    /// `e_type`.
    pub file_type: u16,
    /// `e_machine`.
    pub machine: u16,
    /// Every program header, in table order.
    pub program_headers: Vec<ProgramHeader>,
}

impl Header {
    /// Parse the file header and program header table at the start of `data`; fails when
    /// `data` ends before the table does.
    pub fn parse(data: &[u8]) -> Result<Self, Problem> {
        by_class(
            data,
            Self::parse_as::<elf::FileHeader32<Endianness>>,
            Self::parse_as::<elf::FileHeader64<Endianness>>,
        )
    }

    fn parse_as<H>(data: &[u8]) -> Result<Self, Problem>
    where
        H: FileHeader<Endian = Endianness>,
    {
        use object::read::elf::ProgramHeader as _;
        let bad = |e: object::Error| Problem::Elf(e.to_string());
        let header = H::parse(data).map_err(bad)?;
        let endian = header.endian().map_err(bad)?;
        let program_headers = header
            .program_headers(endian, data)
            .map_err(bad)?
            .iter()
            .map(|ph| ProgramHeader {
                kind: ph.p_type(endian).0,
                offset: ph.p_offset(endian).into(),
                filesz: ph.p_filesz(endian).into(),
                vaddr: ph.p_vaddr(endian).into(),
            })
            .collect();
        let (class, endian, file_type, machine) = identity(header, endian);
        Ok(Header {
            class,
            endian,
            file_type,
            machine,
            program_headers,
        })
    }
}

/// Check the ELF magic, then parse `data` with `parse32` or `parse64` by its class byte.
fn by_class<'d, T>(
    data: &'d [u8],
    parse32: impl FnOnce(&'d [u8]) -> Result<T, Problem>,
    parse64: impl FnOnce(&'d [u8]) -> Result<T, Problem>,
) -> Result<T, Problem> {
    if !is_elf(data) {
        return Err(Problem::Elf("no ELF magic".into()));
    }
    match data.get(EI_CLASS) {
        Some(&ELFCLASS32) => parse32(data),
        Some(&ELFCLASS64) => parse64(data),
        _ => Err(Problem::Elf("unknown ELF class".into())),
    }
}

/// Class, byte order, `e_type` and `e_machine` of a parsed file header.
fn identity<H>(header: &H, endian: Endianness) -> (Class, Endian, u16, u16)
where
    H: FileHeader<Endian = Endianness>,
{
    let class = if header.is_class_64() {
        Class::Elf64
    } else {
        Class::Elf32
    };
    let byte_order = if endian.is_little_endian() {
        Endian::Little
    } else {
        Endian::Big
    };
    (
        class,
        byte_order,
        header.e_type(endian).0,
        header.e_machine(endian).0,
    )
}

/// An undefined global or weak symbol: what a module needs from elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Import {
    /// The symbol.
    pub name: String,
    /// `STB_WEAK`: the loader leaves it 0 when nobody exports it.
    pub weak: bool,
}

/// A symbol table entry, reduced to what relocation targets need.
#[derive(Debug, Clone, Copy)]
pub struct Symbol {
    /// `st_value` (section offset in ET_REL, address otherwise).
    pub value: u64,
    /// The section it is defined in, with `SHN_XINDEX` resolved through `SHT_SYMTAB_SHNDX`.
    pub section: SymbolSection,
}

/// A symbol with its index in `.symtab` and its name.
pub type NamedSymbol<'d> = (usize, &'d [u8], Symbol);

/// Where a symbol is defined (`st_shndx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolSection {
    /// `SHN_UNDEF`: defined elsewhere.
    Undefined,
    /// `SHN_ABS`: an absolute value (modversions' `__crc_*` in 4.10–5.18 modules).
    Absolute,
    /// `SHN_COMMON` or another reserved index.
    Reserved(u16),
    /// A section of the file, by index.
    Section(usize),
}

/// A relocation, with its addend made explicit (read from the field for SHT_REL).
#[derive(Debug, Clone, Copy)]
pub struct Reloc {
    /// Offset of the relocated field in its section.
    pub offset: u64,
    /// Symbol index.
    pub sym: u32,
    /// Machine-specific relocation type.
    pub kind: u32,
    /// The addend (`r_addend`, or the field's content for SHT_REL).
    pub addend: i64,
}

/// A parsed ELF file borrowing its bytes.
#[derive(Debug)]
pub struct Elf<'d> {
    /// The whole file.
    pub data: &'d [u8],
    /// 32 or 64 bit.
    pub class: Class,
    /// Byte order.
    pub endian: Endian,
    /// `e_type`.
    pub file_type: u16,
    /// `e_machine`.
    pub machine: u16,
    /// Section headers (empty for a file without them).
    pub sections: Vec<Section<'d>>,
    /// Loadable segments.
    pub segments: Vec<Segment>,
}

/// ELF constants used by this crate, as plain numbers (the `object` crate wraps them in newtypes).
pub mod consts {
    /// `e_ident` index of the class byte.
    pub const EI_CLASS: usize = 4;
    /// `e_ident` index of the byte-order byte (1 little, 2 big).
    pub const EI_DATA: usize = 5;
    /// 32-bit class.
    pub const ELFCLASS32: u8 = 1;
    /// 64-bit class.
    pub const ELFCLASS64: u8 = 2;
    /// Relocatable file (a `.ko`).
    pub const ET_REL: u16 = 1;
    /// Section without file data.
    pub const SHT_NOBITS: u32 = 8;
    /// Section occupies memory at run time.
    pub const SHF_ALLOC: u64 = 2;
    /// 64-bit PowerPC machine.
    pub const EM_PPC64: u16 = 21;
    /// Loadable segment.
    pub const PT_LOAD: u32 = 1;
    /// Note segment.
    pub const PT_NOTE: u32 = 4;
}
use consts::*;

/// `e_machine` of the ELF file starting `data`, read from its identification alone.
pub fn machine(data: &[u8]) -> Option<u16> {
    if !is_elf(data) {
        return None;
    }
    let field = [*data.get(18)?, *data.get(19)?];
    Some(match data.get(EI_DATA)? {
        2 => u16::from_be_bytes(field),
        _ => u16::from_le_bytes(field),
    })
}

/// True when `data` starts with the ELF magic.
pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(&elf::ELFMAG)
}

impl<'d> Elf<'d> {
    /// Parse the file header, section headers and program headers of `data`.
    pub fn parse(data: &'d [u8]) -> Result<Self, Problem> {
        by_class(
            data,
            Self::parse_as::<elf::FileHeader32<Endianness>>,
            Self::parse_as::<elf::FileHeader64<Endianness>>,
        )
    }

    fn parse_as<H>(data: &'d [u8]) -> Result<Self, Problem>
    where
        H: FileHeader<Endian = Endianness>,
    {
        let bad = |e: object::Error| Problem::Elf(e.to_string());
        let header = H::parse(data).map_err(bad)?;
        let endian = header.endian().map_err(bad)?;
        let table = header.sections(endian, data).map_err(bad)?;
        let mut sections = Vec::with_capacity(table.len());
        for sh in table.iter() {
            let name = table.section_name(endian, sh).unwrap_or(&[]);
            sections.push(Section {
                name,
                kind: sh.sh_type(endian).0,
                flags: sh.sh_flags(endian).0,
                addr: sh.sh_addr(endian).into(),
                offset: sh.sh_offset(endian).into(),
                size: sh.sh_size(endian).into(),
                link: sh.sh_link(endian),
                info: sh.sh_info(endian),
            });
        }
        let mut segments = Vec::new();
        // A damaged program-header table is not fatal: section headers are preferred anyway.
        if let Ok(phdrs) = header.program_headers(endian, data) {
            use object::read::elf::ProgramHeader;
            for ph in phdrs {
                if ph.p_type(endian).0 == PT_LOAD {
                    segments.push(Segment {
                        vaddr: ph.p_vaddr(endian).into(),
                        offset: ph.p_offset(endian).into(),
                        filesz: ph.p_filesz(endian).into(),
                    });
                }
            }
        }
        let (class, endian, file_type, machine) = identity(header, endian);
        Ok(Elf {
            data,
            class,
            endian,
            file_type,
            machine,
            sections,
            segments,
        })
    }

    /// Parse `data` as a kernel module: an ELF relocatable object (`.ko`).
    pub fn parse_module(data: &'d [u8]) -> Result<Self, Problem> {
        let elf = Self::parse(data)?;
        if elf.file_type != ET_REL {
            return Err(Problem::NotAModule {
                detail: format!(
                    "an ELF file of type {} (a module is a relocatable object, type 1)",
                    elf.file_type
                ),
            });
        }
        Ok(elf)
    }

    /// Index and header of the first section called `name`.
    pub fn section_by_name(&self, name: &str) -> Option<(usize, &Section<'d>)> {
        self.sections
            .iter()
            .enumerate()
            .find(|(_, s)| s.name == name.as_bytes())
    }

    /// The bytes of section `index` (empty for SHT_NOBITS).
    pub fn section_data(&self, index: usize) -> Result<&'d [u8], Problem> {
        let s = self
            .sections
            .get(index)
            .ok_or_else(|| Problem::Elf(format!("section index {index} out of range")))?;
        if s.kind == SHT_NOBITS {
            return Ok(&[]);
        }
        self.data.read_bytes_at(s.offset, s.size).map_err(|_| {
            Problem::Elf(format!(
                "section {} (offset {:#x}, size {:#x}) lies outside the file",
                String::from_utf8_lossy(s.name),
                s.offset,
                s.size
            ))
        })
    }

    /// Read an unsigned integer of `size` bytes (1, 2, 4 or 8) in the file's byte order.
    pub fn read_uint(&self, bytes: &[u8], at: usize, size: usize) -> Option<u64> {
        read_uint(bytes, at, size, self.endian)
    }

    /// Read a 32-bit word in the file's byte order.
    pub fn read_u32(&self, bytes: &[u8], at: usize) -> Option<u32> {
        self.read_uint(bytes, at, 4).map(|v| v as u32)
    }

    /// Read an `unsigned long` (class-sized word) in the file's byte order.
    pub fn read_word(&self, bytes: &[u8], at: usize) -> Option<u64> {
        self.read_uint(bytes, at, self.class.word_size())
    }

    /// Symbols of the `.symtab` section (index 0 included, as in the file), read through
    /// `object`'s typed symbol table (extended section indices included).
    pub fn symbols(&self) -> Result<Vec<Symbol>, Problem> {
        self.by_class(
            symbols_as::<elf::FileHeader32<Endianness>>,
            symbols_as::<elf::FileHeader64<Endianness>>,
        )
    }

    /// The symbols (not section symbols) whose names start with `prefix`, with their indices
    /// and names: modpost's view of a module's exports (`__ksymtab_NAME`, `__crc_NAME`,
    /// scripts/mod/modpost.c), and the labels of its strings (`__kstrtab_NAME`).
    pub fn symbols_with_prefix(&self, prefix: &[u8]) -> Result<Vec<NamedSymbol<'d>>, Problem> {
        self.by_class(
            |elf| symbols_with_prefix_as::<elf::FileHeader32<Endianness>>(elf, prefix),
            |elf| symbols_with_prefix_as::<elf::FileHeader64<Endianness>>(elf, prefix),
        )
    }

    /// The global and weak undefined symbols of `.symtab`, in table order, each name once: the
    /// symbols a module (or object) needs from elsewhere, which is what modpost looks up in
    /// Module.symvers (scripts/mod/modpost.c, `handle_symbol`, SHN_UNDEF case).
    ///
    /// On 64-bit PowerPC with the ELFv1 ABI function symbols carry a leading `.` (the entry
    /// point, distinct from the function descriptor); modpost strips it, and so does this.
    pub fn undefined_symbols(&self) -> Result<Vec<Import>, Problem> {
        self.by_class(
            undefined_as::<elf::FileHeader32<Endianness>>,
            undefined_as::<elf::FileHeader64<Endianness>>,
        )
    }

    /// All relocations that apply to section `target`, sorted by offset.
    ///
    /// `field_size` is used to read implicit addends of SHT_REL relocations from the target.
    pub fn relocations_for(&self, target: usize, field_size: usize) -> Result<Vec<Reloc>, Problem> {
        self.by_class(
            |elf| relocations_as::<elf::FileHeader32<Endianness>>(elf, target, field_size),
            |elf| relocations_as::<elf::FileHeader64<Endianness>>(elf, target, field_size),
        )
    }

    /// Run the reader for this file's class.
    fn by_class<T>(
        &self,
        read32: impl FnOnce(&Self) -> Result<T, Problem>,
        read64: impl FnOnce(&Self) -> Result<T, Problem>,
    ) -> Result<T, Problem> {
        match self.class {
            Class::Elf32 => read32(self),
            Class::Elf64 => read64(self),
        }
    }

    /// Map a virtual address to a file offset through the section headers, or the `PT_LOAD`
    /// segments when there are no section headers.
    pub fn addr_to_offset(&self, addr: u64) -> Option<u64> {
        for s in &self.sections {
            if s.kind != SHT_NOBITS
                && s.flags & SHF_ALLOC != 0
                && addr >= s.addr
                && addr - s.addr < s.size
            {
                // A crafted sh_offset near u64::MAX must not wrap around to a small offset.
                return s.offset.checked_add(addr - s.addr);
            }
        }
        self.segments
            .iter()
            .find(|p| addr >= p.vaddr && addr - p.vaddr < p.filesz)
            .and_then(|p| p.offset.checked_add(addr - p.vaddr))
    }
}

/// The typed header, its byte order and section table of `elf`'s file.
fn typed<'d, H>(
    elf: &Elf<'d>,
) -> Result<(&'d H, Endianness, object::read::elf::SectionTable<'d, H>), Problem>
where
    H: FileHeader<Endian = Endianness>,
{
    let bad = |e: object::Error| Problem::Elf(e.to_string());
    let header = H::parse(elf.data).map_err(bad)?;
    let endian = header.endian().map_err(bad)?;
    let sections = header.sections(endian, elf.data).map_err(bad)?;
    Ok((header, endian, sections))
}

/// The `.symtab` of `elf` (an empty table when there is none).
fn symbol_table<'d, H>(
    elf: &Elf<'d>,
) -> Result<(Endianness, object::read::elf::SymbolTable<'d, H>), Problem>
where
    H: FileHeader<Endian = Endianness>,
{
    let (_, endian, sections) = typed::<H>(elf)?;
    let table = sections
        .symbols(endian, elf.data, elf::SHT_SYMTAB)
        .map_err(|e| Problem::Elf(format!(".symtab: {e}")))?;
    Ok((endian, table))
}

/// Symbol `index` of `table` as a [`Symbol`].
fn symbol_at<'d, H>(
    endian: Endianness,
    table: &object::read::elf::SymbolTable<'d, H>,
    index: object::SymbolIndex,
    sym: &H::Sym,
) -> Result<Symbol, Problem>
where
    H: FileHeader<Endian = Endianness>,
{
    use object::read::elf::Sym as _;
    let shndx = sym.st_shndx(endian).0;
    let section = match shndx {
        n if n == elf::SHN_UNDEF.0 => SymbolSection::Undefined,
        n if n == elf::SHN_ABS.0 => SymbolSection::Absolute,
        n if n == elf::SHN_XINDEX.0 => match table.shndx(endian, index) {
            Some(i) => SymbolSection::Section(i as usize),
            None => {
                return Err(Problem::Elf(format!(
                    "symbol {} has an extended section index but there is no SHT_SYMTAB_SHNDX entry for it",
                    index.0
                )))
            }
        },
        n if n >= elf::SHN_LORESERVE => SymbolSection::Reserved(n),
        n => SymbolSection::Section(usize::from(n)),
    };
    Ok(Symbol {
        value: sym.st_value(endian).into(),
        section,
    })
}

fn symbols_as<H>(elf: &Elf) -> Result<Vec<Symbol>, Problem>
where
    H: FileHeader<Endian = Endianness>,
{
    let (endian, table) = symbol_table::<H>(elf)?;
    let mut out = Vec::with_capacity(table.len());
    for (index, sym) in table.enumerate() {
        out.push(symbol_at(endian, &table, index, sym)?);
    }
    Ok(out)
}

fn symbols_with_prefix_as<'d, H>(
    elf: &Elf<'d>,
    prefix: &[u8],
) -> Result<Vec<NamedSymbol<'d>>, Problem>
where
    H: FileHeader<Endian = Endianness>,
{
    use object::read::elf::Sym as _;
    let (endian, table) = symbol_table::<H>(elf)?;
    let mut out = Vec::new();
    for (index, sym) in table.enumerate() {
        // Section symbols may carry their section's name (`__ksymtab_gpl`): not a symbol of
        // that name.
        if sym.st_type() == elf::STT_SECTION {
            continue;
        }
        let Ok(name) = sym.name(endian, table.strings()) else {
            continue;
        };
        if name.starts_with(prefix) {
            out.push((index.0, name, symbol_at(endian, &table, index, sym)?));
        }
    }
    Ok(out)
}

fn undefined_as<H>(elf: &Elf) -> Result<Vec<Import>, Problem>
where
    H: FileHeader<Endian = Endianness>,
{
    use object::read::elf::Sym as _;
    let (endian, table) = symbol_table::<H>(elf)?;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for sym in table.symbols() {
        let bind = sym.st_bind();
        if sym.st_shndx(endian) != elf::SHN_UNDEF
            || (bind != elf::STB_GLOBAL && bind != elf::STB_WEAK)
        {
            continue;
        }
        let name = sym.name(endian, table.strings()).map_err(|_| {
            Problem::Elf(format!(
                "symbol name offset {:#x} outside the string table",
                sym.st_name(endian)
            ))
        })?;
        let mut name = String::from_utf8_lossy(name).into_owned();
        if elf.machine == EM_PPC64 && name.starts_with('.') {
            name.remove(0);
        }
        if !name.is_empty() && seen.insert(name.clone()) {
            out.push(Import {
                name,
                weak: bind == elf::STB_WEAK,
            });
        }
    }
    Ok(out)
}

fn relocations_as<H>(elf: &Elf, target: usize, field_size: usize) -> Result<Vec<Reloc>, Problem>
where
    H: FileHeader<Endian = Endianness>,
{
    use object::read::elf::{Rel as _, Rela as _};
    let (header, endian, sections) = typed::<H>(elf)?;
    let mips64el = header.is_mips64el(endian);
    let bad = |e: object::Error| Problem::Elf(e.to_string());
    let mut out = Vec::new();
    for section in sections.iter() {
        if section.sh_info(endian) as usize != target {
            continue;
        }
        if let Some((relas, _)) = section.rela(endian, elf.data).map_err(bad)? {
            out.extend(relas.iter().map(|r| Reloc {
                offset: r.r_offset(endian).into(),
                sym: r.r_sym(endian, mips64el),
                kind: r.r_type(endian, mips64el).0,
                addend: r.r_addend(endian).into(),
            }));
        } else if let Some((rels, _)) = section.rel(endian, elf.data).map_err(bad)? {
            // SHT_REL: the addend is the relocated field's content.
            let target_data = elf.section_data(target)?;
            for r in rels {
                let offset: u64 = r.r_offset(endian).into();
                let at = usize::try_from(offset).unwrap_or(usize::MAX);
                let raw = read_uint(target_data, at, field_size, elf.endian).ok_or_else(|| {
                    Problem::Elf(format!("relocation offset {offset:#x} outside its section"))
                })?;
                out.push(Reloc {
                    offset,
                    sym: r.r_sym(endian),
                    kind: r.r_type(endian).0,
                    addend: sign_extend(raw, field_size),
                });
            }
        }
    }
    out.sort_by_key(|r| r.offset);
    Ok(out)
}
