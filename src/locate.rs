//! Locating a kernel release's image and modules folder, as distributions install them.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// What the user said about where the kernel is; everything optional.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// Resolve every default path under this folder (like `depmod -b`); symbolic links met on
    /// the way resolve inside it ([`resolve_in_root`]).
    pub root: Option<PathBuf>,
    /// The kernel release (`uname -r`); default: the running kernel, or the only one under `root`.
    pub release: Option<String>,
    /// The kernel image, overriding the search.
    pub image: Option<PathBuf>,
    /// The modules folders, overriding the search (several: Android's `vendor_dlkm`,
    /// `system_dlkm` and vendor ramdisk modules; the table is their union in this order).
    pub modules: Vec<PathBuf>,
}

/// The files that make up one installed kernel.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Located {
    /// The release, when known.
    pub release: Option<String>,
    /// The kernel image, when one was given or found by its name (`None`: see
    /// [`Located::unnamed_images`], or no image is needed).
    pub image: Option<PathBuf>,
    /// The modules folders (`…/lib/modules/REL`), when any are used.
    pub modules: Vec<PathBuf>,
    /// When no image carries the release in its name: images whose names do not say their
    /// release (`/boot/firmware/kernel8.img`, Alpine's `/boot/vmlinuz-lts`, NixOS's
    /// `/run/booted-system/kernel`), in search order; the one whose banner names the release is
    /// the kernel's (`dump::find_image_by_banner`).
    #[serde(skip)]
    pub unnamed_images: Vec<PathBuf>,
    /// Every place an image was looked for, for the error when none is found.
    #[serde(skip)]
    pub images_searched: Vec<PathBuf>,
}

impl Located {
    /// The first modules folder, when there is one.
    pub fn modules_dir(&self) -> Option<&Path> {
        self.modules.first().map(PathBuf::as_path)
    }

    /// The error for an image that was needed and not found.
    pub fn image_not_found(&self) -> Error {
        Error::NotFound {
            what: match &self.release {
                Some(rel) => format!("kernel image for {rel}"),
                None => "kernel image".into(),
            },
            searched: self.images_searched.clone(),
        }
    }
}

/// The folders that hold `modules/REL` under a root, in search order: the usual two, then
/// NixOS's system profiles (the booted one, the current one, the default profile), whose
/// modules live in the Nix store behind absolute links.
pub const MODULE_BASES: [&str; 5] = [
    "lib/modules",
    "usr/lib/modules",
    "run/booted-system/kernel-modules/lib/modules",
    "run/current-system/kernel-modules/lib/modules",
    "nix/var/nix/profiles/system/kernel-modules/lib/modules",
];

