//! A one-line progress indicator on standard error for walks that take more than a moment.
//!
//! Shown only when standard error is a terminal (never in pipes, logs or CI), not with
//! `--quiet`, and only once the walk has run for a short while, so that quick runs print nothing.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use symvers::dump::Progress;

/// Quiet period before the first line is drawn.
const DELAY: Duration = Duration::from_millis(400);
/// Redraw interval.
const TICK: Duration = Duration::from_millis(100);

/// Draws the progress of a dump until dropped; dropping erases the line.
pub struct ProgressLine {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// True when a progress line may be drawn on standard error.
pub fn wanted() -> bool {
    super::verbosity() >= 1
        && std::io::stderr().is_terminal()
        // Some CI systems run jobs on a pseudo-terminal; they set CI.
        && std::env::var_os("CI").is_none()
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

impl ProgressLine {
    /// Start drawing `progress` in a background thread, or `None` when [`wanted`] says no.
    pub fn start(progress: Arc<Progress>) -> Option<Self> {
        if !wanted() {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || draw_until(&progress, &thread_stop))
            .ok()?;
        Some(ProgressLine {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The text of the line for the current counters.
pub fn line(progress: &Progress) -> String {
    let total = progress.modules_total.load(Ordering::Relaxed);
    let done = progress.modules_done.load(Ordering::Relaxed);
    let image = if progress.image_done.load(Ordering::Relaxed) {
        "read"
    } else {
        "reading"
    };
    if total == 0 {
        format!("symvers: kernel image {image}")
    } else {
        format!("symvers: modules {done}/{total}, kernel image {image}")
    }
}

fn draw_until(progress: &Progress, stop: &AtomicBool) {
    let start = Instant::now();
    let mut drawn = false;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(TICK);
        if start.elapsed() < DELAY || stop.load(Ordering::Relaxed) {
            continue;
        }
        // \r and "erase to end of line" (ESC [ K) redraw in place.
        super::stdio::bytes_to_stderr(format!("\r\x1b[K{}", line(progress)).as_bytes());
        drawn = true;
    }
    if drawn {
        super::stdio::bytes_to_stderr(b"\r\x1b[K");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_counts() {
        let p = Progress::default();
        assert_eq!(line(&p), "symvers: kernel image reading");
        p.modules_total.store(4230, Ordering::Relaxed);
        p.modules_done.store(12, Ordering::Relaxed);
        assert_eq!(line(&p), "symvers: modules 12/4230, kernel image reading");
        p.image_done.store(true, Ordering::Relaxed);
        assert_eq!(line(&p), "symvers: modules 12/4230, kernel image read");
    }
}
