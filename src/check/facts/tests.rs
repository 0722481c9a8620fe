use std::path::Path;

use super::{debian_build, force_load, strict_versions};
use crate::banner::{parse, Banner};
use crate::config::{ConfigSource, KernelConfig};

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
    let config = |text: &str, name: &str| KernelConfig {
        text: text.into(),
        source: ConfigSource::File(name.into()),
    };
    let on = config(
        "#\n# Automatically generated\nCONFIG_MODULES=y\nCONFIG_MODULE_FORCE_LOAD=y\n",
        "config-on",
    );
    let f = force_load(Some(&on), &[]);
    assert_eq!(f.value, Some(true));
    assert_eq!(f.source, "config-on");
    let off = config(
        "CONFIG_MODULES=y\n# CONFIG_MODULE_FORCE_LOAD is not set\n",
        "config-off",
    );
    assert_eq!(force_load(Some(&off), &[]).value, Some(false));
    // Not listed at all: not selectable, so not set.
    let absent = config("CONFIG_MODULES=y\n", "config-absent");
    assert_eq!(force_load(Some(&absent), &[]).value, Some(false));
    let none = force_load(None, &[Path::new("/boot/config-x").to_path_buf()]);
    assert_eq!(none.value, None);
    assert!(none.source.contains("/boot/config-x"), "{}", none.source);
    let unknown = force_load(None, &[]);
    assert_eq!(unknown.value, None);
    assert!(
        unknown.source.contains("release is unknown"),
        "{}",
        unknown.source
    );
}
