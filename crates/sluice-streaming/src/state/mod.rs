//! Keyed state: the [`State`] handle a mapping function sees, the [`StateSpec`] of
//! `map_with_state`, the [partition-level update](update) contract, the
//! [store contract](keyed) every stateful operator runs on, and its two stores: the
//! [in-memory key-group store](store) (the default) and the [disk-backed one](disk) (feature
//! `disk-state`).

pub mod api;
#[cfg(feature = "disk-state")]
pub mod disk;
pub mod keyed;
mod memory;
pub mod spec;
pub mod store;
pub mod update;

pub use api::State;
#[cfg(feature = "disk-state")]
pub use disk::DiskStore;
pub use keyed::{DiskOptions, KeyedStore, LockedGroups, StoreKind};
pub use spec::StateSpec;
pub use store::{KeyGroupPartitioner, StateStore, DEFAULT_KEY_GROUPS};
pub use update::{KeyUpdate, StateUpdate};
