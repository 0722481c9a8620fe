//! The kernel's configuration, as kbuild's `.config` text: from the kernel itself when it was
//! built with `CONFIG_IKCONFIG`, else from the file a distribution installs next to it.
//!
//! `CONFIG_IKCONFIG` puts the gzip'd `.config` between two markers, `IKCFG_ST` and `IKCFG_ED`
//! (kernel/configs.c; the same layout since Linux 2.6), in the kernel (`=y`) or in the `configs`
//! module (`=m`, `kernel/kernel/configs.ko`); with `CONFIG_IKCONFIG_PROC` the running kernel
//! also shows it as `/proc/config.gz`. Distributions install the file as `/boot/config-REL`
//! (Debian, Ubuntu, SUSE) or `/lib/modules/REL/config` (Fedora, and `/usr/lib/modules/REL/config`
//! with a merged /usr).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::banner::{self, Banner};
use crate::decompress::{self, Compression};
use crate::error::{Error, Problem, Result};

/// The marker before the gzip'd configuration (kernel/configs.c).
pub const IKCFG_START: &[u8] = b"IKCFG_ST";
/// The marker after it.
pub const IKCFG_END: &[u8] = b"IKCFG_ED";
/// Limit on a configuration's size, in bytes (a distribution's is about 300 KB).
pub const CONFIG_LIMIT: u64 = 64 << 20;

/// Where a configuration came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "path", rename_all = "kebab-case")]
pub enum ConfigSource {
    /// `CONFIG_IKCONFIG=y` data inside this kernel image.
    Image(PathBuf),
    /// `CONFIG_IKCONFIG=m` data inside this `configs` module.
    Module(PathBuf),
    /// A configuration file (`/boot/config-REL`, `/lib/modules/REL/config`, `/proc/config.gz`,
    /// or one the user named); plain or compressed.
    File(PathBuf),
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigSource::Image(p) => write!(f, "IKCONFIG in the image {}", p.display()),
            ConfigSource::Module(p) => write!(f, "IKCONFIG in the module {}", p.display()),
            ConfigSource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A kernel configuration and where it came from.
#[derive(Debug, Clone)]
pub struct KernelConfig {
    /// The `.config` text.
    pub text: String,
    /// Where it was read.
    pub source: ConfigSource,
}

/// The configuration embedded in `data` (decompressed kernel bytes, or a module's ELF bytes) by
/// `CONFIG_IKCONFIG`: the gzip stream after the first `IKCFG_ST` marker that a gzip header follows,
/// as scripts/extract-ikconfig looks for it. `Ok(None)` when there is none; an error when the
/// data is there but does not decode to a configuration.
pub fn find_ikconfig(data: &[u8]) -> Result<Option<String>, Problem> {
    // Marker, then gzip magic and the deflate method byte.
    const START: &[u8] = b"IKCFG_ST\x1f\x8b\x08";
    let Some(at) = memchr::memmem::find(data, START) else {
        return Ok(None);
    };
    let stream = &data[at + IKCFG_START.len()..];
    // The decoder stops at the end of the gzip member; the end marker follows it.
    let bytes = decompress::decompress(stream, Compression::Gzip, CONFIG_LIMIT)
        .map_err(|p| Problem::Config(format!("the CONFIG_IKCONFIG data at offset {at:#x}: {p}")))?;
    let text = config_text(bytes).map_err(|what| {
        Problem::Config(format!("the CONFIG_IKCONFIG data at offset {at:#x} {what}"))
    })?;
    Ok(Some(text))
}

/// The bytes of a configuration as text: UTF-8 with at least one `CONFIG_` option.
fn config_text(bytes: Vec<u8>) -> std::result::Result<String, &'static str> {
    let text = String::from_utf8(bytes).map_err(|_| "is not text (not UTF-8)")?;
    let has_option = text
        .lines()
        .any(|l| l.starts_with("CONFIG_") || l.starts_with("# CONFIG_"));
    if has_option {
        Ok(text)
    } else {
        Err("holds no CONFIG_ option: not a kernel configuration")
    }
}

