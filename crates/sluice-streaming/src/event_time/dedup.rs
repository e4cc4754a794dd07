//! Dropping duplicates within the watermark: Spark's `dropDuplicatesWithinWatermark`.
//!
//! The first record of a key is emitted; later records of the key are dropped for as long as
//! the key is remembered. A key is remembered until the watermark reaches the first record's
//! event time plus the delay: a duplicate that arrives within the delay is always caught, and
//! the state stays bounded. A record whose event time is at or before the previous batch's
//! watermark is late and dropped, as in Spark. Each batch, in a hidden job: records are
//! shuffled by key into key groups, and a reduce task keeps or drops each one in arrival order,
//! then forgets the keys the eviction watermark passed (their timers are their expiry times).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rustc_hash::FxHashSet;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::{Context, Data, Key, Rdd, Result};

use super::watermark::{WatermarkCell, Watermarks};
use super::Watermarked;
use crate::checkpoint::operator::StoreOperator;
use crate::dstream::materialized::{register_materializer, Materialized};
use crate::dstream::stateful::records;
use crate::dstream::{DStream, StreamCompute};
use crate::graph::WatermarkReport;
use crate::state::store::KeyGroupPartitioner;
use crate::state::{StateStore, DEFAULT_KEY_GROUPS};
use crate::time::Time;

/// A stream without duplicates within the watermark, and what it reports.
pub struct Deduplicated<T: Data> {
    stream: DStream<T>,
    late: DStream<T>,
    watermark: Arc<WatermarkCell>,
    duplicates: Arc<AtomicU64>,
}

impl<T: Data> Clone for Deduplicated<T> {
    fn clone(&self) -> Self {
        Deduplicated {
            stream: self.stream.clone(),
            late: self.late.clone(),
            watermark: Arc::clone(&self.watermark),
            duplicates: Arc::clone(&self.duplicates),
        }
    }
}

impl<T: Data> Deduplicated<T> {
    /// The records that were not duplicates.
    pub fn stream(&self) -> DStream<T> {
        self.stream.clone()
    }
    /// The records each batch dropped as late (a side output for inspection; its RDDs are
    /// read after the operator ran for the batch).
    pub fn late_records_stream(&self) -> DStream<T> {
        self.late.clone()
    }
    /// The watermark the next batch forgets keys by, ms.
    pub fn watermark_ms(&self) -> i64 {
        self.watermark.get().for_eviction
    }
    /// Records dropped because they were late.
    pub fn late_records(&self) -> u64 {
        self.watermark.late_records()
    }
    /// Records dropped as duplicates.
    pub fn duplicates(&self) -> u64 {
        self.duplicates.load(Ordering::Relaxed)
    }
    /// Keys remembered.
    pub fn state_size(&self) -> usize {
        self.watermark.state_size()
    }
    /// Names the operator (required when checkpointing: its state is matched by name).
    pub fn set_name(self, name: impl Into<String>) -> Self {
        self.stream.set_name(name);
        self
    }
}

struct Kept<T: Data> {
    ctx: Context,
    out: Arc<Materialized<T>>,
    partitions: usize,
}

impl<T: Data> StreamCompute<T> for Kept<T> {
    fn compute(&self, time: Time) -> Result<Option<Rdd<T>>> {
        Ok(Some(self.out.rdd(
            &self.ctx,
            "drop_duplicates_within_watermark",
            self.partitions,
            None,
            time,
        )))
    }
    fn forget_before(&self, time: Time) {
        self.out.forget_before(time);
    }
}

