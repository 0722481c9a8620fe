//! `dump --update`: what a previous run read, so that the next one reads only what changed
//! (kmod's `depmod -A` is the same idea).
//!
//! The state is a JSON file next to the output (`FILE.symvers-state`), written after the output
//! by the same atomic path. It records:
//!
//! - the output it goes with: length, modification time and a 64-bit FNV-1a digest of its bytes;
//!   any other FILE (edited, rewritten by another run) makes the whole state void;
//! - the image: its identity ([`FileId`]: path, device, inode, length, modification and change
//!   times in nanoseconds) and what the table needs of it (vmlinux's lines, the release its
//!   banner names, the column order, whether it has CRCs) — an unchanged image is not decoded
//!   again;
//! - each module file read: its identity, Module.symvers name, vermagic release and lines; and
//!   each one left unread because depmod's index, trusted in that run, said it exports nothing
//!   (no lines, no vermagic): as long as the file is the same, that stays true, whatever
//!   happens to the index since (a module changed after depmod makes it stale for all).
//!
//! A module is taken from the state only when its identity is the same and both its times
//! are older than the output's; an image only when its identity is the same. Everything else is
//! read again, and the table is assembled in the same order as a full run, so that the result
//! is the same byte for byte. A state that does not parse, comes from another version of the
//! tool, or goes with another output is not used at all.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::exports::ExportKind;
use crate::symvers::{Columns, Entry};

/// Version of the state's layout; bumped with any change to it.
const FORMAT: u32 = 1;

/// Largest state file read (Debian's: about 3 MiB).
pub const FILE_LIMIT: u64 = 256 << 20;

/// The state file that goes with the output `output`: `OUTPUT.symvers-state`.
pub fn state_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".symvers-state");
    PathBuf::from(name)
}

/// Who a file is, as far as the file system tells without reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileId {
    /// The path it was read through.
    pub path: PathBuf,
    /// Device and inode.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Length in bytes.
    pub len: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime: i128,
    /// Status change time, nanoseconds since the epoch.
    pub ctime: i128,
}

impl FileId {
    /// The identity of the file at `path` (links followed), `None` when it cannot be examined.
    pub fn of(path: &Path) -> Option<FileId> {
        let meta = std::fs::metadata(path).ok()?;
        Some(FileId {
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ctime: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        })
    }
}

/// One Module.symvers line without its module column: (CRC, symbol, export macro, namespace).
pub type Row = (u32, String, String, String);

/// The rows of `entries`.
pub fn rows(entries: &[Entry]) -> Vec<Row> {
    entries
        .iter()
        .map(|e| {
            (
                e.crc,
                e.symbol.clone(),
                e.kind.as_str().to_string(),
                e.namespace.as_str().to_string(),
            )
        })
        .collect()
}

/// The entries of `rows`, exported by `module`; `None` when a row names no known export macro.
pub fn entries(rows: &[Row], module: &str) -> Option<Vec<Entry>> {
    rows.iter()
        .map(|(crc, symbol, kind, namespace)| {
            let kind = ExportKind::ALL.into_iter().find(|k| k.as_str() == kind)?;
            Some(Entry::new(*crc, symbol, module, kind, namespace))
        })
        .collect()
}

/// True when every row of `rows` can be made an entry again.
fn valid(rows: &[Row]) -> bool {
    entries(rows, "-").is_some()
}

/// What the table takes from the kernel image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFacts {
    /// The release the image's banner names.
    pub release: Option<String>,
    /// The column order its layout calls for (`5.6`, `5.4`, `4col`), `None` without tables.
    pub columns: Option<String>,
    /// Whether it has CRCs (CONFIG_MODVERSIONS).
    pub modversions: bool,
    /// The `-v` description of the image.
    pub description: String,
    /// What a module must share with it ([`crate::dump::check_against_kernel`]).
    pub shape: Option<crate::dump::KernelShape>,
}

/// The name of a column order in the state.
pub fn columns_name(columns: Columns) -> &'static str {
    match columns {
        Columns::Modern => "5.6",
        Columns::NamespaceSecond => "5.4",
        Columns::NoNamespace => "4col",
        Columns::NoExportType => "3col",
    }
}

/// The column order a state names.
pub fn columns_from(name: &str) -> Option<Columns> {
    [
        Columns::Modern,
        Columns::NamespaceSecond,
        Columns::NoNamespace,
        Columns::NoExportType,
    ]
    .into_iter()
    .find(|c| columns_name(*c) == name)
}

