#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The source contract for sources of other crates: an `InputSource` with `Replay` gets its
//! typed positions recorded before each batch, its state checkpointed, and both given back
//! after a restart, so the batches generated but not checkpointed re-run on the same input.

mod common;

use common::step_ctx;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use sluice_core::{Context, Rdd, Result};
use sluice_streaming::listener::StreamInputInfo;
use sluice_streaming::source::{
    BatchOutcome, InputBinding, InputSource, InputStream, Replay, ReplayHooks,
};
use sluice_streaming::time::{seconds, Time};
use sluice_streaming::{StopMode, StreamingContext};

/// Which numbers a batch read: `from..to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Range {
    from: u64,
    to: u64,
}

/// Reads `width` new numbers per batch; what it reads depends on where the previous batch
/// ended, so a restart that forgot its position would read other numbers.
struct Counter {
    ctx: Context,
    width: u64,
    binding: OnceLock<InputBinding>,
    next: Mutex<u64>,
    batches: Mutex<BTreeMap<Time, Range>>,
    /// What the engine gave back after a restart: `restore`'s state, `seek`'s batches.
    restored: Mutex<Option<u64>>,
    seeked: Mutex<Vec<(Time, Range)>>,
    completed: Mutex<Vec<(Time, bool)>>,
}

impl Counter {
    fn new(ctx: &Context, width: u64) -> Arc<Counter> {
        Arc::new(Counter {
            ctx: ctx.clone(),
            width,
            binding: OnceLock::new(),
            next: Mutex::new(0),
            batches: Mutex::default(),
            restored: Mutex::new(None),
            seeked: Mutex::default(),
            completed: Mutex::default(),
        })
    }
}

impl InputStream for Counter {
    fn id(&self) -> usize {
        self.binding.get().map_or(usize::MAX, InputBinding::id)
    }
    fn name(&self) -> String {
        "counter".into()
    }
    fn allocate(&self, time: Time) {
        let mut b = self.batches.lock();
        if b.contains_key(&time) {
            return; // replayed
        }
        let mut next = self.next.lock();
        b.insert(
            time,
            Range {
                from: *next,
                to: *next + self.width,
            },
        );
        *next += self.width;
    }
    fn input_info(&self, time: Time) -> Option<StreamInputInfo> {
        let r = *self.batches.lock().get(&time)?;
        Some(StreamInputInfo {
            input_stream_id: self.id(),
            num_records: r.to - r.from,
            description: format!("{}..{}", r.from, r.to),
            rate_limit: None,
        })
    }
    fn batch_completed(&self, outcome: &BatchOutcome<'_>) {
        self.completed.lock().push((outcome.time(), outcome.failed));
    }
    fn replay(&self) -> Option<&dyn ReplayHooks> {
        Some(self)
    }
}

impl Replay for Counter {
    type Position = Range;
    type State = u64;
    fn position(&self, time: Time) -> Option<Range> {
        self.batches.lock().get(&time).copied()
    }
    fn seek(&self, time: Time, r: Range) -> Result<()> {
        self.seeked.lock().push((time, r));
        self.batches.lock().insert(time, r);
        let mut next = self.next.lock();
        *next = (*next).max(r.to);
        Ok(())
    }
    fn state(&self, time: Time) -> Option<u64> {
        self.batches.lock().get(&time).map(|r| r.to)
    }
    fn restore(&self, next: u64) -> Result<()> {
        *self.restored.lock() = Some(next);
        let mut n = self.next.lock();
        *n = (*n).max(next);
        Ok(())
    }
}

impl InputSource<u64> for Counter {
    fn bind(&self, binding: InputBinding) {
        let _ = self.binding.set(binding);
    }
    fn compute(&self, time: Time) -> Result<Option<Rdd<u64>>> {
        let r = self.batches.lock().get(&time).copied();
        Ok(r.map(|r| self.ctx.parallelize((r.from..r.to).collect(), 2)))
    }
}

type Outputs = Arc<Mutex<BTreeMap<i64, Vec<u64>>>>;

fn build(ctx: &Context, source: &Arc<Counter>, out: &Outputs) -> Result<StreamingContext> {
    let ssc = StreamingContext::new(ctx, seconds(1))?;
    let out = Arc::clone(out);
    ssc.input_stream("counter", Arc::clone(source))?
        .checkpoint(seconds(2))?
        .foreach_rdd(move |rdd, t| {
            let mut v = rdd.collect()?;
            v.sort_unstable();
            out.lock().insert(t.millis(), v);
            Ok(())
        })?;
    Ok(ssc)
}

