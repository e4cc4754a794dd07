//! Helpers shared by the integration tests of `sluice-core`: contexts, the layouts property
//! tests build their input RDDs from, and small comparison helpers.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Debug;
use std::sync::OnceLock;

use proptest::prelude::*;
use sluice_core::{Conf, Context, Data, Rdd};

/// One `local[2]` context shared by every case of every test of a test binary.
pub fn ctx() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| Context::local(2).unwrap())
}

/// A fresh `local[2]` context of the test's own, so that the counters it checks are its own.
pub fn local2() -> Context {
    Context::local(2).unwrap()
}

/// A fresh context on `master` with the settings `kv` applied in order.
pub fn context_with(master: &str, kv: &[(&str, &str)]) -> Context {
    let conf = kv
        .iter()
        .fold(Conf::new().set_master(master), |conf, (k, v)| {
            conf.set(*k, *v)
        });
    Context::new(conf).unwrap()
}

/// A `local[2]` context with `memory` (e.g. `"64k"`) of storage, spilling into the returned dir.
pub fn spilling_context(memory: &str) -> (Context, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_with(
        "local[2]",
        &[
            ("sluice.storage.memoryBytes", memory),
            ("sluice.local.dir", dir.path().to_str().unwrap()),
        ],
    );
    (ctx, dir)
}

/// The layout an input RDD is built from.
#[derive(Debug, Clone)]
pub enum Input<T> {
    /// `parallelize(data, n)`.
    Flat(Vec<T>, usize),
    /// `parallelize_partitions(parts)` (some partitions may be empty).
    Parts(Vec<Vec<T>>),
}

impl<T: Data> Input<T> {
    /// The input as an RDD on the shared [`ctx`].
    pub fn rdd(&self) -> Rdd<T> {
        match self {
            Input::Flat(v, n) => ctx().parallelize(v.clone(), *n),
            Input::Parts(p) => ctx().parallelize_partitions(p.clone()),
        }
    }

    /// The records in collect order.
    pub fn all(&self) -> Vec<T> {
        match self {
            Input::Flat(v, _) => v.clone(),
            Input::Parts(p) => p.concat(),
        }
    }
}

/// `< flat_len` records in 1-8 slices, or 1-8 partitions of `< part_len` (empty: `empty_weight`:3).
pub fn input_with<T: Clone + Debug + 'static>(
    elem: impl Strategy<Value = T> + Clone + 'static,
    flat_len: usize,
    part_len: usize,
    empty_weight: u32,
) -> impl Strategy<Value = Input<T>> {
    let flat = (prop::collection::vec(elem.clone(), 0..flat_len), 1usize..=8)
        .prop_map(|(v, n)| Input::Flat(v, n));
    let parts = prop::collection::vec(
        prop_oneof![
            empty_weight => Just(Vec::new()),
            3 => prop::collection::vec(elem, 0..part_len),
        ],
        1..=8,
    )
    .prop_map(Input::Parts);
    prop_oneof![flat, parts]
}

/// The usual inputs: [`input_with`] `elem`, 80 records flat, 20 per partition, empty at odds 1:3.
pub fn input<T: Clone + Debug + 'static>(
    elem: impl Strategy<Value = T> + Clone + 'static,
) -> impl Strategy<Value = Input<T>> {
    input_with(elem, 80, 20, 1)
}

/// The proptest configuration of the RDD property tests: 64 cases.
pub fn config() -> ProptestConfig {
    ProptestConfig::with_cases(64)
}

/// `v`, sorted.
pub fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}
