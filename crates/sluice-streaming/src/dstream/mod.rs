//! [`DStream<T>`]: a discretized stream, one RDD per batch.
//!
//! A DStream is a node of the streaming graph. For each valid batch time `t` (a multiple of
//! its slide after the graph's zero time) it computes at most one `Rdd<T>` — lazily, from its
//! parents' RDDs for `t` — and memoises it, so every consumer of the stream in a batch sees the
//! same RDD. RDDs are forgotten once older than the stream's remember duration.
//!
//! Operations live in files by family: [`transform`] (per-batch RDD transformations, `union`,
//! `transform`), [`aggregate`] (`count`, `reduce`, `count_by_value`), [`pair`] (key-value
//! operations and joins), [`output`] (`print`, `save_as_text_files`, `foreach_rdd`) and
//! [`slice`](mod@slice); keyed state in [`stateful`] and, for update functions called once per
//! partition, [`update_partitions`].

pub mod aggregate;
pub mod materialized;
pub mod output;
pub mod pair;
pub mod reduced_window;
pub mod slice;
pub mod stateful;
pub mod transform;
pub mod update_partitions;
pub mod window;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use sluice_core::{Context, Data, Rdd, Result};

use crate::graph::StreamEnv;
use crate::time::{duration_ms, Time};

/// How a stream computes its RDD for one batch time (the typed half of a node).
pub(crate) trait StreamCompute<T: Data>: Send + Sync {
    /// The RDD for `time`, or `None` when the stream has none for that time.
    fn compute(&self, time: Time) -> Result<Option<Rdd<T>>>;

    /// Forgets whatever the computation keeps for times before `time` (materialized results).
    fn forget_before(&self, _time: Time) {}
}

pub use crate::graph::DStreamBase;

/// Identity and bookkeeping shared by all stream nodes.
pub(crate) struct StreamMeta {
    pub id: usize,
    pub env: Arc<StreamEnv>,
    /// The checkpoint interval the program asked of this stream.
    pub checkpoint_interval: Mutex<Option<Duration>>,
    pub name: RwLock<String>,
    /// Set when the program names the stream.
    pub named: std::sync::atomic::AtomicBool,
    pub slide: Duration,
    pub parents: Vec<Arc<dyn DStreamBase>>,
    pub zero_time: Mutex<Option<Time>>,
    pub remember: Mutex<Duration>,
    /// Extra history the parents must keep beyond this stream's own remember duration
    /// (a window's length, for example).
    pub parent_extra_remember: Duration,
}

/// One node of the streaming graph.
pub(crate) struct StreamNode<T: Data> {
    pub meta: StreamMeta,
    pub compute: Box<dyn StreamCompute<T>>,
    pub generated: Mutex<BTreeMap<Time, Option<Rdd<T>>>>,
}

impl<T: Data> DStreamBase for StreamNode<T> {
    fn id(&self) -> usize {
        self.meta.id
    }
    fn name(&self) -> String {
        self.meta.name.read().clone()
    }
    fn slide(&self) -> Duration {
        self.meta.slide
    }
    fn parents(&self) -> Vec<Arc<dyn DStreamBase>> {
        self.meta.parents.clone()
    }
    fn remember(&self) -> Duration {
        *self.meta.remember.lock()
    }
    fn require_remember(&self, d: Duration) {
        let own = {
            let mut r = self.meta.remember.lock();
            *r = (*r).max(d).max(self.meta.slide);
            *r
        };
        for p in &self.meta.parents {
            p.require_remember(own + self.meta.parent_extra_remember);
        }
    }
    fn set_zero_time(&self, zero: Time) {
        *self.meta.zero_time.lock() = Some(zero);
    }
    fn clear_metadata(&self, time: Time) {
        let keep_after = time - self.remember();
        let mut g = self.generated.lock();
        let kept = g.split_off(&(keep_after + Duration::from_millis(1)));
        *g = kept;
        drop(g);
        self.compute
            .forget_before(keep_after + Duration::from_millis(1));
    }
    fn remembered_times(&self) -> Vec<Time> {
        self.generated.lock().keys().copied().collect()
    }
    fn is_named(&self) -> bool {
        self.meta.named.load(std::sync::atomic::Ordering::Acquire)
    }
    fn checkpoint_interval(&self) -> Option<Duration> {
        *self.meta.checkpoint_interval.lock()
    }
    fn prepare(&self, time: Time) -> Result<()> {
        self.get_or_compute(time).map(drop)
    }
}

impl<T: Data> StreamNode<T> {
    /// The RDD for `time` (see [`DStream::get_or_compute`]).
    pub(crate) fn get_or_compute(&self, time: Time) -> Result<Option<Rdd<T>>> {
        let mut generated = self.generated.lock();
        if let Some(r) = generated.get(&time) {
            return Ok(r.clone());
        }
        if !self.is_valid_time(time) {
            return Ok(None);
        }
        // Shuffles made for this stream remember their table sizes per stream, batch to batch.
        let scope = self.meta.id as u64 + 1;
        let rdd = sluice_core::internals::size_hint_scope(scope, || self.compute.compute(time))?;
        generated.insert(time, rdd.clone());
        Ok(rdd)
    }

