//! `symvers config` on real kernels: it must give the distribution's own `/boot/config-REL`, find
//! the same configuration as CONFIG_IKCONFIG data, and agree with the image's banner.
//!
//! Runs over the kernel roots in `SYMVERS_TEST_KERNELS`, like tests/real_kernels.rs (scripts/test
//! sets it); ignored by a plain `cargo test`, and failing when run with no kernel listed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

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

fn symvers(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_symvers"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn options(text: &str) -> BTreeSet<&str> {
    text.lines().filter(|l| l.starts_with("CONFIG_")).collect()
}

/// How two configurations differ, as lines missing and extra.
fn differences(got: &str, want: &str) -> Option<String> {
    let (got, want) = (options(got), options(want));
    if got == want {
        return None;
    }
    let missing: Vec<_> = want.difference(&got).take(5).collect();
    let extra: Vec<_> = got.difference(&want).take(5).collect();
    Some(format!(
        "{} CONFIG_ lines missing {missing:?}, {} extra {extra:?}",
        want.difference(&got).count(),
        got.difference(&want).count()
    ))
}

/// gzip as kernel/Makefile makes config_data.gz (`gzip -n -f -9`).
fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
#[ignore = "needs real kernels: run scripts/test (sets SYMVERS_TEST_KERNELS) or pass --include-ignored"]
fn config_is_the_distribution_file_and_fits_the_image() {
    let scratch = std::env::temp_dir().join(format!("symvers-real-config-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let with_ikconfig = scratch.join("kernel-with-ikconfig");
    let mut failures = Vec::new();
    let mut compared = 0;
    for root in kernels() {
        let releases = symvers::locate::releases_under(&root);
        assert_eq!(
            releases.len(),
            1,
            "{}: releases {releases:?}",
            root.display()
        );
        let release = &releases[0];
        let file = root.join("boot").join(format!("config-{release}"));
        if !file.is_file() {
            eprintln!("{release}: the packages ship no config file; not compared");
            continue;
        }
        let want = std::fs::read_to_string(&file).unwrap();

        // 1. Found under the root: the installed file, and no mismatch with the image's banner
        //    (CONFIG_CC_VERSION_TEXT is the banner's compiler, CONFIG_LOCALVERSION in the release).
        let (code, got, err) = symvers(&["config", "--root", root.to_str().unwrap()]);
        if code != 0 {
            failures.push(format!("{release}: exit {code}: {err}"));
            continue;
        }
        if let Some(d) = differences(&got, &want) {
            failures.push(format!("{release}: {d}"));
        }
        if !err.contains(&format!("configuration of {release}: {}", file.display())) {
            failures.push(format!(
                "{release}: source not reported as {}: {err}",
                file.display()
            ));
        }
        if err.contains("warning") {
            failures.push(format!("{release}: {err}"));
        }

        // 2. The same configuration as CONFIG_IKCONFIG data: the real kernel's unwrapped bytes
        //    with kernel/configs.c's block appended, given as the image alone.
        let image = symvers::locate::Source {
            root: Some(root.clone()),
            ..Default::default()
        }
        .locate()
        .unwrap()
        .image
        .expect("a Debian root names its image for its release");
        let data = std::fs::read(&image).unwrap();
        let kernel = symvers::image::unwrap(&data, symvers::image::DEFAULT_IMAGE_LIMIT).unwrap();
        let mut bytes = kernel.bytes.into_owned();
        bytes.extend_from_slice(b"IKCFG_ST");
        bytes.extend(gzip(want.as_bytes()));
        bytes.extend_from_slice(b"IKCFG_ED");
        std::fs::write(&with_ikconfig, &bytes).unwrap();
        let (code, got, err) = symvers(&["config", "--image", with_ikconfig.to_str().unwrap()]);
        if code != 0 {
            failures.push(format!("{release} (IKCONFIG): exit {code}: {err}"));
        } else if got != want {
            failures.push(format!(
                "{release} (IKCONFIG): not byte-identical; {}",
                differences(&got, &want).unwrap_or_else(|| "comments differ".into())
            ));
        } else if !err.contains("IKCONFIG in the image") {
            failures.push(format!("{release} (IKCONFIG): source not reported: {err}"));
        }

        // 3. The image alone, without IKCONFIG, outside its root and with no config-REL beside
        //    it (a link in the scratch folder): an error, never an empty file. In its own
        //    folder, the config-REL beside it is the answer.
        let (code, got, _) = symvers(&["config", "--image", image.to_str().unwrap()]);
        if code != 0 || got != want {
            failures.push(format!(
                "{release} (image in its folder): exit {code}, not the config-REL beside it"
            ));
        }
        let alone = scratch.join(image.file_name().unwrap());
        let _ = std::fs::remove_file(&alone);
        std::os::unix::fs::symlink(&image, &alone).unwrap();
        let (code, got, err) = symvers(&["config", "--image", alone.to_str().unwrap()]);
        let _ = std::fs::remove_file(&alone);
        if !Path::new(&format!("/boot/config-{release}")).exists()
            && (code != 2 || !got.is_empty() || !err.contains("not found; searched"))
        {
            failures.push(format!(
                "{release} (image alone): exit {code}, {} bytes out: {err}",
                got.len()
            ));
        }
        compared += 1;
        eprintln!(
            "{release}: {} CONFIG_ lines, identical (file and IKCONFIG)",
            options(&want).len()
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(compared > 0, "no kernel with a config file was compared");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
