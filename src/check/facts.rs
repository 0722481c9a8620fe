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

use std::path::PathBuf;

use serde::Serialize;

use crate::banner::Banner;
use crate::config::{self, KernelConfig};

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
        // A bool option: `=y` or absent ("is not set", or not selectable).
        Some(c) => Fact {
            value: Some(config::get(&c.text, "CONFIG_MODULE_FORCE_LOAD") == Some("y")),
            source: c.source.to_string(),
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
