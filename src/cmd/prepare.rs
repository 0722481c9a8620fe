//! `symvers prepare`: turn a kernel source tree into a build tree for an installed kernel.
//!
//! kbuild does the work (`olddefconfig`, `modules_prepare`); this command supplies what only the
//! installed kernel knows (configuration, release, compiler, the Module.symvers table), then
//! checks the result by building a probe module and comparing its vermagic with the kernel's.

use std::fs;
use std::io::Write as _;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use clap::Args;

use symvers::banner;
use symvers::config;
use symvers::prepare::{self, CompilerMatch, TreeVersion};
use symvers::{modtree, Error};

use super::config::Installed;
use super::CliError;
use super::SourceArgs;

/// Text after `symvers prepare --help`.
pub const AFTER_HELP: &str = "\
Turns a kernel source tree of the kernel's version into a build tree for external modules of
the installed kernel (the running one, or --root/--release/--image/--modules), without its
headers package:
  1. the kernel's configuration (as `symvers config` finds it, or --config FILE) is written as
     BUILD/.config, with CONFIG_LOCALVERSION set and CONFIG_LOCALVERSION_AUTO off so that
     `make kernelrelease` prints the kernel's release. When the release does not extend the
     source's version (Debian's 6.1.0-50-amd64 is built from 6.1.176), EXTRAVERSION or
     KERNELVERSION is set as a make variable, kept in BUILD/Makefile; a release that cannot be
     made (another VERSION.PATCHLEVEL, localversion files the release lacks) is refused;
  2. `make O=BUILD olddefconfig modules_prepare` runs with the kernel's compiler (CC=gcc-12, or
     LLVM=1 for a clang-built kernel) when it is installed; the source tree is not written to;
  3. the kernel's rebuilt Module.symvers is written into BUILD;
  4. a probe module is built: its vermagic must equal the kernel's, release included, and the
     compiler must match the one the kernel's banner names (else a warning says which).
The last line on standard output is the command that builds a module against BUILD.
Make variables after `--` go to every make run and into BUILD/Makefile (ARCH=, CROSS_COMPILE=,
CC=, LLVM=). Needs make, a C compiler, flex, bison, bc and the libelf and OpenSSL headers.

Examples:
  symvers prepare ~/src/linux-6.1 -o ~/build-6.1                 # for the running kernel
  symvers prepare linux-source-6.1 --root /srv/rootfs -o build
  symvers prepare linux --image kernel8.img --modules /lib/modules/6.1.21-v8+ \\
      --config config-6.1.21-v8+ -o build -- ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-

Exit codes:
  0  the tree is ready and its vermagic equals the kernel's
  1  the tree was built, but its release or vermagic differs from the kernel's (see the message)
  2  error (bad usage, a missing or unreadable file, a source tree or release that cannot match,
     a make run that failed)
  4  standard output or standard error could not take the output or a message (closed, a
     broken pipe, a full disk): what was to be said did not all arrive";

/// Arguments of `symvers prepare`.
#[derive(Args, Debug)]
pub struct PrepareArgs {
    /// The kernel source tree (its top-level Makefile declares the version).
    #[arg(value_name = "SOURCE-TREE")]
    pub tree: PathBuf,
    /// The build folder (kbuild's O=); created when missing. Default: ./build-REL.
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Build in the source tree itself instead of a separate folder.
    #[arg(long, conflicts_with = "output")]
    pub in_place: bool,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Use this configuration file (plain or compressed) instead of searching for one.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Parallel make jobs and threads reading modules (default: the number of cores).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// The make program.
    #[arg(long, value_name = "PROGRAM", default_value = "make")]
    pub make: String,
    /// Limit on the decompressed size of the kernel image, in MiB.
    #[arg(long, value_name = "MIB", default_value = super::IMAGE_LIMIT_MIB, value_parser = super::mebibytes)]
    pub image_limit: u64,
    /// Limit on the decompressed size of one module, in MiB.
    #[arg(long, value_name = "MIB", default_value = super::MODULE_LIMIT_MIB, value_parser = super::mebibytes)]
    pub module_limit: u64,
    /// Make variables for every make run (NAME=VALUE).
    #[arg(last = true, value_name = "MAKE-VARIABLES")]
    pub variables: Vec<String>,
}

