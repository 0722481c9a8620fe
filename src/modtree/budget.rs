//! A memory budget shared by the threads that read a tree's modules, so that the limit on one
//! module's decompressed size also bounds all of them together: without it, N threads each
//! decoding a decompression bomb hold N times the limit (2.77 GB at `-j 16` was measured).

use std::sync::{Condvar, Mutex, MutexGuard};

/// Bytes shared by the readers, handed out in first-come, first-served order.
pub(super) struct Budget {
    total: u64,
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    free: u64,
    /// The next ticket to hand out, and the ticket whose turn it is: a large request waits
    /// for memory without being overtaken by a stream of small ones.
    next: u64,
    serving: u64,
}

/// Bytes taken from a [`Budget`], given back when dropped.
pub(super) struct Grant<'b> {
    budget: &'b Budget,
    bytes: u64,
}

impl Budget {
    /// A budget of `total` bytes.
    pub(super) fn new(total: u64) -> Self {
        Budget {
            total,
            state: Mutex::new(State {
                free: total,
                next: 0,
                serving: 0,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A reader that panicked cannot leave the counts half-updated: keep going.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Take `bytes` (at most the whole budget), waiting until they are free and every earlier
    /// request was served. A caller must not hold another grant while it waits: every holder
    /// then gives its bytes back without waiting, so every request is served.
    pub(super) fn take(&self, bytes: u64) -> Grant<'_> {
        let bytes = bytes.min(self.total);
        let mut state = self.lock();
        let ticket = state.next;
        state.next += 1;
        while state.serving != ticket || state.free < bytes {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        state.free -= bytes;
        state.serving += 1;
        drop(state);
        // The next ticket may fit in what is left.
        self.changed.notify_all();
        Grant {
            budget: self,
            bytes,
        }
    }
}

impl Drop for Grant<'_> {
    fn drop(&mut self) {
        let mut state = self.budget.lock();
        state.free += self.bytes;
        drop(state);
        self.budget.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::Budget;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// However many threads ask, the bytes held at once never exceed the budget, and every
    /// request, a whole-budget one included, is served.
    #[test]
    fn held_bytes_never_exceed_the_budget() {
        let budget = Budget::new(100);
        let held = AtomicU64::new(0);
        let peak = AtomicU64::new(0);
        std::thread::scope(|s| {
            for t in 0..8u64 {
                let (budget, held, peak) = (&budget, &held, &peak);
                s.spawn(move || {
                    for k in 0..200u64 {
                        let want = [10, 60, 100, 1000][((t + k) % 4) as usize];
                        let grant = budget.take(want);
                        let now = held.fetch_add(grant.bytes, Ordering::SeqCst) + grant.bytes;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        held.fetch_sub(grant.bytes, Ordering::SeqCst);
                    }
                });
            }
        });
        assert!(peak.load(Ordering::SeqCst) <= 100);
        assert_eq!(held.load(Ordering::SeqCst), 0);
    }
}
