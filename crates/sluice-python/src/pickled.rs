//! Python objects as bytes: `pickle` (protocol 4) for everything the engine writes to disk —
//! records of disk storage levels, and the keys and values of checkpointed state.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyBytes;
use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// `pickle.dumps` or `pickle.loads`, the module looked up once.
fn pickle<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    static PICKLE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module = PICKLE.get_or_try_init(py, || py.import("pickle").map(Bound::unbind))?;
    module.bind(py).getattr(name)
}

/// Pickles an object.
pub(crate) fn dumps(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let bytes = pickle(py, "dumps")?.call1((obj, 4))?;
    Ok(bytes.cast::<PyBytes>()?.as_bytes().to_vec())
}

/// Unpickles bytes written by [`dumps`].
pub(crate) fn loads<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    pickle(py, "loads")?.call1((PyBytes::new(py, bytes),))
}

/// Serializes `obj` as its pickle (taking the interpreter lock); `what` names it in errors.
pub(crate) fn serialize<S: Serializer>(
    obj: &Py<PyAny>,
    what: &str,
    s: S,
) -> Result<S::Ok, S::Error> {
    let bytes = Python::attach(|py| dumps(py, obj.bind(py)))
        .map_err(|e| serde::ser::Error::custom(format!("pickling {what} failed: {e}")))?;
    s.serialize_bytes(&bytes)
}

/// Reads the bytes [`serialize`] wrote and unpickles them with `make` (under the interpreter
/// lock); `what` names the object in errors.
pub(crate) fn deserialize<'de, D: Deserializer<'de>, T>(
    d: D,
    what: &str,
    make: impl FnOnce(&Bound<'_, PyAny>) -> PyResult<T>,
) -> Result<T, D::Error> {
    let bytes = d.deserialize_bytes(Bytes)?;
    Python::attach(|py| loads(py, &bytes).and_then(|obj| make(&obj)))
        .map_err(|e| de::Error::custom(format!("unpickling {what} failed: {e}")))
}

/// A byte string, however the format hands it over.
struct Bytes;

impl<'de> Visitor<'de> for Bytes {
    type Value = Vec<u8>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a pickled Python object")
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
        }
        Ok(out)
    }
}