/// How make is run in this tree.
struct Make {
    program: String,
    source: PathBuf,
    /// The O= folder, `None` in place.
    build: Option<PathBuf>,
    /// Variables of every run.
    variables: Vec<(String, String)>,
    /// Where make's output goes with `--quiet`.
    log: Option<PathBuf>,
}

impl Make {
    fn command(&self, extra: &[(&str, &str)], args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.arg("-C").arg(&self.source);
        if let Some(build) = &self.build {
            cmd.arg(format!("O={}", build.display()));
        }
        for (name, value) in &self.variables {
            cmd.arg(format!("{name}={value}"));
        }
        for (name, value) in extra {
            cmd.arg(format!("{name}={value}"));
        }
        cmd.args(args);
        cmd
    }

    /// `make …` as a shell line, for messages.
    fn shown(&self, extra: &[(&str, &str)], args: &[&str]) -> String {
        shell_line(&self.command(extra, args))
    }

    /// Where this tree's failures are reported.
    fn folder(&self) -> &Path {
        self.build.as_deref().unwrap_or(&self.source)
    }

    /// Run a build step, its output on standard error (or in the log with `--quiet`).
    fn run(&self, extra: &[(&str, &str)], args: &[&str]) -> Result<(), CliError> {
        super::note(format_args!("running: {}", self.shown(extra, args)));
        let mut cmd = self.command(extra, args);
        match &self.log {
            Some(log) => {
                let file = fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .map_err(|e| Error::io(log, e))?;
                let copy = file.try_clone().map_err(|e| Error::io(log, e))?;
                cmd.stdout(copy).stderr(file);
            }
            // Standard error was closed when symvers started: make's output has nowhere to go.
            None if super::stdio::stderr_closed() => {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
            None => {
                // make's progress is not this command's data: standard output stays for the
                // final line.
                let stderr = std::io::stderr()
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(|e| Error::io("<stderr>", e))?;
                cmd.stdout(Stdio::from(stderr));
            }
        }
        let status = cmd.status().map_err(|e| Error::io(&self.program, e))?;
        if status.success() {
            return Ok(());
        }
        let where_ = match &self.log {
            Some(log) => format!("its output is in {}", log.display()),
            None => "its output is above".into(),
        };
        Err(failed(
            self.folder(),
            format!("`{}` failed ({status}); {where_}", self.shown(extra, args)),
        ))
    }

    /// Run `make -s TARGET` and return the last line it prints.
    fn query(&self, extra: &[(&str, &str)], target: &str) -> Result<String, CliError> {
        let mut cmd = self.command(extra, &["-s", target]);
        if self.log.is_some() {
            cmd.stderr(Stdio::null());
        }
        let out = cmd.output().map_err(|e| Error::io(&self.program, e))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().rev().find(|l| !l.trim().is_empty());
        match (out.status.success(), line) {
            (true, Some(l)) => Ok(l.trim().to_string()),
            _ => Err(failed(
                self.folder(),
                format!(
                    "`{}` failed ({}): {}",
                    self.shown(extra, &["-s", target]),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            )),
        }
    }

    /// Configure: `olddefconfig`, then `syncconfig` (include/config/auto.conf, which
    /// `kernelrelease` reads); `silentoldconfig` before 4.18.
    fn configure(&self) -> Result<(), CliError> {
        self.run(&[], &["olddefconfig"])?;
        self.run(&[], &["syncconfig"])
            .or_else(|_| self.run(&[], &["silentoldconfig"]))
    }
}

/// An error about `folder` that is not an operating-system error.
fn failed(folder: &Path, message: String) -> CliError {
    Error::io(folder, std::io::Error::other(message)).into()
}

/// A command as a shell line (arguments quoted where needed).
fn shell_line(cmd: &Command) -> String {
    let mut parts = vec![shell_word(&cmd.get_program().to_string_lossy())];
    parts.extend(cmd.get_args().map(|a| shell_word(&a.to_string_lossy())));
    parts.join(" ")
}

fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=+,:@%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// A program on PATH (or a path), for choosing the compiler.
fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Run `symvers prepare`.
pub fn run(args: PrepareArgs) -> Result<ExitCode, CliError> {
    super::set_jobs(args.jobs)?;
    let mut variables = Vec::new();
    for v in &args.variables {
        variables.push(prepare::parse_variable(v).ok_or_else(|| {
            CliError::Usage(format!(
                "`{v}` after -- is not a make variable (NAME=VALUE); targets and options are chosen by symvers prepare"
            ))
        })?);
    }
    let given = |name: &str| variables.iter().any(|(n, _)| n == name);

    // --- the installed kernel --------------------------------------------------------------
    let source = args.source.source();
    let image_limit = args.image_limit;
    let module_limit = args.module_limit;
    let installed = Installed::inspect(&source, image_limit, true)?;
    let release = installed.release.clone();
    prepare::check_release(&release).map_err(CliError::Usage)?;
    let image = installed.image.clone().unwrap_or_default();
    let modules = installed.modules.clone().ok_or_else(|| Error::NotFound {
        what: format!("modules folder for {release} (the table is rebuilt from it)"),
        searched: ["lib/modules", "usr/lib/modules"]
            .iter()
            .map(|b| installed.root.join(b).join(&release))
            .collect(),
    })?;
    let Some(kernel_banner) = installed.banner.clone() else {
        return Err(CliError::Usage(format!(
            "{}: no kernel banner (\"Linux version …\") in the unwrapped kernel: its release and compiler are unknown",
            image.display()
        )));
    };
    super::note(format_args!(
        "kernel {release}: {}, modules {}",
        image.display(),
        modules.display()
    ));
    if let (Some(kernel_arch), Some(host)) = (installed.arch, prepare::host_arch()) {
        if kernel_arch != host && !given("ARCH") {
            return Err(CliError::Usage(format!(
                "the kernel is {}, this machine {}: give the kernel's ARCH and a cross compiler after --, \
                 e.g. `-- ARCH={} CROSS_COMPILE=…-`",
                kernel_arch.kbuild_name(),
                host.kbuild_name(),
                kernel_arch.kbuild_name()
            )));
        }
    }

    let kernel_config = match &args.config {
        Some(path) => config::KernelConfig {
            text: config::read_file(path)?,
            source: config::ConfigSource::File(path.clone()),
        },
        None => installed.config()?,
    };
    super::note(format_args!("configuration: {}", kernel_config.source));
    for m in config::mismatches(&kernel_config.text, &kernel_banner) {
        super::warn(format_args!("{m}: is it this kernel's configuration?"));
    }

    // --- the source tree and the build folder -----------------------------------------------
    let tree = fs::canonicalize(&args.tree).map_err(|e| Error::io(&args.tree, e))?;
    let makefile = tree.join("Makefile");
    let tree_version = fs::read_to_string(&makefile)
        .ok()
        .and_then(|text| TreeVersion::parse(&text))
        .ok_or_else(|| {
            CliError::Usage(format!(
                "{}: not a kernel source tree (no top-level Makefile declaring VERSION)",
                tree.display()
            ))
        })?;
    // Refuse a tree of another series now, not after minutes of make.
    prepare::check_series(&release, &tree_version)
        .map_err(|why| CliError::Usage(format!("{}: {why}", tree.display())))?;
    let build_dir = if args.in_place {
        None
    } else {
        let dir = args
            .output
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("build-{release}")));
        check_build_folder(&dir, &tree)?;
        Some(dir)
    };

