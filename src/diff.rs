//! What changed between two kernels' export tables, and which changes break modules built
//! against the old one.
//!
//! A change is *breaking* when a module built against OLD could fail to load into NEW: the
//! symbol is gone, its CRC differs, it became GPL-only, or it moved into a namespace the module
//! does not import. Added symbols, loosened export types, dropped namespaces and moves between
//! modules are reported but do not break loading (depmod follows a move).
//!
//! Rules (`--rules FILE`) tolerate breaking changes in the manner of SUSE/suse-kabi-tools'
//! severity files: one `PATTERN VERDICT` per line, the first matching line decides, `#` starts a
//! comment. A pattern containing `/` or equal to `vmlinux` matches the exporting module (with or
//! without `.ko`); `namespace:PAT` matches the namespace; anything else matches the symbol. `*` and
//! `?` are wildcards. VERDICT is `PASS` (tolerate) or `FAIL`.

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::symvers::{Entry, ExportType, Table};

/// What kind of change a symbol saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// Only in NEW.
    Added,
    /// Only in OLD.
    Removed,
    /// Different CRC.
    CrcChanged {
        /// OLD's CRC.
        old: u32,
        /// NEW's CRC.
        new: u32,
    },
    /// Different export macro (never reported against `(unknown)`, which says nothing).
    ExportChanged {
        /// OLD's.
        old: ExportType,
        /// NEW's.
        new: ExportType,
    },
    /// Different namespace.
    NamespaceChanged {
        /// OLD's (empty for none).
        old: String,
        /// NEW's (empty for none).
        new: String,
    },
    /// Exported by another module.
    Moved {
        /// OLD's module.
        old: String,
        /// NEW's module.
        new: String,
    },
}

impl Change {
    /// True when a module built against OLD may not load into NEW because of this change.
    pub fn is_breaking(&self) -> bool {
        match self {
            Change::Removed | Change::CrcChanged { .. } => true,
            // Tightening: a non-GPL module using it would be refused.
            Change::ExportChanged { old, new } => new.is_gpl_only() && !old.is_gpl_only(),
            // A module imports OLD's namespace, not NEW's.
            Change::NamespaceChanged { new, .. } => !new.is_empty(),
            Change::Added | Change::Moved { .. } => false,
        }
    }

    /// Short name for text output and counts.
    pub fn name(&self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::CrcChanged { .. } => "crc",
            Change::ExportChanged { .. } => "export",
            Change::NamespaceChanged { .. } => "namespace",
            Change::Moved { .. } => "moved",
        }
    }

    /// What changed, for people: `0x1234abcd -> 0x0badcafe`, `EXPORT_SYMBOL -> EXPORT_SYMBOL_GPL`,
    /// `"" -> "NS"`, `old/module -> new/module`; empty for additions and removals.
    pub fn detail(&self) -> String {
        match self {
            Change::Added | Change::Removed => String::new(),
            Change::CrcChanged { old, new } => format!("0x{old:08x} -> 0x{new:08x}"),
            Change::ExportChanged { old, new } => format!("{} -> {}", old.as_str(), new.as_str()),
            Change::NamespaceChanged { old, new } => format!("\"{old}\" -> \"{new}\""),
            Change::Moved { old, new } => format!("{old} -> {new}"),
        }
    }
}

/// Largest rules file read.
pub const RULES_FILE_LIMIT: u64 = 16 << 20;

/// One change of one symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SymbolChange {
    /// The symbol.
    pub symbol: String,
    /// The exporting module (NEW's, or OLD's for a removed symbol).
    pub module: String,
    /// What changed.
    #[serde(flatten)]
    pub change: Change,
    /// Breaking by nature (before rules).
    pub breaking: bool,
    /// Breaking, but a rule said PASS.
    pub tolerated: bool,
}

/// Counts per kind of change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Symbols in OLD.
    pub old_symbols: usize,
    /// Symbols in NEW.
    pub new_symbols: usize,
    /// Symbols in both with nothing changed.
    pub unchanged: usize,
    /// Only in NEW.
    pub added: usize,
    /// Only in OLD.
    pub removed: usize,
    /// CRC changed.
    pub crc_changed: usize,
    /// Export type changed.
    pub export_changed: usize,
    /// Namespace changed.
    pub namespace_changed: usize,
    /// Moved to another module.
    pub moved: usize,
    /// Breaking changes not tolerated by a rule.
    pub breaking: usize,
    /// Breaking changes tolerated by a rule.
    pub tolerated: usize,
}

/// The result of comparing two tables.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    /// Counts.
    pub summary: Summary,
    /// Every change, sorted by symbol; a symbol may have several (CRC and namespace, …).
    pub changes: Vec<SymbolChange>,
}

impl Diff {
    /// True when a change is breaking and no rule tolerates it.
    pub fn has_breaking(&self) -> bool {
        self.summary.breaking > 0
    }
}

