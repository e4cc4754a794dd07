//! [`StateSpec`]: the function and settings of `map_with_state`.

use std::sync::Arc;
use std::time::Duration;

use sluice_core::{Data, Rdd};

use super::api::State;
use super::keyed::StoreKind;
use crate::time::Time;

/// The mapping function of `map_with_state`: called once per input record (with `Some(value)`)
/// and once per key timing out (with `None` and a timing-out state).
pub type MappingFn<K, V, S, E> =
    dyn Fn(Time, &K, Option<V>, &mut State<S>) -> Option<E> + Send + Sync;

/// Everything `map_with_state` needs: the function, and optionally an initial state, a number
/// of partitions and an idle timeout (Spark's `StateSpec`).
///
/// ```
/// use sluice_streaming::state::{State, StateSpec};
/// use sluice_streaming::time::{seconds, Time};
/// // A running count per word, emitting (word, count) for each record.
/// let spec = StateSpec::function(|_t: Time, w: &String, v: Option<u64>, s: &mut State<u64>| {
///     let total = s.get_option().copied().unwrap_or(0) + v.unwrap_or(0);
///     if !s.is_timing_out() {
///         s.update(total).ok()?;
///     }
///     Some((w.clone(), total))
/// })
/// .num_partitions(4)
/// .timeout(seconds(30));
/// assert_eq!(spec.get_timeout(), Some(seconds(30)));
/// ```
pub struct StateSpec<K: Data, V, S: Data, E> {
    pub(crate) function: Arc<MappingFn<K, V, S, E>>,
    pub(crate) initial_state: Option<Rdd<(K, S)>>,
    pub(crate) num_partitions: Option<usize>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) store: Option<StoreKind>,
}

impl<K: Data, V, S: Data, E> StateSpec<K, V, S, E> {
    /// A spec with a mapping function.
    pub fn function(
        f: impl Fn(Time, &K, Option<V>, &mut State<S>) -> Option<E> + Send + Sync + 'static,
    ) -> Self {
        StateSpec {
            function: Arc::new(f),
            initial_state: None,
            num_partitions: None,
            timeout: None,
            store: None,
        }
    }

    /// The state to start from.
    pub fn initial_state(mut self, rdd: Rdd<(K, S)>) -> Self {
        self.initial_state = Some(rdd);
        self
    }

    /// Partitions of the state (default: the default parallelism).
    pub fn num_partitions(mut self, n: usize) -> Self {
        self.num_partitions = Some(n.max(1));
        self
    }

    /// Removes keys idle for longer than `d`, calling the function one last time for them.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// Keeps the state in this store (default: the setting `sluice.streaming.stateStore.kind`,
    /// memory unless set): [`StoreKind::Disk`] for state larger than memory.
    ///
    /// ```
    /// use sluice_streaming::state::{DiskOptions, State, StateSpec, StoreKind};
    /// use sluice_streaming::time::Time;
    /// let spec = StateSpec::function(|_t: Time, _k: &u64, v: Option<u64>, s: &mut State<u64>| {
    ///     s.update(v.unwrap_or(0)).ok()
    /// })
    /// .state_store(StoreKind::Disk(DiskOptions::default()));
    /// # let _ = spec;
    /// ```
    pub fn state_store(mut self, kind: StoreKind) -> Self {
        self.store = Some(kind);
        self
    }

    /// The timeout, if set.
    pub fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }
}
