use super::{read, Import, Version, VersionFormat};
use crate::error::Problem;
use crate::fixtures::{self as fx, Crcs, Layout, Spec};

fn v(crc: u32, name: &str) -> Version {
    Version {
        crc,
        name: name.into(),
    }
}

fn spec(arch: fx::Arch) -> Spec {
    let mut s = Spec::new(arch, Layout::Prel32Namespaced, Crcs::Data);
    s.exports.clear();
    s
}

#[test]
fn versions_on_every_architecture() {
    for arch in fx::ALL_ARCHES {
        let mut s = spec(arch);
        s.versions = vec![
            (0x1234_5678, "module_layout".into()),
            (0xdead_beef, "printk".into()),
            // 55 characters: the longest name a 64-bit modversion_info holds.
            (0x0000_0001, "x".repeat(55)),
        ];
        s.modinfo = vec![
            "license=GPL".into(),
            "vermagic=6.1.0-50-amd64 SMP preempt mod_unload modversions ".into(),
        ];
        let info = read(&fx::build_module(&s)).unwrap();
        assert_eq!(info.version_format(), VersionFormat::Basic, "{}", arch.name);
        assert_eq!(
            info.versions,
            vec![
                v(0x1234_5678, "module_layout"),
                v(0xdead_beef, "printk"),
                v(1, &"x".repeat(55))
            ],
            "{}",
            arch.name
        );
        assert_eq!(info.version_of("printk"), Some(0xdead_beef));
        assert_eq!(info.get("license"), Some("GPL"));
        assert_eq!(
            info.get("vermagic"),
            Some("6.1.0-50-amd64 SMP preempt mod_unload modversions ")
        );
    }
}

#[test]
fn extended_versions_take_precedence() {
    for arch in [fx::X86_64, fx::PPC64, fx::ARM] {
        let mut s = spec(arch);
        s.versions = vec![(0x1111_1111, "printk".into())];
        let long = "_RNvNtCs1234_4core3fmt9Formatter9write_str_with_a_name_longer_than_56";
        s.ext_versions = vec![(0x2222_2222, "printk".into()), (0x3333_3333, long.into())];
        let info = read(&fx::build_module(&s)).unwrap();
        assert_eq!(info.version_format(), VersionFormat::Extended);
        assert_eq!(
            info.version_of("printk"),
            Some(0x2222_2222),
            "{}",
            arch.name
        );
        assert_eq!(info.version_of(long), Some(0x3333_3333));
        assert_eq!(info.versions, vec![v(0x1111_1111, "printk")]);
    }
}

#[test]
fn no_versions_and_imports() {
    let mut s = spec(fx::I386);
    s.imports = vec!["printk".into(), "kmalloc".into(), "printk".into()];
    s.modinfo = vec![
        "license=Proprietary".into(),
        "import_ns=USB_STORAGE".into(),
        "import_ns=CXL".into(),
    ];
    let info = read(&fx::build_module(&s)).unwrap();
    assert_eq!(info.version_format(), VersionFormat::None);
    assert_eq!(
        info.imports,
        vec![
            Import {
                name: "printk".into(),
                weak: false
            },
            Import {
                name: "kmalloc".into(),
                weak: false
            }
        ]
    );
    assert_eq!(
        info.get_all("import_ns").collect::<Vec<_>>(),
        ["USB_STORAGE", "CXL"]
    );
}

#[test]
fn modinfo_padding_and_junk() {
    let parsed = super::parse_modinfo(b"license=GPL\0\0\0alias=pci:v*\0junk\0author=A=B\0");
    assert_eq!(
        parsed,
        vec![
            ("license".into(), "GPL".into()),
            ("alias".into(), "pci:v*".into()),
            ("author".into(), "A=B".into()),
        ]
    );
}

#[test]
fn damaged_version_tables_are_errors() {
    let mut s = spec(fx::X86_64);
    s.versions = vec![(1, "printk".into())];
    let mut f = fx::build_module_elf(&s);
    let i = f.index_of("__versions").unwrap();
    f.section_mut(i).data.truncate(60);
    assert_eq!(
        read(&f.build()).unwrap_err(),
        Problem::Elf(
            "__versions is 60 bytes, not a multiple of the 64-byte modversion_info".into()
        )
    );

    let mut f = fx::build_module_elf(&s);
    let i = f.index_of("__versions").unwrap();
    f.section_mut(i).data[8..].fill(b'a');
    assert_eq!(
        read(&f.build()).unwrap_err(),
        Problem::Elf("__versions record whose name is not NUL-terminated".into())
    );

    let mut s = spec(fx::X86_64);
    s.ext_versions = vec![(1, "a".into()), (2, "b".into())];
    let mut f = fx::build_module_elf(&s);
    let i = f.index_of("__version_ext_names").unwrap();
    f.section_mut(i).data = b"a\0".to_vec();
    assert_eq!(
        read(&f.build()).unwrap_err(),
        Problem::Elf("__version_ext_crcs has 2 CRCs but __version_ext_names has 1 names".into())
    );
}