/// The image read by the previous run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageState {
    /// Which file.
    pub file: FileId,
    /// What the table takes from it.
    pub facts: ImageFacts,
    /// vmlinux's lines.
    pub rows: Vec<Row>,
}

/// One module file read by the previous run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleState {
    /// Which file.
    pub file: FileId,
    /// Its Module.symvers module column.
    pub name: String,
    /// The release its vermagic names.
    pub vermagic: Option<String>,
    /// Its lines (none for a module that exports nothing).
    pub rows: Vec<Row>,
}

/// The output a state goes with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputId {
    /// Length in bytes.
    pub len: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime: i128,
    /// FNV-1a 64 of its bytes.
    pub digest: u64,
}

/// What a `dump --update` run leaves for the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The version of this layout (`FORMAT`, 1 so far).
    pub format: u32,
    /// The version of symvers that wrote it.
    pub tool: String,
    /// The output it goes with.
    pub output: OutputId,
    /// The image read, if any.
    pub image: Option<ImageState>,
    /// Every module file read, and every one left unread because depmod's index (trusted then)
    /// said it exports nothing: unchanged, it still does.
    pub modules: Vec<ModuleState>,
}

/// FNV-1a, 64 bits: cheap, and enough to tell an output edited or rewritten since.
pub fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The identity of the output `bytes` written at `path`, `None` when it cannot be examined.
pub fn output_id(path: &Path, bytes: &[u8]) -> Option<OutputId> {
    let id = FileId::of(path)?;
    Some(OutputId {
        len: id.len,
        mtime: id.mtime,
        digest: digest(bytes),
    })
}

/// The state left for `output` by a previous run, if it can be trusted; else why not.
pub fn load(output: &Path) -> Result<State, String> {
    let path = state_path(output);
    let bytes = crate::input::read_regular(&path, FILE_LIMIT).map_err(|e| e.to_string())?;
    let state: State = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not a state this version writes ({e})", path.display()))?;
    if state.format != FORMAT || state.tool != env!("CARGO_PKG_VERSION") {
        return Err(format!(
            "{}: written by symvers {} (format {}), this is {} (format {FORMAT})",
            path.display(),
            state.tool,
            state.format,
            env!("CARGO_PKG_VERSION")
        ));
    }
    let written = crate::input::read_regular(output, crate::symvers::FILE_LIMIT)
        .map_err(|e| e.to_string())?;
    if output_id(output, &written).as_ref() != Some(&state.output) {
        return Err(format!(
            "{} is not the file the state {} goes with (changed since)",
            output.display(),
            path.display()
        ));
    }
    let rows_ok = state.image.iter().all(|i| {
        valid(&i.rows)
            && i.facts
                .columns
                .as_deref()
                .is_none_or(|c| columns_from(c).is_some())
    }) && state.modules.iter().all(|m| valid(&m.rows));
    if !rows_ok {
        return Err(format!(
            "{}: a line names no export macro or column order",
            path.display()
        ));
    }
    Ok(state)
}

impl State {
    /// A new state with `format` and `tool` filled in.
    pub fn new(output: OutputId, image: Option<ImageState>, modules: Vec<ModuleState>) -> Self {
        State {
            format: FORMAT,
            tool: env!("CARGO_PKG_VERSION").to_string(),
            output,
            image,
            modules,
        }
    }

    /// The image state, when `path` is the same file as it was.
    pub fn image_for(&self, path: &Path) -> Option<&ImageState> {
        let image = self.image.as_ref()?;
        (FileId::of(path).as_ref() == Some(&image.file)).then_some(image)
    }

    /// The modules of the state by path, for [`State::module_for`].
    pub fn modules_by_path(&self) -> std::collections::HashMap<&Path, &ModuleState> {
        self.modules
            .iter()
            .map(|m| (m.file.path.as_path(), m))
            .collect()
    }

    /// The module state of `map` ([`State::modules_by_path`]) for `path` named `name`, when the
    /// file is the same as it was and both its times are older than the output.
    pub fn module_for<'a>(
        &self,
        map: &std::collections::HashMap<&Path, &'a ModuleState>,
        path: &Path,
        name: &str,
    ) -> Option<&'a ModuleState> {
        let m = map.get(path)?;
        let now = FileId::of(path)?;
        let before = self.output.mtime;
        (m.file == now && m.name == name && now.mtime < before && now.ctime < before).then_some(*m)
    }

    /// Serialized.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}
