//! Standard output and standard error: the one place the binary writes to them.
//!
//! `eprintln!`, `println!` and `print!` panic when the stream fails (a closed pipe, a full disk:
//! exit 101, and with `-o` the table was then never written), and a write error on standard
//! output used to be ignored (the table went nowhere, exit 0). Here a failed write never
//! panics: a message that standard error cannot take is dropped and the run goes on (the
//! table is still written), data that standard output cannot take is an error
//! ([`super::CliError::Stdout`]); either way the run ends with [`EXIT_STREAM`] instead of a
//! success ([`exit_code`]).
//!
//! A stream closed when the process started (`>&-`, `2>&-`) is reopened on /dev/null by Rust's
//! runtime before `main`, so that writes to it would succeed into nothing. Which of the two
//! was closed is recorded before that, by a function in `.init_array`, which the C library runs
//! before the runtime: a write to such a stream is a failed write too.

use std::fmt;
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// The exit code of a run whose output or messages could not all be written.
pub const EXIT_STREAM: u8 = 4;

/// File descriptor 1 was closed when the process started.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// File descriptor 2 was closed when the process started.
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);
/// A write to standard output or standard error failed (or went to a closed one).
static FAILED: AtomicBool = AtomicBool::new(false);

/// Runs before Rust's runtime, which reopens closed standard descriptors on /dev/null
/// (`sanitize_standard_fds` in std's Unix `init`).
#[used]
#[link_section = ".init_array"]
static RECORD_CLOSED_STREAMS: extern "C" fn() = record_closed_streams;

extern "C" fn record_closed_streams() {
    // SAFETY: F_GETFD only asks whether the descriptor is open; nothing else runs yet.
    unsafe {
        if libc::fcntl(1, libc::F_GETFD) == -1 {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        }
        if libc::fcntl(2, libc::F_GETFD) == -1 {
            STDERR_CLOSED.store(true, Ordering::Relaxed);
        }
    }
}

/// True when standard error was closed when the process started.
pub fn stderr_closed() -> bool {
    STDERR_CLOSED.load(Ordering::Relaxed)
}

/// Note a failed write (the run then ends with [`EXIT_STREAM`]).
pub fn mark_failed() {
    FAILED.store(true, Ordering::Relaxed);
}

/// True when a write to standard output or standard error failed.
pub fn failed() -> bool {
    FAILED.load(Ordering::Relaxed)
}

/// Write one line, `symvers: ` and `message`, on standard error. A failure is noted, never a
/// panic.
pub fn line(message: impl fmt::Display) {
    bytes_to_stderr(format!("symvers: {message}\n").as_bytes());
}

/// Write `bytes` on standard error as they are (the progress line's redraws). A failure is
/// noted, never a panic.
pub fn bytes_to_stderr(bytes: &[u8]) {
    if stderr_closed() {
        mark_failed();
        return;
    }
    let mut err = std::io::stderr().lock();
    if err.write_all(bytes).and_then(|()| err.flush()).is_err() {
        mark_failed();
    }
}

/// Write `bytes` on standard output and flush them.
///
/// # Errors
/// The write error (`EBADF` for a standard output closed when the process started), noted as
/// a failed write too.
pub fn to_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let result = if STDOUT_CLOSED.load(Ordering::Relaxed) {
        Err(std::io::Error::from_raw_os_error(libc::EBADF))
    } else {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes).and_then(|()| out.flush())
    };
    if result.is_err() {
        mark_failed();
    }
    result
}

/// Standard output closed when the process started.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// The exit code of a run that would end with `code` (0 success, 1 a "no" answer, 2 an error,
/// 3 an incomplete table): [`EXIT_STREAM`] instead of 0, 1 or 3 when a write to standard
/// output or standard error failed, since what the run had to say did not all arrive; 2 stays
/// 2 (an error, nothing written).
pub fn exit_code(code: ExitCode) -> ExitCode {
    if failed() && code != ExitCode::from(2) {
        ExitCode::from(EXIT_STREAM)
    } else {
        code
    }
}