    // The table first: a kernel whose modules cannot be read fails before minutes of make.
    // The files inspected above, whatever the options named: with --image alone the release
    // (and so the modules folder) came from the image's banner.
    let kernel_source = symvers::locate::Source {
        root: source.root.clone(),
        release: Some(release.clone()),
        image: Some(image.clone()),
        modules: vec![modules.clone()],
    };
    let mut dump = super::rebuild(kernel_source, module_limit)?;
    let kernel_vermagic =
        modtree::tree_identity(&dump.module_files, module_limit).and_then(|t| t.vermagic);
    // vermagic starts with UTS_RELEASE: modules of another release are not this kernel's.
    if let Some(magic) = &kernel_vermagic {
        let built_for = magic.split(' ').next().unwrap_or("");
        if built_for != release {
            return Err(CliError::Usage(format!(
                "{}: the modules were built for release {built_for} (their vermagic), the kernel is {release}",
                modules.display()
            )));
        }
    }
    let config_modversions = config::get(&kernel_config.text, "CONFIG_MODVERSIONS") == Some("y");
    if config_modversions != dump.modversions() {
        super::warn(format_args!(
            "the configuration has CONFIG_MODVERSIONS {}, the kernel {} CRCs: is it this kernel's configuration?",
            if config_modversions { "on" } else { "off" },
            if dump.modversions() { "has" } else { "has no" }
        ));
    }
    // The column order the tree's own modpost reads (4 columns before 5.4, 3 before 2.6.18).
    let table = dump.table.to_text(dump.columns());
    let symbols = dump.table.entries.len();
    dump.table.entries.clear();