/// Compare `old` with `new`, applying `rules` to breaking changes.
pub fn diff(old: &Table, new: &Table, rules: &Rules) -> Diff {
    let old_map = old.by_symbol();
    let new_map = new.by_symbol();
    let mut summary = Summary {
        old_symbols: old_map.len(),
        new_symbols: new_map.len(),
        ..Summary::default()
    };
    let mut changes = Vec::new();
    let mut push = |entry: &Entry, old_entry: Option<&Entry>, change: Change| {
        let breaking = change.is_breaking();
        let tolerated =
            breaking && (rules.tolerates(entry) || old_entry.is_some_and(|o| rules.tolerates(o)));
        changes.push(SymbolChange {
            symbol: entry.symbol.clone(),
            module: entry.module.clone(),
            change,
            breaking,
            tolerated,
        });
    };
    for (name, o) in &old_map {
        let Some(n) = new_map.get(name) else {
            push(o, None, Change::Removed);
            continue;
        };
        let mut any = false;
        if o.crc != n.crc {
            any = true;
            push(
                n,
                Some(o),
                Change::CrcChanged {
                    old: o.crc,
                    new: n.crc,
                },
            );
        }
        // `(unknown)` (old modpost) does not know the type: no change against it.
        let known = o.kind != ExportType::Unknown && n.kind != ExportType::Unknown;
        if known && o.kind != n.kind {
            any = true;
            push(
                n,
                Some(o),
                Change::ExportChanged {
                    old: o.kind,
                    new: n.kind,
                },
            );
        }
        if o.namespace != n.namespace {
            any = true;
            push(
                n,
                Some(o),
                Change::NamespaceChanged {
                    old: o.namespace.clone(),
                    new: n.namespace.clone(),
                },
            );
        }
        if o.module != n.module {
            any = true;
            push(
                n,
                Some(o),
                Change::Moved {
                    old: o.module.clone(),
                    new: n.module.clone(),
                },
            );
        }
        if !any {
            summary.unchanged += 1;
        }
    }
    for (name, n) in &new_map {
        if !old_map.contains_key(name) {
            push(n, None, Change::Added);
        }
    }
    changes.sort_by(|a, b| {
        a.symbol
            .cmp(&b.symbol)
            .then(a.change.name().cmp(b.change.name()))
    });
    for c in &changes {
        match c.change {
            Change::Added => summary.added += 1,
            Change::Removed => summary.removed += 1,
            Change::CrcChanged { .. } => summary.crc_changed += 1,
            Change::ExportChanged { .. } => summary.export_changed += 1,
            Change::NamespaceChanged { .. } => summary.namespace_changed += 1,
            Change::Moved { .. } => summary.moved += 1,
        }
        if c.tolerated {
            summary.tolerated += 1;
        } else if c.breaking {
            summary.breaking += 1;
        }
    }
    Diff { summary, changes }
}

/// Verdict of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Tolerate the change.
    Pass,
    /// Report it as breaking.
    Fail,
}

/// What a rule's pattern is matched against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The symbol name.
    Symbol,
    /// The exporting module (`vmlinux` or a path).
    Module,
    /// The symbol's namespace.
    Namespace,
}

/// One line of a rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// What the pattern applies to.
    pub target: Target,
    /// Glob with `*` and `?`.
    pub pattern: String,
    /// PASS or FAIL.
    pub verdict: Verdict,
}

/// An ordered list of rules; the first match decides, no match means FAIL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// The rules in file order.
    pub rules: Vec<Rule>,
}

impl Rules {
    /// Parse a rules file's text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let mut rules = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |detail: String| Error::at_rules_line(path, i + 1, detail);
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [pattern, verdict] = fields.as_slice() else {
                return Err(bad(format!(
                    "expected \"PATTERN PASS|FAIL\", found {} fields",
                    fields.len()
                )));
            };
            let verdict = match *verdict {
                "PASS" => Verdict::Pass,
                "FAIL" => Verdict::Fail,
                other => return Err(bad(format!("verdict {other:?} is neither PASS nor FAIL"))),
            };
            let (target, pattern) = if let Some(ns) = pattern.strip_prefix("namespace:") {
                (Target::Namespace, ns)
            } else if pattern.contains('/') || *pattern == "vmlinux" {
                (Target::Module, *pattern)
            } else {
                (Target::Symbol, *pattern)
            };
            rules.push(Rule {
                target,
                pattern: pattern.to_string(),
                verdict,
            });
        }
        Ok(Rules { rules })
    }

    /// Read and parse a rules file (at most [`RULES_FILE_LIMIT`] bytes).
    pub fn read(path: &Path) -> Result<Self> {
        // Through input::read_regular: a FIFO or device named as the rules file is refused, not
        // waited on.
        let bytes = crate::input::read_regular(path, RULES_FILE_LIMIT)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
            Error::at_rules_line(path, line, "not UTF-8 text".into())
        })?;
        Self::parse(&text, path)
    }

    /// True when the first rule matching `entry` says PASS.
    pub fn tolerates(&self, entry: &Entry) -> bool {
        self.rules
            .iter()
            .find(|r| match r.target {
                Target::Symbol => glob(&r.pattern, &entry.symbol),
                Target::Module => {
                    glob(&r.pattern, &entry.module)
                        || glob(&r.pattern, &format!("{}.ko", entry.module))
                }
                Target::Namespace => glob(&r.pattern, &entry.namespace),
            })
            .is_some_and(|r| r.verdict == Verdict::Pass)
    }
}

/// Shell-style match of `text` against `pattern` with `*` (any run) and `?` (one character).
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matcher with one backtrack point for the last `*`: linear in practice.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests;
