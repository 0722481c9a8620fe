//! The ground truth: `symvers dump` must reproduce a distribution's own Module.symvers exactly.
//!
//! Runs over every kernel root listed in `SYMVERS_TEST_KERNELS` (separated by `:` or white
//! space; each an unpacked root with `boot/` or `usr/lib/modules/REL/vmlinuz`, the modules, and
//! `usr/src/linux-headers-REL/Module.symvers`), as `scripts/test` prepares them. Ignored by a
//! plain `cargo test`, so that it is never counted as passed when it did not run; with
//! `--include-ignored` and no kernels listed it fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn kernels() -> Vec<PathBuf> {
    let list = std::env::var("SYMVERS_TEST_KERNELS").unwrap_or_default();
    let roots: Vec<PathBuf> = list
        .split(|c: char| c == ':' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect();
    assert!(
        !roots.is_empty(),
        "SYMVERS_TEST_KERNELS is unset or empty: the real-kernel comparison did NOT run \
         (scripts/test fetches kernels and sets it)"
    );
    roots
}

/// The reference Module.symvers of the only release under `root`.
fn reference(root: &Path) -> (String, PathBuf) {
    let releases = symvers::locate::releases_under(root);
    assert_eq!(
        releases.len(),
        1,
        "{}: releases {releases:?}",
        root.display()
    );
    let rel = releases[0].clone();
    let path = root
        .join("usr/src")
        .join(format!("linux-headers-{rel}"))
        .join("Module.symvers");
    assert!(path.is_file(), "{}: no reference", path.display());
    (rel, path)
}

fn lines(text: &str) -> BTreeSet<String> {
    text.lines().map(str::to_string).collect()
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
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

/// How many lines of `got` and `want` differ (missing plus extra), and a description of the
/// difference when there is one.
fn compare(got: &str, want: &BTreeSet<String>) -> (usize, Option<String>) {
    let got = lines(got);
    if &got == want {
        return (0, None);
    }
    let missing: Vec<&String> = want.difference(&got).collect();
    let extra: Vec<&String> = got.difference(want).collect();
    let mut report = format!(
        "{} lines missing, {} lines extra",
        missing.len(),
        extra.len()
    );
    for l in missing.iter().take(10) {
        report += &format!("\n  - {l}");
    }
    for l in extra.iter().take(10) {
        report += &format!("\n  + {l}");
    }
    (missing.len() + extra.len(), Some(report))
}

#[test]
#[ignore = "needs real kernels: run scripts/test (sets SYMVERS_TEST_KERNELS) or pass --include-ignored"]
fn dump_reproduces_the_distribution_module_symvers() {
    let mut failures = Vec::new();
    let (mut compared, mut differing_kernels) = (0, 0);
    for root in kernels() {
        let (release, reference) = reference(&root);
        let want = lines(&std::fs::read_to_string(&reference).unwrap());
        let root_str = root.to_str().unwrap();
        let located = symvers::locate::Source {
            root: Some(root.clone()),
            ..Default::default()
        }
        .locate()
        .unwrap();
        let image = located
            .image
            .as_deref()
            .expect("a Debian root names its image for its release")
            .display()
            .to_string();
        let vmlinux_lines: BTreeSet<String> = want
            .iter()
            .filter(|l| l.split('\t').nth(2) == Some("vmlinux"))
            .cloned()
            .collect();
        // Every kernel: the whole table through --root, and vmlinux's part through --vmlinux-only
        // --image (the image named directly, no modules folder). The whole table through
        // --image/--modules reads every module a second time for the same result whatever the
        // kernel (only locating differs): the first kernel is enough, and the other 17 reads
        // were 80 s of scripts/test.
        let mut variants: Vec<(&str, Vec<String>, &BTreeSet<String>)> = vec![
            ("--root", vec!["--root".into(), root_str.into()], &want),
            (
                "--vmlinux-only --image",
                vec!["--vmlinux-only".into(), "--image".into(), image.clone()],
                &vmlinux_lines,
            ),
        ];
        if compared == 0 {
            variants.push((
                "--image/--modules",
                vec![
                    "--image".into(),
                    image.clone(),
                    "--modules".into(),
                    located.modules[0].display().to_string(),
                ],
                &want,
            ));
        }
        // One line per kernel, printed as it is compared (scripts/test runs this test with
        // --nocapture): release, lines, lines differing, and the time of each way of naming it.
        let failures_before = failures.len();
        let mut line = format!("{release}: {} lines in its Module.symvers", want.len());
        for (name, args, want) in variants {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let started = Instant::now();
            let result = dump(&args);
            let seconds = started.elapsed().as_secs_f64();
            match result {
                Ok(text) => {
                    let (differing, diff) = compare(&text, want);
                    line += &format!(
                        "; {name}: {} lines, {differing} differing, {seconds:.2} s",
                        want.len()
                    );
                    if let Some(diff) = diff {
                        failures.push(format!("{release} ({name}): {diff}"));
                    }
                }
                Err(e) => {
                    line += &format!("; {name}: FAILED");
                    failures.push(format!("{release} ({name}): {e}"));
                }
            }
        }
        eprintln!("{line}");
        compared += 1;
        if failures.len() > failures_before {
            differing_kernels += 1;
        }
    }
    eprintln!("compared {compared} kernels, {differing_kernels} with differences or errors");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Reading an image only up to its export tables (the default for compressed ELF kernels) must
/// give exactly what decoding it whole and reading its sections gives; and an x86 bzImage
/// compressed through a stream (gzip, bzip2, xz, lzma) must actually stop early.
#[test]
#[ignore = "needs real kernels: run scripts/test (sets SYMVERS_TEST_KERNELS) or pass --include-ignored"]
fn stopping_at_the_export_tables_reads_what_the_whole_kernel_says() {
    use symvers::decompress::Compression;
    use symvers::kernel::{read_image_bytes_with, Decode, TableSource};
    let mut failures = Vec::new();
    for root in kernels() {
        let image = symvers::locate::Source {
            root: Some(root.clone()),
            ..Default::default()
        }
        .locate()
        .unwrap()
        .image
        .expect("a Debian root names its image for its release");
        let data = std::fs::read(&image).unwrap();
        let limit = symvers::image::DEFAULT_IMAGE_LIMIT;
        let early = read_image_bytes_with(&data, limit, Decode::UpToTables).unwrap();
        let whole = read_image_bytes_with(&data, limit, Decode::Whole).unwrap();
        let name = image.display();
        let streamed = matches!(
            early.image.compression,
            Some(Compression::Gzip | Compression::Bzip2 | Compression::Xz | Compression::Lzma)
        );
        if early.image.is_elf && streamed && early.tables_located_by != TableSource::PrefixScan {
            failures.push(format!(
                "{name}: decoded whole, not up to the export tables"
            ));
        }
        if early.vmlinux.exports != whole.vmlinux.exports {
            failures.push(format!(
                "{name}: {} exports up to the tables ({:?}), {} whole ({:?})",
                early.vmlinux.exports.len(),
                early.tables_located_by,
                whole.vmlinux.exports.len(),
                whole.tables_located_by
            ));
        }
        eprintln!(
            "{name}: {} exports; {:?}, {} of the kernel's bytes decoded",
            early.vmlinux.exports.len(),
            early.tables_located_by,
            if early.image.partial {
                format!(
                    "{:.0} %",
                    100.0 * early.image.kernel_size as f64 / whole.image.kernel_size as f64
                )
            } else {
                "all".to_string()
            }
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
