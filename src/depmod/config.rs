//! depmod.d: the configuration that decides which copy of a module depmod lists, and so which
//! one modprobe loads (kmod's tools/depmod.c, `cfg_load` and `cfg_file_parse`; depmod.d(5)).
//!
//! Files named `*.conf` are read from these folders, all names sorted together, a name in an
//! earlier folder hiding the same name in later ones:
//! `/etc/depmod.d`, `/run/depmod.d`, `/usr/local/lib/depmod.d`, `/usr/lib/depmod.d`,
//! `/lib/depmod.d`. Lines (a `\` at the end continues one on the next, `#` starts a comment):
//!
//! ```text
//! search updates ubuntu built-in       # folders by priority, highest first
//! override crc-itu-t * extra           # this module from extra/, for releases matching *
//! external 6\.1.* /opt/vendor-modules  # another folder, placed by `search … external …`
//! exclude test                         # folder names never walked
//! ```
//!
//! Without any `search` line depmod searches `updates` first, then everything else
//! (`built-in`).

use std::path::{Path, PathBuf};

use crate::error::{Error, Problem};

/// The configuration folders under a root, in depmod's order (`default_cfg_paths`).
pub const CONFIG_DIRS: [&str; 5] = [
    "etc/depmod.d",
    "run/depmod.d",
    "usr/local/lib/depmod.d",
    "usr/lib/depmod.d",
    "lib/depmod.d",
];

/// One word of a `search` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// `built-in`: every folder no other word names (the kernel's own `kernel/`).
    BuiltIn,
    /// `external`: the folders of `external` lines, in their order.
    External,
    /// A folder of the modules folder (`updates`, `extra`, `updates/dkms`).
    Folder(String),
}

/// An `override MODULE RELEASE FOLDER` line that applies to this release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// `FOLDER/MODULE`, compared with a copy's path without its ending
    /// (`extra/crc-itu-t` for `extra/crc-itu-t.ko.xz`).
    pub path: String,
    /// Where the line is, for reports: file and 1-based line.
    pub at: (PathBuf, usize),
}

/// The depmod.d configuration of one release.
#[derive(Debug, Default)]
pub struct Config {
    /// `search` words in the order read (the first has the highest priority); empty when no
    /// file has a `search` line (depmod then uses `updates` alone, see [`Config::searches`]).
    pub search: Vec<Search>,
    /// The first `search` line (file, 1-based line), when there is one.
    pub search_at: Option<(PathBuf, usize)>,
    /// `override` lines that apply, in the order read.
    pub overrides: Vec<Override>,
    /// `external` folders that apply, in the order read (absolute, as on the installed system).
    pub externals: Vec<String>,
    /// `exclude` folder names.
    pub excludes: Vec<String>,
    /// The files read, in the order read.
    pub files: Vec<PathBuf>,
    /// Lines depmod would ignore with an error message, and files it could not read.
    pub warnings: Vec<Error>,
}

impl Config {
    /// The `search` words in effect: those read, else depmod's default, `updates` alone.
    pub fn searches(&self) -> Vec<Search> {
        if self.search.is_empty() {
            vec![Search::Folder("updates".into())]
        } else {
            self.search.clone()
        }
    }
}

/// Read the depmod.d configuration under `root` for `release` (the release `override` and
/// `external` lines are matched against; `None`: only their `*` lines apply). Unreadable files
/// and bad lines become [`Config::warnings`], as depmod reports them and goes on.
pub fn load(root: &Path, release: Option<&str>) -> Config {
    let mut config = Config::default();
    // (name, path): sorted by name; the first folder holding a name wins.
    let mut files: Vec<(Vec<u8>, PathBuf)> = Vec::new();
    for dir in CONFIG_DIRS {
        let dir = crate::locate::under_root(root, dir);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let bytes = std::os::unix::ffi::OsStrExt::as_bytes(name.as_os_str()).to_vec();
            if bytes.first() == Some(&b'.') || bytes.len() < 6 || !bytes.ends_with(b".conf") {
                continue;
            }
            if files.iter().any(|(n, _)| *n == bytes) {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                continue;
            }
            files.push((bytes, path));
        }
    }
    files.sort();
    for (_, path) in files {
        match crate::input::read_regular(&path, 16 << 20) {
            Ok(data) => parse_into(&mut config, &String::from_utf8_lossy(&data), &path, release),
            Err(e) => config.warnings.push(e),
        }
        config.files.push(path);
    }
    config
}

