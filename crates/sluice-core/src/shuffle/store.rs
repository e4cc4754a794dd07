//! In-memory shuffle outputs, per (shuffle, map partition, reduce partition).
//!
//! A map task's output is a vector of type-erased buckets, one per reduce partition. Outputs
//! stay until the shuffle dependency that owns them is dropped, so a shuffled RDD that is used
//! by two jobs runs its map stage once.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

/// One map task's output: one bucket per reduce partition (each a `Vec<(K, C)>`).
pub(crate) type MapOutput = Arc<Vec<Box<dyn Any + Send + Sync>>>;

struct ShuffleOutputs {
    maps: Vec<Option<MapOutput>>,
}

/// Shuffle outputs of a context.
#[derive(Default)]
pub(crate) struct ShuffleStore {
    shuffles: Mutex<HashMap<usize, ShuffleOutputs>>,
}

impl ShuffleStore {
    /// Registers a shuffle with its number of map partitions (idempotent).
    pub(crate) fn register(&self, shuffle: usize, num_maps: usize) {
        self.shuffles
            .lock()
            .entry(shuffle)
            .or_insert_with(|| ShuffleOutputs {
                maps: vec![None; num_maps],
            });
    }

    /// The map partitions whose output is missing.
    pub(crate) fn missing(&self, shuffle: usize, num_maps: usize) -> Vec<usize> {
        let guard = self.shuffles.lock();
        match guard.get(&shuffle) {
            None => (0..num_maps).collect(),
            Some(s) => (0..num_maps).filter(|&m| s.maps[m].is_none()).collect(),
        }
    }

    /// Records a map task's output.
    pub(crate) fn put(&self, shuffle: usize, map: usize, output: MapOutput) {
        if let Some(s) = self.shuffles.lock().get_mut(&shuffle) {
            if let Some(slot) = s.maps.get_mut(map) {
                *slot = Some(output);
            }
        }
    }

    /// All map outputs of a shuffle, in map-partition order (None where missing).
    pub(crate) fn outputs(&self, shuffle: usize) -> Vec<Option<MapOutput>> {
        self.shuffles
            .lock()
            .get(&shuffle)
            .map(|s| s.maps.clone())
            .unwrap_or_default()
    }

    /// Forgets a shuffle's outputs.
    pub(crate) fn remove(&self, shuffle: usize) {
        self.shuffles.lock().remove(&shuffle);
    }

    /// Number of shuffles currently held.
    pub(crate) fn len(&self) -> usize {
        self.shuffles.lock().len()
    }
}
