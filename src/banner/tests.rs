use super::*;

const DEBIAN_6_1: &str = "Linux version 6.1.0-50-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-07-02)";
const OLD_GCC: &str = "Linux version 2.6.39.4-g9b8008b (koshu@koshu-desktop) (gcc version 4.4.3 (GCC) ) #5 SMP PREEMPT Fri Aug 31 18:49:03 CEST 2012";
const ANDROID_CLANG: &str = "Linux version 6.1.25-android14-11-g34fde9ec08a3 (build-user@build-host) (Android (9796371, +pgo, +bolt, +lto, +mlgo, based on r487747) clang version 17.0.0 (toolchain/llvm-project d9f89f4d16663d5012e5c09495f3b30ece3d2362), LLD 17.0.0) #1 SMP PREEMPT Mon Apr 24 14:38:26 UTC 2023";

#[test]
fn debian_banner_names_compiler_and_linker() {
    let b = parse(DEBIAN_6_1).unwrap();
    assert_eq!(b.release, "6.1.0-50-amd64");
    assert_eq!(b.builder, "debian-kernel@lists.debian.org");
    assert_eq!(b.compiler, "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0");
    assert_eq!(
        b.linker.as_deref(),
        Some("GNU ld (GNU Binutils for Debian) 2.40")
    );
    assert_eq!(
        b.version,
        "#1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-07-02)"
    );
    assert_eq!(
        compiler_version(&b.compiler),
        Some((CompilerFamily::Gcc, "12.2.0".into()))
    );
    assert_eq!(gcc_program(&b.compiler), Some("gcc-12"));
}

#[test]
fn pre_5_8_banner_has_no_linker() {
    let b = parse(OLD_GCC).unwrap();
    assert_eq!(b.release, "2.6.39.4-g9b8008b");
    assert_eq!(b.compiler, "gcc version 4.4.3 (GCC)");
    assert_eq!(b.linker, None);
    assert_eq!(
        compiler_version(&b.compiler),
        Some((CompilerFamily::Gcc, "4.4.3".into()))
    );
    // "gcc version" is `gcc -v`'s wording, not a program name.
    assert_eq!(gcc_program(&b.compiler), None);
}

#[test]
fn clang_banner_splits_outside_parentheses() {
    let b = parse(ANDROID_CLANG).unwrap();
    assert!(b.compiler.starts_with("Android (9796371, +pgo"), "{b:?}");
    assert!(b
        .compiler
        .ends_with("d9f89f4d16663d5012e5c09495f3b30ece3d2362)"));
    assert_eq!(b.linker.as_deref(), Some("LLD 17.0.0"));
    assert_eq!(
        compiler_version(&b.compiler),
        Some((CompilerFamily::Clang, "17.0.0".into()))
    );
    assert_eq!(gcc_program(&b.compiler), None);
}

#[test]
fn found_in_kernel_bytes_skipping_what_does_not_parse() {
    let mut kernel = vec![0u8; 64];
    // A format string and a bare mention come first; neither is a banner.
    kernel.extend_from_slice(b"Linux version %s (\0");
    kernel.extend_from_slice(b"xx Linux version unknown\n\0");
    kernel.extend_from_slice(DEBIAN_6_1.as_bytes());
    kernel.extend_from_slice(b"\n\0tail");
    let b = find(&kernel).unwrap();
    assert_eq!(b.release, "6.1.0-50-amd64");
    assert!(find(b"no banner here").is_none());
    // 6.1+: a copy with a bare '#' first; the numbered one is preferred.
    let bare = DEBIAN_6_1.replace("#1 SMP", "# SMP");
    let both = format!("{bare}\n\0{DEBIAN_6_1}\n\0");
    assert_eq!(
        find(both.as_bytes()).unwrap().version,
        parse(DEBIAN_6_1).unwrap().version
    );
    assert_eq!(
        find(format!("{bare}\n").as_bytes()).unwrap().version,
        parse(&bare).unwrap().version
    );
    // Cut before its end: not a banner.
    assert!(find(&DEBIAN_6_1.as_bytes()[..60]).is_none());
}

#[test]
fn malformed_lines_are_not_banners() {
    for line in [
        "Linux version",
        "Linux version 6.1.0",
        "Linux version 6.1.0 (unclosed (gcc)",
        "Linux version 6.1.0 (a@b)(gcc 12) #1",
        "Linux version x.y (a@b) (gcc 12) #1",
    ] {
        assert!(parse(line).is_none(), "{line}");
    }
}

#[test]
fn compiler_versions_of_other_shapes() {
    assert_eq!(
        compiler_version("x86_64-linux-gnu-gcc-13 (Ubuntu 13.2.0-23ubuntu4) 13.2.0"),
        Some((CompilerFamily::Gcc, "13.2.0".into()))
    );
    assert_eq!(
        compiler_version("Debian clang version 14.0.6"),
        Some((CompilerFamily::Clang, "14.0.6".into()))
    );
    assert_eq!(compiler_version("icc (ICC) 2021.1"), None);
    assert_eq!(
        gcc_program("aarch64-linux-gnu-gcc-12 (Debian 12.2.0-14) 12.2.0"),
        Some("aarch64-linux-gnu-gcc-12")
    );
}
