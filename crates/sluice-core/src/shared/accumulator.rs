//! Accumulators: add-only variables that tasks update and the driver reads.
//!
//! Inside a task, additions go to a buffer private to the task attempt; the executor merges
//! the buffer into the accumulator only when the attempt succeeds. So an update made inside an
//! action counts exactly once even when a task is retried. (As in Spark, updates made inside
//! transformations count again if a partition is recomputed, for example after a cached block
//! was evicted.) Outside a task, additions apply at once.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

type MergeFn<V> = dyn Fn(&mut V, V) + Send + Sync;

struct Inner<V> {
    id: usize,
    name: String,
    value: Mutex<V>,
    zero: V,
    merge: Box<MergeFn<V>>,
}

/// Merges a task's buffered value into its accumulator.
trait Sink: Send + Sync {
    fn merge_boxed(&self, v: Box<dyn Any + Send>);
}

impl<V: Clone + Send + Sync + 'static> Sink for Inner<V> {
    fn merge_boxed(&self, v: Box<dyn Any + Send>) {
        if let Ok(v) = v.downcast::<V>() {
            (self.merge)(&mut self.value.lock(), *v);
        }
    }
}

type Pending = HashMap<usize, (Box<dyn Any + Send>, Arc<dyn Sink>)>;

thread_local! {
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

/// Buffers the accumulator updates of one task attempt on the current thread.
pub(crate) struct TaskUpdates {
    saved: Option<Pending>,
}

impl TaskUpdates {
    /// Starts buffering (saving any buffer of an enclosing task).
    pub(crate) fn begin() -> Self {
        let saved = PENDING.with(|p| p.borrow_mut().replace(HashMap::new()));
        TaskUpdates { saved }
    }

    /// Ends the attempt: merges its updates if it succeeded, discards them otherwise.
    pub(crate) fn finish(mut self, succeeded: bool) {
        let saved = self.saved.take();
        let pending = PENDING.with(|p| std::mem::replace(&mut *p.borrow_mut(), saved));
        if succeeded {
            for (_, (v, sink)) in pending.unwrap_or_default() {
                sink.merge_boxed(v);
            }
        }
    }
}

impl Drop for TaskUpdates {
    fn drop(&mut self) {
        if let Some(saved) = self.saved.take() {
            PENDING.with(|p| *p.borrow_mut() = Some(saved));
        }
    }
}

/// An add-only shared variable.
///
/// ```
/// use sluice_core::{Conf, Context};
/// let ctx = Context::new(Conf::new().set_master("local[2]")).unwrap();
/// let blank = ctx.long_accumulator("blank lines");
/// let acc = blank.clone();
/// ctx.parallelize(vec!["a", "", "b", ""], 2)
///     .foreach(move |l| if l.is_empty() { acc.add(1) })
///     .unwrap();
/// assert_eq!(blank.value(), 2);
/// ```
pub struct Accumulator<V: Clone + Send + Sync + 'static> {
    inner: Arc<Inner<V>>,
}

impl<V: Clone + Send + Sync + 'static> Clone for Accumulator<V> {
    fn clone(&self) -> Self {
        Accumulator {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<V: Clone + Send + Sync + 'static> Accumulator<V> {
    /// A new accumulator with a zero value and an associative, commutative merge.
    pub fn new(
        name: impl Into<String>,
        zero: V,
        merge: impl Fn(&mut V, V) + Send + Sync + 'static,
    ) -> Self {
        Accumulator {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                name: name.into(),
                value: Mutex::new(zero.clone()),
                zero,
                merge: Box::new(merge),
            }),
        }
    }

    /// Adds a value: buffered per task attempt inside a task, applied at once on the driver.
    pub fn add(&self, v: V) {
        let buffered = PENDING.with(|p| {
            let mut p = p.borrow_mut();
            let Some(pending) = p.as_mut() else {
                return Some(v);
            };
            let entry = pending.entry(self.inner.id).or_insert_with(|| {
                (
                    Box::new(self.inner.zero.clone()) as Box<dyn Any + Send>,
                    Arc::clone(&self.inner) as Arc<dyn Sink>,
                )
            });
            if let Some(acc) = entry.0.downcast_mut::<V>() {
                (self.inner.merge)(acc, v);
            }
            None
        });
        if let Some(v) = buffered {
            (self.inner.merge)(&mut self.inner.value.lock(), v);
        }
    }

    /// The current value (meaningful on the driver, between jobs).
    pub fn value(&self) -> V {
        self.inner.value.lock().clone()
    }

    /// Resets the value to zero.
    pub fn reset(&self) {
        *self.inner.value.lock() = self.inner.zero.clone();
    }

    /// The accumulator's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }
}

impl<V: Clone + Send + Sync + std::fmt::Debug + 'static> std::fmt::Debug for Accumulator<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Accumulator({}: {:?})", self.inner.name, self.value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffered_updates_merge_only_on_success() {
        let acc = Accumulator::new("n", 0i64, |a, b| *a += b);
        acc.add(1);
        let t = TaskUpdates::begin();
        acc.add(10);
        t.finish(false);
        assert_eq!(acc.value(), 1);
        let t = TaskUpdates::begin();
        acc.add(5);
        acc.add(5);
        t.finish(true);
        assert_eq!(acc.value(), 11);
    }
}
