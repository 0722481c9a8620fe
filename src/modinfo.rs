//! What a module asks of the kernel that loads it: its imported symbol versions (`__versions`,
//! `__version_ext_*`), its `.modinfo` tags and its undefined symbols.
//!
//! The exports a module *offers* are read by [`crate::exports::module`]; this module reads the other
//! side, the one the kernel's loader checks (kernel/module/main.c, kernel/module/version.c).

use serde::Serialize;

use crate::bytes::c_str;
use crate::elf::{Class, Elf, Endian};
use crate::error::Problem;

/// One imported symbol version: the CRC the module was built against. In JSON:
/// `{"crc": number, "crc_hex": "0x%08x", "symbol": …}`, like `dump`'s records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The CRC recorded at build time (`Module.symvers` of the kernel it was built against).
    pub crc: u32,
    /// The imported symbol.
    pub name: String,
}

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut record = serializer.serialize_struct("Version", 3)?;
        record.serialize_field("crc", &self.crc)?;
        record.serialize_field("crc_hex", &format!("0x{:08x}", self.crc))?;
        record.serialize_field("symbol", &self.name)?;
        record.end()
    }
}

/// Which version table a module carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionFormat {
    /// No version table: built without CONFIG_MODVERSIONS (or stripped of it).
    None,
    /// `__versions` only: `struct modversion_info` records.
    Basic,
    /// `__version_ext_crcs` + `__version_ext_names` (6.14+, CONFIG_EXTENDED_MODVERSIONS); the
    /// kernel then ignores `__versions` even when it is also present.
    Extended,
}

/// Everything the loader reads from a module before it links it.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleInfo {
    /// Word size of the module.
    pub class: Class,
    /// Byte order of the module.
    pub endian: Endian,
    /// `e_machine` of the module (the loader's first check: `elf_check_arch`).
    pub machine: u16,
    /// `__versions` records in file order (empty when the section is absent).
    pub versions: Vec<Version>,
    /// True when the module has a `__versions` section (even an empty one).
    pub has_versions: bool,
    /// `__version_ext_crcs`/`__version_ext_names` pairs, when the module has them.
    pub ext_versions: Option<Vec<Version>>,
    /// `.modinfo` tags in file order (`license`, `vermagic`, `import_ns`, …).
    pub modinfo: Vec<(String, String)>,
    /// Undefined global symbols: what the loader must resolve (weak ones are optional).
    pub imports: Vec<Import>,
}

/// An undefined symbol of the module.
pub use crate::elf::Import;

impl ModuleInfo {
    /// Which version table the kernel will consult.
    pub fn version_format(&self) -> VersionFormat {
        if self.ext_versions.is_some() {
            VersionFormat::Extended
        } else if self.has_versions {
            VersionFormat::Basic
        } else {
            VersionFormat::None
        }
    }

    /// The versions the kernel checks: the extended table when present (6.14+ `check_version`
    /// "If we have extended version info, rely on it"), else `__versions`.
    pub fn effective_versions(&self) -> &[Version] {
        match &self.ext_versions {
            Some(ext) => ext,
            None => &self.versions,
        }
    }

    /// The version recorded for `symbol`, as `check_version` finds it (first match).
    pub fn version_of(&self, symbol: &str) -> Option<u32> {
        self.effective_versions()
            .iter()
            .find(|v| v.name == symbol)
            .map(|v| v.crc)
    }

    /// The first value of `.modinfo` tag `key`, as the kernel's `get_modinfo` returns it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.modinfo
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `.modinfo` tag `key` (`import_ns` may repeat).
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.modinfo
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What `dump --verify` compares with a table, from one module: the versions the loader checks
/// ([`ModuleInfo::effective_versions`]) and what it allows of namespaces (kernel/module/main.c
/// `verify_namespace_is_imported`): the `import_ns` tags, and the name of an in-tree module
/// (`module:` namespaces). Read without the undefined symbols and the other `.modinfo` tags,
/// which a cross-check does not need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleImports {
    /// The versions the loader checks: `__version_ext_*` when present, else `__versions`.
    pub versions: Vec<Version>,
    /// True when the module has a version table at all.
    pub has_versions: bool,
    /// `import_ns=` tags.
    pub import_ns: Vec<String>,
    /// `name=` of a module with `intree=Y`, which `module:NAME` namespaces may allow.
    pub in_tree_name: Option<String>,
    /// The module's undefined symbols, read only when it has no version table (a kernel
    /// without CONFIG_MODVERSIONS): then only namespaces can be checked, and these say what
    /// it imports.
    pub unversioned: Vec<String>,
}

/// Read what [`ModuleImports`] holds from a module already parsed.
pub fn read_imports(elf: &Elf) -> Result<ModuleImports, Problem> {
    let (has_basic, basic) = match elf.section_by_name("__versions") {
        Some((i, _)) => (true, read_versions(elf, elf.section_data(i)?)?),
        None => (false, Vec::new()),
    };
    let ext = read_ext_versions(elf)?;
    let has_versions = has_basic || ext.is_some();
    let versions = ext.unwrap_or(basic);
    let mut import_ns = Vec::new();
    let (mut name, mut in_tree) = (None, false);
    if let Some((i, _)) = elf.section_by_name(".modinfo") {
        for tag in elf.section_data(i)?.split(|&b| b == 0) {
            if let Some(ns) = tag.strip_prefix(b"import_ns=") {
                import_ns.push(String::from_utf8_lossy(ns).into_owned());
            } else if let Some(n) = tag.strip_prefix(b"name=") {
                name.get_or_insert_with(|| String::from_utf8_lossy(n).into_owned());
            } else if tag.starts_with(b"intree=") {
                in_tree = true;
            }
        }
    }
    let unversioned = if has_versions {
        Vec::new()
    } else {
        elf.undefined_symbols()?
            .into_iter()
            .map(|import| import.name)
            .collect()
    };
    Ok(ModuleImports {
        versions,
        has_versions,
        import_ns,
        in_tree_name: name.filter(|_| in_tree),
        unversioned,
    })
}