/// Parse one configuration file's text into `config`.
pub fn parse_into(config: &mut Config, text: &str, file: &Path, release: Option<&str>) {
    for (line_no, line) in logical_lines(text) {
        let mut words = line.split([' ', '\t']).filter(|w| !w.is_empty());
        let Some(command) = words.next() else {
            continue;
        };
        let bad = |detail: String| {
            Error::format(
                file,
                Problem::DepmodConf {
                    line: line_no,
                    detail,
                },
            )
        };
        match command {
            "search" => config.search.extend(
                {
                    config
                        .search_at
                        .get_or_insert_with(|| (file.to_path_buf(), line_no));
                    words
                }
                .map(|w| match w {
                    "built-in" => Search::BuiltIn,
                    "external" => Search::External,
                    other => Search::Folder(other.to_string()),
                }),
            ),
            "override" => match (words.next(), words.next(), words.next()) {
                (Some(module), Some(version), Some(folder)) => {
                    match release_matches(version, release) {
                        Ok(true) => config.overrides.push(Override {
                            path: format!("{folder}/{module}"),
                            at: (file.to_path_buf(), line_no),
                        }),
                        Ok(false) => {}
                        Err(detail) => config.warnings.push(bad(detail)),
                    }
                }
                _ => config.warnings.push(bad(
                    "override needs MODULE RELEASE FOLDER; depmod ignores the line".into(),
                )),
            },
            "external" => match (words.next(), words.next()) {
                (Some(version), Some(dir)) => match release_matches(version, release) {
                    Ok(true) => config.externals.push(dir.to_string()),
                    Ok(false) => {}
                    Err(detail) => config.warnings.push(bad(detail)),
                },
                _ => config.warnings.push(bad(
                    "external needs RELEASE FOLDER; depmod ignores the line".into(),
                )),
            },
            "exclude" => config.excludes.extend(words.map(String::from)),
            // Known to depmod and not implemented there either.
            "include" | "make_map_files" => {}
            other => config.warnings.push(bad(format!(
                "unknown command {other:?}; depmod ignores the line"
            ))),
        }
    }
}

/// Whether a line's release pattern applies: `*`, or a POSIX extended regular expression found
/// anywhere in the release (`regexec` without anchors, as `cfg_kernel_matches` does). A pattern
/// that does not compile never matches, as in depmod; it is reported.
fn release_matches(pattern: &str, release: Option<&str>) -> Result<bool, String> {
    if pattern == "*" {
        return Ok(true);
    }
    let Some(release) = release else {
        return Err(format!(
            "release pattern {pattern:?} cannot be matched: the release is unknown (give --release); the line is ignored"
        ));
    };
    match regex::Regex::new(pattern) {
        Ok(re) => Ok(re.is_match(release)),
        Err(_) => Err(format!(
            "release pattern {pattern:?} is not a regular expression; depmod ignores the line"
        )),
    }
}

/// The lines of `text` with `\`-continued lines joined, blank and `#` lines left out, each
/// with the number of its first line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let (start, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        match raw.strip_suffix('\\') {
            Some(head) => {
                joined.push_str(head);
                pending = Some((start, joined));
            }
            None => {
                joined.push_str(raw);
                out.push((start, joined));
            }
        }
    }
    out.extend(pending);
    out.retain(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    out
}

#[cfg(test)]
mod tests;
