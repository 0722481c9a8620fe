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

// ---------------------------------------------------------------------------------------------
// Other distributions' layouts, with a real kernel's files.

/// A scratch root for one layout, removed on drop. Under `SYMVERS_TEST_SCRATCH` when set (on the
/// kernel cache's file system the module files are hard links; elsewhere symbolic links).
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let base = std::env::var_os("SYMVERS_TEST_SCRATCH")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!("symvers-real-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Put the file `src` (never written to: it is in the kernel cache) at `dst`: a hard link, or a
/// symbolic link when the scratch folder is on another file system.
fn place(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
    if std::fs::hard_link(src, dst).is_err() {
        std::os::unix::fs::symlink(src, dst).unwrap();
    }
}

fn write(dst: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
    std::fs::write(dst, bytes).unwrap();
}

/// Every module file under `dir` (build/ and source/ left out), as paths relative to it.
fn module_files(dir: &Path) -> Vec<PathBuf> {
    let walk = symvers::modtree::walk_modules(dir).unwrap();
    assert!(walk.failures.is_empty() && walk.broken_links.is_empty());
    walk.files
        .into_iter()
        .map(|f| PathBuf::from(f.rel))
        .collect()
}

/// Recompress (`"xz"`, `"zst"`, `"gz"`) the modules whose path starts with `prefix`, as another
/// distribution ships them; the others are placed as they are.
fn install_modules(from: &Path, to: &Path, prefix: &str, ending: &str) {
    let mut buffer = Vec::new();
    for rel in module_files(from) {
        let src = from.join(&rel);
        let relative = rel.to_str().unwrap();
        if ending.is_empty() || !relative.starts_with(prefix) {
            place(&src, &to.join(&rel));
            continue;
        }
        let data = std::fs::read(&src).unwrap();
        let elf = symvers::modtree::module_elf(&data, 1 << 30, &mut buffer).unwrap();
        let packed = match ending {
            "xz" => {
                let mut out = Vec::new();
                let mut e = liblzma::write::XzEncoder::new(&mut out, 0);
                std::io::Write::write_all(&mut e, elf).unwrap();
                e.finish().unwrap();
                out
            }
            "zst" => zstd::encode_all(elf, 1).unwrap(),
            "gz" => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                std::io::Write::write_all(&mut e, elf).unwrap();
                e.finish().unwrap()
            }
            other => panic!("{other}"),
        };
        let stem = symvers::modtree::module_name(relative).unwrap();
        let stem = if relative.starts_with("kernel/") {
            format!("kernel/{stem}")
        } else {
            stem
        };
        write(&to.join(format!("{stem}.ko.{ending}")), &packed);
    }
}

/// One real kernel's files, as found in its Debian root.
struct Real {
    release: String,
    image: PathBuf,
    modules: PathBuf,
    reference: PathBuf,
}

impl Real {
    fn of(root: &Path) -> Self {
        let (release, reference) = reference(root);
        let located = symvers::locate::Source {
            root: Some(root.to_path_buf()),
            ..Default::default()
        }
        .locate()
        .unwrap();
        Real {
            release,
            image: located.image.unwrap(),
            modules: located.modules[0].clone(),
            reference,
        }
    }
}

/// One layout: the root built, the arguments after `dump`, and the distribution's own symvers
/// file that `--compare-with auto` must find (`None`: not checked).
type Built = (Scratch, Vec<String>, Option<PathBuf>);

