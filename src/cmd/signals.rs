//! The binary's signal handling: SIGINT, SIGTERM and SIGHUP remove the temporary file of an
//! output being written (`symvers::output`, which announces it through [`TempWatch`]), and the
//! backup made for it when the file was not replaced yet, before the process dies of the signal
//! as it would have. Without this, an interrupted write leaves
//! the target intact but a `.NAME.tmpPID` file beside it.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Once;

use symvers::output::TempWatch;

/// The temporary file being written, for the signal handler: a leaked C string, or null.
static TEMP_PATH: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());
/// The backup of the file being replaced, made just before the rename (or null): removed by the
/// handler only while the temporary file still exists, that is, before the rename.
static BACKUP_PATH: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());
static INSTALL: Once = Once::new();

/// The [`TempWatch`] the binary passes to every output write: installs the handlers on first
/// use and tells them which file to remove.
pub struct RemoveOnSignal;

impl TempWatch for RemoveOnSignal {
    fn creating(&self, path: &Path) {
        install();
        // Leaked on purpose: the handler may run at any moment, so it must never see freed
        // memory (a few bytes per output file). A path with a NUL cannot be named to unlink.
        if let Ok(c) = CString::new(path.as_os_str().as_bytes()) {
            TEMP_PATH.store(c.into_raw(), Ordering::SeqCst);
        }
    }

    fn gone(&self) {
        TEMP_PATH.store(std::ptr::null_mut(), Ordering::SeqCst);
        BACKUP_PATH.store(std::ptr::null_mut(), Ordering::SeqCst);
    }

    fn keeping(&self, path: &Path) {
        if let Ok(c) = CString::new(path.as_os_str().as_bytes()) {
            BACKUP_PATH.store(c.into_raw(), Ordering::SeqCst);
        }
    }
}

fn install() {
    INSTALL.call_once(|| {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: the handler only calls async-signal-safe functions (unlink, signal, raise)
            // and reads an atomic pointer to a string that is never freed.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(sig, &action, std::ptr::null_mut());
            }
        }
    });
}

extern "C" fn on_signal(sig: libc::c_int) {
    let path = TEMP_PATH.load(Ordering::SeqCst);
    let backup = BACKUP_PATH.load(Ordering::SeqCst);
    // SAFETY: async-signal-safe calls only; `path` and `backup` are null or NUL-terminated
    // strings that live for the rest of the process.
    unsafe {
        // The temporary file exists until the rename: when it was still there, the file was
        // not replaced, and a backup made for the replacement must go too.
        if !path.is_null() && libc::unlink(path) == 0 && !backup.is_null() {
            libc::unlink(backup);
        }
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

#[cfg(test)]
mod tests {
    use super::RemoveOnSignal;
    use std::io::Write as _;
    use std::os::unix::process::ExitStatusExt;
    use std::path::PathBuf;

    const TEST: &str =
        "cmd::signals::tests::sigterm_during_write_keeps_the_target_and_removes_the_temporary_file";

    /// In a child process (this very test, filtered with `--exact`): start replacing the table,
    /// write half of it, and receive SIGTERM half-way, as from Ctrl-C or a package manager.
    #[test]
    fn sigterm_during_write_keeps_the_target_and_removes_the_temporary_file() {
        if let Some(dir) = std::env::var_os("SYMVERS_SIGNAL_CHILD_DIR") {
            let dir = PathBuf::from(dir);
            let _ = symvers::output::write_atomic_with(
                &dir.join("Module.symvers"),
                &RemoveOnSignal,
                |f| {
                    f.write_all(b"0x00000001\thalf")?;
                    f.sync_all()?;
                    // SAFETY: raising a signal on ourselves.
                    unsafe { libc::raise(libc::SIGTERM) };
                    f.write_all(b"\tnever reached\n")
                },
            );
            unreachable!("the signal ends the process");
        }
        let dir = std::env::temp_dir().join(format!("symvers-signals-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Module.symvers"), b"the good old table\n").unwrap();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST, "--test-threads=1", "--nocapture"])
            .env("SYMVERS_SIGNAL_CHILD_DIR", &dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        // The process still dies of the signal (exit status as a shell sees it: 128 + 15).
        assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
        assert_eq!(
            std::fs::read(dir.join("Module.symvers")).unwrap(),
            b"the good old table\n"
        );
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["Module.symvers"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    const BACKUP_TEST: &str =
        "cmd::signals::tests::a_signal_removes_the_backup_only_while_the_file_is_not_replaced";

    /// The backup made just before the rename goes with the temporary file when the signal
    /// comes before the rename, and stays when it comes after (the temporary file is gone then):
    /// a kept backup always belongs to a replacement that happened.
    #[test]
    fn a_signal_removes_the_backup_only_while_the_file_is_not_replaced() {
        use symvers::output::TempWatch as _;
        if let (Some(dir), Ok(renamed)) = (
            std::env::var_os("SYMVERS_SIGNAL_CHILD_DIR"),
            std::env::var("SYMVERS_SIGNAL_RENAMED"),
        ) {
            let dir = PathBuf::from(dir);
            let (tmp, backup) = (
                dir.join(".Module.symvers.tmp"),
                dir.join("Module.symvers.orig"),
            );
            RemoveOnSignal.creating(&tmp);
            std::fs::write(&tmp, b"new table\n").unwrap();
            RemoveOnSignal.keeping(&backup);
            std::fs::hard_link(dir.join("Module.symvers"), &backup).unwrap();
            if renamed == "yes" {
                std::fs::rename(&tmp, dir.join("Module.symvers")).unwrap();
            }
            // SAFETY: raising a signal on ourselves.
            unsafe { libc::raise(libc::SIGTERM) };
            unreachable!("the signal ends the process");
        }
        for (renamed, left, table) in [
            ("no", vec!["Module.symvers"], &b"old table\n"[..]),
            (
                "yes",
                vec!["Module.symvers", "Module.symvers.orig"],
                b"new table\n",
            ),
        ] {
            let dir =
                std::env::temp_dir().join(format!("symvers-signals-backup-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("Module.symvers"), b"old table\n").unwrap();
            let status = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", BACKUP_TEST, "--test-threads=1", "--nocapture"])
                .env("SYMVERS_SIGNAL_CHILD_DIR", &dir)
                .env("SYMVERS_SIGNAL_RENAMED", renamed)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
            let mut names: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            assert_eq!(names, left, "renamed: {renamed}");
            assert_eq!(std::fs::read(dir.join("Module.symvers")).unwrap(), table);
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
