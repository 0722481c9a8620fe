use super::*;
use crate::fixtures::{self, SAMPLE_CONFIG};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("symvers-config-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn ikconfig_block_in_kernel_bytes() {
    let mut kernel = fixtures::raw_kernel(8192);
    // A bare marker without gzip data first (as a string in the kernel's own code could be).
    kernel.extend_from_slice(b"IKCFG_ST and more");
    kernel.extend(fixtures::ikconfig_block(SAMPLE_CONFIG));
    kernel.extend(vec![0u8; 100]);
    assert_eq!(
        find_ikconfig(&kernel).unwrap().as_deref(),
        Some(SAMPLE_CONFIG)
    );
    assert_eq!(find_ikconfig(&fixtures::raw_kernel(8192)).unwrap(), None);
}

#[test]
fn damaged_ikconfig_is_an_error_not_absence() {
    let mut block = fixtures::ikconfig_block(SAMPLE_CONFIG);
    let mid = block.len() / 2;
    block[mid] ^= 0xff;
    let err = find_ikconfig(&block).unwrap_err();
    assert!(
        err.to_string().contains("gzip data does not decode"),
        "{err}"
    );

    // gzip data that is not a configuration.
    let mut other = b"IKCFG_ST".to_vec();
    other.extend(fixtures::compress("gzip", b"hello world\n"));
    let err = find_ikconfig(&other).unwrap_err();
    assert!(err.to_string().contains("no CONFIG_ option"), "{err}");
}

#[test]
fn get_set_and_quote() {
    let text = SAMPLE_CONFIG;
    assert_eq!(get(text, "CONFIG_MODVERSIONS"), Some("y"));
    assert_eq!(get(text, "CONFIG_MODULE_FORCE_LOAD"), None);
    assert_eq!(
        get(text, "CONFIG_MODULE"),
        None,
        "a prefix is not an option"
    );
    assert_eq!(
        get_string(text, "CONFIG_CC_VERSION_TEXT").as_deref(),
        Some("gcc-12 (Debian 12.2.0-14) 12.2.0")
    );
    assert_eq!(get_string(text, "CONFIG_LOCALVERSION").as_deref(), Some(""));

    let q = quote("-a\"b\\c");
    assert_eq!(q, "\"-a\\\"b\\\\c\"");
    let edited = set(text, "CONFIG_LOCALVERSION", Some(&q));
    assert_eq!(
        get_string(&edited, "CONFIG_LOCALVERSION").as_deref(),
        Some("-a\"b\\c")
    );
    let edited = set(&edited, "CONFIG_LOCALVERSION_AUTO", Some("y"));
    assert!(edited.contains("\nCONFIG_LOCALVERSION_AUTO=y\n"));
    assert!(!edited.contains("# CONFIG_LOCALVERSION_AUTO is not set"));
    let edited = set(&edited, "CONFIG_MODVERSIONS", None);
    assert!(edited.contains("\n# CONFIG_MODVERSIONS is not set\n"));
    assert_eq!(get(&edited, "CONFIG_MODVERSIONS"), None);
    // Lines keep their places; a new option is appended.
    let edited = set(&edited, "CONFIG_NEW", Some("m"));
    assert!(edited.ends_with("CONFIG_NEW=m\n"));
    assert_eq!(edited.lines().count(), SAMPLE_CONFIG.lines().count() + 1);
}

#[test]
fn mismatches_with_the_banner() {
    let b = crate::banner::parse(
        std::str::from_utf8(&fixtures::banner("6.1.0-test"))
            .unwrap()
            .trim_end_matches(['\n', '\0']),
    )
    .unwrap();
    assert!(mismatches(SAMPLE_CONFIG, &b).is_empty());
    let other = set(
        SAMPLE_CONFIG,
        "CONFIG_CC_VERSION_TEXT",
        Some(&quote("gcc (Debian 12.2.0-14) 12.2.0")),
    );
    let found = mismatches(&other, &b);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("gcc-12 (Debian 12.2.0-14) 12.2.0"));
    let other = set(SAMPLE_CONFIG, "CONFIG_LOCALVERSION", Some(&quote("-v7l")));
    assert_eq!(mismatches(&other, &b).len(), 1);
}