/// Read a configuration file: plain text, or compressed in any format the kernel uses
/// (`/proc/config.gz`), at most [`CONFIG_LIMIT`] bytes. Errors name `path`.
pub fn read_file(path: &Path) -> Result<String> {
    let data = crate::input::read_regular(path, CONFIG_LIMIT)?;
    let bytes = match Compression::sniff(&data) {
        Some(format) => decompress::decompress(&data, format, CONFIG_LIMIT)
            .map_err(|p| Error::format(path, p))?,
        None => data,
    };
    config_text(bytes).map_err(|what| Error::format(path, Problem::Config(format!("it {what}"))))
}

/// Where to look for a kernel's configuration.
#[derive(Debug, Clone, Copy)]
pub struct Lookup<'a> {
    /// Every default path is resolved under this folder (`/` for the running system).
    pub root: &'a Path,
    /// The kernel release, for the installed files' names.
    pub release: Option<&'a str>,
    /// The image file and its unwrapped kernel bytes, to search for IKCONFIG data.
    pub kernel: Option<(&'a Path, &'a [u8])>,
    /// The modules folder, to search for the `configs` module.
    pub modules: Option<&'a Path>,
    /// The image file, for a `config-REL` beside it (an unpacked package, a copied `/boot`).
    pub image: Option<&'a Path>,
    /// The release is the running kernel's on this system: `/proc/config.gz` describes it.
    pub running: bool,
}

/// Find the configuration: IKCONFIG data in the kernel, then in its `configs` module, then the
/// installed files `/boot/config-REL`, `/lib/modules/REL/config`, `/usr/lib/modules/REL/config`,
/// `config-REL` beside the image, then `/proc/config.gz` (running kernel only). The first found is read; an error when none is
/// found lists every place searched, and one that is found but damaged is an error too.
pub fn locate(lookup: &Lookup) -> Result<KernelConfig> {
    let mut searched = Vec::new();
    if let Some((path, bytes)) = lookup.kernel {
        searched.push(path.to_path_buf());
        if let Some(text) = find_ikconfig(bytes).map_err(|p| Error::format(path, p))? {
            return Ok(KernelConfig {
                text,
                source: ConfigSource::Image(path.to_path_buf()),
            });
        }
    }
    if let Some(modules) = lookup.modules {
        let folder = modules.join("kernel/kernel");
        match configs_module(&folder) {
            Some(path) => {
                let mut buffer = Vec::new();
                let found = crate::modtree::with_module_bytes(
                    &path,
                    crate::modtree::DEFAULT_MODULE_LIMIT,
                    &mut buffer,
                    |elf| find_ikconfig(elf).map_err(|p| Error::format(&path, p)),
                )?;
                let text = found.ok_or_else(|| {
                    Error::format(
                        &path,
                        Problem::Config(
                            "the configs module holds no IKCFG_ST marker followed by gzip data"
                                .into(),
                        ),
                    )
                })?;
                return Ok(KernelConfig {
                    text,
                    source: ConfigSource::Module(path),
                });
            }
            None => searched.push(folder.join("configs.ko*")),
        }
    }
    for path in file_candidates(lookup) {
        if path.is_file() {
            return Ok(KernelConfig {
                text: read_file(&path)?,
                source: ConfigSource::File(path),
            });
        }
        searched.push(path);
    }
    Err(Error::NotFound {
        what: match lookup.release {
            Some(rel) => {
                format!("kernel configuration of {rel} (CONFIG_IKCONFIG data or a config file)")
            }
            None => "kernel configuration (CONFIG_IKCONFIG data or a config file)".into(),
        },
        searched,
    })
}

/// `configs.ko`, `configs.ko.xz`, … in `folder`, if there is one.
fn configs_module(folder: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(folder)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n == "configs.ko" || n.starts_with("configs.ko."))
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

