//! Other builders' kernels: `symvers dump` must reproduce the Module.symvers that each kernel's
//! own build wrote (vendor trees, board support packages, hobbyist builds, kernels back to
//! 2.6.12), as `tests/real_kernels.rs` does for Debian's.
//!
//! Runs over every folder listed in `SYMVERS_FIELD_KERNELS` (separated by `:`), each holding:
//! - `Module.symvers`, `Module.symvers.xz` or `Module.symvers.gz` (exactly one): the table the
//!   kernel's build wrote;
//! - the kernel images to read: the file names listed in `IMAGES` (one a line; blank lines and
//!   lines starting with `#` skipped), else every other regular file of the folder (links
//!   followed) that `symvers info --image` unwraps;
//! - optionally `modules/`: the modules folder (what `--modules` takes, `/lib/modules/REL`),
//!   only when it holds every module of the table.
//!
//! For each image, `dump --vmlinux-only --image IMG` must give the table's vmlinux lines and,
//! with `modules/`, `dump --image IMG --modules modules` the whole table, compared as sets of
//! (CRC, symbol, module, export type, namespace), with exit code 0. Two differences are allowed,
//! both of old modpost and both documented in docs/formats.md (see [`Era`] and [`matches`]);
//! any other fails the test with the first differing lines. docs/testing.md says how to build
//! the folders. Ignored by a plain `cargo test`, so that it is never counted as passed when it
//! did not run; with `--include-ignored` and no folders listed it fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// One line of a table, its columns normalised: namespace empty when the era had none, export
/// type `None` for a three-column line (modpost before 2.6.18 wrote no type).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Line {
    crc: String,
    symbol: String,
    module: String,
    namespace: String,
    kind: Option<String>,
}

/// Whether `field` is an export type column as modpost writes it.
fn is_export_type(field: &str) -> bool {
    field.starts_with("EXPORT_") || field == "(unknown)"
}

/// The columns of one Module.symvers line of any era (docs/formats.md, "Module.symvers text"):
/// 3 (before 2.6.18), 4 (2.6.18–5.3), 5 with the namespace second (5.4–5.5) or last (5.6+).
fn parse_line(text: &str) -> Result<Line, String> {
    let f: Vec<&str> = text.split('\t').collect();
    let line = |crc: &str, symbol: &str, module: &str, kind: Option<&str>, namespace: &str| Line {
        crc: crc.to_string(),
        symbol: symbol.to_string(),
        module: module.to_string(),
        namespace: namespace.to_string(),
        kind: kind.map(str::to_string),
    };
    match f.as_slice() {
        [crc, sym, module] => Ok(line(crc, sym, module, None, "")),
        [crc, sym, module, kind] if is_export_type(kind) => {
            Ok(line(crc, sym, module, Some(kind), ""))
        }
        [crc, sym, module, kind, ns] if is_export_type(kind) => {
            Ok(line(crc, sym, module, Some(kind), ns))
        }
        [crc, sym, ns, module, kind] if is_export_type(kind) => {
            Ok(line(crc, sym, module, Some(kind), ns))
        }
        _ => Err(format!("not a Module.symvers line: {text:?}")),
    }
}

/// Every line of `text` (blank lines and a `\r` before the `\n` skipped), with its text.
fn parse_table(text: &str) -> Result<BTreeMap<Line, String>, String> {
    let mut out = BTreeMap::new();
    for (n, raw) in text.lines().enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.is_empty() {
            continue;
        }
        let line = parse_line(raw).map_err(|e| format!("line {}: {e}", n + 1))?;
        out.insert(line, raw.to_string());
    }
    Ok(out)
}

/// What the reference table's era allows to differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Era {
    /// modpost before 2.6.17 wrote a line for vmlinux that the kernel does not export:
    /// scripts/mod/modpost.c `read_symbols()` called `add_exported_symbol("struct_module", mod,
    /// &fake_crc)` with `fake_crc = 0` for vmlinux itself, so that modules' versioned
    /// `struct_module` always resolved; kernel/module.c exported `struct_module` only with
    /// CONFIG_MODVERSIONS (its CRC then replaced the fake one), so without it the table lists a
    /// symbol the kernel's `__ksymtab` does not hold. 2.6.17's modpost no longer adds it. A
    /// table of three columns (modpost before 2.6.18) or an image whose banner names a release
    /// before 2.6.17 is of that era.
    fake_struct_module: bool,
}

