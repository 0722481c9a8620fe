//! What an installed kernel shows about its module loader beyond the export table: its
//! configuration (`/boot/config-REL`, as every major distribution installs it), and who built
//! it (the `linux_banner` in the image).
//!
//! Two loader behaviours differ between kernels of one version and are not in the table:
//!
//! - CONFIG_MODULE_FORCE_LOAD: a module without a version table (or vermagic) loads, tainting
//!   the kernel, instead of being refused (kernel/module/main.c `try_to_force_load`). The
//!   kernel's config says it.
//! - A missing symbol version: mainline warns once and loads ("no symbol version for X",
//!   kernel/module/version.c); Debian's kernels refuse (debian/patches "module: Disable
//!   matching missing version CRC", December 2016, so Linux 4.9 and later). Nothing in the
//!   config or the loader's strings tells the two apart (the message is the same); the banner
//!   does, when it names Debian's build: "(debian-kernel@lists.debian.org) … Debian 6.1.176-1".

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::banner::Banner;
use crate::error::{Error, Problem, Result};

/// Largest kernel config read (Debian's are 250–300 KiB).
pub const CONFIG_LIMIT: u64 = 16 << 20;

/// A kernel configuration (`.config` format): `CONFIG_X=VALUE` and `# CONFIG_X is not set`.
#[derive(Debug, Clone, Default)]
pub struct KernelConfig {
    /// Where it was read.
    pub path: PathBuf,
    values: HashMap<String, String>,
}

impl KernelConfig {
    /// Parse `.config` text (`path` is kept for messages). Lines of other shapes are ignored, as
    /// Kconfig ignores them.
    pub fn parse(text: &str, path: &Path) -> Self {
        let mut values = HashMap::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(name) = line
                .strip_prefix("# ")
                .and_then(|l| l.strip_suffix(" is not set"))
            {
                values.insert(name.to_string(), "n".to_string());
            } else if let Some((name, value)) = line.split_once('=') {
                if name.starts_with("CONFIG_") {
                    values.insert(name.to_string(), value.trim_matches('"').to_string());
                }
            }
        }
        KernelConfig {
            path: path.to_path_buf(),
            values,
        }
    }

    /// Read a config file, plain or compressed (`/proc/config.gz`; the format is sniffed).
    pub fn read(path: &Path) -> Result<Self> {
        let data = crate::input::read_regular(path, CONFIG_LIMIT)?;
        let text = match crate::decompress::Compression::sniff(&data) {
            Some(format) => crate::decompress::decompress(&data, format, CONFIG_LIMIT)
                .map_err(|p| Error::format(path, p))?,
            None => data,
        };
        let text = String::from_utf8(text).map_err(|e| {
            Error::format(
                path,
                Problem::Symvers {
                    line: 0,
                    detail: format!(
                        "a kernel config that is not UTF-8 text (byte {})",
                        e.utf8_error().valid_up_to()
                    ),
                },
            )
        })?;
        let config = Self::parse(&text, path);
        if config.values.is_empty() {
            return Err(Error::format(
                path,
                Problem::Symvers {
                    line: 0,
                    detail: "no CONFIG_ line: not a kernel config".into(),
                },
            ));
        }
        Ok(config)
    }

    /// The value of `name` (`y`, `m`, `n` for "is not set", or the string without quotes).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// True when `name` is `y` or `m`. An option the file does not list at all was not
    /// selectable (its dependencies were off): not set either.
    pub fn enabled(&self, name: &str) -> bool {
        matches!(self.value(name), Some("y" | "m"))
    }
}

/// Where distributions install the config of release `release`, under `root`: `/boot/config-REL`
/// (Debian, Ubuntu, Fedora, SUSE, Arch's kernel-install), `/lib/modules/REL/config` and
/// `/usr/lib/modules/REL/config` (Fedora's and Arch's modules folder), and `config-REL` next to
/// the image.
pub fn config_candidates(root: &Path, release: Option<&str>, image: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(rel) = release {
        out.push(root.join(format!("boot/config-{rel}")));
        out.push(root.join(format!("lib/modules/{rel}/config")));
        out.push(root.join(format!("usr/lib/modules/{rel}/config")));
        if let Some(dir) = image.parent() {
            let beside = dir.join(format!("config-{rel}"));
            if !out.contains(&beside) {
                out.push(beside);
            }
        }
    }
    out
}

/// A loader behaviour: known (with where it was learned) or not (with why not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fact {
    /// The behaviour, when known.
    pub value: Option<bool>,
    /// Where it was learned, or why it is not known.
    pub source: String,
}

/// The Debian version in the banner of Debian's own build ("Debian 6.1.176-1"), recognised by the
/// builder Debian's packaging sets (KBUILD_BUILD_USER/HOST "debian-kernel@lists.debian.org")
/// and the version it writes after the build number (KBUILD_BUILD_VERSION_TIMESTAMP).
pub fn debian_build(banner: &Banner) -> Option<String> {
    if banner.builder != "debian-kernel@lists.debian.org" {
        return None;
    }
    let mut words = banner.version.split_whitespace();
    words.find(|w| *w == "Debian")?;
    let version = words.next()?;
    version
        .starts_with(|c: char| c.is_ascii_digit())
        .then(|| format!("Debian {version}"))
}

/// Whether the kernel refuses a module that lacks one symbol's version, from its banner.
pub fn strict_versions(banner: Option<&Banner>) -> Fact {
    let Some(banner) = banner else {
        return Fact {
            value: None,
            source:
                "the kernel's banner (\"Linux version …\") was not found, so its builder is unknown"
                    .into(),
        };
    };
    match debian_build(banner) {
        Some(version) => {
            let upstream: Vec<u32> = version["Debian ".len()..]
                .split(|c: char| !c.is_ascii_digit())
                .take(2)
                .filter_map(|n| n.parse().ok())
                .collect();
            if upstream.as_slice() >= [4, 9].as_slice() {
                Fact {
                    value: Some(true),
                    source: format!(
                        "the banner names Debian's build ({version}), which refuses a missing symbol version (Debian's patch \"module: Disable matching missing version CRC\")"
                    ),
                }
            } else {
                Fact {
                    value: None,
                    source: format!(
                        "the banner names Debian's build ({version}), older than Debian's patch that refuses a missing symbol version (Linux 4.9)"
                    ),
                }
            }
        }
        None => Fact {
            value: None,
            source: format!(
                "the banner (built by {}, {}) names no build known to patch this (Debian's kernels refuse, mainline warns)",
                banner.builder, banner.version
            ),
        },
    }
}

/// Whether the kernel has CONFIG_MODULE_FORCE_LOAD, from its config (`searched` lists where
/// one was looked for when none was found).
pub fn force_load(config: Option<&KernelConfig>, searched: &[PathBuf]) -> Fact {
    match config {
        Some(c) => Fact {
            value: Some(c.enabled("CONFIG_MODULE_FORCE_LOAD")),
            source: format!("{}", c.path.display()),
        },
        None if searched.is_empty() => Fact {
            value: None,
            source: "the release is unknown, so no kernel config was looked for".into(),
        },
        None => Fact {
            value: None,
            source: format!(
                "no kernel config found (searched {})",
                searched
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    }
}

#[cfg(test)]
mod tests;