fn layouts(k: &Real, other: Option<&Real>) -> Vec<(&'static str, Built)> {
    let rel = &k.release;
    let mut out = Vec::new();

    // The example: kernel/ is a link to the real folder, elsewhere in the root.
    let s = Scratch::new("kernel-link");
    place(&k.image, &s.0.join(format!("boot/vmlinuz-{rel}")));
    let modules = s.0.join(format!("lib/modules/{rel}"));
    install_modules(&k.modules, &s.0.join("srv/real"), "", "");
    std::fs::create_dir_all(&modules).unwrap();
    std::os::unix::fs::symlink("/srv/real/kernel", modules.join("kernel")).unwrap();
    let args = vec!["--root".to_string(), s.0.display().to_string()];
    out.push(("kernel/ a link", (s, args, None)));

    // Fedora/RHEL: /lib a link to usr/lib, vmlinuz in the modules folder, .ko.xz, its
    // /boot/symvers-REL.gz.
    let s = Scratch::new("fedora");
    std::os::unix::fs::symlink("usr/lib", s.0.join("lib")).unwrap();
    let modules = s.0.join(format!("usr/lib/modules/{rel}"));
    place(&k.image, &modules.join("vmlinuz"));
    install_modules(&k.modules, &modules, "kernel/lib/", "xz");
    let symvers_gz = s.0.join(format!("boot/symvers-{rel}.gz"));
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, &std::fs::read(&k.reference).unwrap()).unwrap();
    write(&symvers_gz, &e.finish().unwrap());
    let args = vec!["--root".to_string(), s.0.display().to_string()];
    out.push(("Fedora", (s, args, Some(symvers_gz))));

    // openSUSE: /boot/vmlinux-REL.gz, the ELF vmlinux gzip'd; .ko.zst; usr/lib/modules.
    let data = std::fs::read(&k.image).unwrap();
    let kernel = symvers::image::unwrap(&data, symvers::image::DEFAULT_IMAGE_LIMIT).unwrap();
    if kernel.info.is_elf {
        let s = Scratch::new("suse");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, &kernel.bytes).unwrap();
        write(
            &s.0.join(format!("boot/vmlinux-{rel}.gz")),
            &e.finish().unwrap(),
        );
        install_modules(
            &k.modules,
            &s.0.join(format!("usr/lib/modules/{rel}")),
            "kernel/net/",
            "zst",
        );
        let args = vec!["--root".to_string(), s.0.display().to_string()];
        out.push(("openSUSE", (s, args, None)));
    }

    // Arch: /usr/lib/modules/REL/vmlinuz, .ko.zst, a build/ folder with Module.symvers.
    let s = Scratch::new("arch");
    let modules = s.0.join(format!("usr/lib/modules/{rel}"));
    place(&k.image, &modules.join("vmlinuz"));
    install_modules(&k.modules, &modules, "kernel/fs/", "zst");
    let build = modules.join("build/Module.symvers");
    place(&k.reference, &build);
    let args = vec!["--root".to_string(), s.0.display().to_string()];
    out.push(("Arch", (s, args, Some(build))));

    // Ubuntu: the image signed (a certificate table appended), updates/ in depmod.d.
    let s = Scratch::new("ubuntu");
    let mut signed = data.clone();
    signed.extend(std::iter::repeat_n(0x30u8, 2048));
    write(&s.0.join(format!("boot/vmlinuz-{rel}")), &signed);
    install_modules(&k.modules, &s.0.join(format!("lib/modules/{rel}")), "", "");
    write(
        &s.0.join("etc/depmod.d/ubuntu.conf"),
        b"search updates ubuntu built-in\n",
    );
    let args = vec!["--root".to_string(), s.0.display().to_string()];
    out.push(("Ubuntu", (s, args, None)));

    // Alpine: /boot/vmlinuz-FLAVOUR, the release's last word; .ko.gz.
    let s = Scratch::new("alpine");
    let flavour = rel.rsplit('-').next().unwrap();
    place(&k.image, &s.0.join(format!("boot/vmlinuz-{flavour}")));
    install_modules(
        &k.modules,
        &s.0.join(format!("lib/modules/{rel}")),
        "kernel/crypto/",
        "gz",
    );
    let args = vec!["--root".to_string(), s.0.display().to_string()];
    out.push(("Alpine", (s, args, None)));

    // NixOS: the booted system's kernel and kernel-modules, absolute links into the store.
    let s = Scratch::new("nixos");
    let store = s.0.join("nix/store");
    place(&k.image, &store.join("cccc-linux/bzImage"));
    install_modules(
        &k.modules,
        &store.join(format!("aaaa-linux-modules/lib/modules/{rel}")),
        "",
        "",
    );
    let system = store.join("dddd-nixos-system");
    std::fs::create_dir_all(&system).unwrap();
    std::os::unix::fs::symlink("/nix/store/cccc-linux/bzImage", system.join("kernel")).unwrap();
    std::os::unix::fs::symlink(
        "/nix/store/aaaa-linux-modules",
        system.join("kernel-modules"),
    )
    .unwrap();
    std::fs::create_dir_all(s.0.join("run")).unwrap();
    std::os::unix::fs::symlink(
        "/nix/store/dddd-nixos-system",
        s.0.join("run/booted-system"),
    )
    .unwrap();
    let args = vec!["--root".to_string(), s.0.display().to_string()];
    out.push(("NixOS", (s, args, None)));

    // Raspberry Pi OS: kernels side by side in /boot/firmware, each matched by its banner.
    if let Some(other) = other {
        let s = Scratch::new("rpi");
        place(&other.image, &s.0.join("boot/firmware/kernel7l.img"));
        place(&k.image, &s.0.join("boot/firmware/kernel8.img"));
        install_modules(&k.modules, &s.0.join(format!("lib/modules/{rel}")), "", "");
        install_modules(
            &other.modules,
            &s.0.join(format!("lib/modules/{}", other.release)),
            "",
            "",
        );
        let args = vec![
            "--root".to_string(),
            s.0.display().to_string(),
            "--release".to_string(),
            rel.clone(),
        ];
        out.push(("Raspberry Pi OS", (s, args, None)));
    }
    out
}

