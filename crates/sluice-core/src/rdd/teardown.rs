//! Dropping long lineages without recursion.
//!
//! An RDD node holds its parents (in its dependencies and in the closure that computes it),
//! so dropping the last handle of a chain of N operations would drop N nodes each from inside
//! the previous one's drop: N nested stack frames, and a stack overflow (which aborts the
//! process) for chains of some tens of thousands of operations. Instead a node hands its
//! parts to [`drop_iteratively`]: the outermost drop on a thread drops them, and any node
//! that becomes unreferenced meanwhile queues its own parts rather than dropping them in
//! place, so the stack stays one node deep however long the lineage.

use std::cell::RefCell;

/// Anything whose drop can wait.
trait Deferred {}
impl<X> Deferred for X {}

thread_local! {
    /// The parts waiting to be dropped, while a lineage drop is under way on this thread.
    static QUEUE: RefCell<Option<Vec<Box<dyn Deferred>>>> = const { RefCell::new(None) };
}

/// Drops `parts` now, or, when called from within another node's drop on this thread, queues
/// them for that outermost drop to drop after it.
pub(crate) fn drop_iteratively<X: 'static>(parts: X) {
    let now = QUEUE.with(|q| {
        let mut q = q.borrow_mut();
        match q.as_mut() {
            Some(waiting) => {
                waiting.push(Box::new(parts));
                None
            }
            None => {
                *q = Some(Vec::new());
                Some(parts)
            }
        }
    });
    let Some(parts) = now else {
        return;
    };
    // Ends the drop under way even if a part's drop panics (what is still queued then leaks:
    // dropping it while unwinding could panic a second time, which aborts).
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            if let Some(rest) = QUEUE.with(|q| q.borrow_mut().take()) {
                if std::thread::panicking() {
                    std::mem::forget(rest);
                }
            }
        }
    }
    let _done = Done;
    drop(parts);
    while let Some(next) = QUEUE.with(|q| q.borrow_mut().as_mut().and_then(Vec::pop)) {
        drop(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A linked list whose nodes drop through `drop_iteratively`.
    struct Node {
        next: Option<Box<Node>>,
        drops: Arc<AtomicUsize>,
    }

    impl Drop for Node {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::Relaxed);
            if let Some(next) = self.next.take() {
                drop_iteratively(next);
            }
        }
    }

    #[test]
    fn a_long_chain_drops_completely_on_a_small_stack() {
        let drops = Arc::new(AtomicUsize::new(0));
        let d2 = Arc::clone(&drops);
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                let mut head: Option<Box<Node>> = None;
                for _ in 0..200_000 {
                    head = Some(Box::new(Node {
                        next: head,
                        drops: Arc::clone(&d2),
                    }));
                }
                drop(head);
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 200_000);
        assert!(QUEUE.with(|q| q.borrow().is_none()));
    }
}
