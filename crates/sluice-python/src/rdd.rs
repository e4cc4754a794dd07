//! `NativeRdd`: the handful of engine operations the Python `RDD` is built on.
//!
//! Python's `RDD` (in `python/sluice/rdd.py`) builds every transformation and action from
//! these: a partition function (`map_partitions`), two shuffles (`partition_by_hash`,
//! `partition_by_index`), `union`, `coalesce`, persistence, and collection. Each partition
//! function runs on a worker thread holding the interpreter lock once for the whole
//! partition; every blocking call releases the lock while the engine works.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyString, PyTuple};
use sluice_core::{Error, Partitioner, Rdd, StorageLevel};

use crate::chunk::Chunk;
use crate::error::{from_py, IntoPyResult};
use crate::hash::partition_of;
use crate::keys::{key_of, portable_hash};

/// An RDD of Python records.
#[pyclass(name = "NativeRdd", module = "sluice._native", frozen)]
pub(crate) struct NativeRdd {
    pub(crate) rdd: Rdd<Chunk>,
}

impl NativeRdd {
    pub(crate) fn new(rdd: Rdd<Chunk>) -> NativeRdd {
        NativeRdd { rdd }
    }
}

/// An iterator over the records of a partition's chunks.
fn records_iter<'py>(py: Python<'py>, chunks: &[Chunk]) -> PyResult<Bound<'py, PyAny>> {
    match chunks {
        [] => Ok(PyList::empty(py).as_any().try_iter()?.into_any()),
        [one] => Ok(one.bind(py).as_any().try_iter()?.into_any()),
        many => {
            static CHAIN: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
            let chain = CHAIN.get_or_try_init(py, || {
                Ok::<_, PyErr>(
                    py.import("itertools")?
                        .getattr("chain")?
                        .getattr("from_iterable")?
                        .unbind(),
                )
            })?;
            let lists = PyList::new(py, many.iter().map(|c| c.bind(py)))?;
            chain.bind(py).call1((lists,))
        }
    }
}

/// The records of a partition's chunks as one list.
pub(crate) fn concat<'py>(py: Python<'py>, chunks: &[Chunk]) -> PyResult<Bound<'py, PyList>> {
    if let [one] = chunks {
        return PyList::new(py, one.bind(py).iter());
    }
    let out = PyList::empty(py);
    for c in chunks {
        for x in c.bind(py).iter() {
            out.append(x)?;
        }
    }
    Ok(out)
}

/// Applies a Python partition function to an RDD of chunks.
pub(crate) fn apply_partition_fn(rdd: &Rdd<Chunk>, f: Py<PyAny>, keeps: bool) -> Rdd<Chunk> {
    let f = Arc::new(f);
    rdd.try_map_partitions_with_index(keeps, move |split, chunks| {
        Python::attach(|py| {
            let out = records_iter(py, &chunks)
                .and_then(|it| f.bind(py).call1((split, it)))
                .and_then(|out| Chunk::from_iterable(&out));
            match out {
                Ok(c) if c.bind(py).is_empty() => Ok(Vec::new()),
                Ok(c) => Ok(vec![c]),
                Err(e) => Err(from_py(py, e)),
            }
        })
    })
}

/// Lines of text as Python strings, one chunk per partition.
pub(crate) fn lines_to_chunks(rdd: &Rdd<String>) -> Rdd<Chunk> {
    rdd.try_map_partitions_with_index(false, |_, lines: Vec<String>| {
        if lines.is_empty() {
            return Ok(Vec::new());
        }
        Python::attach(|py| {
            let list = PyList::new(py, lines).map_err(|e| from_py(py, e))?;
            Ok(vec![Chunk::new(list)])
        })
    })
}

/// Places chunks by a partition number computed on the map side.
struct ByIndex(usize);

impl Partitioner<u32> for ByIndex {
    fn num_partitions(&self) -> usize {
        self.0
    }
    fn partition(&self, key: &u32) -> usize {
        *key as usize
    }
}