    let build = build_dir.as_deref().map(create_build_folder).transpose()?;

    // --- the compiler ----------------------------------------------------------------------
    if !given("CC") && !given("LLVM") {
        let cross = variables
            .iter()
            .find(|(n, _)| n == "CROSS_COMPILE")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        match banner::compiler_version(&kernel_banner.compiler) {
            Some((banner::CompilerFamily::Clang, _)) => {
                variables.push(("LLVM".into(), "1".into()));
                super::note(format_args!(
                    "compiler: LLVM=1 (the kernel was built with {})",
                    kernel_banner.compiler
                ));
            }
            _ => {
                if let Some(program) = banner::gcc_program(&kernel_banner.compiler) {
                    // The banner names the program without CROSS_COMPILE when the build
                    // added it (CC = $(CROSS_COMPILE)gcc-12).
                    let program = program.strip_prefix(cross.as_str()).unwrap_or(program);
                    let cc = format!("{cross}{program}");
                    if program != "gcc" && on_path(&cc) {
                        super::note(format_args!(
                            "compiler: CC={cc} (the kernel was built with {})",
                            kernel_banner.compiler
                        ));
                        variables.push(("CC".into(), cc));
                    }
                }
            }
        }
    }

    let mut make = Make {
        program: args.make.clone(),
        source: tree.clone(),
        build: build.clone(),
        variables,
        log: None,
    };
    let out_dir = make.folder().to_path_buf();
    if super::verbosity() == 0 {
        let log = out_dir.join(".symvers-prepare.log");
        let _ = fs::remove_file(&log);
        make.log = Some(log);
    }
    let dot_config = out_dir.join(".config");

