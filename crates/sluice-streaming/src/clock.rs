//! Clocks: the [`SystemClock`] for real runs and a [`ManualClock`] that tests advance by
//! hand, so that every streaming test is deterministic and sleeps nowhere.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::time::duration_ms;

/// A source of time for the streaming scheduler.
pub trait Clock: Send + Sync {
    /// The current time in milliseconds.
    fn now_ms(&self) -> i64;

    /// Blocks until the time is at least `target` or `stop` is set; returns the time reached,
    /// or `None` if stopped first.
    fn wait_until(&self, target: i64, stop: &AtomicBool) -> Option<i64>;

    /// Whether the clock jumps to whatever time is waited for ([`StepClock`]); the scheduler
    /// then generates a batch only when the previous one has completed.
    fn is_stepping(&self) -> bool {
        false
    }
}

/// Wall-clock time (milliseconds since the Unix epoch).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }

    fn wait_until(&self, target: i64, stop: &AtomicBool) -> Option<i64> {
        loop {
            if stop.load(Ordering::Acquire) {
                return None;
            }
            let now = self.now_ms();
            if now >= target {
                return Some(now);
            }
            // Wake at least every 10 ms to notice a stop request.
            let wait = (target - now).clamp(0, 10) as u64;
            std::thread::sleep(Duration::from_millis(wait.max(1)));
        }
    }
}

/// A clock that only moves when told to. Waiters wake as soon as it is advanced.
///
/// ```
/// use sluice_streaming::clock::{Clock, ManualClock};
/// let c = ManualClock::new(0);
/// c.advance(std::time::Duration::from_millis(1500));
/// assert_eq!(c.now_ms(), 1500);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    time: Mutex<i64>,
    changed: Condvar,
}

impl ManualClock {
    /// A manual clock at `start_ms`.
    pub fn new(start_ms: i64) -> Self {
        ManualClock {
            time: Mutex::new(start_ms),
            changed: Condvar::new(),
        }
    }

    /// A shared manual clock at `start_ms`.
    pub fn shared(start_ms: i64) -> Arc<ManualClock> {
        Arc::new(Self::new(start_ms))
    }

    /// Moves the clock forward.
    pub fn advance(&self, d: Duration) {
        let mut t = self.time.lock();
        *t += duration_ms(d);
        self.changed.notify_all();
    }

    /// Sets the clock to `ms`.
    pub fn set_time(&self, ms: i64) {
        let mut t = self.time.lock();
        *t = ms;
        self.changed.notify_all();
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        *self.time.lock()
    }

    fn wait_until(&self, target: i64, stop: &AtomicBool) -> Option<i64> {
        let mut t = self.time.lock();
        loop {
            if stop.load(Ordering::Acquire) {
                return None;
            }
            if *t >= target {
                return Some(*t);
            }
            // The timeout only bounds how late a stop request is noticed.
            self.changed.wait_for(&mut t, Duration::from_millis(20));
        }
    }
}

/// A clock that jumps: waiting for a time sets the clock to it at once. With it, a job runs
/// its batches back to back as fast as it can process them, on batch times that do not depend
/// on the wall clock — for replaying data, deterministic end-to-end tests and benchmarks of
/// capacity. A context using it keeps at most one batch queued, so batches are generated only
/// as processing completes.
#[derive(Debug, Default)]
pub struct StepClock {
    time: Mutex<i64>,
}

impl StepClock {
    /// A step clock at `start_ms`.
    pub fn new(start_ms: i64) -> Self {
        StepClock {
            time: Mutex::new(start_ms),
        }
    }
}

impl Clock for StepClock {
    fn now_ms(&self) -> i64 {
        *self.time.lock()
    }

    fn wait_until(&self, target: i64, stop: &AtomicBool) -> Option<i64> {
        if stop.load(Ordering::Acquire) {
            return None;
        }
        let mut t = self.time.lock();
        *t = (*t).max(target);
        Some(*t)
    }

    fn is_stepping(&self) -> bool {
        true
    }
}
