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
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

/// `pickle.dumps` and `pickle.loads`, looked up once.
fn pickle<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    static PICKLE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module = PICKLE.get_or_try_init(py, || py.import("pickle").map(Bound::unbind))?;
    module.bind(py).getattr(name)
}

/// Pickles a chunk (for disk storage levels and checkpointed state).
pub(crate) fn dumps(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let bytes = pickle(py, "dumps")?.call1((obj, 4))?;
    Ok(bytes.cast::<PyBytes>()?.as_bytes().to_vec())
}

/// Unpickles bytes written by [`dumps`].
pub(crate) fn loads<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    pickle(py, "loads")?.call1((PyBytes::new(py, bytes),))
}

impl Serialize for Chunk {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bytes = Python::attach(|py| dumps(py, self.bind(py).as_any()))
            .map_err(|e| serde::ser::Error::custom(format!("pickling records failed: {e}")))?;
        s.serialize_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for Chunk {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Chunk, D::Error> {
        struct Bytes;
        impl<'de> Visitor<'de> for Bytes {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("pickled Python records")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        let bytes = d.deserialize_bytes(Bytes)?;
        Python::attach(|py| {
            let obj = loads(py, &bytes)?;
            Ok::<_, PyErr>(Chunk::new(obj.cast_into::<PyList>()?))
        })
        .map_err(|e| de::Error::custom(format!("unpickling records failed: {e}")))
    }
}
