use std::path::Path;

use super::{debian_build, force_load, strict_versions, KernelConfig};
use crate::banner::{parse, Banner};

fn b(line: &str) -> Banner {
    parse(line).unwrap()
}

const BOOKWORM: &str = "Linux version 6.1.0-50-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-07-02)";
const TRIXIE_ARM64: &str = "Linux version 6.12.117+deb13-arm64 (debian-kernel@lists.debian.org) (aarch64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0, GNU ld (GNU Binutils for Debian) 2.44) #1 SMP Debian 6.12.117-1 (2026-11-12)";
/// A kernel built by hand on a Debian system: Debian's compiler, not Debian's build.
const SELF_BUILT: &str = "Linux version 6.6.0 (alice@box) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #3 SMP PREEMPT_DYNAMIC Mon Jan  1 00:00:00 UTC 2024";
const UBUNTU: &str = "Linux version 5.15.0-91-generic (buildd@lcy02-amd64-045) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023";

#[test]
fn debian_builds_are_recognised_by_builder_and_version() {
    assert_eq!(
        debian_build(&b(BOOKWORM)).as_deref(),
        Some("Debian 6.1.176-1")
    );
    assert_eq!(
        debian_build(&b(TRIXIE_ARM64)).as_deref(),
        Some("Debian 6.12.117-1")
    );
    assert_eq!(debian_build(&b(SELF_BUILT)), None);
    assert_eq!(debian_build(&b(UBUNTU)), None);
}

#[test]
fn strictness_is_known_for_debian_only() {
    assert_eq!(strict_versions(Some(&b(BOOKWORM))).value, Some(true));
    assert_eq!(strict_versions(Some(&b(TRIXIE_ARM64))).value, Some(true));
    let old = BOOKWORM.replace("Debian 6.1.176-1", "Debian 3.16.84-1");
    assert_eq!(strict_versions(Some(&b(&old))).value, None);
    let f = strict_versions(Some(&b(UBUNTU)));
    assert_eq!(f.value, None);
    assert!(f.source.contains("no build known"), "{}", f.source);
    assert_eq!(strict_versions(Some(&b(SELF_BUILT))).value, None);
    assert_eq!(strict_versions(None).value, None);
}

#[test]
fn config_says_force_load() {
    let on = KernelConfig::parse(
        "#\n# Automatically generated\nCONFIG_MODULES=y\nCONFIG_MODULE_FORCE_LOAD=y\nCONFIG_LOCALVERSION=\"\"\n",
        Path::new("config-on"),
    );
    assert_eq!(force_load(Some(&on), &[]).value, Some(true));
    assert_eq!(on.value("CONFIG_LOCALVERSION"), Some(""));
    let off = KernelConfig::parse(
        "CONFIG_MODULES=y\n# CONFIG_MODULE_FORCE_LOAD is not set\n",
        Path::new("config-off"),
    );
    assert_eq!(force_load(Some(&off), &[]).value, Some(false));
    assert_eq!(off.value("CONFIG_MODULE_FORCE_LOAD"), Some("n"));
    let none = force_load(None, &[Path::new("/boot/config-x").to_path_buf()]);
    assert_eq!(none.value, None);
    assert!(none.source.contains("/boot/config-x"), "{}", none.source);
}

#[test]
fn configs_are_read_plain_or_gzipped() {
    let dir = std::env::temp_dir().join(format!("symvers-kconfig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = "CONFIG_MODULE_FORCE_LOAD=y\n";
    let gz = dir.join("config.gz");
    std::fs::write(&gz, crate::fixtures::compress("gzip", text.as_bytes())).unwrap();
    assert!(KernelConfig::read(&gz)
        .unwrap()
        .enabled("CONFIG_MODULE_FORCE_LOAD"));
    let junk = dir.join("junk");
    std::fs::write(&junk, "hello\n").unwrap();
    let err = KernelConfig::read(&junk).unwrap_err().to_string();
    assert!(err.contains("not a kernel config"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
