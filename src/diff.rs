//! What changed between two kernels' export tables, and which changes break modules built
//! against the old one.
//!
//! A change is *breaking* when a module built against OLD could fail to load into NEW: the
//! symbol is gone, its CRC differs, it became GPL-only, or it moved into a namespace the module
//! does not import. Added symbols, loosened export types, dropped namespaces and moves between
//! modules are reported but do not break loading (depmod follows a move).
//!
//! Rules (`--rules FILE`, see [`crate::rules`]) tolerate breaking changes in the manner of
//! SUSE/suse-kabi-tools' severity files.

use serde::Serialize;

use crate::error::Result;
use crate::symvers::{Entry, ExportType, Table};

pub use crate::rules::{glob, Classified, Rule, Rules, Target, Unused, Verdict, RULES_FILE_LIMIT};

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
    /// Symbols in both with at least one change: `unchanged + changed + removed == old_symbols`
    /// and `unchanged + changed + added == new_symbols`.
    pub changed: usize,
    /// Of the `changed` symbols, those with more than one change (CRC and namespace, …): each
    /// is counted under every kind it has, so the kinds add up to `changed + several_changes`
    /// at least.
    pub several_changes: usize,
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
    /// Rules that match nothing in either table (never decide anything).
    pub unused_rules: Vec<Unused>,
}

impl Diff {
    /// True when a change is breaking and no rule tolerates it.
    pub fn has_breaking(&self) -> bool {
        self.summary.breaking > 0
    }
}

/// Compare `old` with `new`, applying `rules` to breaking changes (compiled once for both
/// tables; an error only when a pattern cannot be compiled, naming its line).
pub fn diff(old: &Table, new: &Table, rules: &Rules) -> Result<Diff> {
    let matcher = rules.compile(&[old, new])?;
    let unused_rules = if rules.rules.is_empty() {
        Vec::new()
    } else {
        matcher.unused(&[old, new])
    };
    let old_map = old.by_symbol();
    let new_map = new.by_symbol();
    let mut summary = Summary {
        old_symbols: old_map.len(),
        new_symbols: new_map.len(),
        ..Summary::default()
    };
    let mut changes = Vec::new();
    // `entry` is the record shown (NEW's, or OLD's for a removal); `old_entry` is OLD's record
    // when the symbol is in both.
    let mut push = |entry: &Entry, old_entry: Option<&Entry>, change: Change| {
        let breaking = change.is_breaking();
        let (old_record, new_record) = match (&change, old_entry) {
            (Change::Removed, _) => (Some(entry), None),
            (Change::Added, _) => (None, Some(entry)),
            (_, old) => (old, Some(entry)),
        };
        let tolerated =
            breaking && !rules.rules.is_empty() && matcher.tolerates(old_record, new_record);
        changes.push(SymbolChange {
            symbol: entry.symbol.clone(),
            module: entry.module.to_string(),
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
                    old: o.namespace.to_string(),
                    new: n.namespace.to_string(),
                },
            );
        }
        if o.module != n.module {
            any = true;
            push(
                n,
                Some(o),
                Change::Moved {
                    old: o.module.to_string(),
                    new: n.module.to_string(),
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
    // Sorted by symbol: a symbol's changes are neighbours.
    for run in changes.chunk_by(|a, b| a.symbol == b.symbol) {
        if matches!(run[0].change, Change::Added | Change::Removed) {
            continue;
        }
        summary.changed += 1;
        if run.len() > 1 {
            summary.several_changes += 1;
        }
    }
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
    Ok(Diff {
        summary,
        changes,
        unused_rules,
    })
}

/// A symbol listed on more than one line of either table, whose lines are not the same in
/// both. [`diff`] compares the first line of each symbol (the one modpost and the loader use);
/// this says what the other lines hold, so that no line is dropped without a word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepeatedDifference {
    /// The symbol.
    pub symbol: String,
    /// OLD's lines for it, in table order.
    pub old: Vec<Entry>,
    /// NEW's lines for it, in table order.
    pub new: Vec<Entry>,
}

/// Every symbol listed more than once in `old` or `new` whose lines (as a set of records,
/// order aside) differ between the two, sorted by symbol. Empty when neither table lists a
/// symbol twice; one pass over each table otherwise.
pub fn repeated_differences(old: &Table, new: &Table) -> Vec<RepeatedDifference> {
    use std::collections::BTreeMap;
    let mut lines: BTreeMap<&str, (Vec<&Entry>, Vec<&Entry>)> = BTreeMap::new();
    for table in [old, new] {
        for group in table.repeats() {
            lines.insert(table.entries[group[0]].symbol.as_str(), Default::default());
        }
    }
    if lines.is_empty() {
        return Vec::new();
    }
    for e in &old.entries {
        if let Some((o, _)) = lines.get_mut(e.symbol.as_str()) {
            o.push(e);
        }
    }
    for e in &new.entries {
        if let Some((_, n)) = lines.get_mut(e.symbol.as_str()) {
            n.push(e);
        }
    }
    let key = |e: &&Entry| {
        (
            e.module.clone(),
            e.crc,
            e.kind.as_str(),
            e.namespace.clone(),
        )
    };
    lines
        .into_iter()
        .filter(|(_, (o, n))| {
            let (mut o, mut n) = (o.clone(), n.clone());
            o.sort_by_key(key);
            n.sort_by_key(key);
            o != n
        })
        .map(|(symbol, (o, n))| RepeatedDifference {
            symbol: symbol.to_string(),
            old: o.into_iter().cloned().collect(),
            new: n.into_iter().cloned().collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
