//! Write the seed corpora of the fuzz targets (fuzz/fuzz_targets/*.rs) from the generated test
//! fixtures: `cargo run --example fuzz_seeds -- fuzz/corpus`. One folder per target.
//!
//! The seeds are generated rather than committed (a few hundred KiB of binary files); scripts/fuzz
//! runs this first.

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

use std::fs;
use std::path::{Path, PathBuf};

use fixtures::{Crcs, Layout, Spec, ALL_ARCHES};

const LAYOUTS: [Layout; 4] = [
    Layout::Prel32Namespaced,
    Layout::Prel32,
    Layout::AbsoluteNamespaced,
    Layout::Absolute,
];
const CRCS: [Crcs; 5] = [
    Crcs::None,
    Crcs::AbsoluteSymbols,
    Crcs::Data,
    Crcs::Word,
    Crcs::Relative,
];
const COMPRESSIONS: [&str; 8] = [
    "gzip",
    "xz",
    "zstd",
    "bzip2",
    "lz4",
    "lz4-frame",
    "lzma",
    "lzma-openwrt",
];

struct Corpus {
    dir: PathBuf,
    count: usize,
}

impl Corpus {
    fn new(root: &Path, target: &str) -> Self {
        let dir = root.join(target);
        fs::create_dir_all(&dir).expect("create corpus folder");
        Corpus { dir, count: 0 }
    }
    fn add(&mut self, name: &str, bytes: &[u8]) {
        fs::write(self.dir.join(format!("seed-{name}")), bytes).expect("write seed");
        self.count += 1;
    }
}

/// A few exports with every kind, and a module's imports and versions.
fn spec(arch: fixtures::Arch, layout: Layout, crcs: Crcs) -> Spec {
    let mut s = Spec::new(arch, layout, crcs);
    s.versions = vec![
        (0x1234_5678, "module_layout".into()),
        (0x9abc_def0, "printk".into()),
    ];
    s.imports = vec!["printk".into()];
    s
}

fn main() {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    let mut vmlinux = Corpus::new(&root, "vmlinux_elf");
    let mut kernel = Corpus::new(&root, "kernel_image");
    let mut unwrap = Corpus::new(&root, "image_unwrap");
    let mut module = Corpus::new(&root, "module_exports");
    let mut modinfo = Corpus::new(&root, "modinfo");
    let mut symvers = Corpus::new(&root, "symvers_parse");

    for arch in ALL_ARCHES {
        for layout in LAYOUTS {
            for crcs in CRCS {
                let tag = format!("{}-{layout:?}-{crcs:?}", arch.name);
                let s = spec(arch, layout, crcs);
                let v = fixtures::build_vmlinux(&s);
                vmlinux.add(&tag, &v);
                let ko = fixtures::build_module(&s);
                module.add(&tag, &ko);
                if crcs == Crcs::Data {
                    modinfo.add(&tag, &ko);
                    kernel.add(&tag, &v);
                    kernel.add(&format!("{tag}-raw"), &fixtures::build_raw_image(&s).0);
                }
            }
        }
        // 7.x flags table and 6.14 extended versions.
        let mut s = spec(arch, Layout::Prel32Namespaced, Crcs::Data);
        s.flags_table = true;
        s.ext_versions = vec![(
            0x0bad_cafe,
            "a_rust_symbol_with_a_name_longer_than_fifty_six_bytes_in_total".into(),
        )];
        vmlinux.add(
            &format!("{}-flags", arch.name),
            &fixtures::build_vmlinux(&s),
        );
        module.add(&format!("{}-flags", arch.name), &fixtures::build_module(&s));
        modinfo.add(&format!("{}-ext", arch.name), &fixtures::build_module(&s));
    }

    // Containers: each compression bare and inside a bzImage, with the build's size trailer.
    let small = fixtures::build_vmlinux(&spec(
        fixtures::X86_64,
        Layout::Prel32Namespaced,
        Crcs::Data,
    ));
    unwrap.add("elf", &small);
    for format in COMPRESSIONS {
        let packed = fixtures::with_size_trailer(fixtures::compress(format, &small), small.len());
        unwrap.add(&format!("bare-{format}"), &packed);
        let image = fixtures::bzimage(&packed);
        unwrap.add(&format!("bzimage-{format}"), &image);
        kernel.add(&format!("bzimage-{format}"), &image);
        unwrap.add(
            &format!("concatenated-{format}"),
            &fixtures::concatenated(format, &small, 2),
        );
    }
    // A FIT image with its kernel inline and outside the tree, a board's device tree, a
    // vmlinux without section headers.
    for (tag, place) in [
        ("fit", fixtures::FitData::Inline),
        ("fit-external", fixtures::FitData::External),
    ] {
        let gz = fixtures::compress("gzip", &small);
        let images = [fixtures::FitImage {
            name: "kernel-1",
            kind: "kernel",
            compression: "gzip",
            data: &gz,
        }];
        let fit = fixtures::fit(&images, place, Some("kernel-1"));
        unwrap.add(tag, &fit);
        kernel.add(tag, &fit);
    }
    unwrap.add("dtb", &fixtures::board_dtb());
    let mut stripped = fixtures::build_vmlinux_elf(&spec(
        fixtures::X86_64,
        Layout::Prel32Namespaced,
        Crcs::Data,
    ));
    stripped.no_section_headers = true;
    kernel.add("vmlinux-no-section-headers", &stripped.build());

    // Module.symvers in every column order the kernel has written.
    let table = "0x12345678\talpha_func\tvmlinux\tEXPORT_SYMBOL\t\n\
                 0x9abcdef0\tbeta_data\tdrivers/x/y\tEXPORT_SYMBOL_GPL\tGAMMA_NS\n";
    symvers.add("5.6", table.as_bytes());
    symvers.add(
        "5.4",
        b"0x12345678\talpha_func\tGAMMA_NS\tvmlinux\tEXPORT_SYMBOL\n",
    );
    symvers.add(
        "4col",
        b"0x12345678\talpha_func\tvmlinux\tEXPORT_SYMBOL\n0x00000001\tb\tm\tEXPORT_UNUSED_SYMBOL_GPL\n",
    );

    for c in [&vmlinux, &kernel, &unwrap, &module, &modinfo, &symvers] {
        println!("{}: {} seeds", c.dir.display(), c.count);
    }
}