/// Whether `release` (`2.6.12.1`, `3.0.8+`, …) is before 2.6.17; `None` when it does not start
/// with three numbers.
fn before_2_6_17(release: &str) -> Option<bool> {
    let mut numbers = release.split('.').map(|part| {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    });
    let version = (numbers.next()??, numbers.next()??, numbers.next()??);
    Some(version < (2, 6, 17))
}

/// The line modpost before 2.6.17 added for vmlinux: CRC 0, `struct_module`, `vmlinux`.
fn is_fake_struct_module(line: &Line) -> bool {
    line.crc == "0x00000000" && line.symbol == "struct_module" && line.module == "vmlinux"
}

/// Whether our line `got` stands for the reference line `want`: every column equal, except that
/// a reference type `(unknown)` (modpost 2.6.18 to 5.x, `export_unknown`, for a symbol whose
/// export macro it did not learn; a whole vendor table may have it) or none (three columns,
/// before 2.6.18) matches any type: the reference does not know it.
fn matches(got: &Line, want: &Line) -> bool {
    got.crc == want.crc
        && got.symbol == want.symbol
        && got.module == want.module
        && got.namespace == want.namespace
        && match want.kind.as_deref() {
            None | Some("(unknown)") => true,
            Some(kind) => got.kind.as_deref() == Some(kind),
        }
}

/// The outcome of comparing one dump with its reference.
#[derive(Debug, Default)]
struct Comparison {
    /// Reference lines nothing we wrote stands for.
    missing: Vec<String>,
    /// Lines we wrote that stand for no reference line.
    extra: Vec<String>,
    /// Reference lines matched through an `(unknown)` or absent type.
    untyped: usize,
    /// Whether modpost's fake `struct_module` line was left out.
    fake_left_out: bool,
}

impl Comparison {
    fn differing(&self) -> usize {
        self.missing.len() + self.extra.len()
    }

    /// The first differing lines, for the failure message.
    fn report(&self) -> String {
        let mut report = format!(
            "{} lines missing, {} lines extra",
            self.missing.len(),
            self.extra.len()
        );
        for l in self.missing.iter().take(10) {
            report += &format!("\n  - {l}");
        }
        for l in self.extra.iter().take(10) {
            report += &format!("\n  + {l}");
        }
        report
    }
}