    // --- the release -----------------------------------------------------------------------
    let kernel_localversion =
        config::get_string(&kernel_config.text, "CONFIG_LOCALVERSION").unwrap_or_default();
    write_file(
        &dot_config,
        prepare::adjust_config(&kernel_config.text, "").as_bytes(),
    )?;
    make.configure()?;
    let kernelversion = make.query(&[], "kernelversion")?;
    let base = make.query(&[("LOCALVERSION", "")], "kernelrelease")?;
    let plan = prepare::plan_release(
        &release,
        &tree_version,
        &kernelversion,
        &base,
        &kernel_localversion,
    )
    .map_err(|why| CliError::Usage(format!("{}: {why}", tree.display())))?;
    for n in &plan.notes {
        super::note(format_args!("release: {n}"));
    }
    if let Some((name, value)) = &plan.variable {
        if build.is_none() {
            super::warn(format_args!(
                "in place, {name}={value} must be given to every make run in {} (a build folder's Makefile would keep it)",
                tree.display()
            ));
        }
        make.variables.push((name.to_string(), value.clone()));
    }
    if plan.localversion != get_localversion(&dot_config)? {
        write_file(
            &dot_config,
            prepare::adjust_config(&kernel_config.text, &plan.localversion).as_bytes(),
        )?;
        make.configure()?;
    }
    let made = make.query(&[], "kernelrelease")?;
    if made != release {
        // A git checkout not at a tag: setlocalversion appends "+" unless LOCALVERSION is set.
        let with_empty = make.query(&[("LOCALVERSION", "")], "kernelrelease")?;
        if with_empty == release {
            super::note(format_args!(
                "release: LOCALVERSION= (empty) keeps the source's version-control state out of it ({made} without)"
            ));
            make.variables.push(("LOCALVERSION".into(), String::new()));
        } else {
            return Err(CliError::Usage(format!(
                "{}: kbuild makes the release {made} ({with_empty} with LOCALVERSION=), not the kernel's {release}",
                tree.display()
            )));
        }
    }

    // --- build -----------------------------------------------------------------------------
    let jobs = args
        .jobs
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
        .to_string();
    make.run(&[], &["-j", &jobs, "modules_prepare"])?;
    let symvers_path = out_dir.join("Module.symvers");
    write_file(&symvers_path, table.as_bytes())?;
    super::note(format_args!(
        "wrote {} ({symbols} symbols, rebuilt from the installed kernel)",
        symvers_path.display()
    ));
    // Later runs go through the build folder's Makefile, which keeps the variables.
    let user = match &build {
        Some(dir) => {
            if !make.variables.is_empty() {
                let text = prepare::build_makefile(&tree, &release, &make.variables);
                write_file(&dir.join("Makefile"), text.as_bytes())?;
            }
            Make {
                program: make.program.clone(),
                source: dir.clone(),
                build: None,
                variables: Vec::new(),
                log: make.log.clone(),
            }
        }
        None => Make {
            program: make.program.clone(),
            source: tree.clone(),
            build: None,
            variables: make.variables.clone(),
            log: make.log.clone(),
        },
    };

    // --- the final check -------------------------------------------------------------------
    let mut wrong = Vec::new();
    let made = user.query(&[], "kernelrelease")?;
    if made != release {
        wrong.push(format!(
            "`make kernelrelease` prints {made}, the kernel is {release}"
        ));
    }
    let probe_vermagic = probe_vermagic(&user, module_limit)?;
    match (&kernel_vermagic, &probe_vermagic) {
        (Some(k), Some(p)) if k == p => {
            super::note(format_args!("vermagic \"{p}\": the kernel's"));
        }
        (Some(k), p) => wrong.push(format!(
            "a module built here has vermagic {:?}, the kernel's modules {k:?}",
            p.as_deref().unwrap_or("(none)")
        )),
        (None, _) => super::warn(format_args!(
            "no vermagic found in the kernel's modules: the tree's ({}) was not compared",
            probe_vermagic.as_deref().unwrap_or("none")
        )),
    }
    let tree_config = fs::read_to_string(&dot_config).map_err(|e| Error::io(&dot_config, e))?;
    match config::get_string(&tree_config, "CONFIG_CC_VERSION_TEXT") {
        Some(cc) => match prepare::compare_compilers(&kernel_banner.compiler, &cc) {
            CompilerMatch::Same => super::note(format_args!("compiler: {cc}, the kernel's")),
            CompilerMatch::SameVersion => super::note(format_args!(
                "compiler: {cc}, the same version as the kernel's {}",
                kernel_banner.compiler
            )),
            CompilerMatch::Different => super::warn(format_args!(
                "this tree compiles with {cc}; the kernel was built with {}: install that compiler and \
                 pass CC=… after -- (modules built with another compiler may not load or may misbehave)",
                kernel_banner.compiler
            )),
        },
        None => super::warn(format_args!(
            "the tree's configuration has no CONFIG_CC_VERSION_TEXT (before 5.8): check by hand that the \
             compiler is the kernel's {}",
            kernel_banner.compiler
        )),
    }

