//! `symvers config`: the kernel's configuration as kbuild's `.config`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use symvers::banner::{self, Banner};
use symvers::config::{self, KernelConfig, Lookup};
use symvers::elf::Elf;
use symvers::image::Arch;
use symvers::{Error, Problem};

use super::CliError;
use super::{ReleaseArg, SourceArgs};

/// Text after `symvers config --help`.
pub const AFTER_HELP: &str = "\
Writes the kernel's configuration (kbuild's .config). Searched in this order, under --root when
given:
  1. CONFIG_IKCONFIG data (IKCFG_ST, gzip'd .config, IKCFG_ED) inside the kernel image;
  2. the same in the configs module (kernel/kernel/configs.ko*, CONFIG_IKCONFIG=m);
  3. /boot/config-REL, /lib/modules/REL/config, /usr/lib/modules/REL/config;
  4. /proc/config.gz, for the running kernel only.
Standard error says which one was used, and warns when the configuration does not fit the image
(a different compiler in CONFIG_CC_VERSION_TEXT than the image's banner names, or a
CONFIG_LOCALVERSION that its release lacks).

Examples:
  symvers config -o .config                      # the running kernel
  symvers config --image /boot/firmware/kernel8.img -o .config
  symvers config --root /srv/rootfs 6.1.0-50-amd64

Exit codes:
  0  success
  2  error (no configuration found: every place searched is listed; unreadable or damaged data)
  4  standard output or standard error could not take the output or a message (closed, a
     broken pipe, a full disk): what was to be said did not all arrive";

/// Arguments of `symvers config`.
#[derive(Args, Debug)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub positional: ReleaseArg,
    /// Write to FILE (atomically; `-`: standard output) instead of standard output; an existing
    /// FILE with other contents is kept as FILE.orig (or FILE.orig.N).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace --output without keeping the old file.
    #[arg(long, requires = "output")]
    pub no_backup: bool,
    /// Limit on the decompressed size of the kernel image, in MiB.
    #[arg(long, value_name = "MIB", default_value = super::IMAGE_LIMIT_MIB, value_parser = super::mebibytes)]
    pub image_limit: u64,
}

/// An installed kernel as far as building modules for it is concerned: its release, its image
/// (unwrapped) and banner, its modules folder.
pub struct Installed {
    /// The release: given, else the image's banner's, else the running or only one.
    pub release: String,
    /// The image file, when one was given or found.
    pub image: Option<PathBuf>,
    /// The unwrapped kernel bytes of the image.
    pub kernel: Option<Vec<u8>>,
    /// The image's banner.
    pub banner: Option<Banner>,
    /// The kernel's architecture, as its ELF header or image header says.
    pub arch: Option<Arch>,
    /// The modules folder, when one was given or found.
    pub modules: Option<PathBuf>,
    /// `--root`, or `/`.
    pub root: PathBuf,
    /// The release is this system's running kernel (no `--root`).
    pub running: bool,
}

