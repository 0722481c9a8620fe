//! Locating a kernel release's image and modules folder, as distributions install them.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// What the user said about where the kernel is; everything optional.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// Resolve every default path under this folder (like `depmod -b`).
    pub root: Option<PathBuf>,
    /// The kernel release (`uname -r`); default: the running kernel, or the only one under `root`.
    pub release: Option<String>,
    /// The kernel image, overriding the search.
    pub image: Option<PathBuf>,
    /// The modules folder, overriding the search.
    pub modules: Option<PathBuf>,
}

/// The files that make up one installed kernel.
#[derive(Debug, Clone, Serialize)]
pub struct Located {
    /// The release, when known.
    pub release: Option<String>,
    /// The kernel image.
    pub image: PathBuf,
    /// The modules folder (`…/lib/modules/REL`), when one is used.
    pub modules: Option<PathBuf>,
}

/// The folders that hold `modules/REL` under a root, in search order.
const MODULE_BASES: [&str; 2] = ["lib/modules", "usr/lib/modules"];

impl Source {
    fn root(&self) -> &Path {
        self.root.as_deref().unwrap_or(Path::new("/"))
    }

    /// Resolve the release: given, the only one under `--root`, or the running kernel's.
    pub fn resolve_release(&self) -> Result<String> {
        if let Some(rel) = &self.release {
            return Ok(rel.clone());
        }
        if let Some(root) = &self.root {
            let mut releases = releases_under(root);
            return match releases.len() {
                1 => Ok(releases.remove(0)),
                0 => Err(Error::NotFound {
                    what: "kernel release (a folder with modules)".into(),
                    searched: MODULE_BASES.iter().map(|b| root.join(b)).collect(),
                }),
                _ => Err(Error::AmbiguousRelease {
                    root: root.clone(),
                    releases,
                }),
            };
        }
        let osrelease = Path::new("/proc/sys/kernel/osrelease");
        std::fs::read_to_string(osrelease)
            .map(|s| s.trim().to_string())
            .map_err(|e| Error::io(osrelease, e))
    }

    /// Find the modules folder and the image.
    pub fn locate(&self) -> Result<Located> {
        // With both files given there is nothing to search.
        if let (Some(image), Some(modules)) = (&self.image, &self.modules) {
            return Ok(Located {
                release: self
                    .release
                    .clone()
                    .or_else(|| release_of_modules_dir(modules)),
                image: image.clone(),
                modules: Some(modules.clone()),
            });
        }
        let release = self.resolve_release()?;
        let root = self.root();
        let modules = match &self.modules {
            Some(m) => m.clone(),
            None => {
                let candidates: Vec<PathBuf> = MODULE_BASES
                    .iter()
                    .map(|b| root.join(b).join(&release))
                    .collect();
                first_existing(&candidates, Path::is_dir).ok_or_else(|| Error::NotFound {
                    what: format!("modules folder for {release}"),
                    searched: candidates.clone(),
                })?
            }
        };
        let image = match &self.image {
            Some(i) => i.clone(),
            None => self.find_image(&release)?,
        };
        Ok(Located {
            release: Some(release),
            image,
            modules: Some(modules),
        })
    }

    /// Find the image alone: `image` as given, or the first image found for the release; no
    /// modules folder is looked for.
    pub fn locate_image(&self) -> Result<Located> {
        if let Some(image) = &self.image {
            return Ok(Located {
                release: self.release.clone(),
                image: image.clone(),
                modules: None,
            });
        }
        let release = self.resolve_release()?;
        Ok(Located {
            image: self.find_image(&release)?,
            release: Some(release),
            modules: None,
        })
    }

    /// The first image of `release` under the root.
    fn find_image(&self, release: &str) -> Result<PathBuf> {
        let candidates = image_candidates(self.root(), release);
        first_existing(&candidates, Path::is_file).ok_or_else(|| Error::NotFound {
            what: format!("kernel image for {release}"),
            searched: candidates.clone(),
        })
    }
}

/// Every place a distribution may install the image of `release`, in search order.
pub fn image_candidates(root: &Path, release: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for name in ["vmlinuz", "vmlinux", "Image", "kernel", "zImage", "uImage"] {
        out.push(root.join("boot").join(format!("{name}-{release}")));
    }
    for base in ["usr/lib/modules", "lib/modules"] {
        for name in ["vmlinuz", "vmlinux", "Image"] {
            out.push(root.join(base).join(release).join(name));
        }
    }
    // The kernel-install (Boot Loader Specification) layout: /boot/<entry-token>/<release>/linux.
    for base in ["boot", "efi", "boot/efi"] {
        if let Ok(entries) = std::fs::read_dir(root.join(base)) {
            let mut tokens: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect();
            tokens.sort();
            for token in tokens {
                out.push(token.join(release).join("linux"));
            }
        }
    }
    out
}

/// Releases with a modules folder under `root`, sorted and without duplicates.
pub fn releases_under(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for base in MODULE_BASES {
        let Ok(entries) = std::fs::read_dir(root.join(base)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            // A release folder has modules (kernel/) or at least depmod's output.
            if path.join("kernel").is_dir() || path.join("modules.dep").is_file() {
                if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                    out.push(name.to_string());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn release_of_modules_dir(dir: &Path) -> Option<String> {
    let name = dir.file_name()?.to_str()?;
    dir.parent()
        .is_some_and(|p| p.ends_with("modules"))
        .then(|| name.to_string())
}

fn first_existing(candidates: &[PathBuf], test: fn(&Path) -> bool) -> Option<PathBuf> {
    candidates.iter().find(|p| test(p)).cloned()
}

#[cfg(test)]
mod tests;
