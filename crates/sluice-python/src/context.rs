//! `NativeContext`: the engine context behind Python's `SparkContext`.

use pyo3::prelude::*;
use pyo3::types::PyList;
use sluice_core::{Conf, Context, Rdd};

use crate::chunk::Chunk;
use crate::error::IntoPyResult;
use crate::rdd::{lines_to_chunks, NativeRdd};

/// An engine context: the worker pool, block store and shuffles of one application.
#[pyclass(name = "NativeContext", module = "sluice._native", frozen)]
pub(crate) struct NativeContext {
    pub(crate) ctx: Context,
}

#[pymethods]
impl NativeContext {
    /// A context for `master` (`local`, `local[N]`, `local[*]`) with further settings.
    #[new]
    fn new(
        py: Python<'_>,
        master: String,
        app_name: String,
        settings: Vec<(String, String)>,
    ) -> PyResult<NativeContext> {
        let mut conf = Conf::new().set_master(master).set_app_name(app_name);
        for (k, v) in settings {
            conf = conf.set(k, v);
        }
        let ctx = py.detach(move || Context::new(conf)).py_err()?;
        Ok(NativeContext { ctx })
    }

    /// The default number of partitions (the worker threads, or `spark.default.parallelism`).
    fn default_parallelism(&self) -> usize {
        self.ctx.default_parallelism()
    }

    /// The application's name.
    fn app_name(&self) -> String {
        self.ctx.app_name().to_string()
    }

    /// An RDD whose partition `i` holds the records of `partitions[i]`.
    fn parallelize(&self, partitions: Vec<Bound<'_, PyList>>) -> NativeRdd {
        let parts = partitions
            .into_iter()
            .map(|l| {
                if l.is_empty() {
                    Vec::new()
                } else {
                    vec![Chunk::new(l)]
                }
            })
            .collect();
        NativeRdd::new(self.ctx.parallelize_partitions(parts))
    }

    /// An RDD with no partitions.
    fn empty(&self) -> NativeRdd {
        NativeRdd::new(self.ctx.empty())
    }

    /// The lines of a file, a directory's files or a glob's, as strings.
    fn text_file(
        &self,
        py: Python<'_>,
        path: String,
        min_partitions: usize,
    ) -> PyResult<NativeRdd> {
        let ctx = self.ctx.clone();
        let lines = py
            .detach(move || ctx.text_file(&path, min_partitions.max(1)))
            .py_err()?;
        Ok(NativeRdd::new(lines_to_chunks(&lines)))
    }

    /// The partitions of all the RDDs, in order.
    fn union(&self, rdds: Vec<PyRef<'_, NativeRdd>>) -> NativeRdd {
        let rdds: Vec<Rdd<Chunk>> = rdds.iter().map(|r| r.rdd.clone()).collect();
        NativeRdd::new(self.ctx.union(&rdds))
    }
}
