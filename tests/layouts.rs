//! Real systems' module trees, driven through the binary on roots built here: each
//! distribution's layout (where the image, the modules and its own symvers file are), symbolic
//! links, copies of one module in several folders, depmod's index, several module folders, and
//! the image's own release.

#[path = "common/fixtures.rs"]
mod fixtures;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fixtures::{exp, Crcs, Exp, Layout, Spec, X86_64};

/// A scratch root folder, removed on drop.
struct Root(PathBuf);

impl Root {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("symvers-layout-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Root(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        path
    }

    /// A symbolic link at `rel` to `target` (as written: absolute targets are the installed
    /// system's paths).
    fn link(&self, rel: &str, target: &str) {
        let path = self.0.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, path).unwrap();
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn symvers(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_symvers"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Two exports named after `tag`: a plain one and a GPL one in a namespace.
fn exports(tag: &str, crc: u32) -> Vec<Exp> {
    vec![
        exp(&format!("{tag}_open"), "EXPORT_SYMBOL", "", crc),
        exp(
            &format!("{tag}_close"),
            "EXPORT_SYMBOL_GPL",
            "NS",
            crc ^ 0xffff,
        ),
    ]
}

fn spec(exports: &[Exp]) -> Spec {
    let mut s = Spec::new(X86_64, Layout::Prel32Namespaced, Crcs::Data);
    s.exports = exports.to_vec();
    s
}

/// An ELF vmlinux exporting `exports`, with the banner of `release`.
fn vmlinux(release: &str, exports: &[Exp]) -> Vec<u8> {
    fixtures::build_vmlinux_with(&spec(exports), &fixtures::banner(release))
}

/// An x86 bzImage of `vmlinux` compressed with `format`.
fn bzimage(vmlinux: &[u8], format: &str) -> Vec<u8> {
    fixtures::bzimage(&fixtures::with_size_trailer(
        fixtures::compress(format, vmlinux),
        vmlinux.len(),
    ))
}

/// A module exporting `exports`, built for `release` (its vermagic).
fn module(exports: &[Exp], release: &str) -> Vec<u8> {
    let mut s = spec(exports);
    s.modinfo = vec![
        "license=GPL".into(),
        format!("vermagic={release} SMP preempt mod_unload modversions "),
    ];
    fixtures::build_module(&s)
}

/// `bytes` compressed as the file ending says (`.ko` plain).
fn packed(bytes: Vec<u8>, ending: &str) -> Vec<u8> {
    match ending {
        ".ko" => bytes,
        ".ko.xz" => fixtures::compress("xz", &bytes),
        ".ko.zst" => fixtures::compress("zstd", &bytes),
        ".ko.gz" => fixtures::compress("gzip", &bytes),
        other => panic!("{other}"),
    }
}

/// Module.symvers lines of `module` exporting `exports`, in the order of its export tables
/// (`__ksymtab` then `__ksymtab_gpl`, each by name).
fn lines(module: &str, exports: &[Exp]) -> String {
    let mut sorted: Vec<&Exp> = exports.iter().collect();
    sorted.sort_by_key(|e| (e.kind != "EXPORT_SYMBOL", e.name.clone()));
    sorted
        .iter()
        .map(|e| {
            format!(
                "0x{:08x}\t{}\t{module}\t{}\t{}\n",
                e.crc, e.name, e.kind, e.namespace
            )
        })
        .collect()
}

/// One kernel: its release, vmlinux's exports, and its modules (path in the modules folder
/// without ending, exports).
struct Kernel {
    release: String,
    vmlinux: Vec<Exp>,
    modules: Vec<(String, Vec<Exp>)>,
}

impl Kernel {
    /// A kernel whose every export carries `tag`, with three in-tree modules.
    fn new(release: &str, tag: &str, crc: u32) -> Self {
        Kernel {
            release: release.into(),
            vmlinux: exports(&format!("{tag}_core"), crc),
            modules: vec![
                (
                    "kernel/drivers/x/drv".into(),
                    exports(&format!("{tag}_drv"), crc + 1),
                ),
                (
                    "kernel/lib/crc-itu-t".into(),
                    exports(&format!("{tag}_crc"), crc + 2),
                ),
                (
                    "kernel/net/core/netthing".into(),
                    exports(&format!("{tag}_net"), crc + 3),
                ),
            ],
        }
    }

    fn vmlinux(&self) -> Vec<u8> {
        vmlinux(&self.release, &self.vmlinux)
    }

    /// Write the modules into `dir` (a folder of `root`) with file ending `ending`.
    fn install_modules(&self, root: &Root, dir: &str, ending: &str) {
        for (path, exports) in &self.modules {
            root.write(
                &format!("{dir}/{path}{ending}"),
                &packed(module(exports, &self.release), ending),
            );
        }
    }

    /// The table `dump` writes: vmlinux, then the modules by path (no modules.order), plus
    /// `extra` modules (path without ending, exports) placed by path too.
    fn expected(&self, extra: &[(&str, &[Exp])]) -> String {
        let mut modules: Vec<(&str, &[Exp])> = self
            .modules
            .iter()
            .map(|(p, e)| (p.as_str(), e.as_slice()))
            .chain(extra.iter().copied())
            .collect();
        modules.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut out = lines("vmlinux", &self.vmlinux);
        for (path, exports) in modules {
            out += &lines(path.strip_prefix("kernel/").unwrap_or(path), exports);
        }
        out
    }
}

/// Run `dump` with `args`, expect success and `want` on standard output; the standard error.
fn dump_equals(args: &[&str], want: &str) -> String {
    let mut all = vec!["dump"];
    all.extend_from_slice(args);
    let out = symvers(&all);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    assert_eq!(text(&out.stdout), want, "{args:?}: {stderr}");
    stderr
}

/// `--compare-with auto` finds `file` and finds it identical.
fn compare_finds(args: &[&str], file: &Path, symbols: usize) {
    let mut all = vec!["dump", "-o", "/dev/null", "--compare-with", "auto"];
    all.extend_from_slice(args);
    let out = symvers(&all);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let want = format!(
        "symvers: compare: {}: {symbols} symbols there, {symbols} rebuilt: {symbols} identical",
        file.canonicalize().unwrap().display()
    );
    assert!(stderr.contains(&want), "{want}\nnot in\n{stderr}");
}

// ---------------------------------------------------------------------------------------------
// Distributions' layouts.

#[test]
fn fedora_and_rhel_vmlinuz_in_the_modules_folder_xz_modules_and_weak_updates() {
    let r = Root::new("fedora");
    let rel = "6.8.9-300.fc40.x86_64";
    let old = "6.8.5-301.fc40.x86_64";
    // Merged /usr: /lib is a link to usr/lib, as on Fedora.
    r.link("lib", "usr/lib");
    let k = Kernel::new(rel, "fc", 0x1000);
    r.write(
        &format!("usr/lib/modules/{rel}/vmlinuz"),
        &bzimage(&k.vmlinux(), "xz"),
    );
    k.install_modules(&r, &format!("usr/lib/modules/{rel}"), ".ko.xz");
    // The previous kernel with a kmod in extra/, linked into weak-updates/ of this one with
    // an absolute link, as weak-modules makes it.
    Kernel::new(old, "old", 0x2000).install_modules(
        &r,
        &format!("usr/lib/modules/{old}"),
        ".ko.xz",
    );
    let kmod = exports("vendor", 0x3000);
    r.write(
        &format!("usr/lib/modules/{old}/extra/vendor/kmod.ko.xz"),
        &packed(module(&kmod, old), ".ko.xz"),
    );
    r.link(
        &format!("usr/lib/modules/{rel}/weak-updates/vendor/kmod.ko.xz"),
        &format!("/lib/modules/{old}/extra/vendor/kmod.ko.xz"),
    );
    r.write(
        "etc/depmod.d/dist.conf",
        b"search updates extra built-in weak-updates\n",
    );
    // A link left behind by a kmod whose old kernel was removed: reported, not fatal.
    r.link(
        &format!("usr/lib/modules/{rel}/weak-updates/gone/gone.ko.xz"),
        "/lib/modules/6.7.0-1.fc40.x86_64/extra/gone/gone.ko.xz",
    );
    let want = k.expected(&[("weak-updates/vendor/kmod", &kmod)]);
    r.write(
        &format!("boot/symvers-{rel}.gz"),
        &fixtures::compress("gzip", want.as_bytes()),
    );
    let stderr = dump_equals(&["--root", r.arg(), "--release", rel], &want);
    assert_eq!(
        stderr,
        format!(
            "symvers: warning: {}: a symbolic link to /lib/modules/6.7.0-1.fc40.x86_64/extra/gone/gone.ko.xz, which cannot be followed: No such file or directory (os error 2)\n",
            r.path()
                .join(format!("usr/lib/modules/{rel}/weak-updates/gone/gone.ko.xz"))
                .display()
        )
    );
    compare_finds(
        &["--root", r.arg(), "--release", rel],
        &r.path().join(format!("boot/symvers-{rel}.gz")),
        want.lines().count(),
    );
}

#[test]
fn opensuse_gzipped_elf_vmlinux_zstd_modules_and_its_search_order() {
    let r = Root::new("suse");
    let rel = "6.9.1-1-default";
    r.link("lib", "usr/lib");
    let k = Kernel::new(rel, "suse", 0x1100);
    // /boot/vmlinux-REL.gz: the ELF vmlinux itself, gzip'd.
    r.write(
        &format!("boot/vmlinux-{rel}.gz"),
        &fixtures::compress("gzip", &k.vmlinux()),
    );
    k.install_modules(&r, &format!("usr/lib/modules/{rel}"), ".ko.zst");
    // A KMP in extra/ replacing the in-tree driver: extra/ ranks above built-in here.
    let kmp = exports("kmp", 0x1200);
    r.write(
        &format!("usr/lib/modules/{rel}/extra/x/drv.ko.zst"),
        &packed(module(&kmp, rel), ".ko.zst"),
    );
    r.write(
        "usr/lib/depmod.d/00-system.conf",
        b"search updates extra weak-updates kgraft built-in\nmake_map_files no\n",
    );
    let mut kept = Kernel { ..k };
    kept.modules.retain(|(p, _)| p != "kernel/drivers/x/drv");
    let want = kept.expected(&[("extra/x/drv", &kmp)]);
    r.write(
        &format!("boot/symvers-{rel}.gz"),
        &fixtures::compress("gzip", want.as_bytes()),
    );
    let stderr = dump_equals(&["--root", r.arg()], &want);
    assert!(
        stderr.contains(
            &format!("symvers: module drv is installed 2 times: extra/x/drv.ko.zst is the one modprobe loads (search order at {}:1); left out kernel/drivers/x/drv.ko.zst", r.path().join("usr/lib/depmod.d/00-system.conf").display())
        ),
        "{stderr}"
    );
    compare_finds(
        &["--root", r.arg()],
        &r.path().join(format!("boot/symvers-{rel}.gz")),
        want.lines().count(),
    );
}

#[test]
fn arch_vmlinuz_in_usr_lib_modules_and_a_real_build_folder() {
    let r = Root::new("arch");
    let rel = "6.9.1-arch1-1";
    r.link("lib", "usr/lib");
    let k = Kernel::new(rel, "arch", 0x1300);
    r.write(
        &format!("usr/lib/modules/{rel}/vmlinuz"),
        &bzimage(&k.vmlinux(), "zstd"),
    );
    k.install_modules(&r, &format!("usr/lib/modules/{rel}"), ".ko.zst");
    let want = k.expected(&[]);
    // linux-headers installs build/ as a folder, not a link.
    let symvers_file = r.write(
        &format!("usr/lib/modules/{rel}/build/Module.symvers"),
        want.as_bytes(),
    );
    dump_equals(&["--root", r.arg()], &want);
    compare_finds(&["--root", r.arg()], &symvers_file, want.lines().count());
}

/// `bzimage` signed as shim and sbsign leave it: a PE/COFF header in the boot sector and an
/// Authenticode certificate table appended.
fn signed_pe(mut image: Vec<u8>) -> Vec<u8> {
    image[..2].copy_from_slice(b"MZ");
    image[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    image[0x80..0x84].copy_from_slice(b"PE\0\0");
    image[0x84..0x86].copy_from_slice(&0x8664u16.to_le_bytes());
    // WIN_CERTIFICATE: length, revision 2.0, type PKCS_SIGNED_DATA, then DER data.
    let mut cert = Vec::new();
    let der: Vec<u8> = [0x30, 0x82, 0x01, 0xf8]
        .into_iter()
        .chain((0..0x1f8u32).map(|i| (i * 7) as u8))
        .collect();
    cert.extend(((8 + der.len()) as u32).to_le_bytes());
    cert.extend(0x0200u16.to_le_bytes());
    cert.extend(0x0002u16.to_le_bytes());
    cert.extend(der);
    image.extend(cert);
    image
}

#[test]
fn ubuntu_signed_pe_bzimage_dkms_updates_and_its_search_order() {
    let r = Root::new("ubuntu");
    let rel = "6.8.0-31-generic";
    r.link("lib", "usr/lib");
    let k = Kernel::new(rel, "ubu", 0x1400);
    r.write(
        &format!("boot/vmlinuz-{rel}"),
        &signed_pe(bzimage(&k.vmlinux(), "lz4")),
    );
    k.install_modules(&r, &format!("usr/lib/modules/{rel}"), ".ko.zst");
    // A DKMS build of the in-tree driver under updates/dkms, and Ubuntu's own ubuntu/ folder.
    let dkms = exports("dkms", 0x1500);
    r.write(
        &format!("usr/lib/modules/{rel}/updates/dkms/drv.ko.zst"),
        &packed(module(&dkms, rel), ".ko.zst"),
    );
    let ubuntu = exports("ubuntu", 0x1600);
    r.write(
        &format!("usr/lib/modules/{rel}/ubuntu/extra/aufs.ko.zst"),
        &packed(module(&ubuntu, rel), ".ko.zst"),
    );
    r.write(
        "etc/depmod.d/ubuntu.conf",
        b"# depmod.conf\n#\n# make sure that updates and ubuntu ride above built-in\nsearch updates ubuntu built-in\n",
    );
    let mut kept = Kernel { ..k };
    kept.modules.retain(|(p, _)| p != "kernel/drivers/x/drv");
    let want = kept.expected(&[("updates/dkms/drv", &dkms), ("ubuntu/extra/aufs", &ubuntu)]);
    let symvers_file = r.write(
        &format!("usr/src/linux-headers-{rel}/Module.symvers"),
        want.as_bytes(),
    );
    dump_equals(&["--root", r.arg()], &want);
    compare_finds(&["--root", r.arg()], &symvers_file, want.lines().count());
}

#[test]
fn alpine_flavour_named_image_matched_by_its_banner() {
    let r = Root::new("alpine");
    let rel = "6.6.31-0-lts";
    let k = Kernel::new(rel, "lts", 0x1700);
    r.write("boot/vmlinuz-lts", &bzimage(&k.vmlinux(), "gzip"));
    // Another flavour's image, whose modules are not installed.
    let virt = Kernel::new("6.6.31-0-virt", "virt", 0x1800);
    r.write("boot/vmlinuz-virt", &bzimage(&virt.vmlinux(), "gzip"));
    k.install_modules(&r, &format!("lib/modules/{rel}"), ".ko.gz");
    let want = k.expected(&[]);
    let symvers_file = r.write(
        &format!("usr/src/linux-headers-{rel}/Module.symvers"),
        want.as_bytes(),
    );
    dump_equals(&["--root", r.arg()], &want);
    compare_finds(&["--root", r.arg()], &symvers_file, want.lines().count());
    // Without its image, the other flavour's is not taken for it: the error says what each is.
    fs::remove_file(r.path().join("boot/vmlinuz-lts")).unwrap();
    let out = symvers(&["dump", "--root", r.arg()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "kernel image for {rel} (images whose names do not say their release: {} is 6.6.31-0-virt)",
            r.path().join("boot/vmlinuz-virt").display()
        )),
        "{stderr}"
    );
}

#[test]
fn nixos_system_profile_with_store_links_inside_the_root() {
    let r = Root::new("nixos");
    let rel = "6.6.30";
    let k = Kernel::new(rel, "nix", 0x1900);
    let store = "nix/store";
    k.install_modules(
        &r,
        &format!("{store}/aaaa-linux-{rel}-modules/lib/modules/{rel}"),
        ".ko.xz",
    );
    // kernel-modules is a farm of absolute links into the kernel's own output.
    r.link(
        &format!("{store}/bbbb-kernel-modules/lib/modules/{rel}/kernel"),
        &format!("/{store}/aaaa-linux-{rel}-modules/lib/modules/{rel}/kernel"),
    );
    r.write(
        &format!("{store}/cccc-linux-{rel}/bzImage"),
        &bzimage(&k.vmlinux(), "xz"),
    );
    let system = format!("{store}/dddd-nixos-system-host-24.05");
    r.link(
        &format!("{system}/kernel"),
        &format!("/{store}/cccc-linux-{rel}/bzImage"),
    );
    r.link(
        &format!("{system}/kernel-modules"),
        &format!("/{store}/bbbb-kernel-modules"),
    );
    r.link("run/booted-system", &format!("/{system}"));
    dump_equals(&["--root", r.arg()], &k.expected(&[]));
}

#[test]
fn raspberry_pi_kernels_side_by_side_are_told_apart_by_their_banners() {
    let r = Root::new("rpi");
    let kernels = [
        ("6.6.31+rpt-rpi-v7l", "kernel7l.img", "vsevenl", 0x2100),
        ("6.6.31+rpt-rpi-v8", "kernel8.img", "veight", 0x2200),
        ("6.6.31+rpt-rpi-2712", "kernel_2712.img", "bcm", 0x2300),
    ];
    let mut v8 = None;
    for (rel, image, tag, crc) in kernels {
        let k = Kernel::new(rel, tag, crc);
        r.write(
            &format!("boot/firmware/{image}"),
            &bzimage(&k.vmlinux(), "gzip"),
        );
        k.install_modules(&r, &format!("lib/modules/{rel}"), ".ko.xz");
        if image == "kernel8.img" {
            v8 = Some(k);
        }
    }
    let v8 = v8.unwrap();
    let want = v8.expected(&[]);
    dump_equals(&["--root", r.arg(), "--release", &v8.release], &want);
    // The image's own banner also chooses the modules, without --release.
    let image = r.path().join("boot/firmware/kernel8.img");
    dump_equals(
        &["--root", r.arg(), "--image", image.to_str().unwrap()],
        &want,
    );
}

// ---------------------------------------------------------------------------------------------
// Trees: links, copies, depmod's index.

/// A Debian-like root: /boot/vmlinuz-REL and lib/modules/REL with a modules.order.
fn debian(r: &Root, k: &Kernel) {
    r.write(
        &format!("boot/vmlinuz-{}", k.release),
        &bzimage(&k.vmlinux(), "xz"),
    );
    k.install_modules(r, &format!("lib/modules/{}", k.release), ".ko");
}

#[test]
fn a_linked_kernel_folder_is_read_whole() {
    // The example: lib/modules/REL/kernel is a link to the real folder.
    let r = Root::new("kernel-link");
    let k = Kernel::new("6.1.0-50-amd64", "deb", 0x3100);
    r.write(
        &format!("boot/vmlinuz-{}", k.release),
        &bzimage(&k.vmlinux(), "xz"),
    );
    k.install_modules(&r, "srv/real", ".ko");
    let modules = format!("lib/modules/{}", k.release);
    fs::create_dir_all(r.path().join(&modules)).unwrap();
    r.link(&format!("{modules}/kernel"), "/srv/real/kernel");
    dump_equals(&["--root", r.arg()], &k.expected(&[]));
}

/// The kernel of the updates/ example: vmlinux exports module_layout and _printk, kernel/lib
/// has crc-itu-t with CRC 0x0000cccc, updates/ a rebuilt one with 0x0000dddd.
fn updates_example(r: &Root) -> (Kernel, Vec<Exp>) {
    let rel = "6.1.0-50-amd64";
    let mut k = Kernel::new(rel, "deb", 0x3200);
    k.vmlinux = vec![
        exp("module_layout", "EXPORT_SYMBOL", "", 0xaaaa),
        exp("_printk", "EXPORT_SYMBOL", "", 0xbbbb),
    ];
    k.modules = vec![(
        "kernel/lib/crc-itu-t".into(),
        vec![exp("crc_itu_t", "EXPORT_SYMBOL", "", 0xcccc)],
    )];
    debian(r, &k);
    let rebuilt = vec![exp("crc_itu_t", "EXPORT_SYMBOL", "", 0xdddd)];
    r.write(
        &format!("lib/modules/{rel}/updates/crc-itu-t.ko"),
        &module(&rebuilt, rel),
    );
    (k, rebuilt)
}

#[test]
fn the_updates_copy_is_the_one_modprobe_loads_for_dump_and_check() {
    let r = Root::new("updates");
    let (k, rebuilt) = updates_example(&r);
    let only_updates = Kernel {
        modules: Vec::new(),
        ..k
    };
    let want = only_updates.expected(&[("updates/crc-itu-t", &rebuilt)]);
    let stderr = dump_equals(&["--root", r.arg()], &want);
    assert_eq!(
        stderr,
        "symvers: module crc_itu_t is installed 2 times: updates/crc-itu-t.ko is the one modprobe loads (depmod's default order: updates/ first); left out kernel/lib/crc-itu-t.ko\n"
    );
    // Auditors keep every copy, and hear about the symbol exported twice.
    let out = symvers(&["dump", "--root", r.arg(), "--all-copies"]);
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches("\tcrc_itu_t\t").count(), 2, "{stdout}");
    assert!(text(&out.stderr).contains("crc_itu_t is exported by more than one module"));

    // The tree's own user of the rebuilt crc-itu-t agrees with the table: --verify reads the
    // copies modprobe loads.
    let mut tree_user = spec(&[]);
    tree_user.imports = vec!["crc_itu_t".into()];
    tree_user.versions = vec![(0xdddd, "crc_itu_t".into())];
    r.write(
        "lib/modules/6.1.0-50-amd64/updates/crc-user.ko",
        &fixtures::build_module(&tree_user),
    );
    let out = symvers(&["dump", "--root", r.arg(), "--verify", "-o", "/dev/null"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("1 agree, 0 disagree"), "{stderr}");

    // A module built against the rebuilt crc-itu-t loads, as modprobe would load both.
    let mut user = spec(&[]);
    user.imports = vec!["_printk".into(), "crc_itu_t".into()];
    user.versions = vec![
        (0xaaaa, "module_layout".into()),
        (0xbbbb, "_printk".into()),
        (0xdddd, "crc_itu_t".into()),
    ];
    user.modinfo = vec![
        "license=GPL".into(),
        "name=user".into(),
        "vermagic=6.1.0-50-amd64 SMP preempt mod_unload modversions ".into(),
    ];
    let user = r.write("user.ko", &fixtures::build_module(&user));
    let out = symvers(&["check", "--root", r.arg(), user.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("user.ko: would load"), "{stdout}");
}

#[test]
fn a_depmod_d_override_brings_the_kernels_copy_back() {
    let r = Root::new("override");
    let (k, _) = updates_example(&r);
    r.write(
        "etc/depmod.d/keep-crc.conf",
        b"override crc-itu-t * kernel/lib\n",
    );
    let stderr = dump_equals(&["--root", r.arg()], &k.expected(&[]));
    assert!(
        stderr.contains(&format!(
            "kernel/lib/crc-itu-t.ko is the one modprobe loads (override at {}:1)",
            r.path().join("etc/depmod.d/keep-crc.conf").display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_module_depmods_index_lists_but_the_tree_lacks_is_an_error() {
    let r = Root::new("index");
    let k = Kernel::new("6.1.0-50-amd64", "deb", 0x3300);
    debian(&r, &k);
    let dir = format!("lib/modules/{}", k.release);
    let mut listed: Vec<String> = k.modules.iter().map(|(p, _)| format!("{p}.ko")).collect();
    // An index matching the tree: no complaint.
    let index = |listed: &[String]| {
        let entries: Vec<(&str, &[&str])> = listed.iter().map(|p| (p.as_str(), &[][..])).collect();
        fixtures::modules_dep_bin(&entries)
    };
    r.write(&format!("{dir}/modules.dep.bin"), &index(&listed));
    assert_eq!(dump_equals(&["--root", r.arg()], &k.expected(&[])), "");
    // drm.ko is listed (depmod ran when it was there) but is gone.
    listed.push("kernel/drivers/gpu/drm/drm.ko".into());
    r.write(&format!("{dir}/modules.dep.bin"), &index(&listed));
    let out = symvers(&["dump", "--root", r.arg()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains(&format!(
            "{}: lists drm at kernel/drivers/gpu/drm/drm.ko, which is not in the tree",
            r.path().join(&dir).join("modules.dep.bin").display()
        )),
        "{stderr}"
    );
    // --keep-going writes what there is, and says it is incomplete (exit code 3).
    let out = symvers(&["dump", "--root", r.arg(), "--keep-going"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(text(&out.stdout), k.expected(&[]));
    // modules.order (what the build made) is no such list: split packages install part of it.
    fs::remove_file(r.path().join(&dir).join("modules.dep.bin")).unwrap();
    r.write(
        &format!("{dir}/modules.order"),
        b"kernel/drivers/gpu/drm/drm.ko\nkernel/drivers/x/drv.ko\n",
    );
    dump_equals(&["--root", r.arg()], &k.expected(&[]));
}

#[test]
fn android_module_sets_several_folders_without_an_image() {
    let r = Root::new("android");
    let rel = "6.1.75-android14-11";
    let vendor = [
        ("foo", exports("foo", 0x4100)),
        ("bar", exports("bar", 0x4200)),
    ];
    let system = [("zram", exports("zram", 0x4300))];
    for (name, e) in &vendor {
        r.write(
            &format!("vendor_dlkm/lib/modules/{name}.ko"),
            &module(e, rel),
        );
    }
    for (name, e) in &system {
        r.write(
            &format!("system_dlkm/lib/modules/{rel}/kernel/mm/{name}.ko"),
            &module(e, rel),
        );
    }
    // Android's modules.dep names modules by where the partition is mounted.
    r.write(
        "vendor_dlkm/lib/modules/modules.dep",
        b"/vendor/lib/modules/foo.ko:\n/vendor/lib/modules/bar.ko: /vendor/lib/modules/foo.ko\n",
    );
    let a = r.path().join("vendor_dlkm/lib/modules");
    let b = r.path().join(format!("system_dlkm/lib/modules/{rel}"));
    // The union, in the order given, each folder's modules named relative to it.
    let want = format!(
        "{}{}{}",
        lines("bar", &vendor[1].1),
        lines("foo", &vendor[0].1),
        lines("mm/zram", &system[0].1)
    );
    let args = [
        "--modules-only",
        "--modules",
        a.to_str().unwrap(),
        "--modules",
        b.to_str().unwrap(),
    ];
    assert_eq!(dump_equals(&args, &want), "");
    // The index is checked: a module it lists that is not there is an error.
    r.write(
        "vendor_dlkm/lib/modules/modules.dep",
        b"/vendor/lib/modules/foo.ko:\n/vendor/lib/modules/bar.ko:\n/vendor/lib/modules/gone.ko:\n",
    );
    let mut all = vec!["dump"];
    all.extend_from_slice(&args);
    let out = symvers(&all);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("lists gone at /vendor/lib/modules/gone.ko"));
}

#[test]
fn modules_only_needs_no_image() {
    let r = Root::new("no-image");
    let k = Kernel::new("6.1.0-50-amd64", "deb", 0x3400);
    k.install_modules(&r, &format!("lib/modules/{}", k.release), ".ko.xz");
    let only_modules = Kernel {
        vmlinux: Vec::new(),
        ..k
    };
    dump_equals(
        &["--root", r.arg(), "--modules-only"],
        &only_modules.expected(&[]),
    );
    // A whole table still needs the image.
    let out = symvers(&["dump", "--root", r.arg()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("kernel image for 6.1.0-50-amd64 not found"));
}

#[test]
fn the_image_given_alone_chooses_its_own_modules() {
    let r = Root::new("image-release");
    let a = Kernel::new("6.1.0-49-amd64", "old", 0x3500);
    let b = Kernel::new("6.1.0-50-amd64", "new", 0x3600);
    debian(&r, &a);
    debian(&r, &b);
    let image = r.path().join("boot/vmlinuz-6.1.0-50-amd64");
    // Two releases under the root: the image's banner says which one, not `uname -r`.
    dump_equals(
        &["--root", r.arg(), "--image", image.to_str().unwrap()],
        &b.expected(&[]),
    );
    // An image whose release has no modules folder: the error says what to give instead.
    let lone = r.write(
        "tmp/vmlinuz",
        &bzimage(&vmlinux("6.12.0-1-amd64", &exports("lone", 0x3700)), "xz"),
    );
    let out = symvers(&["dump", "--root", r.arg(), "--image", lone.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("modules folder for 6.12.0-1-amd64 not found; searched: ")
            && stderr.contains("give the folder with --modules DIR, or --vmlinux-only"),
        "{stderr}"
    );
}

#[test]
fn an_image_and_modules_of_different_releases_are_refused() {
    let r = Root::new("mismatch");
    let old = Kernel::new("6.1.0-50-amd64", "old", 0x3800);
    debian(&r, &old);
    let new = r.write(
        "tmp/vmlinuz-6.12.0-1-amd64",
        &bzimage(&vmlinux("6.12.0-1-amd64", &exports("new", 0x3900)), "xz"),
    );
    let modules = r.path().join("lib/modules/6.1.0-50-amd64");
    let args = [
        "dump",
        "--image",
        new.to_str().unwrap(),
        "--modules",
        modules.to_str().unwrap(),
    ];
    let out = symvers(&args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr,
        format!(
            "symvers: {} is release 6.12.0-1-amd64, but the modules in {} are 6.1.0-50-amd64 (by their vermagic); give the image and modules of one kernel, or --allow-release-mismatch to read them together\n",
            new.display(),
            modules.display()
        )
    );
    let mut allowed = args.to_vec();
    allowed.push("--allow-release-mismatch");
    let out = symvers(&allowed);
    assert_eq!(out.status.code(), Some(0));
    // Allowed, never silent.
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "symvers: warning: {} is release 6.12.0-1-amd64, the modules in {} are 6.1.0-50-amd64 (by their vermagic): read together as --allow-release-mismatch asks",
            new.display(),
            modules.display()
        )),
        "{stderr}"
    );
}

#[test]
fn depmod_d_external_folders_are_read_and_ranked() {
    let r = Root::new("external");
    let (k, _) = updates_example(&r);
    // A vendor folder outside the modules folder, ranked above everything by depmod.d.
    let vendor = vec![exp("crc_itu_t", "EXPORT_SYMBOL", "", 0xeeee)];
    r.write("opt/vendor/crc-itu-t.ko", &module(&vendor, &k.release));
    r.write(
        "etc/depmod.d/vendor.conf",
        b"search external updates built-in\nexternal 6\\.1\\..* /opt/vendor\n",
    );
    let only_vmlinux = Kernel {
        modules: Vec::new(),
        ..k
    };
    // Named by its path on the installed system, as depmod records it.
    let want = only_vmlinux.expected(&[("/opt/vendor/crc-itu-t", &vendor)]);
    let stderr = dump_equals(&["--root", r.arg()], &want);
    assert!(
        stderr.contains("module crc_itu_t is installed 3 times: /opt/vendor/crc-itu-t.ko is the one modprobe loads"),
        "{stderr}"
    );
}
