//! A deterministic test harness for streaming jobs, driven by a manual clock: no sleeps, the
//! same output every run.
//!
//! Batch `k` (1-based) has time `k × batch_interval` (default 1 s). Input batch `k` is split
//! into `input_partitions` (default 2) contiguous slices; batches past the end of the input are
//! empty. Output `j` is the collected RDD of batch `j`, in partition order (an empty vector
//! where the stream had no RDD for that batch).
//!
//! ```
//! use sluice_streaming::testing::{run_stream2, run_stream};
//! let out = run_stream(vec![vec![1, 2, 3], vec![]], 2, |s| s.count()).unwrap();
//! assert_eq!(out, vec![vec![3], vec![0]]);
//! let joined = run_stream2(vec![vec![("a", 1)]], vec![vec![("a", 'x')]], 1, |a, b| a.join(&b))
//!     .unwrap();
//! assert_eq!(joined, vec![vec![("a", (1, 'x'))]]);
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use sluice_core::{Conf, Context, Data, Error, Rdd, Result};

use crate::clock::ManualClock;
use crate::context::{StopMode, StreamingContext};
use crate::dstream::{DStream, StreamCompute};
use crate::source::InputStream;
use crate::time::{duration_ms, Time};

/// Settings of a harness run.
#[derive(Debug, Clone)]
pub struct TestConfig {
    /// The batch interval (default 1 s).
    pub batch_interval: Duration,
    /// Partitions of each input batch (default 2).
    pub input_partitions: usize,
    /// A checkpoint directory for jobs that need one.
    pub checkpoint_dir: Option<PathBuf>,
    /// 1-based batch numbers for which the input stream has no RDD at all.
    pub no_rdd_batches: Vec<usize>,
    /// Engine configuration (default `local[2]`).
    pub conf: Conf,
    /// How long to wait for one batch before failing the run (default 60 s).
    pub batch_timeout: Duration,
}

impl Default for TestConfig {
    fn default() -> Self {
        TestConfig {
            batch_interval: Duration::from_secs(1),
            input_partitions: 2,
            checkpoint_dir: None,
            no_rdd_batches: Vec::new(),
            conf: Conf::new().set_master("local[2]"),
            batch_timeout: Duration::from_secs(60),
        }
    }
}

/// The harness's input: batch `k` is `input[k - 1]`.
struct TestInput<T> {
    ctx: Context,
    input: Vec<Vec<T>>,
    partitions: usize,
    interval_ms: i64,
    no_rdd: Vec<usize>,
}

impl<T: Data> StreamCompute<T> for TestInput<T> {
    fn compute(&self, time: Time) -> Result<Option<Rdd<T>>> {
        let k = (time.millis() / self.interval_ms) as usize;
        if self.no_rdd.contains(&k) {
            return Ok(None);
        }
        let data = self
            .input
            .get(k.wrapping_sub(1))
            .cloned()
            .unwrap_or_default();
        Ok(Some(self.ctx.parallelize(data, self.partitions)))
    }
}

struct TestInputInfo(usize);

impl InputStream for TestInputInfo {
    fn id(&self) -> usize {
        self.0
    }
}

/// Adds a harness input stream to `ssc`.
fn test_input<T: Data>(
    ssc: &StreamingContext,
    config: &TestConfig,
    input: Vec<Vec<T>>,
) -> DStream<T> {
    let s = DStream::new_node(
        ssc.env(),
        "test_input",
        config.batch_interval,
        vec![],
        Duration::ZERO,
        TestInput {
            ctx: ssc.context().clone(),
            input,
            partitions: config.input_partitions.max(1),
            interval_ms: duration_ms(config.batch_interval).max(1),
            no_rdd: config.no_rdd_batches.clone(),
        },
    );
    ssc.env().register_input(Arc::new(TestInputInfo(s.id())));
    s
}

