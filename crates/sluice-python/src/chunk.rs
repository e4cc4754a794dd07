//! The record type the engine carries for Python: a chunk of Python objects.
//!
//! An RDD of Python records is an `Rdd<Chunk>`: each engine record is a whole Python list
//! (usually one per partition, one per map-side output after a shuffle). The engine's
//! per-record costs — cloning, caching, shuffling — are paid per chunk, and Python code sees
//! its records as plain Python objects, never copied or converted. Cloning a chunk clones an
//! `Arc`, so it needs no interpreter lock; the list itself is only touched with the lock
//! held.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyList;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::pickled;

/// A list of Python records, shared.
#[derive(Clone)]
pub(crate) struct Chunk(Arc<Py<PyList>>);

impl Chunk {
    /// Wraps a list. The list must not be changed afterwards: chunks are shared.
    pub(crate) fn new(list: Bound<'_, PyList>) -> Chunk {
        Chunk(Arc::new(list.unbind()))
    }

    /// A list of the records of `iterable` (the list itself when it already is one).
    pub(crate) fn from_iterable(obj: &Bound<'_, PyAny>) -> PyResult<Chunk> {
        if obj.is_exact_instance_of::<PyList>() {
            return Ok(Chunk::new(obj.cast::<PyList>()?.clone()));
        }
        let py = obj.py();
        let list = PyList::empty(py);
        for item in obj.try_iter()? {
            list.append(item?)?;
        }
        Ok(Chunk::new(list))
    }

    /// The list, bound to the interpreter.
    pub(crate) fn bind<'py>(&self, py: Python<'py>) -> &Bound<'py, PyList> {
        self.0.bind(py)
    }
}

/// An RDD of engine records as Python records: each partition becomes one chunk of
/// `to_py(record)`, built under the interpreter lock (empty partitions stay empty).
pub(crate) fn to_chunks<T: sluice_core::Data>(
    rdd: &sluice_core::Rdd<T>,
    to_py: impl for<'py> Fn(Python<'py>, &T) -> PyResult<Bound<'py, PyAny>> + Send + Sync + 'static,
) -> sluice_core::Rdd<Chunk> {
    rdd.try_map_partitions_with_index(false, move |_, records: Vec<T>| {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        Python::attach(|py| {
            let list = PyList::empty(py);
            let built = records.iter().try_for_each(|r| list.append(to_py(py, r)?));
            built.map_err(|e| crate::error::from_py(py, e))?;
            Ok(vec![Chunk::new(list)])
        })
    })
}

impl Serialize for Chunk {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        pickled::serialize(self.0.as_ref().as_any(), "records", s)
    }
}

impl<'de> Deserialize<'de> for Chunk {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Chunk, D::Error> {
        pickled::deserialize(d, "records", |obj| {
            Ok(Chunk::new(obj.cast::<PyList>()?.clone()))
        })
    }
}
