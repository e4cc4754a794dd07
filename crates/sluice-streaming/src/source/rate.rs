//! `rate_stream`: records generated at a fixed rate — the embedded default source of the demo
//! and the benchmarks.
//!
//! Record `i` is `make(i)`. Batch `t` holds the records with indices from
//! `rate × (t − interval − start)` to `rate × (t − start)` (per second), so the contents of a
//! batch depend only on its time: the source is replayable, and a re-run batch reads the same
//! records.

use std::sync::Arc;

use sluice_core::{Data, Error, Rdd, Result};

use crate::context::StreamingContext;
use crate::dstream::{DStream, StreamCompute};
use crate::graph::StreamEnv;
use crate::listener::StreamInputInfo;
use crate::source::InputStream;
use crate::time::{duration_ms, Time};

type MakeFn<T> = dyn Fn(u64) -> T + Send + Sync;

/// Shared between the stream's computation and its input bookkeeping.
struct RateSource<T> {
    id: std::sync::OnceLock<usize>,
    env: Arc<StreamEnv>,
    records_per_second: u64,
    partitions: usize,
    make: Arc<MakeFn<T>>,
}

impl<T> RateSource<T> {
    /// Record indices of batch `time`.
    fn range(&self, time: Time) -> (u64, u64) {
        let start = self.env.zero_time().unwrap_or(time);
        let interval = duration_ms(self.env.batch_interval);
        let upto = |t: Time| -> u64 {
            let ms = (t - start).max(0) as u128;
            (ms * u128::from(self.records_per_second) / 1000) as u64
        };
        (
            upto(time - std::time::Duration::from_millis(interval as u64)),
            upto(time),
        )
    }
}

struct RateCompute<T>(Arc<RateSource<T>>);

impl<T: Data> StreamCompute<T> for RateCompute<T> {
    fn compute(&self, time: Time) -> Result<Option<Rdd<T>>> {
        let src = &self.0;
        let (lo, hi) = src.range(time);
        let make = Arc::clone(&src.make);
        let lo = i64::try_from(lo).map_err(|_| Error::Internal("record index overflow".into()))?;
        let hi = i64::try_from(hi).map_err(|_| Error::Internal("record index overflow".into()))?;
        Ok(Some(
            src.env
                .ctx
                .range(lo, hi, 1, src.partitions)
                .map(move |i| make(i as u64)),
        ))
    }
}

impl<T: Send + Sync> InputStream for RateSource<T> {
    fn id(&self) -> usize {
        self.id.get().copied().unwrap_or(usize::MAX)
    }
    fn input_info(&self, time: Time) -> Option<StreamInputInfo> {
        let (lo, hi) = self.range(time);
        Some(StreamInputInfo {
            input_stream_id: self.id(),
            num_records: hi - lo,
            description: format!("records {lo}..{hi}"),
            rate_limit: None,
        })
    }
}

impl StreamingContext {
    /// A stream of `records_per_second` generated records, record `i` being `make(i)`, in
    /// `partitions` partitions per batch (the default parallelism when `None`).
    ///
    /// ```
    /// use sluice_streaming::testing::run_stream_from;
    /// // 2 records per second with 1-second batches: batch k holds records 2k-2 and 2k-1.
    /// let out = run_stream_from(3, |ssc| ssc.rate_stream(2, None, |i| i)).unwrap();
    /// assert_eq!(out, vec![vec![0, 1], vec![2, 3], vec![4, 5]]);
    /// ```
    pub fn rate_stream<T: Data>(
        &self,
        records_per_second: u64,
        partitions: Option<usize>,
        make: impl Fn(u64) -> T + Send + Sync + 'static,
    ) -> DStream<T> {
        let src = Arc::new(RateSource {
            id: std::sync::OnceLock::new(),
            env: Arc::clone(self.env()),
            records_per_second,
            partitions: partitions
                .unwrap_or_else(|| self.context().default_parallelism())
                .max(1),
            make: Arc::new(make),
        });
        let stream = DStream::new_node(
            self.env(),
            "rate_stream",
            self.batch_interval(),
            vec![],
            std::time::Duration::ZERO,
            RateCompute(Arc::clone(&src)),
        );
        let _ = src.id.set(stream.id());
        self.env().register_input(src);
        stream
    }
}
