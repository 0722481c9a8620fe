use super::*;

fn tree(sublevel: u32, extra: &str) -> TreeVersion {
    TreeVersion {
        version: 6,
        patchlevel: Some(1),
        sublevel: Some(sublevel),
        extraversion: extra.into(),
    }
}

#[test]
fn tree_version_from_the_makefile() {
    let makefile = "# SPDX-License-Identifier: GPL-2.0\nVERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 176\nEXTRAVERSION =\nNAME = Curry Ramen\n";
    let v = TreeVersion::parse(makefile).unwrap();
    assert_eq!(v, tree(176, ""));
    assert_eq!(v.kernelversion(), "6.1.176");
    assert_eq!(v.series(), "6.1");
    let rc =
        TreeVersion::parse("VERSION = 6\nPATCHLEVEL = 13\nSUBLEVEL = 0\nEXTRAVERSION = -rc3\n")
            .unwrap();
    assert_eq!(rc.kernelversion(), "6.13.0-rc3");
    assert!(TreeVersion::parse("all:\n\techo hi\n").is_none());
}

/// Debian: release 6.1.0-50-amd64 from source 6.1.176, no CONFIG_LOCALVERSION.
#[test]
fn debian_abi_release_needs_kernelversion() {
    let plan = plan_release("6.1.0-50-amd64", &tree(176, ""), "6.1.176", "6.1.176", "").unwrap();
    assert_eq!(plan.localversion, "");
    assert_eq!(
        plan.variable,
        Some(("KERNELVERSION", "6.1.0-50-amd64".to_string()))
    );
    assert!(plan
        .notes
        .iter()
        .any(|n| n.contains("LINUX_VERSION_CODE stays the source's 6.1.176")));
}

/// A builder with CONFIG_LOCALVERSION="-amd64" and an ABI name: the configuration's value is kept.
#[test]
fn kernel_localversion_kept_when_the_release_ends_with_it() {
    let plan = plan_release(
        "6.1.0-50-amd64",
        &tree(176, ""),
        "6.1.176",
        "6.1.176",
        "-amd64",
    )
    .unwrap();
    assert_eq!(plan.localversion, "-amd64");
    assert_eq!(
        plan.variable,
        Some(("KERNELVERSION", "6.1.0-50".to_string()))
    );
}

/// Raspberry Pi: 6.1.21-v8+ from a 6.1.21 tree; the "+" came from the builder's git state.
#[test]
fn release_extending_the_version_needs_only_the_configuration() {
    let plan = plan_release("6.1.21-v8+", &tree(21, ""), "6.1.21", "6.1.21", "-v8").unwrap();
    assert_eq!(plan.localversion, "-v8+");
    assert_eq!(plan.variable, None);
    assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
    assert!(plan.notes[0].contains("\"-v8\" -> \"-v8+\""));
    // Nothing to change: no note.
    let plan = plan_release("6.1.21-v8", &tree(21, ""), "6.1.21", "6.1.21", "-v8").unwrap();
    assert!(plan.notes.is_empty());
}

/// Fedora-like: 6.5.6-300.fc39.x86_64 from 6.5.6 with an EXTRAVERSION of its own.
#[test]
fn extraversion_when_the_release_keeps_the_numeric_version() {
    let t = TreeVersion {
        version: 6,
        patchlevel: Some(5),
        sublevel: Some(6),
        extraversion: "-rc1".into(),
    };
    // With localversion files "-rt5" in the tree, the release must end with them.
    let plan = plan_release("6.5.6-300.fc39-rt5", &t, "6.5.6-rc1", "6.5.6-rc1-rt5", "").unwrap();
    assert_eq!(
        plan.variable,
        Some(("EXTRAVERSION", "-300.fc39".to_string()))
    );
    assert_eq!(plan.localversion, "");
}

#[test]
fn impossible_releases_are_refused_with_the_reason() {
    let t = tree(176, "");
    let err = plan_release("6.10.3-arch1", &t, "6.1.176", "6.1.176", "").unwrap_err();
    assert!(err.contains("not the same 6.1 series"), "{err}");
    let err = plan_release("5.10.0-32-amd64", &t, "6.1.176", "6.1.176", "").unwrap_err();
    assert!(err.contains("6.1 series"), "{err}");
    // localversion files "-rt5" that the release lacks.
    let err = plan_release("6.1.0-50-amd64", &t, "6.1.176", "6.1.176-rt5", "").unwrap_err();
    assert!(err.contains("\"-rt5\""), "{err}");
    for bad in ["", "6.1.0 50", "6.1.0-$(x)", "6.1.0#", &"6.1.".repeat(20)] {
        assert!(
            plan_release(bad, &t, "6.1.176", "6.1.176", "").is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn adjusted_configuration() {
    let config =
        "CONFIG_A=y\nCONFIG_LOCALVERSION=\"-v8\"\nCONFIG_LOCALVERSION_AUTO=y\nCONFIG_B=m\n";
    assert_eq!(
        adjust_config(config, "-v8+"),
        "CONFIG_A=y\nCONFIG_LOCALVERSION=\"-v8+\"\n# CONFIG_LOCALVERSION_AUTO is not set\nCONFIG_B=m\n"
    );
}

#[test]
fn make_variables_and_the_build_makefile() {
    assert_eq!(
        parse_variable("CROSS_COMPILE=aarch64-linux-gnu-"),
        Some(("CROSS_COMPILE".into(), "aarch64-linux-gnu-".into()))
    );
    assert_eq!(parse_variable("LLVM=1"), Some(("LLVM".into(), "1".into())));
    assert_eq!(parse_variable("-j8"), None);
    assert_eq!(parse_variable("modules"), None);
    assert_eq!(parse_variable("A-B=1"), None);
    let text = build_makefile(
        Path::new("/src/linux-6.1"),
        "6.1.0-50-amd64",
        &[
            ("KERNELVERSION".into(), "6.1.0-50-amd64".into()),
            ("CC".into(), "gcc-12".into()),
            ("X".into(), "a$b".into()),
        ],
    );
    assert!(text.contains("\noverride KERNELVERSION = 6.1.0-50-amd64\nexport KERNELVERSION\n"));
    assert!(text.contains("\noverride X = a$$b\n"));
    assert!(text.ends_with("\ninclude /src/linux-6.1/Makefile\n"));
    assert!(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .all(|l| !l.is_empty()));
}

#[test]
fn compilers_compared() {
    let k = "gcc-12 (Debian 12.2.0-14) 12.2.0";
    assert_eq!(compare_compilers(k, k), CompilerMatch::Same);
    assert_eq!(
        compare_compilers(k, "gcc (Debian 12.2.0-14+deb12u1) 12.2.0"),
        CompilerMatch::SameVersion
    );
    assert_eq!(
        compare_compilers(k, "gcc-13 (Debian 13.2.0-25) 13.2.0"),
        CompilerMatch::Different
    );
    assert_eq!(
        compare_compilers(k, "Debian clang version 12.2.0"),
        CompilerMatch::Different
    );
}
