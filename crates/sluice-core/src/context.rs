//! [`Context`]: the entry point, Spark's `SparkContext`.
//!
//! A context owns the worker pool, the shuffle store, the block store of cached partitions and
//! the engine's counters. Create RDDs from it (`parallelize`, `range`, `text_file`, ...),
//! share values with tasks (`broadcast`, accumulators), and read its metrics.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::conf::{Conf, Settings};
use crate::error::Result;
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::scheduler::executor::Executor;
use crate::shared::accumulator::Accumulator;
use crate::shared::broadcast::Broadcast;
use crate::shuffle::size_hints::SizeHints;
use crate::shuffle::store::ShuffleStore;
use crate::storage::block_store::BlockStore;

static NEXT_CONTEXT: AtomicUsize = AtomicUsize::new(1);

pub(crate) struct ContextInner {
    pub conf: Conf,
    pub conf_notices: Vec<String>,
    pub settings: Settings,
    pub executor: Executor,
    pub shuffles: ShuffleStore,
    pub size_hints: SizeHints,
    pub blocks: BlockStore,
    pub metrics: Metrics,
    next_rdd: AtomicUsize,
    next_shuffle: AtomicUsize,
    next_stage: AtomicUsize,
}

impl ContextInner {
    pub(crate) fn next_rdd_id(&self) -> usize {
        self.next_rdd.fetch_add(1, Ordering::Relaxed)
    }
    pub(crate) fn next_shuffle_id(&self) -> usize {
        self.next_shuffle.fetch_add(1, Ordering::Relaxed)
    }
    pub(crate) fn next_stage_id(&self) -> usize {
        self.next_stage.fetch_add(1, Ordering::Relaxed)
    }
}

/// The entry point of the engine. Cheap to clone; all clones share one worker pool.
///
/// ```
/// use sluice_core::{Conf, Context};
/// let ctx = Context::new(Conf::new().set_master("local[2]").set_app_name("demo")).unwrap();
/// assert_eq!(ctx.range(0, 10, 1, 3).count().unwrap(), 10);
/// ```
#[derive(Clone)]
pub struct Context {
    pub(crate) inner: Arc<ContextInner>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("app_name", &self.inner.settings.app_name)
            .field("worker_threads", &self.inner.settings.worker_threads)
            .finish()
    }
}

impl Context {
    /// Builds a context, validating the configuration: every `sluice.*` key of every layer,
    /// and `spark.*` keys, which are renamed to their Sluice equivalents (a notice on standard
    /// error and in [`conf_notices`](Self::conf_notices) says so) or rejected.
    pub fn new(conf: Conf) -> Result<Context> {
        let (conf, conf_notices) = conf.resolve()?;
        for n in &conf_notices {
            eprintln!("sluice: {n}");
        }
        let settings = conf.settings()?;
        let executor = Executor::new(settings.worker_threads, settings.task_max_failures)?;
        let dir: PathBuf = settings.local_dir.join(format!(
            "sluice-{}-{}",
            std::process::id(),
            NEXT_CONTEXT.fetch_add(1, Ordering::Relaxed)
        ));
        Ok(Context {
            inner: Arc::new(ContextInner {
                conf,
                conf_notices,
                blocks: BlockStore::new(settings.storage_memory_bytes, dir),
                settings,
                executor,
                shuffles: ShuffleStore::default(),
                size_hints: SizeHints::default(),
                metrics: Metrics::default(),
                next_rdd: AtomicUsize::new(0),
                next_shuffle: AtomicUsize::new(0),
                next_stage: AtomicUsize::new(0),
            }),
        })
    }

    /// A context with `local[threads]` and default settings.
    pub fn local(threads: usize) -> Result<Context> {
        Context::new(Conf::new().set_master(format!("local[{threads}]")))
    }

    /// The configuration the context runs with: the one it was built from, with `spark.*`
    /// keys renamed to their Sluice equivalents.
    pub fn conf(&self) -> &Conf {
        &self.inner.conf
    }

    /// One line per `spark.*` key of the configuration that was read under its Sluice name.
    pub fn conf_notices(&self) -> &[String] {
        &self.inner.conf_notices
    }

    /// The validated settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Default number of partitions for shuffles and `parallelize`.
    pub fn default_parallelism(&self) -> usize {
        self.inner.settings.default_parallelism
    }

    /// Number of worker threads.
    pub fn worker_threads(&self) -> usize {
        self.inner.executor.threads()
    }

    /// The application name.
    pub fn app_name(&self) -> &str {
        &self.inner.settings.app_name
    }

    /// A snapshot of the engine's counters.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot(&self.inner.blocks.stats)
    }

    /// Bytes of memory used by cached partitions.
    pub fn storage_memory_used(&self) -> u64 {
        self.inner.blocks.memory_used()
    }

    /// Number of shuffles whose outputs are held in memory.
    pub fn live_shuffles(&self) -> usize {
        self.inner.shuffles.len()
    }

    /// Shares a read-only value with tasks.
    pub fn broadcast<T: Send + Sync + 'static>(&self, value: T) -> Broadcast<T> {
        Broadcast::new(value)
    }

    /// An accumulator with a zero value and an associative, commutative merge function.
    pub fn accumulator<V: Clone + Send + Sync + 'static>(
        &self,
        name: &str,
        zero: V,
        merge: impl Fn(&mut V, V) + Send + Sync + 'static,
    ) -> Accumulator<V> {
        Accumulator::new(name, zero, merge)
    }

    /// A summing `i64` accumulator (Spark's `LongAccumulator`).
    pub fn long_accumulator(&self, name: &str) -> Accumulator<i64> {
        Accumulator::new(name, 0, |a, b| *a += b)
    }

    /// A summing `f64` accumulator (Spark's `DoubleAccumulator`).
    pub fn double_accumulator(&self, name: &str) -> Accumulator<f64> {
        Accumulator::new(name, 0.0, |a, b| *a += b)
    }

    /// An accumulator collecting values into a list (Spark's `CollectionAccumulator`); add
    /// `vec![x]`.
    pub fn collection_accumulator<T: Clone + Send + Sync + 'static>(
        &self,
        name: &str,
    ) -> Accumulator<Vec<T>> {
        Accumulator::new(name, Vec::new(), |a: &mut Vec<T>, b| a.extend(b))
    }
}