impl<T: Data> Watermarked<T> {
    /// Drops the records whose `key` was seen within the watermark's delay before (Spark's
    /// `dropDuplicatesWithinWatermark`): the first record of a key is kept, later ones are
    /// dropped until the watermark reaches the first one's time plus the delay.
    ///
    /// Over a union of watermarked streams (see [`Watermarked::union`]) the delay is that of
    /// the union's first input, whichever input a record came from, as in Spark (recorded from
    /// Spark 4.3: a union's event-time column carries its first child's delay). Records are
    /// late, and keys forgotten, by the union's global watermark.
    ///
    /// ```
    /// use sluice_streaming::testing::run_stream;
    /// use sluice_streaming::time::seconds;
    /// // (id, event time ms)
    /// let out = run_stream(vec![vec![(1, 1_000), (2, 2_000)], vec![(1, 3_000), (3, 20_000)], vec![(1, 16_000)]], 3, |s| {
    ///     s.with_watermark(|r: &(u32, i64)| r.1, seconds(5))
    ///         .drop_duplicates_within_watermark(|r| r.0)
    ///         .unwrap()
    ///         .stream()
    /// })
    /// .unwrap();
    /// assert_eq!(out[1], vec![(3, 20_000)]); // 1 is a duplicate
    /// // Batch 3 forgets key 1 (remembered until 1 s + 5 s <= watermark 15 s) after it runs;
    /// // the record 1@16 s arrives in batch 3 itself, so it is still a duplicate.
    /// assert_eq!(out[2], vec![]);
    /// ```
    pub fn drop_duplicates_within_watermark<K>(
        &self,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
    ) -> Result<Deduplicated<T>>
    where
        K: Key + Serialize + DeserializeOwned,
    {
        self.stream.check_can_add()?;
        let ctx = self.stream.context().clone();
        let n = ctx.default_parallelism().max(1);
        let store: Arc<StateStore<K, i64>> = Arc::new(StateStore::new(DEFAULT_KEY_GROUPS, true));
        let partitioner = Arc::new(KeyGroupPartitioner {
            groups: store.num_groups(),
            partitions: n,
        });
        let out = Materialized::new();
        let stream = self.stream.child(
            "drop_duplicates_within_watermark",
            Kept {
                ctx: ctx.clone(),
                out: Arc::clone(&out),
                partitions: n,
            },
        );
        let late_out = Materialized::new();
        let late_stream = self.stream.child(
            "late_records",
            Kept {
                ctx: ctx.clone(),
                out: Arc::clone(&late_out),
                partitions: n,
            },
        );
        let watermark = WatermarkCell::new(stream.base());
        let duplicates = Arc::new(AtomicU64::new(0));
        // With several inputs, a key is remembered for the first input's delay, as in Spark.
        let (parent, inputs, policy, delay) = (
            self.stream.clone(),
            Arc::clone(&self.inputs),
            self.policy(),
            self.first_delay_ms(),
        );
        let (st, wm, d) = (
            Arc::clone(&store),
            Arc::clone(&watermark),
            Arc::clone(&duplicates),
        );
        let key = Arc::new(key);
        register_materializer(&stream, move |t| {
            let w = wm.get();
            let input = parent.get_or_compute(t)?.unwrap_or_else(|| ctx.empty());
            let key = Arc::clone(&key);
            let keyed = input
                .map(move |(ts, r): (i64, T)| (key(&r), (ts, r)))
                .partition_by(partitioner.clone());
            let (st2, out2, late2) = (Arc::clone(&st), Arc::clone(&out), Arc::clone(&late_out));
            let results = keyed.run_job(move |it, tc| {
                let step = apply(&st2, tc.partition, n, records(it)?, w, delay)?;
                out2.put_partition(t, tc.partition, n, step.kept);
                let late = step.late.len() as u64;
                late2.put_partition(t, tc.partition, n, step.late);
                Ok((late, step.duplicates))
            })?;
            d.fetch_add(results.iter().map(|r| r.1).sum(), Ordering::Relaxed);
            let late = results.iter().map(|r| r.0).sum();
            super::after_batch(&wm, w, &inputs, t, policy, late);
            Ok(())
        });
        let env = &stream.node.meta.env;
        env.register_operator(Arc::new(StoreOperator {
            stream: stream.base(),
            kind: "drop_duplicates_within_watermark",
            store: store.clone(),
        }));
        watermark.register(env, Box::new(move || store.len()));
        Ok(Deduplicated {
            stream,
            late: late_stream,
            watermark,
            duplicates,
        })
    }
}

struct Step<T> {
    kept: Vec<T>,
    late: Vec<T>,
    duplicates: u64,
}

fn apply<K: Key, T: Data>(
    store: &StateStore<K, i64>,
    p: usize,
    n: usize,
    rows: Vec<(K, (i64, T))>,
    w: Watermarks,
    delay_ms: i64,
) -> Result<Step<T>> {
    let groups = store.groups_of_partition(p, n);
    let mut guards = store.lock(&groups);
    let (mut late, mut duplicates) = (Vec::new(), 0u64);
    let mut kept = Vec::new();
    let mut seen: Vec<FxHashSet<K>> = (0..groups.len()).map(|_| FxHashSet::default()).collect();
    let mut new_keys: Vec<Vec<(K, i64)>> = (0..groups.len()).map(|_| Vec::new()).collect();
    for (k, (ts, rec)) in rows {
        if ts <= w.for_late_records {
            late.push(rec);
            continue;
        }
        let gi = store.slot_of(&k, p, n)?;
        if guards[gi].map.contains_key(&k) || !seen[gi].insert(k.clone()) {
            duplicates += 1;
            continue;
        }
        kept.push(rec);
        new_keys[gi].push((k, ts.saturating_add(delay_ms)));
    }
    for (gi, keys) in new_keys.into_iter().enumerate() {
        let guard = &mut guards[gi];
        for (k, expires) in keys {
            store.put_at(guard, k, expires, expires);
        }
        // Keys expire once the watermark reaches their expiry time.
        store.take_expired(guard, w.for_eviction.saturating_add(1));
    }
    Ok(Step {
        kept,
        late,
        duplicates,
    })
}