#[test]
fn locate_in_order_image_module_files() {
    let root = scratch("order");
    let modules = root.join("lib/modules/6.1.0-test");
    std::fs::create_dir_all(modules.join("kernel/kernel")).unwrap();
    std::fs::create_dir_all(root.join("boot")).unwrap();
    let boot_config = root.join("boot/config-6.1.0-test");
    std::fs::write(&boot_config, "CONFIG_FROM_BOOT=y\n").unwrap();
    let image = root.join("boot/vmlinuz-6.1.0-test");
    let kernel_with = [
        fixtures::raw_kernel(4096),
        fixtures::ikconfig_block("CONFIG_FROM_IMAGE=y\n"),
    ]
    .concat();
    let kernel_without = fixtures::raw_kernel(4096);
    let lookup = |kernel: &'static [u8]| Lookup {
        root: &root,
        release: Some("6.1.0-test"),
        kernel: Some((&image, kernel)),
        modules: Some(&modules),
        image: Some(&image),
        running: false,
    };
    let kernel_with: &'static [u8] = kernel_with.leak();
    let kernel_without: &'static [u8] = kernel_without.leak();

    let found = locate(&lookup(kernel_with)).unwrap();
    assert_eq!(found.source, ConfigSource::Image(image.clone()));
    assert_eq!(found.text, "CONFIG_FROM_IMAGE=y\n");

    let found = locate(&lookup(kernel_without)).unwrap();
    assert_eq!(found.source, ConfigSource::File(boot_config.clone()));

    // CONFIG_IKCONFIG=m: the configs module, compressed, comes before the installed file.
    let spec = fixtures::Spec::new(
        fixtures::X86_64,
        fixtures::Layout::Prel32Namespaced,
        fixtures::Crcs::Data,
    );
    let ko =
        fixtures::build_module_with(&spec, &fixtures::ikconfig_block("CONFIG_FROM_MODULE=y\n"));
    let module = modules.join("kernel/kernel/configs.ko.xz");
    std::fs::write(&module, fixtures::compress("xz", &ko)).unwrap();
    let found = locate(&lookup(kernel_without)).unwrap();
    assert_eq!(found.source, ConfigSource::Module(module.clone()));
    assert_eq!(found.text, "CONFIG_FROM_MODULE=y\n");

    // A configs module without the block is an error, not a silent fallback.
    std::fs::write(
        &module,
        fixtures::compress("xz", &fixtures::build_module(&spec)),
    )
    .unwrap();
    let err = locate(&lookup(kernel_without)).unwrap_err().to_string();
    assert!(
        err.contains("configs.ko.xz") && err.contains("IKCFG_ST"),
        "{err}"
    );
    std::fs::remove_file(&module).unwrap();

    // /lib/modules/REL/config, gzip'd like /proc/config.gz.
    std::fs::remove_file(&boot_config).unwrap();
    std::fs::write(
        modules.join("config"),
        fixtures::compress("gzip", b"CONFIG_FROM_MODULES_DIR=y\n"),
    )
    .unwrap();
    let found = locate(&lookup(kernel_without)).unwrap();
    assert_eq!(found.text, "CONFIG_FROM_MODULES_DIR=y\n");
    std::fs::remove_file(modules.join("config")).unwrap();

    // Nothing: every place is listed.
    let err = locate(&lookup(kernel_without)).unwrap_err().to_string();
    for place in [
        image.display().to_string(),
        "configs.ko*".into(),
        boot_config.display().to_string(),
        "usr/lib/modules/6.1.0-test/config".into(),
    ] {
        assert!(err.contains(&place), "{place} not in {err}");
    }
    assert!(
        !err.contains("/proc/config.gz"),
        "not the running kernel: {err}"
    );
}

/// An image outside the root (an unpacked package): the `config-REL` beside it is found after
/// the installed places, which the error lists with it when it is missing too.
#[test]
fn a_config_beside_the_image_is_found() {
    let root = scratch("beside-root");
    let unpacked = scratch("beside-unpacked");
    let image = unpacked.join("vmlinuz-6.1.0-test");
    let lookup = Lookup {
        root: &root,
        release: Some("6.1.0-test"),
        kernel: None,
        modules: None,
        image: Some(&image),
        running: false,
    };
    let beside = unpacked.join("config-6.1.0-test");
    let err = locate(&lookup).unwrap_err().to_string();
    assert!(err.contains(&beside.display().to_string()), "{err}");
    std::fs::write(&beside, "CONFIG_MODULE_FORCE_LOAD=y\n").unwrap();
    let found = locate(&lookup).unwrap();
    assert_eq!(found.source, ConfigSource::File(beside));
    assert_eq!(get(&found.text, "CONFIG_MODULE_FORCE_LOAD"), Some("y"));
}

#[test]
fn a_file_that_is_not_a_configuration_is_an_error() {
    let dir = scratch("notconfig");
    let path = dir.join("config-x");
    std::fs::write(&path, b"\x7fELF\x02\x01\x01\xff\xfe").unwrap();
    let err = read_file(&path).unwrap_err().to_string();
    assert!(
        err.contains("config-x") && err.contains("not text"),
        "{err}"
    );
    std::fs::write(&path, b"just words\n").unwrap();
    let err = read_file(&path).unwrap_err().to_string();
    assert!(err.contains("no CONFIG_ option"), "{err}");
}