    let next = format!("{} M=$PWD modules", shell_line(&user.command(&[], &[])));
    if !wrong.is_empty() {
        // Not an error of the run: the tree is there, and the answer to "does it match?" is no.
        super::say(format_args!(
            "{} was prepared, but does not match the kernel: {}",
            out_dir.display(),
            wrong.join("; ")
        ));
        return Ok(ExitCode::from(1));
    }
    super::emit(None, format!("{next}\n").as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `CONFIG_LOCALVERSION` of the `.config` at `path`.
fn get_localversion(path: &Path) -> Result<String, CliError> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    Ok(config::get_string(&text, "CONFIG_LOCALVERSION").unwrap_or_default())
}

/// Write a file of the build folder atomically.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    Ok(symvers::output::write_atomic_with(
        path,
        &super::signals::RemoveOnSignal,
        |file| file.write_all(bytes),
    )?)
}

/// Refuse the build folder `dir` when it holds something other than a kbuild output folder, or
/// is the source tree itself, or when kbuild would refuse the source tree for an `O=` build.
/// Nothing is created yet.
fn check_build_folder(dir: &Path, tree: &Path) -> Result<(), CliError> {
    if let Ok(canonical) = fs::canonicalize(dir) {
        if canonical == tree {
            return Err(CliError::Usage(format!(
                "{}: the build folder is the source tree; use --in-place for that",
                dir.display()
            )));
        }
        let empty = fs::read_dir(&canonical)
            .map_err(|e| Error::io(dir, e))?
            .next()
            .is_none();
        let kbuild_output = dir.join(".config").is_file() && dir.join("Makefile").is_file();
        if !empty && !kbuild_output {
            return Err(CliError::Usage(format!(
                "{}: not empty and not a kbuild output folder (no .config and Makefile); choose another with -o",
                dir.display()
            )));
        }
    }
    // kbuild refuses O= builds from a configured source tree ("The source tree is not clean").
    for leftover in [".config", "include/config"] {
        if tree.join(leftover).exists() {
            return Err(CliError::Usage(format!(
                "{}: the source tree has been configured or built in ({leftover} exists), and kbuild then refuses a \
                 separate build folder: run `make mrproper` in it, or use --in-place",
                tree.display()
            )));
        }
    }
    Ok(())
}

/// Create the build folder (checked by [`check_build_folder`]) and return its absolute path.
fn create_build_folder(dir: &Path) -> Result<PathBuf, CliError> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    Ok(fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?)
}

/// Build a module that uses nothing but the module loader's own symbols, and return its
/// vermagic: the tree's `UTS_RELEASE` and configuration as every external module gets them.
fn probe_vermagic(make: &Make, module_limit: u64) -> Result<Option<String>, CliError> {
    let dir = std::env::temp_dir().join(format!("symvers-probe-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let result = (|| {
        let mut c =
            fs::File::create(dir.join("symvers_probe.c")).map_err(|e| Error::io(&dir, e))?;
        c.write_all(
            b"// Built by `symvers prepare` to read the tree's vermagic.\n\
              #include <linux/module.h>\n\
              MODULE_LICENSE(\"GPL\");\n",
        )
        .map_err(|e| Error::io(&dir, e))?;
        fs::write(dir.join("Kbuild"), "obj-m := symvers_probe.o\n")
            .map_err(|e| Error::io(&dir, e))?;
        let m = format!("M={}", dir.display());
        make.run(&[], &[&m, "modules"])?;
        let ko = dir.join("symvers_probe.ko");
        let mut buffer = Vec::new();
        modtree::with_module_bytes(&ko, module_limit, &mut buffer, |elf| {
            symvers::modinfo::read(elf).map_err(|p| Error::format(&ko, p))
        })
        .map(|info| info.get("vermagic").map(str::to_string))
        .map_err(CliError::from)
    })();
    let _ = fs::remove_dir_all(&dir);
    result
}
