//! The contract of a state update over many keys at once
//! ([`DStream::update_state_by_key_partitions`](crate::DStream::update_state_by_key_partitions)):
//! the engine hands the function every key of a key group at once, as [`KeyUpdate`]s, and the
//! function answers one [`StateUpdate`] per key.
//!
//! This is `update_state_by_key` for functions with a fixed cost per call — a call into another
//! language's runtime that must take a lock first, say — which should be paid once per
//! key group and batch, not once per key.

/// One key's share of a batch: its new values (in arrival order; empty when the key has state
/// but no new values) and its current state (`None` for a key first seen in this batch).
#[derive(Debug)]
pub struct KeyUpdate<'a, K, V, S> {
    /// The key.
    pub key: &'a K,
    /// The values that arrived for the key in this batch.
    pub values: Vec<V>,
    /// The key's state before this batch.
    pub state: Option<&'a S>,
}

/// What becomes of a key's state after a batch.
///
/// ```
/// use sluice_streaming::state::StateUpdate;
/// let decide = |total: u64| if total == 0 { StateUpdate::Remove } else { StateUpdate::Set(total) };
/// assert_eq!(decide(0), StateUpdate::Remove);
/// assert_eq!(decide(3), StateUpdate::Set(3));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateUpdate<S> {
    /// The state stays as it is (and is not written to the next incremental checkpoint); for a
    /// key without state, none is created.
    Keep,
    /// The key's state becomes this value.
    Set(S),
    /// The key's state is removed (nothing happens to a key without state).
    Remove,
}