/// The first kernel of SYMVERS_TEST_KERNELS arranged as other distributions arrange theirs
/// (images where they put them, modules recompressed, links into a store, …): `dump --root` must
/// give its Module.symvers exactly, and `--compare-with auto` must find the distribution's own
/// file. Then depmod's own index: written by the real depmod on one such root, it is read, and a
/// module it lists that is removed is an error.
#[test]
#[ignore = "needs real kernels: run scripts/test (sets SYMVERS_TEST_KERNELS) or pass --include-ignored"]
fn other_distributions_layouts_give_the_same_table() {
    let roots = kernels();
    let k = Real::of(&roots[0]);
    let other = roots.get(1).map(|r| Real::of(r));
    let want = lines(&std::fs::read_to_string(&k.reference).unwrap());
    let mut failures = Vec::new();
    for (name, (scratch, args, symvers_file)) in layouts(&k, other.as_ref()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let started = Instant::now();
        let (differing, report) = match dump(&args) {
            Ok(text) => compare(&text, &want),
            Err(e) => (want.len(), Some(e)),
        };
        eprintln!(
            "{} as {name}: {} lines, {differing} differing, {:.2} s",
            k.release,
            want.len(),
            started.elapsed().as_secs_f64()
        );
        if let Some(report) = report {
            failures.push(format!("{name}: {report}"));
        }
        if let Some(file) = symvers_file {
            let mut with = args.clone();
            with.extend(["-o", "/dev/null", "--compare-with", "auto"]);
            let out = Command::new(env!("CARGO_BIN_EXE_symvers"))
                .arg("dump")
                .args(&with)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let found = format!("compare: {}:", file.canonicalize().unwrap().display());
            if out.status.code() != Some(0) || !stderr.contains(&found) {
                failures.push(format!("{name}: --compare-with auto: {stderr}"));
            }
        }
        drop(scratch);
    }

    // depmod's index, written by depmod itself on a tree arranged here.
    let s = Scratch::new("depmod");
    let modules = s.0.join(format!("lib/modules/{}", k.release));
    place(&k.image, &s.0.join(format!("boot/vmlinuz-{}", k.release)));
    install_modules(&k.modules, &modules, "", "");
    for extra in [
        "modules.order",
        "modules.builtin",
        "modules.builtin.modinfo",
    ] {
        if k.modules.join(extra).is_file() {
            place(&k.modules.join(extra), &modules.join(extra));
        }
    }
    // depmod lives in /usr/sbin, which an unprivileged PATH may lack.
    let depmod = ["depmod", "/usr/sbin/depmod", "/sbin/depmod"]
        .iter()
        .find_map(|program| {
            Command::new(program)
                .args(["-b", s.0.to_str().unwrap(), &k.release])
                .output()
                .ok()
        })
        .expect("depmod (kmod) must be installed for this test: apt-get install kmod");
    assert!(
        depmod.status.success(),
        "{}",
        String::from_utf8_lossy(&depmod.stderr)
    );
    let root = s.0.to_str().unwrap();
    match dump(&["--root", root, "-v"]) {
        Ok(text) => {
            if let (n, Some(report)) = compare(&text, &want) {
                failures.push(format!("with depmod's index: {n} lines differ: {report}"));
            }
        }
        Err(e) => failures.push(format!("with depmod's index: {e}")),
    }
    // A module the index lists, removed: an error naming it.
    let victim = module_files(&modules)
        .into_iter()
        .find(|p| p.starts_with("kernel/lib"))
        .unwrap();
    std::fs::remove_file(modules.join(&victim)).unwrap();
    match dump(&["--root", root]) {
        Ok(_) => failures.push(format!(
            "{} removed after depmod ran: dump succeeded",
            victim.display()
        )),
        Err(e)
            if e.contains(&format!(
                "at {}, which is not in the tree",
                victim.display()
            )) => {}
        Err(e) => failures.push(format!(
            "{} removed: unexpected error {e}",
            victim.display()
        )),
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// depmod's symbol index and `dump --update`, against the full read.

/// `dump ARGS` with its exit code, table and standard error, whatever the exit code.
fn dump_all(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_symvers"))
        .arg("dump")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The number in "left N modules that export nothing unread" of a `-v` run, 0 without one.
fn skipped_by_index(stderr: &str) -> usize {
    stderr
        .lines()
        .find_map(|l| {
            let rest = l.split(": left ").nth(1)?;
            rest.strip_suffix("modules that export nothing unread")
                .or_else(|| rest.strip_suffix("module that export nothing unread"))?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// The kmod names depmod's `modules.symbols` names as owners.
fn owners(modules: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(modules.join("modules.symbols"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_string))
        .collect()
}

fn kmod_name(rel: &Path) -> String {
    symvers::modtree::kmod_name(rel.to_str().unwrap())
}

/// Replace the file at `path` (a hard link into the kernel cache: removed first, so that the
/// cache keeps its bytes) with `bytes`.
fn replace(path: &Path, bytes: &[u8]) {
    std::fs::remove_file(path).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// On every kernel of SYMVERS_TEST_KERNELS, in a hard-linked copy of its root indexed by the
/// real depmod: `dump` with that fresh index equals the full read (`--no-index`) and must have
/// left modules unread. After a module that exports nothing is overwritten with one that exports
/// (the index now stale), after a module the index does not list is added, after a module it
/// lists is removed, and without any index, `dump` must say it read every module (its table is
/// then the full read); `dump --update` after each of those changes gives the same table, and
/// with nothing changed must have read neither the image nor any module again. The fast paths
/// cannot silently never run, and a stale index cannot silently be trusted. Cost per kernel: one
/// depmod and five full reads.
#[test]
#[ignore = "needs real kernels: run scripts/test (sets SYMVERS_TEST_KERNELS) or pass --include-ignored"]
fn depmods_index_and_update_equal_the_full_read() {
    let mut failures = Vec::new();
    for root in kernels() {
        let k = Real::of(&root);
        let started = Instant::now();
        let s = Scratch::new("index");
        let copy = s.0.join("root");
        // Hard links where the file system allows (the cache is never written: every file
        // changed below is removed first); else a copy.
        let linked = Command::new("cp")
            .args(["-al", root.to_str().unwrap(), copy.to_str().unwrap()])
            .status()
            .is_ok_and(|s| s.success());
        if !linked {
            let _ = std::fs::remove_dir_all(&copy);
            let copied = Command::new("cp")
                .args(["-a", root.to_str().unwrap(), copy.to_str().unwrap()])
                .status()
                .unwrap();
            assert!(copied.success());
        }
        let rel_modules = k.modules.strip_prefix(&root).unwrap();
        let modules = copy.join(rel_modules);
        // depmod -b reads BASE/lib/modules; a merged-/usr root has it under usr/.
        let lib_modules = copy.join("lib/modules");
        if !lib_modules.exists() {
            std::fs::create_dir_all(copy.join("lib")).unwrap();
            std::os::unix::fs::symlink("../usr/lib/modules", &lib_modules).unwrap();
        }
        let depmod = ["depmod", "/usr/sbin/depmod", "/sbin/depmod"]
            .iter()
            .find_map(|program| {
                Command::new(program)
                    .args(["-b", copy.to_str().unwrap(), &k.release])
                    .output()
                    .ok()
            })
            .expect("depmod (kmod) must be installed for this test: apt-get install kmod");
        assert!(
            depmod.status.success(),
            "{}",
            String::from_utf8_lossy(&depmod.stderr)
        );
        let copy_arg = copy.to_str().unwrap().to_string();
        let out = s.0.join("Module.symvers");
        let out_arg = out.to_str().unwrap().to_string();
        let mut fail = |what: &str, detail: String| {
            failures.push(format!("{}: {what}: {detail}", k.release));
        };
        let update = |fail: &mut dyn FnMut(&str, String), state: &str, want: &str| -> String {
            let (_, _, stderr) = dump_all(&[
                "--root",
                &copy_arg,
                "-v",
                "--keep-going",
                "--update",
                "-o",
                &out_arg,
            ]);
            let updated = std::fs::read_to_string(&out).unwrap_or_default();
            if updated != want {
                let (n, report) = compare(&updated, &lines(want));
                fail(state, format!("--update: {n} lines differ: {report:?}"));
            }
            stderr
        };
        // A stale or missing index: `dump` must say it read every module (so its table is the
        // full read of the tree as it is now), and --update must give the same table.
        let stale = |fail: &mut dyn FnMut(&str, String), state: &str| -> String {
            let (code, full, stderr) = dump_all(&["--root", &copy_arg, "-v", "--keep-going"]);
            if !matches!(code, Some(0) | Some(3))
                || !stderr.contains("read every module, not using depmod's symbol index")
            {
                fail(state, format!("the index was not set aside:\n{stderr}"));
            }
            update(fail, state, &full);
            full
        };

        // A fresh index: the index's read equals the full read and left modules unread;
        // --update twice, the second reading nothing.
        let (_, full, _) = dump_all(&["--root", &copy_arg, "--no-index"]);
        let (_, indexed, index_err) = dump_all(&["--root", &copy_arg, "-v"]);
        if indexed != full {
            let (n, report) = compare(&indexed, &lines(&full));
            fail("fresh index", format!("{n} lines differ: {report:?}"));
        }
        let skipped = skipped_by_index(&index_err);
        if skipped == 0 {
            fail(
                "fresh index",
                format!("no module left unread:\n{index_err}"),
            );
        }
        update(&mut fail, "fresh index", &full);
        let again = update(&mut fail, "fresh index, again", &full);
        if !again.contains("not decoded again") || !again.contains("modules unchanged since") {
            fail("--update, nothing changed", format!("read again:\n{again}"));
        }
        // Modules by what the index says: one that exports nothing, two that export.
        let owners = owners(&modules);
        let files = module_files(&modules);
        let quiet = files.iter().find(|f| !owners.contains(&kmod_name(f)));
        let mut exporting = files.iter().filter(|f| owners.contains(&kmod_name(f)));
        let (Some(quiet), Some(donor), Some(victim)) = (
            quiet.cloned(),
            exporting.next().cloned(),
            exporting.next().cloned(),
        ) else {
            fail(
                "picking modules",
                "no module without or with exports".into(),
            );
            continue;
        };
        let donor_bytes = std::fs::read(modules.join(&donor)).unwrap();
        // Touched after depmod: a module that exported nothing now exports the donor's symbols
        // (a dump that trusted the stale index would leave it unread).
        replace(&modules.join(&quiet), &donor_bytes);
        let touched = stale(&mut fail, &format!("{} touched", quiet.display()));
        if touched == full {
            fail("touched", "the table did not change".into());
        }
        // Added: a module the index does not list.
        let ending = symvers::modtree::suffix_compression(&donor);
        let added = modules.join(match ending {
            "none" => "kernel/added/symvers_test_added.ko".to_string(),
            e => format!("kernel/added/symvers_test_added.ko.{e}"),
        });
        std::fs::create_dir_all(added.parent().unwrap()).unwrap();
        std::fs::write(&added, &donor_bytes).unwrap();
        stale(&mut fail, "a module added");
        // Removed: a module the index lists.
        std::fs::remove_file(modules.join(&victim)).unwrap();
        let removed = stale(&mut fail, &format!("{} removed", victim.display()));
        // No index at all: the same modules, the same table.
        for name in [
            "modules.dep",
            "modules.dep.bin",
            "modules.symbols",
            "modules.symbols.bin",
        ] {
            let _ = std::fs::remove_file(modules.join(name));
        }
        if stale(&mut fail, "no index") != removed {
            fail(
                "no index",
                "the table differs from the one with the index".into(),
            );
        }
        eprintln!(
            "{}: fresh index left {skipped} of {} modules unread; stale, added, removed, no index, \
             --update after each: {:.1} s",
            k.release,
            files.len(),
            started.elapsed().as_secs_f64()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