/// Compare what we wrote with the reference lines, as sets, allowing only what `era` and
/// [`matches`] allow.
fn compare(got: &BTreeMap<Line, String>, want: &BTreeMap<Line, String>, era: Era) -> Comparison {
    let mut result = Comparison::default();
    // Our lines by (symbol, module): the only ones a reference line can match.
    let mut ours: BTreeMap<(&str, &str), Vec<&Line>> = BTreeMap::new();
    for line in got.keys() {
        ours.entry((&line.symbol, &line.module))
            .or_default()
            .push(line);
    }
    let mut used: BTreeSet<&Line> = BTreeSet::new();
    for (line, text) in want {
        let candidates = ours
            .get(&(line.symbol.as_str(), line.module.as_str()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        if let Some(found) = candidates
            .iter()
            .find(|g| !used.contains(*g) && matches(g, line))
        {
            used.insert(found);
            if !matches!(line.kind.as_deref(), Some(k) if k != "(unknown)") {
                result.untyped += 1;
            }
        } else if era.fake_struct_module && is_fake_struct_module(line) && candidates.is_empty() {
            // Only when we wrote no struct_module line at all: one we did write is compared.
            result.fake_left_out = true;
        } else {
            result.missing.push(text.clone());
        }
    }
    for (line, text) in got {
        if !used.contains(line) {
            result.extra.push(text.clone());
        }
    }
    result
}

// ---------------------------------------------------------------------------------------------
// The folders.

fn folders() -> Vec<PathBuf> {
    let list = std::env::var("SYMVERS_FIELD_KERNELS").unwrap_or_default();
    let dirs: Vec<PathBuf> = list
        .split(':')
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect();
    assert!(
        !dirs.is_empty(),
        "SYMVERS_FIELD_KERNELS is unset or empty: other builders' kernels were NOT compared \
         (docs/testing.md says how to list them)"
    );
    dirs
}

const REFERENCES: [&str; 3] = ["Module.symvers", "Module.symvers.xz", "Module.symvers.gz"];

/// The reference table's text: the folder's only Module.symvers, decompressed with symvers' own
/// decoders when it is `.xz` or `.gz`.
fn reference(dir: &Path) -> Result<String, String> {
    use symvers::decompress::{decompress, Compression};
    let present: Vec<&str> = REFERENCES
        .into_iter()
        .filter(|name| dir.join(name).is_file())
        .collect();
    let name = match present.as_slice() {
        [one] => *one,
        [] => return Err(format!("no {}", REFERENCES.join(", "))),
        _ => return Err(format!("{} all present: which?", present.join(", "))),
    };
    let path = dir.join(name);
    let data = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = match name.rsplit_once('.').map(|(_, ending)| ending) {
        Some("xz") => decompress(&data, Compression::Xz, symvers::symvers::FILE_LIMIT),
        Some("gz") => decompress(&data, Compression::Gzip, symvers::symvers::FILE_LIMIT),
        _ => Ok(data),
    }
    .map_err(|e| format!("{}: {e}", path.display()))?;
    String::from_utf8(text).map_err(|e| format!("{}: {e}", path.display()))
}

/// What `symvers info --image` says of `image`: `Ok(banner release)` when it unwraps it.
fn info(image: &Path) -> Result<Option<String>, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_symvers"))
        .args(["info", "--format", "json", "--image"])
        .arg(image)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "symvers info: exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("symvers info: {e}"))?;
    Ok(json["banner"]["release"].as_str().map(str::to_string))
}

/// The images of `dir`: those its `IMAGES` file lists, else every other regular file that
/// `symvers info` unwraps.
fn images(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let list = dir.join("IMAGES");
    let images: Vec<PathBuf> = if list.is_file() {
        let text =
            std::fs::read_to_string(&list).map_err(|e| format!("{}: {e}", list.display()))?;
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| dir.join(l))
            .collect()
    } else {
        let mut found = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_file() && !REFERENCES.contains(&name) && info(&path).is_ok() {
                found.push(path);
            }
        }
        found.sort();
        found
    };
    if images.is_empty() {
        return Err("no kernel image (list them in IMAGES)".into());
    }
    Ok(images)
}

fn dump(args: &[&str]) -> Result<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_symvers"))
        .arg("dump")
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

/// The name of `path` for messages: its folder's name and its own.
fn short(path: &Path) -> String {
    let parent = path
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{parent}/{name}")
}

