//! The stable hash of a Python key (see [`crate::hash`]), read from the object.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use crate::hash::{python_bytes_hash, python_str_hash, tuple_hash};

/// The stable hash of `key`: `None` 0, `str`/`bytes` by content, tuples by their items, other
/// objects by their own `__hash__`.
pub(crate) fn portable_hash(key: &Bound<'_, PyAny>) -> PyResult<i64> {
    if key.is_none() {
        return Ok(0);
    }
    if let Ok(s) = key.cast::<PyString>() {
        if let Ok(text) = s.to_cow() {
            return Ok(python_str_hash(&text));
        }
        // A string with lone surrogates has no UTF-8 form: its own hash is the only one.
        return Ok(key.hash()? as i64);
    }
    if let Ok(b) = key.cast::<PyBytes>() {
        return Ok(python_bytes_hash(b.as_bytes()));
    }
    if let Ok(t) = key.cast::<PyTuple>() {
        let mut hashes = Vec::with_capacity(t.len());
        for item in t.iter() {
            hashes.push(portable_hash(&item)?);
        }
        return Ok(tuple_hash(hashes.into_iter()));
    }
    Ok(key.hash()? as i64)
}

/// The key of a `(key, value)` record: its first item.
pub(crate) fn key_of<'py>(record: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if let Ok(t) = record.cast::<PyTuple>() {
        if t.len() == 2 {
            return t.get_item(0);
        }
    }
    match record.len() {
        Ok(2) => record.get_item(0),
        _ => Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "a key-value operation needs (key, value) pairs, got {}",
            record.repr().map(|r| r.to_string()).unwrap_or_default()
        ))),
    }
}
