//! Counting the records a source could not decode or read, per task, so that a retried task
//! replaces its count instead of adding to it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::time::Time;

/// Records that a source skipped, with where they were and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BadRecordReport {
    /// How many records (lines, messages, files) were skipped.
    pub total: u64,
    /// Up to 10 recent examples, each naming where the record was and why it was skipped.
    pub samples: Vec<String>,
}

/// Bad records by (batch time, RDD partition).
///
/// ```
/// use sluice_streaming::source::BadRecords;
/// use sluice_streaming::Time;
/// let bad = BadRecords::default();
/// bad.set(Time::from_millis(1000), 0, 2, "two bad lines".into());
/// // The task is retried and reports again: its count is replaced, not added.
/// bad.set(Time::from_millis(1000), 0, 2, "two bad lines".into());
/// bad.set(Time::from_millis(1000), 1, 1, "one".into());
/// assert_eq!(bad.report().total, 3);
/// ```
#[derive(Debug, Default)]
pub struct BadRecords {
    by_task: Mutex<BTreeMap<(i64, usize), (u64, String)>>,
    /// Counts of tasks too old to keep one by one.
    folded: AtomicU64,
}

impl BadRecords {
    /// Tasks kept one by one; older ones are folded into a total.
    const KEEP: usize = 10_000;

    /// Sets the count (and an example) of the task of `partition` in batch `time`.
    pub fn set(&self, time: Time, partition: usize, count: u64, sample: String) {
        let mut m = self.by_task.lock();
        if count == 0 {
            m.remove(&(time.millis(), partition));
            return;
        }
        m.insert((time.millis(), partition), (count, sample));
        while m.len() > Self::KEEP {
            if let Some((_, (c, _))) = m.pop_first() {
                self.folded.fetch_add(c, Ordering::Relaxed);
            }
        }
    }

    /// The total and recent examples.
    pub fn report(&self) -> BadRecordReport {
        let m = self.by_task.lock();
        BadRecordReport {
            total: self.folded.load(Ordering::Relaxed) + m.values().map(|(c, _)| c).sum::<u64>(),
            samples: m
                .values()
                .rev()
                .filter(|(_, s)| !s.is_empty())
                .take(10)
                .map(|(_, s)| s.clone())
                .collect(),
        }
    }
}
