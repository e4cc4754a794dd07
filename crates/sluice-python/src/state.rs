//! Python keys and values in the engine's keyed state (`updateStateByKey`).
//!
//! Python state lives in the engine's key-group store, like a Rust job's, so it is updated in
//! place (a batch costs what its keys cost, never a copy of the whole state), checkpointed
//! incrementally and restored after a crash. For that the store needs keys that hash and
//! compare without the interpreter lock, the same way in every process:
//!
//! - [`PyKey`] hashes by the key's portable hash (the one that places Python keys in
//!   partitions, see [`crate::hash`]) and compares by a canonical byte form for `None`,
//!   `bool`, `int`, `float`, `str`, `bytes` and tuples of these — so `1`, `1.0` and `True` are
//!   one key, as in a Python `dict`. Keys of other types compare with Python's `==` (taking
//!   the lock; only keys whose hashes are equal are ever compared).
//! - [`PyObj`] is any Python value, shared, never copied.
//!
//! Both are written to checkpoints with `pickle` (protocol 4); a restored key gets its hash and
//! canonical form again from the unpickled object.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyString, PyTuple};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sluice_core::Rdd;

use crate::chunk::{to_chunks, Chunk};
use crate::error::from_py;
use crate::keys::{key_of, portable_hash};
use crate::pickled;

/// A Python key: its portable hash, its canonical form (for the common key types) and the
/// object itself.
#[derive(Clone)]
pub(crate) struct PyKey(Arc<KeyInner>);

struct KeyInner {
    hash: i64,
    canonical: Canonical,
    obj: Py<PyAny>,
}

/// Bytes of a canonical form kept inside the key itself (no allocation for the common small
/// keys: ints, short strings and small tuples of them).
const INLINE: usize = 23;

/// A key's canonical form.
#[derive(PartialEq, Eq)]
enum Canonical {
    /// Short forms, padded with zeros (the length is part of the form's encoding).
    Inline(u8, [u8; INLINE]),
    /// Longer forms.
    Heap(Box<[u8]>),
    /// A key of a type without one: Python compares it.
    Absent,
}

impl Canonical {
    fn of(bytes: &[u8]) -> Canonical {
        if bytes.len() <= INLINE {
            let mut inline = [0u8; INLINE];
            inline[..bytes.len()].copy_from_slice(bytes);
            Canonical::Inline(bytes.len() as u8, inline)
        } else {
            Canonical::Heap(bytes.into())
        }
    }
}

impl PyKey {
    /// The key of `obj`.
    pub(crate) fn new(obj: &Bound<'_, PyAny>) -> PyResult<PyKey> {
        let mut form = Vec::new();
        let canonical = if encode(obj, &mut form)? {
            Canonical::of(&form)
        } else {
            Canonical::Absent
        };
        Ok(PyKey(Arc::new(KeyInner {
            hash: portable_hash(obj)?,
            canonical,
            obj: obj.clone().unbind(),
        })))
    }

    /// The key object.
    pub(crate) fn bind<'py>(&self, py: Python<'py>) -> &Bound<'py, PyAny> {
        self.0.obj.bind(py)
    }
}

impl Hash for PyKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_i64(self.0.hash);
    }
}

impl PartialEq for PyKey {
    fn eq(&self, other: &PyKey) -> bool {
        if Arc::ptr_eq(&self.0, &other.0) {
            return true;
        }
        if self.0.hash != other.0.hash {
            return false;
        }
        match (&self.0.canonical, &other.0.canonical) {
            // A key of another type: Python decides (an exception in `__eq__` is "not equal").
            (Canonical::Absent, _) | (_, Canonical::Absent) => Python::attach(|py| {
                self.0
                    .obj
                    .bind(py)
                    .eq(other.0.obj.bind(py))
                    .unwrap_or(false)
            }),
            (a, b) => a == b,
        }
    }
}

impl Eq for PyKey {}

impl Serialize for PyKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        pickled::serialize(&self.0.obj, "a state key", s)
    }
}

impl<'de> Deserialize<'de> for PyKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PyKey, D::Error> {
        pickled::deserialize(d, "a state key", PyKey::new)
    }
}

/// Canonical-form tags.
const NONE: u8 = 0;
const SMALL_INT: u8 = 1;
const BIG_INT: u8 = 2;
const FLOAT: u8 = 3;
const STR: u8 = 4;
const BYTES: u8 = 5;
const TUPLE: u8 = 6;

