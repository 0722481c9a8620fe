//! Turning a kernel source tree into a build tree for an installed kernel: the decisions, kept
//! apart from running `make` (which the binary does) so that they can be tested.
//!
//! kbuild names a build's release `KERNELVERSION` + `scripts/setlocalversion`'s output (the top
//! Makefile's `kernelrelease` target and `include/config/kernel.release`), where
//!
//! - `KERNELVERSION` = `VERSION.PATCHLEVEL.SUBLEVEL` + `EXTRAVERSION`, from the source's Makefile;
//! - setlocalversion appends the contents of the `localversion*` files of the build folder and of
//!   the source tree, then `CONFIG_LOCALVERSION`, then the `LOCALVERSION` make/environment
//!   variable, then a version-control part: `-gHASH` with `CONFIG_LOCALVERSION_AUTO`, else `+` when
//!   `LOCALVERSION` is unset and the source is a git checkout not at a tag.
//!
//! The release a module's vermagic carries (`UTS_RELEASE`, include/generated/utsrelease.h) and
//! the folder `modules_install` fills are that string. [`plan_release`] picks the settings that
//! make it equal an installed kernel's: `CONFIG_LOCALVERSION` (kept in `.config`) when the release
//! extends the source's version, else an `EXTRAVERSION` or `KERNELVERSION` make variable (kept
//! in the build folder's Makefile, see [`build_makefile`]) when the builder named its release
//! otherwise: Debian's `6.1.0-50-amd64` is built from 6.1.176, Ubuntu's `6.8.0-45-generic` from
//! 6.8.12. `VERSION`, `PATCHLEVEL` and `SUBLEVEL` are never changed: they make
//! `LINUX_VERSION_CODE`, which modules test in `#if`s, and the source's is the true one.

use std::path::Path;

/// The longest release the kernel keeps (`__NEW_UTS_LEN`, include/uapi/linux/utsname.h).
pub const MAX_RELEASE: usize = 64;

/// The version a source tree's top-level Makefile declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeVersion {
    /// `VERSION`.
    pub version: u32,
    /// `PATCHLEVEL`.
    pub patchlevel: Option<u32>,
    /// `SUBLEVEL`.
    pub sublevel: Option<u32>,
    /// `EXTRAVERSION` (`-rc3`, or empty).
    pub extraversion: String,
}

impl TreeVersion {
    /// Read the `VERSION = 6` … `EXTRAVERSION =` assignments at the top of a kernel Makefile;
    /// `None` when it has no numeric `VERSION` (not a kernel's top-level Makefile).
    pub fn parse(makefile: &str) -> Option<TreeVersion> {
        let field = |name: &str| -> Option<&str> {
            makefile.lines().take(40).find_map(|l| {
                let (key, value) = l.split_once('=')?;
                (key.trim() == name).then_some(value.trim())
            })
        };
        let number =
            |name: &str| -> Option<u32> { field(name).filter(|v| !v.is_empty())?.parse().ok() };
        Some(TreeVersion {
            version: number("VERSION")?,
            patchlevel: number("PATCHLEVEL"),
            sublevel: number("SUBLEVEL"),
            extraversion: field("EXTRAVERSION").unwrap_or("").to_string(),
        })
    }

    /// `VERSION.PATCHLEVEL.SUBLEVEL` as the Makefile joins them (a part is left out when
    /// empty).
    pub fn numeric(&self) -> String {
        let mut s = self.version.to_string();
        if let Some(p) = self.patchlevel {
            s += &format!(".{p}");
            if let Some(sub) = self.sublevel {
                s += &format!(".{sub}");
            }
        }
        s
    }

    /// `KERNELVERSION`: [`numeric`](Self::numeric) + `EXTRAVERSION`.
    pub fn kernelversion(&self) -> String {
        self.numeric() + &self.extraversion
    }

    /// `VERSION.PATCHLEVEL`: what a kernel and its source must share at least.
    pub fn series(&self) -> String {
        match self.patchlevel {
            Some(p) => format!("{}.{p}", self.version),
            None => self.version.to_string(),
        }
    }
}