/// NixOS's system profiles: each holds `kernel` (the image) and `kernel-modules/lib/modules`.
const NIX_PROFILES: [&str; 3] = [
    "run/booted-system",
    "run/current-system",
    "nix/var/nix/profiles/system",
];

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

    /// The modules folders given, each checked not to be a folder of modules folders
    /// ([`Error::ModulesParent`]).
    fn given_modules(&self) -> Result<Vec<PathBuf>> {
        for dir in &self.modules {
            let releases = release_folders(dir);
            if !releases.is_empty() {
                return Err(Error::ModulesParent {
                    dir: dir.clone(),
                    releases,
                });
            }
        }
        Ok(self.modules.clone())
    }

    /// The modules folders: as given, else the first `MODULE_BASE/release` under the root.
    /// The error when there is none suggests `--modules` and `--vmlinux-only`.
    pub fn find_modules(&self, release: &str) -> Result<Vec<PathBuf>> {
        if !self.modules.is_empty() {
            return self.given_modules();
        }
        let root = self.root();
        let candidates: Vec<PathBuf> = MODULE_BASES
            .iter()
            .map(|b| under_root(root, Path::new(b).join(release)))
            .collect();
        match candidates.iter().find(|p| p.is_dir()) {
            Some(found) => Ok(vec![found.clone()]),
            None => Err(Error::ModulesNotFound {
                release: release.to_string(),
                searched: candidates,
            }),
        }
    }

    /// Find the modules folders and the image: the image given, else the first named for the
    /// release, else (in [`Located::unnamed_images`]) those to be matched by their banner.
    pub fn locate(&self) -> Result<Located> {
        // With both given there is nothing to search.
        if let (Some(image), false) = (&self.image, self.modules.is_empty()) {
            return Ok(Located {
                release: self
                    .release
                    .clone()
                    .or_else(|| self.modules.first().and_then(|m| release_of_modules_dir(m))),
                image: Some(image.clone()),
                modules: self.given_modules()?,
                ..Located::default()
            });
        }
        let release = self.resolve_release()?;
        let modules = self.find_modules(&release)?;
        let mut located = self.locate_image_of(release)?;
        located.modules = modules;
        Ok(located)
    }

    /// Find the image alone: `image` as given, or the image of the release (see
    /// [`Source::locate`]); no modules folder is looked for.
    pub fn locate_image(&self) -> Result<Located> {
        if let Some(image) = &self.image {
            return Ok(Located {
                release: self.release.clone(),
                image: Some(image.clone()),
                ..Located::default()
            });
        }
        self.locate_image_of(self.resolve_release()?)
    }

    /// Find the modules folders, and the image only if there is one (`--modules-only`: module
    /// sets such as Android's vendor_dlkm come without one).
    pub fn locate_modules(&self) -> Result<Located> {
        let release = match (&self.release, self.modules.first()) {
            (Some(rel), _) => Some(rel.clone()),
            // Module sets without a release folder (Android's vendor_dlkm) need none.
            (None, Some(dir)) => release_of_modules_dir(dir),
            (None, None) => Some(self.resolve_release()?),
        };
        let modules = match &release {
            Some(rel) => self.find_modules(rel)?,
            None => self.given_modules()?,
        };
        let mut located = match (&self.image, &release) {
            (Some(image), _) => Located {
                image: Some(image.clone()),
                ..Located::default()
            },
            (None, Some(rel)) => self.locate_image_of(rel.clone()).unwrap_or_default(),
            (None, None) => Located::default(),
        };
        located.release = release;
        located.modules = modules;
        Ok(located)
    }

    /// The image of `release`: the first candidate named for it, else the unnamed ones.
    fn locate_image_of(&self, release: String) -> Result<Located> {
        let root = self.root();
        let named = image_candidates(root, &release);
        let mut located = Located {
            image: named.iter().find(|p| p.is_file()).cloned(),
            images_searched: named,
            ..Located::default()
        };
        if located.image.is_none() {
            let (unnamed, searched) = unnamed_image_candidates(root, &release);
            located.unnamed_images = unnamed;
            located.images_searched.extend(searched);
        }
        located.release = Some(release);
        if located.image.is_none() && located.unnamed_images.is_empty() {
            return Err(located.image_not_found());
        }
        Ok(located)
    }
}