/// Appends the canonical form of `obj` to `out`: equal forms for keys Python finds equal.
/// `false` (with `out` in an unspecified state) when `obj` is of a type without one.
fn encode(obj: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<bool> {
    if obj.is_none() {
        out.push(NONE);
        return Ok(true);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        out.push(SMALL_INT);
        out.extend_from_slice(&i64::from(b.is_true()).to_le_bytes());
        return Ok(true);
    }
    if obj.is_instance_of::<PyInt>() {
        return encode_int(obj, out);
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        if v.is_finite() && v.fract() == 0.0 {
            // 2.0 == 2: an integral float is the int it equals.
            let as_int = obj.py().get_type::<PyInt>().call1((obj,))?;
            return encode_int(&as_int, out);
        }
        out.push(FLOAT);
        let bits = if v.is_nan() {
            f64::NAN.to_bits()
        } else {
            v.to_bits()
        };
        out.extend_from_slice(&bits.to_le_bytes());
        return Ok(true);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        // A string with lone surrogates has no UTF-8 form: Python compares it.
        let Ok(text) = s.to_cow() else {
            return Ok(false);
        };
        out.push(STR);
        push_bytes(out, text.as_bytes());
        return Ok(true);
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        out.push(BYTES);
        push_bytes(out, b.as_bytes());
        return Ok(true);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        out.push(TUPLE);
        out.extend_from_slice(&(t.len() as u64).to_le_bytes());
        for item in t.iter() {
            if !encode(&item, out)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    Ok(false)
}

/// An `int` (or `bool`): eight bytes when it fits, its decimal digits otherwise.
fn encode_int(obj: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<bool> {
    match obj.extract::<i64>() {
        Ok(v) => {
            out.push(SMALL_INT);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Err(_) => {
            out.push(BIG_INT);
            let digits = obj.py().get_type::<PyInt>().call1((obj,))?.str()?;
            push_bytes(out, digits.to_cow()?.as_bytes());
        }
    }
    Ok(true)
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// A Python value held by the engine: shared, never copied, pickled into checkpoints.
#[derive(Clone)]
pub(crate) struct PyObj(Arc<Py<PyAny>>);

impl PyObj {
    /// Holds `obj`.
    pub(crate) fn new(obj: &Bound<'_, PyAny>) -> PyObj {
        PyObj(Arc::new(obj.clone().unbind()))
    }

    /// The object.
    pub(crate) fn bind<'py>(&self, py: Python<'py>) -> &Bound<'py, PyAny> {
        self.0.bind(py)
    }
}

impl Serialize for PyObj {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        pickled::serialize(&self.0, "a state value", s)
    }
}

impl<'de> Deserialize<'de> for PyObj {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PyObj, D::Error> {
        pickled::deserialize(d, "a state value", |obj| Ok(PyObj::new(obj)))
    }
}

/// Whether `new` is `old` or an equal value of the same immutable type (`int`, `bool`,
/// `float`, `str`, `bytes`, `None`; tuples only as the same object, with immutable items):
/// then a state update changed nothing, since an immutable value cannot have been changed in
/// place. Types must match exactly, as `1 == 1.0 == True` in Python.
pub(crate) fn same_immutable(old: &Bound<'_, PyAny>, new: &Bound<'_, PyAny>) -> bool {
    if old.is(new) {
        return immutable(new, 4);
    }
    if !old.get_type().is(new.get_type()) {
        return false;
    }
    let scalar = new.is_exact_instance_of::<PyInt>()
        || new.is_exact_instance_of::<PyFloat>()
        || new.is_exact_instance_of::<PyString>()
        || new.is_exact_instance_of::<PyBytes>();
    // NaN is not equal to itself: it stays a change, which is harmless.
    scalar && old.eq(new).unwrap_or(false)
}

/// Whether `obj` can never change: an immutable scalar, or a tuple of such (`depth` levels
/// deep at most).
fn immutable(obj: &Bound<'_, PyAny>, depth: u8) -> bool {
    if obj.is_none()
        || obj.is_exact_instance_of::<PyInt>()
        || obj.is_exact_instance_of::<PyBool>()
        || obj.is_exact_instance_of::<PyFloat>()
        || obj.is_exact_instance_of::<PyString>()
        || obj.is_exact_instance_of::<PyBytes>()
    {
        return true;
    }
    match obj.cast_exact::<PyTuple>() {
        Ok(t) if depth > 0 => t.iter().all(|item| immutable(&item, depth - 1)),
        _ => false,
    }
}

/// The `(key, value)` records of chunks as engine pairs (an error for a record that is not a
/// pair).
pub(crate) fn to_pairs(rdd: &Rdd<Chunk>) -> Rdd<(PyKey, PyObj)> {
    rdd.try_map_partitions_with_index(false, |_, chunks| {
        Python::attach(|py| {
            let mut out = Vec::new();
            let read = (|| {
                for c in &chunks {
                    for rec in c.bind(py).iter() {
                        let key = key_of(&rec)?;
                        out.push((PyKey::new(&key)?, PyObj::new(&rec.get_item(1)?)));
                    }
                }
                Ok::<_, PyErr>(())
            })();
            read.map_err(|e| from_py(py, e))?;
            Ok(out)
        })
    })
}

/// Engine pairs as `(key, value)` tuples, one chunk per partition.
pub(crate) fn from_pairs(rdd: &Rdd<(PyKey, PyObj)>) -> Rdd<Chunk> {
    to_chunks(rdd, |py, (k, v)| {
        Ok(PyTuple::new(py, [k.bind(py), v.bind(py)])?.into_any())
    })
}