#[test]
fn a_replayable_source_gets_its_state_and_unfinished_batches_back() {
    let ctx = step_ctx();
    let dir = tempfile::tempdir().unwrap();

    // First run: batches 1 to 3 s; checkpoints after 2 s (every 2 s); an immediate stop
    // leaves batch 3's record behind, with no checkpoint after it.
    let first = Counter::new(&ctx, 3);
    let out1: Outputs = Arc::default();
    let ssc = StreamingContext::get_or_create(dir.path(), || build(&ctx, &first, &out1)).unwrap();
    ssc.start().unwrap();
    assert!(ssc
        .await_batch(Time::from_millis(3000), seconds(60))
        .unwrap());
    ssc.stop(StopMode::Immediate).unwrap();
    assert!(ssc.take_error().is_none());
    let out1 = out1.lock().clone();
    assert_eq!(out1[&1000], vec![0, 1, 2]);
    assert_eq!(out1[&2000], vec![3, 4, 5]);
    assert_eq!(out1[&3000], vec![6, 7, 8]);
    // The source heard of every completed batch, none failed.
    let completed = first.completed.lock().clone();
    assert!(completed
        .iter()
        .take(3)
        .eq([(1000, false), (2000, false), (3000, false)]
            .map(|(t, f)| (Time::from_millis(t), f))
            .iter()));
    drop(ssc);

    // Second run: the state as of 2 s comes back, and batch 3 is sought to its recorded range
    // (the batches generated after the checkpoint), so it re-runs on the same numbers.
    let second = Counter::new(&ctx, 3);
    let out2: Outputs = Arc::default();
    let ssc = StreamingContext::get_or_create(dir.path(), || build(&ctx, &second, &out2)).unwrap();
    assert_eq!(ssc.recovered_from(), Some(Time::from_millis(2000)));
    assert_eq!(*second.restored.lock(), Some(6));
    let seeked = second.seeked.lock().clone();
    assert_eq!(
        seeked.first(),
        Some(&(Time::from_millis(3000), Range { from: 6, to: 9 }))
    );
    ssc.start().unwrap();
    assert!(ssc
        .await_batch(Time::from_millis(4000), seconds(60))
        .unwrap());
    ssc.stop(StopMode::Immediate).unwrap();
    assert!(ssc.take_error().is_none());
    let out2 = out2.lock().clone();
    assert!(
        !out2.contains_key(&2000),
        "batch 2 was checkpointed: not re-run"
    );
    assert_eq!(out2[&3000], out1[&3000]);
    assert_eq!(out2[&4000], vec![9, 10, 11]);
}

/// A source whose state cannot be encoded (a JSON map needs string keys).
struct Unencodable(OnceLock<InputBinding>, Context);

impl InputStream for Unencodable {
    fn id(&self) -> usize {
        self.0.get().map_or(usize::MAX, InputBinding::id)
    }
    fn replay(&self) -> Option<&dyn ReplayHooks> {
        Some(self)
    }
}

impl Replay for Unencodable {
    type Position = u8;
    type State = BTreeMap<(u8, u8), u8>;
    fn position(&self, _time: Time) -> Option<u8> {
        Some(1)
    }
    fn seek(&self, _time: Time, _p: u8) -> Result<()> {
        Ok(())
    }
    fn state(&self, _time: Time) -> Option<Self::State> {
        Some(BTreeMap::from([((1, 2), 3)]))
    }
    fn restore(&self, _state: Self::State) -> Result<()> {
        Ok(())
    }
}

impl InputSource<u8> for Unencodable {
    fn bind(&self, binding: InputBinding) {
        let _ = self.0.set(binding);
    }
    fn compute(&self, _time: Time) -> Result<Option<Rdd<u8>>> {
        Ok(Some(self.1.parallelize(vec![1u8], 1)))
    }
}

#[test]
fn a_state_that_cannot_be_encoded_fails_the_checkpoint_loudly() {
    let ctx = step_ctx();
    let dir = tempfile::tempdir().unwrap();
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        let ssc = StreamingContext::new(&ctx, seconds(1))?;
        ssc.input_stream("odd", Arc::new(Unencodable(OnceLock::new(), ctx.clone())))?
            .foreach_rdd(|rdd, _| rdd.count().map(drop))?;
        Ok(ssc)
    })
    .unwrap();
    ssc.start().unwrap();
    // The default interval is 10 s: the first checkpoint comes after batch 10.
    let e = ssc.await_termination_timeout(seconds(60)).unwrap_err();
    ssc.stop(StopMode::Immediate).unwrap();
    let msg = e.to_string();
    assert!(
        msg.contains("input-") && msg.contains("encoding the state"),
        "{msg}"
    );
}
