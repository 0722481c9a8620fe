//! `symvers dump --verify` and `--compare-with`: cross-checks of a rebuilt table, reported on
//! standard error so that the table itself can still go to standard output; with
//! `--format json` their results are also objects of the dump's JSON document.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use symvers::dump::Dump;
use symvers::{diff, verify, Error};

/// How many disagreements or differences are listed before "… and N more".
const LIST_LIMIT: usize = 50;

/// Cross-check `result.table` against the CRCs every module of the tree imports, as read in the
/// dump's own pass over the modules ([`Dump::imports`]). Returns true when everything agrees
/// and every module could be read, and the result as JSON (every disagreement listed).
pub fn verify_imports(result: &Dump) -> Result<(bool, Value), Error> {
    if result.located.modules.is_empty() {
        super::say("verify: no modules folder, nothing to cross-check");
        return Ok((true, json!({ "checked": false, "clean": true })));
    }
    let v = verify::verify_imports(&result.table, &result.imports);
    // Modules the dump could not read are already listed by it (with --keep-going; without,
    // the run stopped before here); they still make the verification incomplete.
    let unreadable = result.failures.len();
    super::say(format_args!(
        "verify: {} ({} without versions), {}: {} agree, {} disagree, {} missing from the table, {} in a namespace not imported, {} unreadable",
        super::count(v.modules, "module", "modules"),
        v.modules_without_versions,
        super::count(v.imports, "versioned import", "versioned imports"),
        v.agree,
        v.disagreements.len(),
        v.missing.len(),
        v.namespaces.len(),
        super::count(unreadable, "module", "modules")
    ));
    for d in v.disagreements.iter().take(LIST_LIMIT) {
        super::say(format_args!(
            "verify: {}: imports {} with CRC 0x{:08x}, the table has 0x{:08x} (from {})",
            d.module, d.symbol, d.module_crc, d.table_crc, d.exporter
        ));
    }
    for n in v.namespaces.iter().take(LIST_LIMIT) {
        super::say(format_args!(
            "verify: {}: imports {} without importing its namespace {} (from {}), as the table has it",
            n.module, n.symbol, n.namespace, n.exporter
        ));
    }
    for m in v.missing.iter().take(LIST_LIMIT) {
        super::say(format_args!(
            "verify: {}: imports {} (CRC 0x{:08x}), which the table does not export",
            m.module, m.symbol, m.module_crc
        ));
    }
    let listed = v.disagreements.len() + v.missing.len() + v.namespaces.len();
    let shown = v.disagreements.len().min(LIST_LIMIT)
        + v.missing.len().min(LIST_LIMIT)
        + v.namespaces.len().min(LIST_LIMIT);
    if listed > shown {
        super::say(format_args!("verify: … {listed} problems in all"));
    }
    let clean = v.is_clean() && unreadable == 0;
    let doc = json!({
        "checked": true,
        "clean": clean,
        "modules": v.modules,
        "modules_without_versions": v.modules_without_versions,
        "imports": v.imports,
        "agree": v.agree,
        "disagree": v.disagreements.len(),
        "missing_from_table": v.missing.len(),
        "namespace_not_imported": v.namespaces.len(),
        "modules_unreadable": unreadable,
        "disagreements": v.disagreements,
        "missing": v.missing,
        "namespaces": v.namespaces,
    });
    Ok((clean, doc))
}

/// Resolve `--compare-with auto` (a distribution's own symvers file) or take the given path;
/// `Err` says (as JSON) why nothing was found.
pub fn compare_target(result: &Dump, root: Option<&Path>, spec: &Path) -> Result<PathBuf, Value> {
    if spec != Path::new("auto") {
        return Ok(spec.to_path_buf());
    }
    let Some(release) = result.release() else {
        let why = "the release is unknown, so no distribution symvers file can be looked for; give --release or a file";
        super::say(format_args!("compare: {why}"));
        return Err(json!({ "file": null, "note": why, "searched": [] }));
    };
    let root = root.unwrap_or(Path::new("/"));
    let candidates =
        symvers::locate::symvers_candidates(root, &release, result.located.modules_dir());
    // Canonical for the report: a relative `build` link otherwise shows as `…/REL/../../../src/…`.
    let found = candidates
        .iter()
        .find(|p| p.is_file())
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()));
    found.ok_or_else(|| {
        super::say(format_args!(
            "compare: no distribution symvers file found for {release}; searched: {}",
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        json!({
            "file": null,
            "note": format!("no distribution symvers file found for {release}"),
            "searched": candidates,
        })
    })
}

/// Compare the rebuilt table with a distribution's file. Returns true when they hold the same
/// records (order aside), and the comparison as JSON (every difference listed; `removed` is a
/// symbol only in the file, `added` one only rebuilt).
pub fn compare_with(result: &Dump, path: &Path) -> Result<(bool, Value), Error> {
    let theirs = super::diff::read_table(path)?;
    let d = diff::diff(&theirs, &result.table, &diff::Rules::default())?;
    let s = &d.summary;
    super::say(format_args!(
        "compare: {}: {} there, {} rebuilt: {} identical, {} only there, {} only rebuilt, {} differing ({} crc, {} export, {} namespace, {} module differences{})",
        path.display(),
        super::count(s.old_symbols, "symbol", "symbols"),
        s.new_symbols,
        s.unchanged,
        s.removed,
        s.added,
        s.changed,
        s.crc_changed,
        s.export_changed,
        s.namespace_changed,
        s.moved,
        if s.several_changes > 0 {
            format!(
                "; {} more than one",
                super::count(s.several_changes, "symbol has", "symbols have")
            )
        } else {
            String::new()
        }
    ));
    for c in d.changes.iter().take(LIST_LIMIT) {
        super::say(format_args!(
            "compare: {} {} ({}): {}",
            c.change.name(),
            c.symbol,
            c.module,
            c.change.detail()
        ));
    }
    if d.changes.len() > LIST_LIMIT {
        super::say(format_args!(
            "compare: … {} differences in all",
            d.changes.len()
        ));
    }
    // The comparison above is of each symbol's first line; a symbol listed twice (the file
    // damaged or hand-merged, or a module under updates/ exporting what another exports) has
    // other lines, which must agree too.
    let repeated = diff::repeated_differences(&theirs, &result.table);
    let lines = |entries: &[symvers::symvers::Entry]| {
        entries
            .iter()
            .map(|e| format!("{} 0x{:08x} {}", e.module, e.crc, e.kind.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for r in repeated.iter().take(LIST_LIMIT) {
        super::say(format_args!(
            "compare: {} is listed {} there ({}) and {} rebuilt ({})",
            r.symbol,
            super::count(r.old.len(), "time", "times"),
            lines(&r.old),
            super::count(r.new.len(), "time", "times"),
            lines(&r.new)
        ));
    }
    let identical = d.changes.is_empty() && repeated.is_empty();
    let doc = json!({
        "file": path,
        "identical": identical,
        "summary": d.summary,
        "changes": d.changes,
        "repeated": repeated.iter().map(|r| json!({
            "symbol": r.symbol,
            "old": r.old.iter().map(crate::report::Record::from).collect::<Vec<_>>(),
            "new": r.new.iter().map(crate::report::Record::from).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    Ok((identical, doc))
}