/// Read the loader-facing parts of a module from its ELF bytes.
pub fn read(data: &[u8]) -> Result<ModuleInfo, Problem> {
    read_elf(&Elf::parse_module(data)?)
}

/// Like [`read`], on a module already parsed (see [`Elf::parse_module`]).
pub fn read_elf(elf: &Elf) -> Result<ModuleInfo, Problem> {
    let (has_versions, versions) = match elf.section_by_name("__versions") {
        Some((i, _)) => (true, read_versions(elf, elf.section_data(i)?)?),
        None => (false, Vec::new()),
    };
    let ext_versions = read_ext_versions(elf)?;
    let modinfo = match elf.section_by_name(".modinfo") {
        Some((i, _)) => parse_modinfo(elf.section_data(i)?),
        None => Vec::new(),
    };
    let imports = elf.undefined_symbols()?;
    Ok(ModuleInfo {
        class: elf.class,
        endian: elf.endian,
        machine: elf.machine,
        versions,
        has_versions,
        ext_versions,
        modinfo,
        imports,
    })
}

/// `struct modversion_info { unsigned long crc; char name[MODULE_NAME_LEN]; }` with
/// `MODULE_NAME_LEN = 64 - sizeof(unsigned long)`: 64-byte records on every architecture, the CRC
/// in a native word (include/linux/module.h; scripts/mod/modpost.c `add_versions`).
fn read_versions(elf: &Elf, data: &[u8]) -> Result<Vec<Version>, Problem> {
    const RECORD: usize = 64;
    if !data.len().is_multiple_of(RECORD) {
        return Err(Problem::Elf(format!(
            "__versions is {} bytes, not a multiple of the {RECORD}-byte modversion_info",
            data.len()
        )));
    }
    let word = elf.class.word_size();
    let mut out = Vec::with_capacity(data.len() / RECORD);
    for record in data.chunks_exact(RECORD) {
        let crc = elf.read_word(record, 0).unwrap_or(0) as u32;
        let name_field = record.get(word..).unwrap_or(&[]);
        // modpost refuses names that do not fit with their NUL; a full field is damage.
        let name = c_str(name_field, 0).ok_or_else(|| {
            Problem::Elf("__versions record whose name is not NUL-terminated".into())
        })?;
        out.push(Version {
            crc,
            name: String::from_utf8_lossy(name).into_owned(),
        });
    }
    Ok(out)
}

/// 6.14+ (CONFIG_EXTENDED_MODVERSIONS, scripts/mod/modpost.c `add_extended_versions`):
/// `__version_ext_crcs` is an array of 32-bit CRCs and `__version_ext_names` the matching
/// NUL-terminated names, index-parallel, so names of any length (Rust) fit.
fn read_ext_versions(elf: &Elf) -> Result<Option<Vec<Version>>, Problem> {
    let crcs = elf.section_by_name("__version_ext_crcs");
    let names = elf.section_by_name("__version_ext_names");
    let (crcs, names) = match (crcs, names) {
        (None, None) => return Ok(None),
        (Some((c, _)), Some((n, _))) => (elf.section_data(c)?, elf.section_data(n)?),
        _ => {
            return Err(Problem::Elf(
                "only one of __version_ext_crcs and __version_ext_names is present".into(),
            ))
        }
    };
    if crcs.len() % 4 != 0 {
        return Err(Problem::Elf(format!(
            "__version_ext_crcs is {} bytes, not a multiple of 4",
            crcs.len()
        )));
    }
    let mut list: Vec<&[u8]> = names.split(|&b| b == 0).collect();
    // The section ends with the last name's NUL, which leaves one empty piece after it.
    if list.last().is_some_and(|s| s.is_empty()) {
        list.pop();
    }
    let count = crcs.len() / 4;
    if list.len() != count {
        return Err(Problem::Elf(format!(
            "__version_ext_crcs has {count} CRCs but __version_ext_names has {} names",
            list.len()
        )));
    }
    let mut out = Vec::with_capacity(count);
    for (i, name) in list.into_iter().enumerate() {
        let crc = elf.read_u32(crcs, i * 4).unwrap_or(0);
        out.push(Version {
            crc,
            name: String::from_utf8_lossy(name).into_owned(),
        });
    }
    Ok(Some(out))
}

/// `.modinfo` is a run of NUL-terminated `tag=value` strings, possibly padded with extra NULs
/// (kernel/module/main.c `module_next_tag_pair`). Strings without `=` are skipped, as there.
pub fn parse_modinfo(data: &[u8]) -> Vec<(String, String)> {
    data.split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .filter_map(|s| {
            let text = String::from_utf8_lossy(s);
            let (k, v) = text.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests;
