//! The progress of a run, shared by the scheduler threads and whoever waits on them.

use parking_lot::{Condvar, Mutex};
use sluice_core::Error;

use crate::time::Time;

/// Progress of the scheduler.
#[derive(Default)]
pub(crate) struct Progress {
    pub last_completed: Option<Time>,
    pub batches_completed: u64,
    pub batches_failed: u64,
    /// Queued batches that never ran: dropped by an immediate stop, or by a graceful stop
    /// whose timeout ran out.
    pub batches_dropped: u64,
    pub error: Option<Error>,
    /// Set when the context stopped (waiters return).
    pub stopped: bool,
}

/// [`Progress`] behind a lock, with a condition variable notified at every change.
#[derive(Default)]
pub(crate) struct ProgressBoard {
    pub state: Mutex<Progress>,
    pub changed: Condvar,
}

impl ProgressBoard {
    /// Records a failure for `await_termination` (the first one wins).
    pub(crate) fn report_error(&self, e: Error) {
        let mut p = self.state.lock();
        if p.error.is_none() {
            p.error = Some(e);
        }
        self.changed.notify_all();
    }

    /// Applies `f` and wakes the waiters.
    pub(crate) fn update(&self, f: impl FnOnce(&mut Progress)) {
        let mut p = self.state.lock();
        f(&mut p);
        self.changed.notify_all();
    }
}
