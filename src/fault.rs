//! Fault injection for the recovery tests: with
//! `CUTOVER_FAULT_ABORT_AFTER_RECORD=N`, the process aborts right after the
//! Nth journal record of this process is on disk, as `kill -9` would at that
//! instant. Not for production use; unset, it does nothing.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counts journal records and aborts after the chosen one.
#[derive(Debug, Default)]
pub struct AbortAfter {
    after: Option<u64>,
    seen: AtomicU64,
}

impl AbortAfter {
    /// Reads `CUTOVER_FAULT_ABORT_AFTER_RECORD`.
    pub fn from_env() -> Self {
        AbortAfter {
            after: std::env::var("CUTOVER_FAULT_ABORT_AFTER_RECORD")
                .ok()
                .and_then(|n| n.parse().ok()),
            seen: AtomicU64::new(0),
        }
    }

    /// Called after each record is on disk.
    pub fn recorded(&self) {
        let seen = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if self.after == Some(seen) {
            std::process::abort();
        }
    }
}
