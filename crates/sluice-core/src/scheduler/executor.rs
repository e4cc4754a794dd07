//! The executor: a fixed pool of worker threads running a stage's tasks.
//!
//! Each task runs under `catch_unwind`; a task that panics or returns an error is retried up
//! to `sluice.task.maxFailures` attempts in all. When the last attempt fails, the job fails
//! with an error naming the RDD, stage, partition and the panic message or error, and the
//! pool stays usable.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::scheduler::task::TaskContext;
use crate::shared::accumulator::TaskUpdates;

/// What the executor needs to know about the stage whose tasks it runs.
#[derive(Debug, Clone)]
pub(crate) struct StageDesc {
    /// Stage id.
    pub stage_id: usize,
    /// The stage's RDD, as `Kind[id] at op`.
    pub rdd: String,
}

/// A pool of worker threads.
pub(crate) struct Executor {
    pool: rayon::ThreadPool,
    threads: usize,
    max_failures: usize,
}

impl Executor {
    /// A pool of `threads` workers.
    pub(crate) fn new(threads: usize, max_failures: usize) -> Result<Self> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("sluice-worker-{i}"))
            // Long narrow lineages compute recursively: give tasks room.
            .stack_size(32 << 20)
            .build()
            .map_err(|e| Error::Internal(format!("starting the worker pool: {e}")))?;
        Ok(Executor {
            pool,
            threads,
            max_failures: max_failures.max(1),
        })
    }

    /// Number of worker threads.
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// Runs one task per partition in `partitions`, returning results in the same order.
    pub(crate) fn run_tasks<R, F>(
        &self,
        stage: &StageDesc,
        partitions: &[usize],
        metrics: &Metrics,
        task: F,
    ) -> Result<Vec<R>>
    where
        R: Send,
        F: Fn(&TaskContext) -> Result<R> + Sync,
    {
        let run = |&p: &usize| self.run_with_retry(stage, p, metrics, &task);
        if partitions.len() <= 1 {
            // One task needs no splitting; it still runs on a worker thread.
            return self.pool.install(|| partitions.iter().map(run).collect());
        }
        self.pool
            .install(|| partitions.par_iter().with_max_len(1).map(run).collect())
    }

    fn run_with_retry<R, F>(
        &self,
        stage: &StageDesc,
        partition: usize,
        metrics: &Metrics,
        task: &F,
    ) -> Result<R>
    where
        F: Fn(&TaskContext) -> Result<R>,
    {
        let mut last = String::new();
        let mut cause = None;
        for attempt in 0..self.max_failures {
            let tc = TaskContext {
                stage_id: stage.stage_id,
                partition,
                attempt,
            };
            metrics.tasks_launched.fetch_add(1, Ordering::Relaxed);
            let updates = TaskUpdates::begin();
            let outcome = catch_unwind(AssertUnwindSafe(|| task(&tc)));
            match outcome {
                Ok(Ok(r)) => {
                    updates.finish(true);
                    return Ok(r);
                }
                Ok(Err(e)) => {
                    updates.finish(false);
                    last = e.to_string();
                    cause = Some(Box::new(e));
                }
                Err(payload) => {
                    updates.finish(false);
                    last = format!("panic: {}", panic_message(&*payload));
                    cause = None;
                }
            }
            metrics.tasks_failed.fetch_add(1, Ordering::Relaxed);
        }
        Err(Error::TaskFailed {
            rdd: stage.rdd.clone(),
            stage: stage.stage_id,
            partition,
            attempts: self.max_failures,
            message: last,
            cause,
        })
    }
}

/// The message of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}