    /// Whether `t` is a time this stream produces RDDs for.
    pub(crate) fn is_valid_time(&self, t: Time) -> bool {
        match *self.meta.zero_time.lock() {
            None => false,
            Some(zero) => {
                let slide = duration_ms(self.meta.slide);
                t > zero && slide > 0 && (t - zero) % slide == 0
            }
        }
    }
}

/// A discretized stream of `T`: a sequence of RDDs, one per batch. Cloning clones the handle.
///
/// ```
/// use sluice_streaming::testing::run_stream;
/// let out = run_stream(vec![vec![1, 2], vec![3]], 3, |s| s.map(|x: i32| x * 10)).unwrap();
/// assert_eq!(out, vec![vec![10, 20], vec![30], vec![]]);
/// ```
pub struct DStream<T: Data> {
    pub(crate) node: Arc<StreamNode<T>>,
}

impl<T: Data> Clone for DStream<T> {
    fn clone(&self) -> Self {
        DStream {
            node: Arc::clone(&self.node),
        }
    }
}

impl<T: Data> std::fmt::Debug for DStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DStream[{}] {}",
            self.node.meta.id,
            self.node.meta.name.read()
        )
    }
}

impl<T: Data> DStream<T> {
    /// Creates a node and registers it with the graph.
    pub(crate) fn new_node(
        env: &Arc<StreamEnv>,
        name: &str,
        slide: Duration,
        parents: Vec<Arc<dyn DStreamBase>>,
        parent_extra_remember: Duration,
        compute: impl StreamCompute<T> + 'static,
    ) -> DStream<T> {
        let node = Arc::new(StreamNode {
            meta: StreamMeta {
                id: env.next_stream_id(),
                env: Arc::clone(env),
                checkpoint_interval: Mutex::new(None),
                name: RwLock::new(name.to_string()),
                named: std::sync::atomic::AtomicBool::new(false),
                slide,
                parents,
                zero_time: Mutex::new(None),
                remember: Mutex::new(Duration::ZERO),
                parent_extra_remember,
            },
            compute: Box::new(compute),
            generated: Mutex::new(BTreeMap::new()),
        });
        env.register_stream(node.clone());
        DStream { node }
    }

    /// A child stream of this one with the same slide.
    pub(crate) fn child<U: Data>(
        &self,
        name: &str,
        compute: impl StreamCompute<U> + 'static,
    ) -> DStream<U> {
        DStream::new_node(
            &self.node.meta.env,
            name,
            self.node.meta.slide,
            vec![self.base()],
            Duration::ZERO,
            compute,
        )
    }

    /// The type-erased node.
    pub(crate) fn base(&self) -> Arc<dyn DStreamBase> {
        self.node.clone()
    }

    /// The stream's id.
    pub fn id(&self) -> usize {
        self.node.meta.id
    }

    /// Names the stream (shown in the UI and used to match state in checkpoints), as
    /// [`Rdd::set_name`](sluice_core::Rdd::set_name) names an RDD.
    pub fn set_name(&self, name: impl Into<String>) -> DStream<T> {
        *self.node.meta.name.write() = name.into();
        self.node
            .meta
            .named
            .store(true, std::sync::atomic::Ordering::Release);
        self.clone()
    }

    /// Sets how often the job's state is checkpointed (a multiple of this stream's slide);
    /// the job checkpoints at the shortest interval any stream asks for. The default is the
    /// smallest multiple of the batch interval of at least 10 s (Spark's default).
    pub fn checkpoint(&self, interval: Duration) -> Result<DStream<T>> {
        if !crate::time::is_multiple(interval, self.slide_duration()) {
            return Err(sluice_core::Error::InvalidArgument(format!(
                "the checkpoint interval ({} ms) of {} must be a multiple of its slide ({} ms)",
                duration_ms(interval),
                self.name(),
                duration_ms(self.slide_duration())
            )));
        }
        let mut ci = self.node.meta.checkpoint_interval.lock();
        *ci = Some(ci.map_or(interval, |c| c.min(interval)));
        Ok(self.clone())
    }

    /// The stream's name: the operation that made it, or the one given with
    /// [`set_name`](Self::set_name).
    pub fn name(&self) -> String {
        self.node.meta.name.read().clone()
    }

    /// The interval between this stream's RDDs.
    pub fn slide_duration(&self) -> Duration {
        self.node.meta.slide
    }

    /// The engine context RDDs are created in.
    pub fn context(&self) -> &Context {
        &self.node.meta.env.ctx
    }

    /// The RDD for `time`: memoised, computed from the parents on first request, `None` for
    /// times that are not batch times of this stream.
    pub fn get_or_compute(&self, time: Time) -> Result<Option<Rdd<T>>> {
        self.node.get_or_compute(time)
    }

    /// Checks that the context accepts new streams (not yet started).
    pub(crate) fn check_can_add(&self) -> Result<()> {
        self.node.meta.env.check_can_add()
    }
}