/// Runs `op` on a stream of `input` for `num_batches` batches and returns each batch's output.
pub fn run_stream<T: Data, U: Data>(
    input: Vec<Vec<T>>,
    num_batches: usize,
    op: impl FnOnce(DStream<T>) -> DStream<U>,
) -> Result<Vec<Vec<U>>> {
    run_stream_with(TestConfig::default(), input, num_batches, op)
}

/// [`run_stream`] with settings.
pub fn run_stream_with<T: Data, U: Data>(
    config: TestConfig,
    input: Vec<Vec<T>>,
    num_batches: usize,
    op: impl FnOnce(DStream<T>) -> DStream<U>,
) -> Result<Vec<Vec<U>>> {
    let cfg = config.clone();
    run_stream_from_with(config, num_batches, move |ssc| {
        op(test_input(ssc, &cfg, input))
    })
}

/// Runs `op` on two input streams.
pub fn run_stream2<T: Data, V: Data, U: Data>(
    input1: Vec<Vec<T>>,
    input2: Vec<Vec<V>>,
    num_batches: usize,
    op: impl FnOnce(DStream<T>, DStream<V>) -> DStream<U>,
) -> Result<Vec<Vec<U>>> {
    run_stream2_with(TestConfig::default(), input1, input2, num_batches, op)
}

/// [`run_stream2`] with settings.
pub fn run_stream2_with<T: Data, V: Data, U: Data>(
    config: TestConfig,
    input1: Vec<Vec<T>>,
    input2: Vec<Vec<V>>,
    num_batches: usize,
    op: impl FnOnce(DStream<T>, DStream<V>) -> DStream<U>,
) -> Result<Vec<Vec<U>>> {
    let cfg = config.clone();
    run_stream_from_with(config, num_batches, move |ssc| {
        let a = test_input(ssc, &cfg, input1);
        let b = test_input(ssc, &cfg, input2);
        op(a, b)
    })
}

/// Runs the stream that `build` makes from a fresh context (any sources) for `num_batches`
/// batches with the default settings.
pub fn run_stream_from<U: Data>(
    num_batches: usize,
    build: impl FnOnce(&StreamingContext) -> DStream<U>,
) -> Result<Vec<Vec<U>>> {
    run_stream_from_with(TestConfig::default(), num_batches, build)
}

/// [`run_stream_from`] with settings.
pub fn run_stream_from_with<U: Data>(
    config: TestConfig,
    num_batches: usize,
    build: impl FnOnce(&StreamingContext) -> DStream<U>,
) -> Result<Vec<Vec<U>>> {
    let ctx = Context::new(config.conf.clone())?;
    let clock = ManualClock::shared(0);
    let ssc = StreamingContext::with_clock(&ctx, config.batch_interval, clock.clone())?;
    let out = build(&ssc);
    let collected: Arc<Mutex<BTreeMap<Time, Vec<U>>>> = Arc::default();
    let sink = Arc::clone(&collected);
    out.foreach_rdd(move |rdd, time| {
        let v = rdd.collect()?;
        sink.lock().insert(time, v);
        Ok(())
    })?;
    ssc.start()?;
    let mut result = Ok(());
    for k in 1..=num_batches {
        clock.advance(config.batch_interval);
        let t = Time::from_millis(k as i64 * duration_ms(config.batch_interval));
        if !ssc.await_batch(t, config.batch_timeout)? {
            result = Err(Error::Internal(format!(
                "batch {k} ({t}) did not complete within {:?}",
                config.batch_timeout
            )));
            break;
        }
        if let Some(e) = ssc.take_error() {
            result = Err(e);
            break;
        }
    }
    ssc.stop(StopMode::Immediate)?;
    result?;
    let mut collected = collected.lock();
    Ok((1..=num_batches)
        .map(|k| {
            let t = Time::from_millis(k as i64 * duration_ms(config.batch_interval));
            collected.remove(&t).unwrap_or_default()
        })
        .collect())
}