/// Splits each partition's records into `n` lists by `place(record)` and shuffles them.
fn shuffle_by(
    rdd: &Rdd<Chunk>,
    n: usize,
    place: impl for<'py> Fn(&Bound<'py, PyAny>) -> PyResult<(usize, Bound<'py, PyAny>)>
        + Send
        + Sync
        + 'static,
) -> Rdd<Chunk> {
    let split = rdd.try_map_partitions_with_index(false, move |_, chunks| {
        Python::attach(|py| {
            let lists: Vec<Bound<'_, PyList>> = (0..n).map(|_| PyList::empty(py)).collect();
            let placed = (|| {
                for c in &chunks {
                    for rec in c.bind(py).iter() {
                        let (p, out) = place(&rec)?;
                        lists[p].append(out)?;
                    }
                }
                Ok::<_, PyErr>(())
            })();
            placed.map_err(|e| from_py(py, e))?;
            Ok(lists
                .into_iter()
                .enumerate()
                .filter(|(_, l)| !l.is_empty())
                .map(|(p, l)| (p as u32, Chunk::new(l)))
                .collect::<Vec<_>>())
        })
    });
    split.partition_by(Arc::new(ByIndex(n))).values()
}

fn check_partitions(n: usize) -> PyResult<()> {
    if n == 0 {
        return Err(Error::InvalidArgument(
            "the number of partitions must be at least 1".into(),
        ))
        .py_err();
    }
    Ok(())
}

#[pymethods]
impl NativeRdd {
    /// The RDD's id, unique within its context.
    fn id(&self) -> usize {
        self.rdd.id()
    }

    /// The number of partitions.
    fn num_partitions(&self) -> usize {
        self.rdd.num_partitions()
    }

    /// `f(index, records_iterator) -> iterable` applied to every partition.
    fn map_partitions(&self, f: Py<PyAny>, keeps_partitioning: bool) -> NativeRdd {
        NativeRdd::new(apply_partition_fn(&self.rdd, f, keeps_partitioning))
    }

    /// Shuffles `(key, value)` records into `n` partitions by the key's portable hash.
    fn partition_by_hash(&self, n: usize) -> PyResult<NativeRdd> {
        check_partitions(n)?;
        Ok(NativeRdd::new(shuffle_by(&self.rdd, n, move |rec| {
            let key = key_of(rec)?;
            Ok((partition_of(portable_hash(&key)?, n), rec.clone()))
        })))
    }

    /// Shuffles `(partition, record)` pairs: `record` goes to partition `partition % n`.
    fn partition_by_index(&self, n: usize) -> PyResult<NativeRdd> {
        check_partitions(n)?;
        Ok(NativeRdd::new(shuffle_by(&self.rdd, n, move |rec| {
            let pair = rec.cast::<PyTuple>()?;
            let p: i64 = pair.get_item(0)?.extract()?;
            Ok((partition_of(p, n), pair.get_item(1)?))
        })))
    }

    /// The records of both RDDs (partitions of this one, then of `other`).
    fn union(&self, other: &NativeRdd) -> NativeRdd {
        NativeRdd::new(self.rdd.union(&other.rdd))
    }

    /// Merges partitions down to `n` without a shuffle.
    fn coalesce(&self, n: usize) -> PyResult<NativeRdd> {
        check_partitions(n)?;
        Ok(NativeRdd::new(self.rdd.coalesce(n)))
    }

    /// Keeps computed partitions: `MEMORY_ONLY`, `MEMORY_AND_DISK` or `DISK_ONLY` (disk
    /// levels pickle the records).
    fn persist(&self, level: &str) -> PyResult<()> {
        match level {
            "MEMORY_ONLY" => {
                self.rdd.cache();
            }
            "MEMORY_AND_DISK" => {
                self.rdd.persist(StorageLevel::MemoryAndDisk);
            }
            "DISK_ONLY" => {
                self.rdd.persist(StorageLevel::DiskOnly);
            }
            other => {
                return Err(Error::InvalidArgument(format!(
                    "unknown storage level {other:?} (MEMORY_ONLY, MEMORY_AND_DISK, DISK_ONLY)"
                )))
                .py_err()
            }
        }
        Ok(())
    }