/// The installed configuration files of `lookup`, in search order.
fn file_candidates(lookup: &Lookup) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(rel) = lookup.release {
        out.push(lookup.root.join("boot").join(format!("config-{rel}")));
        for base in ["lib/modules", "usr/lib/modules"] {
            out.push(lookup.root.join(base).join(rel).join("config"));
        }
        if let Some(dir) = lookup.image.and_then(Path::parent) {
            let beside = dir.join(format!("config-{rel}"));
            if !out.contains(&beside) {
                out.push(beside);
            }
        }
    }
    if lookup.running {
        out.push(PathBuf::from("/proc/config.gz"));
    }
    out
}

/// The raw value of option `name` (`CONFIG_FOO`) in a `.config` text: `y`, `m`, `"text"`,
/// `0x10`…; `None` when the option is unset or absent.
pub fn get<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}

/// The value of string option `name`, unquoted (Kconfig escapes `"` and `\` with `\`).
pub fn get_string(text: &str, name: &str) -> Option<String> {
    let raw = get(text, name)?;
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    Some(out)
}

/// `s` as a Kconfig string value, quoted and escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `text` with option `name` set to `value` (a raw value such as `y` or a [`quote`]d string), or
/// unset (`# CONFIG_FOO is not set`) when `value` is `None`. The option's line is replaced where
/// it is; an option the text lacks is appended.
pub fn set(text: &str, name: &str, value: Option<&str>) -> String {
    let line = match value {
        Some(v) => format!("{name}={v}"),
        None => format!("# {name} is not set"),
    };
    let unset = format!("# {name} is not set");
    let is_option =
        |l: &str| l == unset || l.strip_prefix(name).is_some_and(|r| r.starts_with('='));
    let mut out = String::with_capacity(text.len() + line.len() + 1);
    let mut replaced = false;
    for l in text.lines() {
        if is_option(l) {
            if !replaced {
                out.push_str(&line);
                out.push('\n');
                replaced = true;
            }
        } else {
            out.push_str(l);
            out.push('\n');
        }
    }
    if !replaced {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The option lines of a `.config` text (`CONFIG_FOO=…`), without comments: what two
/// configurations are compared by.
pub fn option_lines(text: &str) -> std::collections::BTreeSet<&str> {
    text.lines().filter(|l| l.starts_with("CONFIG_")).collect()
}

/// Ways in which a configuration does not fit the kernel whose banner is `banner`: a different
/// compiler (`CONFIG_CC_VERSION_TEXT`, 5.8+, is the same `--version` line the banner quotes) or a
/// `CONFIG_LOCALVERSION` that the release does not contain. Empty when everything fits or
/// nothing can be compared.
pub fn mismatches(text: &str, banner: &Banner) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(cc) = get_string(text, "CONFIG_CC_VERSION_TEXT") {
        // Before 5.8 the banner quotes `gcc -v`'s line, a different wording: compare versions.
        let same = cc == banner.compiler
            || (banner.compiler.starts_with("gcc version ")
                && banner::compiler_version(&cc) == banner::compiler_version(&banner.compiler));
        if !same {
            out.push(format!(
                "the configuration names the compiler \"{cc}\", the kernel was built with \"{}\"",
                banner.compiler
            ));
        }
    }
    if let Some(local) = get_string(text, "CONFIG_LOCALVERSION") {
        let auto = get(text, "CONFIG_LOCALVERSION_AUTO") == Some("y");
        // The release is the version, `localversion*` files, CONFIG_LOCALVERSION, then maybe
        // `LOCALVERSION` and a version-control suffix (scripts/setlocalversion).
        if !local.is_empty() && !auto && !banner.release.contains(&local) {
            out.push(format!(
                "the configuration's CONFIG_LOCALVERSION \"{local}\" is not part of the kernel's release {}",
                banner.release
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests;