#[test]
#[ignore = "needs other builders' kernels: set SYMVERS_FIELD_KERNELS (docs/testing.md) and pass --include-ignored"]
fn dump_reproduces_other_builders_module_symvers() {
    let mut failures = Vec::new();
    let (mut compared, mut differing_images) = (0, 0);
    for dir in folders() {
        let want = match reference(&dir).and_then(|text| parse_table(&text)) {
            Ok(want) => want,
            Err(e) => {
                failures.push(format!("{}: {e}", dir.display()));
                continue;
            }
        };
        let images = match images(&dir) {
            Ok(images) => images,
            Err(e) => {
                failures.push(format!("{}: {e}", dir.display()));
                continue;
            }
        };
        let vmlinux: BTreeMap<Line, String> = want
            .iter()
            .filter(|(l, _)| l.module == "vmlinux")
            .map(|(l, t)| (l.clone(), t.clone()))
            .collect();
        let three_columns = want.keys().any(|l| l.kind.is_none());
        let modules = dir.join("modules");
        for image in images {
            let name = short(&image);
            let failures_before = failures.len();
            let release = match info(&image) {
                Ok(release) => release,
                Err(e) => {
                    eprintln!("{name}: FAILED (symvers info)");
                    failures.push(format!("{name}: {e}"));
                    differing_images += 1;
                    continue;
                }
            };
            let era = Era {
                fake_struct_module: three_columns
                    || release.as_deref().and_then(before_2_6_17) == Some(true),
            };
            let image_str = image.to_string_lossy().into_owned();
            let modules_str = modules.to_string_lossy().into_owned();
            let mut variants = vec![(
                "--vmlinux-only",
                vec!["--vmlinux-only", "--image", image_str.as_str()],
                &vmlinux,
            )];
            if modules.is_dir() {
                variants.push((
                    "--modules",
                    vec![
                        "--image",
                        image_str.as_str(),
                        "--modules",
                        modules_str.as_str(),
                    ],
                    &want,
                ));
            }
            // One line per image, printed as it is compared (scripts/test runs this test with
            // --nocapture): lines, lines differing, seconds, and what the era allowed.
            let mut line = format!("{name} ({}):", release.as_deref().unwrap_or("no banner"));
            for (variant, args, want) in variants {
                let started = Instant::now();
                let result = dump(&args).and_then(|text| parse_table(&text));
                let seconds = started.elapsed().as_secs_f64();
                match result {
                    Ok(got) => {
                        let c = compare(&got, want, era);
                        line += &format!(
                            " {variant}: {} lines, {} differing, {seconds:.2} s",
                            want.len(),
                            c.differing()
                        );
                        if c.untyped > 0 {
                            line += &format!(" ({} reference lines without a type)", c.untyped);
                        }
                        if c.fake_left_out {
                            line += " (modpost's fake struct_module left out)";
                        }
                        line += ";";
                        if c.differing() > 0 {
                            failures.push(format!("{name} ({variant}): {}", c.report()));
                        }
                    }
                    Err(e) => {
                        line += &format!(" {variant}: FAILED;");
                        failures.push(format!("{name} ({variant}): {e}"));
                    }
                }
            }
            eprintln!("{}", line.trim_end_matches(';'));
            compared += 1;
            if failures.len() > failures_before {
                differing_images += 1;
            }
        }
    }
    eprintln!("compared {compared} images, {differing_images} with differences or errors");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// The comparison itself, on tables written here: what it lets through and what it does not.

fn table(text: &str) -> BTreeMap<Line, String> {
    parse_table(text).unwrap()
}

const OLD: Era = Era {
    fake_struct_module: true,
};
const NEW: Era = Era {
    fake_struct_module: false,
};

#[test]
fn equal_tables_compare_equal_in_every_column_order() {
    let want = table("0x11111111\tfoo\tvmlinux\tEXPORT_SYMBOL\tNS\n0x22222222\tbar\tvmlinux\tEXPORT_SYMBOL_GPL\t\n");
    // 5.4-5.5: the namespace second.
    let got = table("0x11111111\tfoo\tNS\tvmlinux\tEXPORT_SYMBOL\n0x22222222\tbar\t\tvmlinux\tEXPORT_SYMBOL_GPL\n");
    assert_eq!(compare(&got, &want, NEW).differing(), 0);
    let four = table("0x22222222\tbar\tvmlinux\tEXPORT_SYMBOL_GPL\n");
    let five = table("0x22222222\tbar\tvmlinux\tEXPORT_SYMBOL_GPL\t\n");
    assert_eq!(compare(&four, &five, NEW).differing(), 0);
}

#[test]
fn any_other_difference_is_reported() {
    let want = table(
        "0x11111111\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n0x22222222\tbar\tvmlinux\tEXPORT_SYMBOL\t\n",
    );
    for (got, missing, extra) in [
        // A CRC, a type, a namespace, a module, a line too many, a line too few.
        ("0x11111112\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n0x22222222\tbar\tvmlinux\tEXPORT_SYMBOL\t\n", 1, 1),
        ("0x11111111\tfoo\tvmlinux\tEXPORT_SYMBOL_GPL\t\n0x22222222\tbar\tvmlinux\tEXPORT_SYMBOL\t\n", 1, 1),
        ("0x11111111\tfoo\tvmlinux\tEXPORT_SYMBOL\tNS\n0x22222222\tbar\tvmlinux\tEXPORT_SYMBOL\t\n", 1, 1),
        ("0x11111111\tfoo\tfs/foo\tEXPORT_SYMBOL\t\n0x22222222\tbar\tvmlinux\tEXPORT_SYMBOL\t\n", 1, 1),
        ("0x11111111\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n0x22222222\tbar\tvmlinux\tEXPORT_SYMBOL\t\n0x33333333\tbaz\tvmlinux\tEXPORT_SYMBOL\t\n", 0, 1),
        ("0x11111111\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n", 1, 0),
    ] {
        let c = compare(&table(got), &want, OLD);
        assert_eq!((c.missing.len(), c.extra.len()), (missing, extra), "{got}");
        assert!(c.report().contains(&format!("{missing} lines missing, {extra} lines extra")));
    }
}

#[test]
fn an_unknown_or_absent_reference_type_matches_any_type_and_nothing_else() {
    let got = table(
        "0x00000000\tfoo\tfs/foo\tEXPORT_SYMBOL_GPL\t\n0x00000000\tbar\tvmlinux\tEXPORT_SYMBOL\t\n",
    );
    let want = table("0x00000000\tfoo\tfs/foo\t(unknown)\n0x00000000\tbar\tvmlinux\n");
    let c = compare(&got, &want, OLD);
    assert_eq!((c.differing(), c.untyped), (0, 2));
    // The CRC still counts.
    let want = table("0x00000001\tfoo\tfs/foo\t(unknown)\n0x00000000\tbar\tvmlinux\n");
    assert_eq!(compare(&got, &want, OLD).differing(), 2);
    // Our own "(unknown)" does not stand for a known reference type.
    let got = table("0x00000000\tfoo\tfs/foo\t(unknown)\n");
    let want = table("0x00000000\tfoo\tfs/foo\tEXPORT_SYMBOL\n");
    assert_eq!(compare(&got, &want, NEW).differing(), 2);
}

#[test]
fn the_fake_struct_module_line_is_left_out_only_in_its_era() {
    let got = table("0x00000000\tfoo\tvmlinux\tEXPORT_SYMBOL\n");
    let want = table("0x00000000\tfoo\tvmlinux\n0x00000000\tstruct_module\tvmlinux\n");
    let c = compare(&got, &want, OLD);
    assert_eq!(c.differing(), 0);
    assert!(c.fake_left_out);
    // A later era: a difference.
    assert_eq!(compare(&got, &want, NEW).missing.len(), 1);
    // Not with another CRC, another module or another symbol.
    for want in [
        "0x00000000\tfoo\tvmlinux\n0x12345678\tstruct_module\tvmlinux\n",
        "0x00000000\tfoo\tvmlinux\n0x00000000\tstruct_module\tfs/foo\n",
        "0x00000000\tfoo\tvmlinux\n0x00000000\tmodule_layout\tvmlinux\n",
    ] {
        assert_eq!(compare(&got, &table(want), OLD).missing.len(), 1, "{want}");
    }
    // A struct_module line we wrote is compared like any other.
    let got = table("0x00000000\tfoo\tvmlinux\tEXPORT_SYMBOL\n0x0000abcd\tstruct_module\tvmlinux\tEXPORT_SYMBOL\n");
    let c = compare(&got, &want, OLD);
    assert_eq!((c.missing.len(), c.extra.len()), (1, 1));
    assert!(!c.fake_left_out);
}

#[test]
fn the_era_follows_the_release() {
    assert_eq!(before_2_6_17("2.6.12.1"), Some(true));
    assert_eq!(before_2_6_17("2.6.16-rc3"), Some(true));
    assert_eq!(before_2_6_17("2.6.17"), Some(false));
    assert_eq!(before_2_6_17("2.6.39.4-g9b8008b"), Some(false));
    assert_eq!(before_2_6_17("3.0.8+"), Some(false));
    assert_eq!(before_2_6_17("6.1.0-50-amd64"), Some(false));
    assert_eq!(before_2_6_17("unknown"), None);
}

#[test]
fn a_line_of_no_era_is_an_error() {
    assert!(parse_table("0x00000000\tfoo\n").is_err());
    assert!(parse_table("0x00000000\tfoo\tvmlinux\tNOT_A_TYPE\n").is_err());
}
