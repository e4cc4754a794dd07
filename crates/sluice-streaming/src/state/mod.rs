//! Keyed state: the [`State`] handle a mapping function sees, the [`StateSpec`] of
//! `map_with_state`, the [partition-level update](update) contract, and the
//! [key-group store](store) that holds every stateful operator's values.

pub mod api;
pub mod spec;
pub mod store;
pub mod update;

pub use api::State;
pub use spec::StateSpec;
pub use store::{KeyGroupPartitioner, StateStore, DEFAULT_KEY_GROUPS};
pub use update::{KeyUpdate, StateUpdate};
