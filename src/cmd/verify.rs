//! `symvers dump --verify` and `--compare-with`: cross-checks of a rebuilt table, reported on
//! standard error so that the table itself can still go to standard output.

use std::path::{Path, PathBuf};

use symvers::dump::Dump;
use symvers::{diff, verify, Error};

/// How many disagreements or differences are listed before "… and N more".
const LIST_LIMIT: usize = 50;

/// Cross-check `result.table` against the CRCs every module of the tree imports, as read in the
/// dump's own pass over the modules ([`Dump::imports`]). Returns true when everything agrees
/// and every module could be read.
pub fn verify_imports(result: &Dump) -> Result<bool, Error> {
    if result.located.modules.is_none() {
        eprintln!("symvers: verify: no modules folder, nothing to cross-check");
        return Ok(true);
    }
    let v = verify::verify_imports(&result.table, &result.imports);
    // Modules the dump could not read are already listed by it (with --keep-going; without,
    // the run stopped before here); they still make the verification incomplete.
    let unreadable = result.failures.len();
    eprintln!(
        "symvers: verify: {} modules ({} without versions), {} versioned imports: {} agree, {} disagree, {} missing from the table, {} in a namespace not imported, {} modules unreadable",
        v.modules,
        v.modules_without_versions,
        v.imports,
        v.agree,
        v.disagreements.len(),
        v.missing.len(),
        v.namespaces.len(),
        unreadable
    );
    for d in v.disagreements.iter().take(LIST_LIMIT) {
        eprintln!(
            "symvers: verify: {}: imports {} with CRC 0x{:08x}, the table has 0x{:08x} (from {})",
            d.module, d.symbol, d.module_crc, d.table_crc, d.exporter
        );
    }
    for n in v.namespaces.iter().take(LIST_LIMIT) {
        eprintln!(
            "symvers: verify: {}: imports {} without importing its namespace {} (from {}), as the table has it",
            n.module, n.symbol, n.namespace, n.exporter
        );
    }
    for m in v.missing.iter().take(LIST_LIMIT) {
        eprintln!(
            "symvers: verify: {}: imports {} (CRC 0x{:08x}), which the table does not export",
            m.module, m.symbol, m.module_crc
        );
    }
    let listed = v.disagreements.len() + v.missing.len() + v.namespaces.len();
    let shown = v.disagreements.len().min(LIST_LIMIT)
        + v.missing.len().min(LIST_LIMIT)
        + v.namespaces.len().min(LIST_LIMIT);
    if listed > shown {
        eprintln!("symvers: verify: … {listed} problems in all");
    }
    Ok(v.is_clean() && unreadable == 0)
}

/// Resolve `--compare-with auto` (a distribution's own symvers file) or take the given path.
pub fn compare_target(result: &Dump, root: Option<&Path>, spec: &Path) -> Option<PathBuf> {
    if spec != Path::new("auto") {
        return Some(spec.to_path_buf());
    }
    let Some(release) = result.located.release.as_deref() else {
        eprintln!(
            "symvers: compare: the release is unknown, so no distribution symvers file can be looked for; give --release or a file"
        );
        return None;
    };
    let root = root.unwrap_or(Path::new("/"));
    let candidates = verify::symvers_candidates(root, release, result.located.modules.as_deref());
    // Canonical for the report: a relative `build` link otherwise shows as `…/REL/../../../src/…`.
    let found = candidates
        .iter()
        .find(|p| p.is_file())
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()));
    if found.is_none() {
        eprintln!(
            "symvers: compare: no distribution symvers file found for {release}; searched: {}",
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    found
}

/// Compare the rebuilt table with a distribution's file. Returns true when they hold the same
/// records (order aside).
pub fn compare_with(result: &Dump, path: &Path) -> Result<bool, Error> {
    let theirs = symvers::symvers::read_file(path, symvers::symvers::FILE_LIMIT)?;
    let d = diff::diff(&theirs, &result.table, &diff::Rules::default());
    let s = &d.summary;
    eprintln!(
        "symvers: compare: {}: {} symbols there, {} rebuilt: {} identical, {} only there, {} only rebuilt, {} crc, {} export, {} namespace, {} module differences",
        path.display(),
        s.old_symbols,
        s.new_symbols,
        s.unchanged,
        s.removed,
        s.added,
        s.crc_changed,
        s.export_changed,
        s.namespace_changed,
        s.moved
    );
    for c in d.changes.iter().take(LIST_LIMIT) {
        eprintln!(
            "symvers: compare: {} {} ({}): {}",
            c.change.name(),
            c.symbol,
            c.module,
            c.change.detail()
        );
    }
    if d.changes.len() > LIST_LIMIT {
        eprintln!("symvers: compare: … {} differences in all", d.changes.len());
    }
    Ok(d.changes.is_empty())
}