    /// Stops keeping the RDD and drops what was kept.
    fn unpersist(&self) {
        self.rdd.unpersist();
    }

    /// The storage level, or `None` when not persisted.
    fn storage_level(&self) -> Option<&'static str> {
        self.rdd.storage_level().map(|l| match l {
            StorageLevel::MemoryOnly => "MEMORY_ONLY",
            StorageLevel::MemoryAndDisk => "MEMORY_AND_DISK",
            StorageLevel::DiskOnly => "DISK_ONLY",
        })
    }

    /// Names the RDD (shown in its lineage and the UI).
    fn set_name(&self, name: String) {
        self.rdd.set_name(name);
    }

    /// The RDD's name.
    fn name(&self) -> String {
        self.rdd.name()
    }

    /// The lineage, as Spark's `toDebugString` prints it.
    fn debug_string(&self) -> String {
        self.rdd.to_debug_string()
    }

    /// Every record, in partition order.
    fn collect<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rdd = self.rdd.clone();
        let chunks = py.detach(move || rdd.collect()).py_err()?;
        concat(py, &chunks)
    }

    /// The records of the given partitions, one list per partition.
    fn collect_partitions<'py>(
        &self,
        py: Python<'py>,
        partitions: Option<Vec<usize>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let rdd = self.rdd.clone();
        let which = partitions.unwrap_or_else(|| (0..rdd.num_partitions()).collect());
        let parts = py
            .detach(move || {
                rdd.run_job_on(&which, |it, _| {
                    let mut out = Vec::new();
                    for c in it {
                        out.extend(c?);
                    }
                    Ok(out)
                })
            })
            .py_err()?;
        let out = PyList::empty(py);
        for p in &parts {
            out.append(concat(py, p)?)?;
        }
        Ok(out)
    }

    /// The number of records.
    fn count(&self, py: Python<'_>) -> PyResult<u64> {
        let lens = self.rdd.try_map_partitions_with_index(false, |_, chunks| {
            Ok(vec![Python::attach(|py| {
                chunks.iter().map(|c| c.bind(py).len() as u64).sum::<u64>()
            })])
        });
        let lens = py.detach(move || lens.collect()).py_err()?;
        Ok(lens.into_iter().sum())
    }

    /// Writes the records as text lines (`str(record)`; strings as they are) into a directory
    /// of part files, which must not exist.
    fn save_as_text_file(&self, py: Python<'_>, path: String) -> PyResult<()> {
        let lines = text_lines(&self.rdd);
        py.detach(move || lines.save_as_text_file(&path)).py_err()
    }
}

/// Each record as a line: strings as they are, other objects by `str()`.
pub(crate) fn text_lines(rdd: &Rdd<Chunk>) -> Rdd<String> {
    rdd.try_map_partitions_with_index(false, |_, chunks| {
        Python::attach(|py| {
            let mut out = Vec::new();
            let lines = (|| {
                for c in &chunks {
                    for rec in c.bind(py).iter() {
                        let line = match rec.cast::<PyString>() {
                            Ok(s) => s.to_cow()?.into_owned(),
                            Err(_) => rec.str()?.to_cow()?.into_owned(),
                        };
                        out.push(line);
                    }
                }
                Ok::<_, PyErr>(())
            })();
            lines.map_err(|e| from_py(py, e))?;
            Ok(out)
        })
    })
}

/// The stable hash Sluice places keys by (PySpark's `portable_hash`).
#[pyfunction]
pub(crate) fn portable_hash_of(key: &Bound<'_, PyAny>) -> PyResult<i64> {
    portable_hash(key)
}