/// Every place a distribution may install the image of `release` under a name that says the
/// release, in search order (docs/layouts.md has the whole table):
///
/// - `/boot/{vmlinuz,vmlinux,Image,image,kernel,zImage,uImage}-REL` (Debian, Ubuntu, Fedora,
///   openSUSE's `Image-` on arm64 and `image-` on s390x, …), then openSUSE's gzip'd ELF
///   `/boot/vmlinux-REL.gz` (or `.xz`, `.zst`);
/// - `/usr/lib/modules/REL/{vmlinuz,vmlinux,Image,vmlinux.gz,vmlinux.xz}` and the same under
///   `/lib/modules/REL` (Fedora, RHEL, Arch, openSUSE Tumbleweed);
/// - the kernel-install (Boot Loader Specification) layout `/{boot,efi,boot/efi}/<id>/REL/linux`.
///
/// Each path is resolved inside `root` ([`under_root`]).
pub fn image_candidates(root: &Path, release: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for name in [
        "vmlinuz", "vmlinux", "Image", "image", "kernel", "zImage", "uImage",
    ] {
        out.push(under_root(root, format!("boot/{name}-{release}")));
    }
    for ending in ["gz", "xz", "zst"] {
        out.push(under_root(root, format!("boot/vmlinux-{release}.{ending}")));
    }
    for base in ["usr/lib/modules", "lib/modules"] {
        for name in ["vmlinuz", "vmlinux", "Image", "vmlinux.gz", "vmlinux.xz"] {
            out.push(under_root(root, Path::new(base).join(release).join(name)));
        }
    }
    // The kernel-install (Boot Loader Specification) layout: /boot/<entry-token>/<release>/linux.
    for base in ["boot", "efi", "boot/efi"] {
        if let Ok(entries) = std::fs::read_dir(under_root(root, base)) {
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

/// Images under `root` whose names do not say their release, which may be `release`'s: NixOS's
/// `kernel` of each system profile, `/boot/vmlinuz-FLAVOUR` (Alpine: `vmlinuz-lts`, the
/// release's last `-` word first), the plain `/boot/{vmlinuz,Image,zImage}`, and Raspberry Pi's
/// `/boot/firmware/kernel*.img` and `/boot/kernel*.img` (several kernels side by side). Images
/// named for another release that has a modules folder are left out. Returns the existing ones
/// in search order, and every place looked at.
pub fn unnamed_image_candidates(root: &Path, release: &str) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let others: Vec<String> = releases_under(root)
        .into_iter()
        .filter(|r| r != release)
        .collect();
    let mut searched: Vec<PathBuf> = NIX_PROFILES
        .iter()
        .map(|p| under_root(root, Path::new(p).join("kernel")))
        .collect();
    if let Some(flavour) = release.rsplit('-').next().filter(|f| *f != release) {
        searched.push(under_root(root, format!("boot/vmlinuz-{flavour}")));
    }
    for name in ["vmlinuz", "Image", "zImage"] {
        searched.push(under_root(root, format!("boot/{name}")));
    }
    let listed = |dir: &str, keep: &dyn Fn(&str) -> bool| -> Vec<PathBuf> {
        let dir = under_root(root, dir);
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.file_name().to_str().is_some_and(keep))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    };
    let flavoured = |name: &str| {
        name.strip_prefix("vmlinuz-")
            .is_some_and(|rest| !others.iter().any(|r| r == rest) && rest != release)
    };
    searched.extend(listed("boot", &flavoured));
    let pi = |name: &str| name.starts_with("kernel") && name.ends_with(".img");
    searched.extend(listed("boot/firmware", &pi));
    searched.extend(listed("boot", &pi));
    searched.dedup();
    let found = searched.iter().filter(|p| p.is_file()).cloned().collect();
    (found, searched)
}

/// Releases with a modules folder under `root`, sorted and without duplicates.
pub fn releases_under(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for base in MODULE_BASES {
        let Ok(entries) = std::fs::read_dir(under_root(root, base)) else {
            continue;
        };
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            // A release folder has modules (kernel/, maybe a link) or at least depmod's output.
            let folder = Path::new(base).join(&name);
            if under_root(root, folder.join("kernel")).is_dir()
                || under_root(root, folder.join("modules.dep")).is_file()
            {
                out.push(name);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Where distributions install the Module.symvers of `release`, in search order, under `root`:
/// Fedora/RHEL and openSUSE `/boot/symvers-REL.gz` (`.xz`, `.zst`), the modules folder's
/// `symvers.{gz,xz,zst}` or `symvers` (Fedora, RHEL, openSUSE Tumbleweed), the modules folder's
/// `build` (a link to the headers, resolved inside `root`, or Arch's own folder), Debian's and
/// Ubuntu's `/usr/src/linux-headers-REL`, Fedora's `/usr/src/kernels/REL`.
pub fn symvers_candidates(root: &Path, release: &str, modules: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for ending in ["gz", "xz", "zst"] {
        out.push(under_root(root, format!("boot/symvers-{release}.{ending}")));
    }
    let modules = match modules {
        Some(dir) => dir.to_path_buf(),
        None => MODULE_BASES
            .iter()
            .map(|b| under_root(root, Path::new(b).join(release)))
            .find(|p| p.is_dir())
            .unwrap_or_else(|| root.join("lib/modules").join(release)),
    };
    for name in ["symvers.gz", "symvers.xz", "symvers.zst", "symvers"] {
        out.push(modules.join(name));
    }
    // `build` is usually an absolute link (/usr/src/linux-headers-REL): resolve it under root.
    let build = match modules.strip_prefix(root) {
        Ok(inside) => under_root(root, inside.join("build")),
        Err(_) => modules.join("build"),
    };
    out.push(build.join("Module.symvers"));
    out.push(under_root(
        root,
        Path::new("usr/src")
            .join(format!("linux-headers-{release}"))
            .join("Module.symvers"),
    ));
    out.push(under_root(
        root,
        Path::new("usr/src/kernels")
            .join(release)
            .join("Module.symvers"),
    ));
    out.dedup();
    out
}

/// Most symbolic links followed in one path, as Linux allows (`MAXSYMLINKS`, 40).
const MAX_LINKS: usize = 40;

/// `path`, a path under `root`, with every symbolic link in it resolved as the system installed
/// at `root` resolves it: an absolute link target starts again at `root`, and `..` never climbs
/// above it (as after chroot(2)). RPM systems' `weak-updates/` links point at
/// `/lib/modules/OTHER/extra/…`, merged-/usr roots make `/lib` a link to `usr/lib`: read from
/// the host, such links would lead to the host's own files.
///
/// Errors: `NotFound` when a component does not exist, `InvalidInput` when `path` is not under
/// `root`, and the `ELOOP` error after 40 links.
pub fn resolve_in_root(root: &Path, path: &Path) -> std::io::Result<PathBuf> {
    resolve(root, path, false)
}

/// `relative` joined to `root` with its links resolved inside the root ([`resolve_in_root`]);
/// from the first component that does not exist on, the rest is joined as it is (the path it
/// would be, for a test that says it is missing or a list of places searched).
pub fn under_root(root: &Path, relative: impl AsRef<Path>) -> PathBuf {
    let joined = root.join(relative);
    resolve(root, &joined, true).unwrap_or(joined)
}

/// [`resolve_in_root`]; `lenient`: a missing component ends the resolution instead of failing.
fn resolve(root: &Path, path: &Path, lenient: bool) -> std::io::Result<PathBuf> {
    use std::path::Component;
    let relative = path.strip_prefix(root).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not under {}", path.display(), root.display()),
        )
    })?;
    // Components still to resolve, the next one last.
    let mut pending: Vec<std::ffi::OsString> = Vec::new();
    let push_all = |pending: &mut Vec<std::ffi::OsString>, p: &Path| {
        let parts: Vec<std::ffi::OsString> = p
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_os_string()),
                Component::ParentDir => Some("..".into()),
                _ => None,
            })
            .collect();
        pending.extend(parts.into_iter().rev());
    };
    push_all(&mut pending, relative);
    let mut current = root.to_path_buf();
    let mut depth = 0usize;
    let mut links = 0usize;
    while let Some(part) = pending.pop() {
        if part == ".." {
            if depth > 0 {
                current.pop();
                depth -= 1;
            }
            continue;
        }
        let next = current.join(&part);
        let meta = match std::fs::symlink_metadata(&next) {
            Ok(meta) => meta,
            Err(e) if lenient && e.kind() == std::io::ErrorKind::NotFound => {
                current = next;
                while let Some(rest) = pending.pop() {
                    current.push(rest);
                }
                return Ok(current);
            }
            Err(e) => return Err(e),
        };
        if !meta.file_type().is_symlink() {
            current = next;
            depth += 1;
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return Err(std::io::Error::from_raw_os_error(libc::ELOOP));
        }
        let target = std::fs::read_link(&next)?;
        if target.is_absolute() {
            current = root.to_path_buf();
            depth = 0;
        }
        push_all(&mut pending, &target);
    }
    Ok(current)
}

