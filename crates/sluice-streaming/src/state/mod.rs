//! Keyed state: the [`State`] handle a mapping function sees, the [`StateSpec`] of
//! `map_with_state`, and the [key-group store](store) that holds every stateful operator's
//! values.

pub mod api;
pub mod spec;
pub mod store;

pub use api::State;
pub use spec::StateSpec;
pub use store::{KeyGroupPartitioner, StateStore, DEFAULT_KEY_GROUPS};