/// True when `s` starts with the version `prefix` as a whole: `6.1` starts `6.1.0-50` and `6.1`,
/// not `6.10`.
fn starts_with_version(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// Refuse a release that kbuild cannot carry: longer than [`MAX_RELEASE`] bytes, empty, or
/// with characters that make or the shell would interpret (white space, `$`, `#`, quotes,
/// backslash, control characters).
pub fn check_release(release: &str) -> Result<(), String> {
    if release.is_empty() {
        return Err("the kernel release is empty".into());
    }
    if release.len() > MAX_RELEASE {
        return Err(format!(
            "the kernel release {release} is longer than {MAX_RELEASE} bytes"
        ));
    }
    if let Some(c) = release
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "$#\"'\\`;&|<>()*?".contains(*c))
    {
        return Err(format!(
            "the kernel release {release:?} contains {c:?}, which make or the shell would interpret"
        ));
    }
    Ok(())
}

/// Refuse a release of another `VERSION.PATCHLEVEL` than the source tree's: no setting can
/// make it, and the source would not be the kernel's.
pub fn check_series(target: &str, tree: &TreeVersion) -> Result<(), String> {
    let series = tree.series();
    if starts_with_version(target, &series) {
        Ok(())
    } else {
        Err(format!(
            "the kernel is release {target}, the source tree is version {}: not the same {series} series; \
             use the source the kernel was built from",
            tree.kernelversion()
        ))
    }
}

/// How to make a tree's release equal an installed kernel's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasePlan {
    /// The value for `CONFIG_LOCALVERSION`.
    pub localversion: String,
    /// A make variable to set on every `make` run in the tree (`EXTRAVERSION` or
    /// `KERNELVERSION`) and its value, when `.config` alone cannot do it.
    pub variable: Option<(&'static str, String)>,
    /// What was changed from the kernel's own configuration or the source's Makefile, and why.
    pub notes: Vec<String>,
}

/// Choose the settings that make the tree's `make kernelrelease` print `target`.
///
/// - `tree`: the source's Makefile version;
/// - `kernelversion`: `make kernelversion` of the tree (normally `tree.kernelversion()`);
/// - `base`: `make kernelrelease` with `CONFIG_LOCALVERSION` empty, `CONFIG_LOCALVERSION_AUTO`
///   off and `LOCALVERSION=` (empty): the version and the `localversion*` files' contents;
/// - `kernel_localversion`: `CONFIG_LOCALVERSION` of the kernel's configuration, kept when it
///   fits.
///
/// Errors say why no setting can give `target`: a different `VERSION.PATCHLEVEL`, or
/// `localversion*` files whose text the release lacks.
pub fn plan_release(
    target: &str,
    tree: &TreeVersion,
    kernelversion: &str,
    base: &str,
    kernel_localversion: &str,
) -> Result<ReleasePlan, String> {
    check_release(target)?;
    check_series(target, tree)?;
    let series = tree.series();
    let files = base.strip_prefix(kernelversion).ok_or_else(|| {
        format!("kbuild's release {base} does not start with its version {kernelversion}")
    })?;
    let mut notes = Vec::new();
    let changed = |notes: &mut Vec<String>, value: &str| {
        if value != kernel_localversion {
            notes.push(format!(
                "CONFIG_LOCALVERSION \"{kernel_localversion}\" -> \"{value}\" (the rest of the release after {base})"
            ));
        }
    };
    if let Some(rest) = target.strip_prefix(base) {
        changed(&mut notes, rest);
        return Ok(ReleasePlan {
            localversion: rest.to_string(),
            variable: None,
            notes,
        });
    }
    // The release does not extend the source's version: the version part itself must change.
    // setlocalversion still appends the files' text and CONFIG_LOCALVERSION, so the release
    // must end with them; the kernel's own CONFIG_LOCALVERSION is kept when it does.
    let kept = format!("{files}{kernel_localversion}");
    let localversion = if !kernel_localversion.is_empty() && target.ends_with(&kept) {
        kernel_localversion.to_string()
    } else {
        String::new()
    };
    let tail = format!("{files}{localversion}");
    let version_part = target
        .strip_suffix(&tail)
        .filter(|v| starts_with_version(v, &series))
        .ok_or_else(|| {
            format!(
                "the source tree's localversion files add \"{files}\" after the version, and the kernel's release {target} does not end with it"
            )
        })?;
    changed(&mut notes, &localversion);
    let numeric = tree.numeric();
    let variable = match version_part.strip_prefix(&numeric) {
        Some(extra) if starts_with_version(version_part, &numeric) => {
            notes.push(format!(
                "EXTRAVERSION \"{}\" -> \"{extra}\" (a make variable, kept in the build folder's Makefile)",
                tree.extraversion
            ));
            ("EXTRAVERSION", extra.to_string())
        }
        _ => {
            notes.push(format!(
                "KERNELVERSION {kernelversion} -> {version_part} (a make variable, kept in the build folder's Makefile); \
                 LINUX_VERSION_CODE stays the source's {numeric}: the release names another version, as Debian's and \
                 Ubuntu's name their ABI rather than the sublevel"
            ));
            ("KERNELVERSION", version_part.to_string())
        }
    };
    Ok(ReleasePlan {
        localversion,
        variable: Some(variable),
        notes,
    })
}

