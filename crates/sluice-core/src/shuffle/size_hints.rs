//! Remembered sizes of combine tables, by the place in the program that made the shuffle.
//!
//! A map task that combines values by key builds a hash table whose final size it cannot know
//! in advance; grown from empty, the table rehashes every record it holds about twenty times
//! on the way to a few tens of thousands of keys. A streaming job builds the same shuffle
//! again for every batch, from the same line of the program, with about as many distinct
//! keys as last time. So the context remembers, per *site*, how many keys the last map task
//! of a shuffle made there saw, and the next shuffle made there sizes its tables from that.
//!
//! A site is the source location of the call that made the shuffle (public shuffle operations
//! pass their caller's location down with `#[track_caller]`), within a *scope*: streaming sets
//! the scope to the id of the stream whose RDD it is building, so two streams that shuffle
//! through the same library line keep separate sizes. The sizes are hints only: a wrong one
//! costs a rehash or some spare memory, never a wrong result.

use std::cell::Cell;
use std::panic::Location;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use parking_lot::Mutex;
use rustc_hash::FxHashMap;

thread_local! {
    static SCOPE: Cell<u64> = const { Cell::new(0) };
}

/// Runs `f` with shuffles it makes on this thread remembered under `scope` (for example the
/// id of the stream whose RDD `f` builds). Scopes nest; the previous one is restored after.
///
/// ```
/// use sluice_core::internals::size_hint_scope;
/// assert_eq!(size_hint_scope(7, || 1 + 1), 2);
/// ```
pub fn in_scope<R>(scope: u64, f: impl FnOnce() -> R) -> R {
    struct Restore(u64);
    impl Drop for Restore {
        fn drop(&mut self) {
            SCOPE.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(SCOPE.with(|s| s.replace(scope)));
    f()
}

/// Where a shuffle was made: the caller's source location within the current scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Site {
    scope: u64,
    file: &'static str,
    line: u32,
    column: u32,
}

impl Site {
    /// The site of the caller (through any chain of `#[track_caller]` functions).
    #[track_caller]
    pub(crate) fn here() -> Site {
        let at = Location::caller();
        Site {
            scope: SCOPE.with(Cell::get),
            file: at.file(),
            line: at.line(),
            column: at.column(),
        }
    }
}

/// The remembered table size of every site a context has seen.
#[derive(Default)]
pub(crate) struct SizeHints {
    sites: Mutex<FxHashMap<Site, Arc<AtomicUsize>>>,
}

impl SizeHints {
    /// The shared size cell of `site` (zero until a map task there reports a size).
    pub(crate) fn slot(&self, site: Site) -> Arc<AtomicUsize> {
        Arc::clone(self.sites.lock().entry(site).or_default())
    }

    /// The remembered sizes of all sites (for tests).
    #[cfg(test)]
    pub(crate) fn sites_for_tests(&self) -> Vec<usize> {
        use std::sync::atomic::Ordering;
        let sites = self.sites.lock();
        sites.values().map(|s| s.load(Ordering::Relaxed)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[track_caller]
    fn site() -> Site {
        Site::here()
    }

    #[test]
    fn the_same_line_in_the_same_scope_shares_one_size() {
        let hints = SizeHints::default();
        let sites: Vec<Site> = (0..2).map(|_| site()).collect();
        assert_eq!(sites[0], sites[1]);
        hints.slot(sites[0]).store(42, Ordering::Relaxed);
        assert_eq!(hints.slot(sites[1]).load(Ordering::Relaxed), 42);
    }

    #[test]
    fn scopes_and_lines_keep_separate_sizes() {
        let hints = SizeHints::default();
        let a = in_scope(1, site);
        let b = in_scope(2, site);
        let c = site();
        assert_ne!(a, b);
        assert_ne!(a, c);
        hints.slot(a).store(5, Ordering::Relaxed);
        assert_eq!(hints.slot(b).load(Ordering::Relaxed), 0);
        assert_eq!(hints.slot(c).load(Ordering::Relaxed), 0);
    }

    #[test]
    fn scopes_nest_and_are_restored_after_a_panic() {
        let outer = in_scope(3, || {
            let inner = in_scope(4, site);
            assert_eq!(inner.scope, 4);
            site()
        });
        assert_eq!(outer.scope, 3);
        let r = std::panic::catch_unwind(|| in_scope(9, || panic!("boom")));
        assert!(r.is_err());
        assert_eq!(site().scope, 0);
    }
}