impl Installed {
    /// Look at the kernel `source` names. `need_image`: a missing or unreadable image is an
    /// error (else a warning, and only the installed files are searched).
    pub fn inspect(
        source: &symvers::locate::Source,
        image_limit: u64,
        need_image: bool,
    ) -> Result<Installed, CliError> {
        // With an image given and no release, the image's banner names the release.
        let mut image = source.image.clone();
        let mut release = source.release.clone();
        if image.is_none() {
            let rel = source.resolve_release()?;
            let found = source
                .locate_image()
                .and_then(|located| match &located.image {
                    Some(path) => Ok(path.clone()),
                    // Only images whose names do not say their release: their banners decide.
                    None => symvers::dump::find_image_by_banner(&located, image_limit),
                });
            image = match found {
                Ok(path) => Some(path),
                Err(e @ Error::NotFound { .. }) if !need_image => {
                    super::warn(format_args!("{e}; CONFIG_IKCONFIG not searched"));
                    None
                }
                Err(e) => return Err(e.into()),
            };
            release = Some(rel);
        }
        let (kernel, arch, found_banner) = match &image {
            Some(path) => match read_kernel(path, image_limit) {
                Ok((bytes, arch)) => {
                    let b = banner::find(&bytes);
                    (Some(bytes), arch, b)
                }
                Err(e) if !need_image => {
                    super::warn(format_args!("{e}; CONFIG_IKCONFIG not searched"));
                    (None, None, None)
                }
                Err(e) => return Err(e),
            },
            None => (None, None, None),
        };
        let release = match (release, &found_banner) {
            (Some(given), Some(b)) if given != b.release => {
                let image = image.as_deref().unwrap_or(Path::new("?"));
                return Err(CliError::Usage(format!(
                    "{}: the image is release {} (its banner), not {given}",
                    image.display(),
                    b.release
                )));
            }
            (Some(given), _) => given,
            (None, Some(b)) => b.release.clone(),
            (None, None) => match &image {
                // A foreign image without a banner: the running kernel's release would be a guess.
                Some(path) if source.root.is_none() => {
                    return Err(CliError::Usage(format!(
                    "{}: no kernel banner (\"Linux version …\") found in the image; give --release",
                    path.display()
                )))
                }
                _ => source.resolve_release()?,
            },
        };
        let root = source.root.clone().unwrap_or_else(|| PathBuf::from("/"));
        let modules = source.modules.first().cloned().or_else(|| {
            symvers::locate::MODULE_BASES
                .iter()
                .map(|b| symvers::locate::under_root(&root, Path::new(b).join(&release)))
                .find(|p| p.is_dir())
        });
        let running = source.root.is_none()
            && std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .is_ok_and(|r| r.trim() == release);
        super::info(format_args!(
            "release {release}; image {} ({}, banner: {}); modules {}",
            image
                .as_deref()
                .map_or("none".into(), |p| p.display().to_string()),
            kernel.as_ref().map_or("not read".into(), |k| format!(
                "{} bytes unwrapped",
                k.len()
            )),
            found_banner.as_ref().map_or("none", |b| b.release.as_str()),
            modules
                .as_deref()
                .map_or("none".into(), |p| p.display().to_string())
        ));
        Ok(Installed {
            release,
            image,
            kernel,
            banner: found_banner,
            arch,
            modules,
            root,
            running,
        })
    }

    /// Find the configuration (see [`config::locate`]).
    pub fn config(&self) -> Result<KernelConfig, CliError> {
        let kernel = match (&self.image, &self.kernel) {
            (Some(path), Some(bytes)) => Some((path.as_path(), bytes.as_slice())),
            _ => None,
        };
        config::locate(&Lookup {
            root: &self.root,
            release: Some(&self.release),
            kernel,
            modules: self.modules.as_deref(),
            image: self.image.as_deref(),
            running: self.running,
        })
        .map_err(CliError::from)
    }
}

/// Read and unwrap the image at `path`: its kernel bytes (a bare raw kernel of no known
/// container as is, as `symvers dump` takes it) and architecture, when a header names it.
pub fn read_kernel(path: &Path, limit: u64) -> Result<(Vec<u8>, Option<Arch>), CliError> {
    let data = symvers::input::read_regular(path, limit)?;
    match symvers::image::unwrap(&data, limit) {
        Ok(kernel) => {
            let arch = match Elf::parse(&kernel.bytes) {
                Ok(elf) if kernel.info.is_elf => Arch::from_elf_machine(elf.machine),
                _ => kernel.info.arch,
            };
            Ok((kernel.bytes.into_owned(), arch))
        }
        Err(Problem::UnknownFormat { .. }) if banner::find(&data).is_some() => Ok((data, None)),
        Err(p) => Err(Error::format(path, p).into()),
    }
}

/// Run `symvers config`.
pub fn run(args: ConfigArgs) -> Result<ExitCode, CliError> {
    super::check_output(args.output.as_deref())?;
    let source = args.positional.apply(args.source.source());
    let limit = args.image_limit;
    let installed = Installed::inspect(&source, limit, false)?;
    let found = installed.config()?;
    super::note(format_args!(
        "configuration of {}: {}",
        installed.release, found.source
    ));
    if let Some(b) = &installed.banner {
        for m in config::mismatches(&found.text, b) {
            super::warn(format_args!("{m}: is it this kernel's configuration?"));
        }
    }
    super::write_output(
        args.output.as_deref(),
        found.text.as_bytes(),
        args.no_backup,
    )?;
    Ok(ExitCode::SUCCESS)
}