/// The kernel's configuration adjusted for the plan: `CONFIG_LOCALVERSION` set to
/// `localversion`, `CONFIG_LOCALVERSION_AUTO` off (the release's version-control part, if any,
/// is in `localversion`; the source tree's own git state must not add another).
pub fn adjust_config(config: &str, localversion: &str) -> String {
    let text = crate::config::set(
        config,
        "CONFIG_LOCALVERSION",
        Some(&crate::config::quote(localversion)),
    );
    crate::config::set(&text, "CONFIG_LOCALVERSION_AUTO", None)
}

/// A `NAME=VALUE` make variable from the command line; `None` when it is not one (NAME must be a
/// make variable name: letters, digits, `_`).
pub fn parse_variable(arg: &str) -> Option<(String, String)> {
    let (name, value) = arg.split_once('=')?;
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| (name.to_string(), value.to_string()))
}

/// The build folder's Makefile: kbuild's own (`include SOURCE/Makefile`), preceded by the make
/// variables this build needs on every run (`override` so that the source's Makefile does not
/// reassign them, `export` so that kbuild's sub-makes and scripts see them, as they see
/// command-line variables). `$` in values is kept literal.
pub fn build_makefile(source: &Path, release: &str, variables: &[(String, String)]) -> String {
    let mut out = format!(
        "# Written by `symvers prepare` for the installed kernel {release}. kbuild's own version of\n\
         # this file is the last line; the variables before it make this tree's release, vermagic\n\
         # and compiler those of that kernel on every `make` here. Configuration targets and\n\
         # `make modules_prepare` run here rewrite this file without them: run `symvers prepare`\n\
         # again instead.\n"
    );
    for (name, value) in variables {
        let value = value.replace('$', "$$");
        out += &format!("override {name} = {value}\nexport {name}\n");
    }
    out += &format!("include {}/Makefile\n", source.display());
    out
}

/// How the compiler of a tree compares with the kernel's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompilerMatch {
    /// The same `--version` text.
    Same,
    /// The same family and version number, another build or program name
    /// (`gcc-12 (Debian 12.2.0-14) 12.2.0` and `gcc (Debian 12.2.0-14+deb12u1) 12.2.0`).
    SameVersion,
    /// Another compiler or version.
    Different,
}

/// Compare the kernel's compiler (its banner's) with the tree's (`CONFIG_CC_VERSION_TEXT`).
pub fn compare_compilers(kernel: &str, tree: &str) -> CompilerMatch {
    use crate::banner::compiler_version;
    if kernel == tree {
        CompilerMatch::Same
    } else if compiler_version(kernel).is_some()
        && compiler_version(kernel) == compiler_version(tree)
    {
        CompilerMatch::SameVersion
    } else {
        CompilerMatch::Different
    }
}

/// The architecture of the machine this program runs on, as kbuild's default `ARCH` (from
/// `uname -m`) would name it.
pub fn host_arch() -> Option<crate::image::Arch> {
    use crate::image::Arch;
    Some(match std::env::consts::ARCH {
        "x86_64" | "x86" => Arch::X86,
        "arm" => Arch::Arm,
        "aarch64" => Arch::Arm64,
        "riscv64" | "riscv32" => Arch::Riscv,
        "s390x" => Arch::S390,
        "mips" | "mips64" => Arch::Mips,
        "loongarch64" => Arch::Loongarch,
        "powerpc" | "powerpc64" => Arch::Powerpc,
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
