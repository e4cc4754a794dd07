//! Broadcast variables: a read-only value shared by every task.
//!
//! In a single process a broadcast is a shared pointer, so tasks read it without copying.
//! `destroy` makes later reads through [`Broadcast::try_value`] fail, as in Spark.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// A read-only value shared with tasks. Clone it into closures.
///
/// ```
/// use sluice_core::{Conf, Context};
/// let ctx = Context::new(Conf::new().set_master("local[2]")).unwrap();
/// let stop = ctx.broadcast(vec!["the".to_string(), "a".to_string()]);
/// let words = ctx.parallelize(vec!["the".to_string(), "cat".to_string()], 2);
/// let s = stop.clone();
/// let kept = words.filter(move |w| !s.value().contains(w)).collect().unwrap();
/// assert_eq!(kept, vec!["cat".to_string()]);
/// ```
#[derive(Debug)]
pub struct Broadcast<T> {
    id: usize,
    value: Arc<T>,
    destroyed: Arc<AtomicBool>,
}

impl<T> Clone for Broadcast<T> {
    fn clone(&self) -> Self {
        Broadcast {
            id: self.id,
            value: Arc::clone(&self.value),
            destroyed: Arc::clone(&self.destroyed),
        }
    }
}

impl<T> Broadcast<T> {
    pub(crate) fn new(value: T) -> Self {
        Broadcast {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            value: Arc::new(value),
            destroyed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The broadcast's id.
    pub fn id(&self) -> usize {
        self.id
    }

    /// The value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The value, or an error if the broadcast was destroyed.
    pub fn try_value(&self) -> Result<&T> {
        if self.destroyed.load(Ordering::Acquire) {
            return Err(Error::InvalidArgument(format!(
                "broadcast {} was used after it was destroyed",
                self.id
            )));
        }
        Ok(&self.value)
    }

    /// Marks the broadcast destroyed: later `try_value` calls fail.
    pub fn destroy(&self) {
        self.destroyed.store(true, Ordering::Release);
    }

    /// Whether `destroy` was called.
    pub fn is_destroyed(&self) -> bool {
        self.destroyed.load(Ordering::Acquire)
    }
}
