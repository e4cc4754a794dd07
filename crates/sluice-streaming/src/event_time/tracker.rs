//! The latest event time of each input of a watermarked stream, by batch.
//!
//! A watermarked stream tags every record with its event time as its partitions are computed,
//! and each partition's task records the latest time it saw, per (batch, partition): a retried
//! task replaces its own figure instead of adding to it, and a stream read by two operators
//! records the same figure twice. The operators read the batch's maximum after their job.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::time::Time;

/// Batches whose figures are kept (older ones are forgotten).
const KEEP_BATCHES: usize = 1_000;

/// The latest event time of one input, per (batch, partition).
#[derive(Default)]
pub(crate) struct MaxTracker {
    by_task: Mutex<BTreeMap<(Time, usize), i64>>,
}

impl MaxTracker {
    /// Records the latest event time partition `split` of batch `time` saw.
    pub(crate) fn set(&self, time: Time, split: usize, max: i64) {
        let mut m = self.by_task.lock();
        m.insert((time, split), max);
        while m.len() > KEEP_BATCHES * 16 {
            m.pop_first();
        }
    }

    /// The latest event time of batch `time` (`None`: it had no record).
    pub(crate) fn batch_max(&self, time: Time) -> Option<i64> {
        self.by_task
            .lock()
            .range((time, 0)..=(time, usize::MAX))
            .map(|(_, v)| *v)
            .max()
    }
}

/// Watches the records of one partition go by, and records their latest event time when the
/// partition is done.
pub(crate) struct MaxGuard {
    tracker: Arc<MaxTracker>,
    time: Time,
    split: usize,
    max: Option<i64>,
}

impl MaxGuard {
    pub(crate) fn new(tracker: Arc<MaxTracker>, time: Time, split: usize) -> MaxGuard {
        MaxGuard {
            tracker,
            time,
            split,
            max: None,
        }
    }

    pub(crate) fn observe(&mut self, ts: i64) {
        self.max = Some(self.max.map_or(ts, |m| m.max(ts)));
    }
}

impl Drop for MaxGuard {
    fn drop(&mut self) {
        if let Some(m) = self.max {
            self.tracker.set(self.time, self.split, m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_max_is_over_its_partitions_and_a_retry_replaces() {
        let t = MaxTracker::default();
        let b = Time::from_millis(1000);
        t.set(b, 0, 5);
        t.set(b, 1, 9);
        t.set(b, 1, 7); // the retried task
        t.set(Time::from_millis(2000), 0, 100);
        assert_eq!(t.batch_max(b), Some(7));
        assert_eq!(t.batch_max(Time::from_millis(3000)), None);
    }
}