/// The names of `dir`'s subfolders that are modules folders (hold `modules.dep`,
/// `modules.dep.bin`, `modules.order` or `kernel/`) when `dir` itself is none and holds no
/// module file: `dir` is then a `/lib/modules`, not a modules folder. Empty otherwise, and for
/// a folder that cannot be listed (the walk reports that).
fn release_folders(dir: &Path) -> Vec<String> {
    const MARKS: [&str; 4] = ["modules.dep", "modules.dep.bin", "modules.order", "kernel"];
    let is_modules_folder = |d: &Path| MARKS.iter().any(|m| d.join(m).exists());
    if is_modules_folder(dir) {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut releases = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name.to_str().is_some_and(|n| n.contains(".ko")) {
            return Vec::new();
        }
        if path.is_dir() && is_modules_folder(&path) {
            if let Some(name) = name.to_str() {
                releases.push(name.to_string());
            }
        }
    }
    releases.sort();
    releases
}

/// The release a modules folder is named for: its name when its parent is a `modules` folder
/// (`…/lib/modules/6.1.0-50-amd64`).
pub fn release_of_modules_dir(dir: &Path) -> Option<String> {
    let name = dir.file_name()?.to_str()?;
    dir.parent()
        .is_some_and(|p| p.ends_with("modules"))
        .then(|| name.to_string())
}

#[cfg(test)]
mod tests;
