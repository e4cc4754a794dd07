//! The source contract: what the scheduler asks of an input stream, and — optionally — what
//! the checkpoint asks of a source that can replay its batches after a crash.
//!
//! An [`InputStream`] has three concerns, each a few methods with empty defaults:
//!
//! - **lifecycle**: [`start`](InputStream::start) and [`stop`](InputStream::stop);
//! - **batches**: [`allocate`](InputStream::allocate) when batch `t` is generated,
//!   [`input_info`](InputStream::input_info) for what it read, and
//!   [`batch_completed`](InputStream::batch_completed) with the batch's [`BatchOutcome`] once
//!   its output operations ran (release buffers, adjust the rate, commit offsets);
//! - **reports**: [`receiver_info`](InputStream::receiver_info) and
//!   [`bad_records`](InputStream::bad_records).
//!
//! A source that can re-read a batch implements [`Replay`], with its own types for what a
//! batch read ([`Replay::Position`]) and what it must remember across a restart
//! ([`Replay::State`]), and returns itself from [`InputStream::replay`]. The engine stores
//! both as JSON in the checkpoint directory (readable, and stable when the program's code
//! changes); the source never sees the encoding.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::{Error, Result};

use crate::bad_records::BadRecordReport;
use crate::listener::{BatchInfo, ReceiverInfo, StreamInputInfo};
use crate::time::Time;

/// How a batch ended, as its sources are told.
#[derive(Debug, Clone, Copy)]
pub struct BatchOutcome<'a> {
    /// The batch's times, delays, inputs and output operations.
    pub info: &'a BatchInfo,
    /// Whether an output operation (or the generation of its jobs) failed.
    pub failed: bool,
}

impl BatchOutcome<'_> {
    /// The batch time.
    pub fn time(&self) -> Time {
        self.info.batch_time
    }
}

/// An input stream as the scheduler sees it. Every method but `id` has a default.
pub trait InputStream: Send + Sync {
    /// The stream's id.
    fn id(&self) -> usize;
    /// A name that is the same each time the program builds its graph (checkpoints key the
    /// sources' records by it).
    fn name(&self) -> String {
        format!("input-{}", self.id())
    }

    /// Starts receiving (receivers) or fixes the starting position (direct sources); called
    /// by `StreamingContext::start`, after a restore.
    fn start(&self) -> Result<()> {
        Ok(())
    }
    /// Stops receiving; returns when no more data will arrive.
    fn stop(&self) {}

    /// Fixes what batch `time` reads: the data received so far (receivers), or the range to
    /// read (direct sources). Called on the generator thread, before the batch's jobs are
    /// generated.
    fn allocate(&self, _time: Time) {}
    /// Whether data was received that no batch has taken yet (a graceful stop then generates
    /// one more batch).
    fn has_unallocated_data(&self) -> bool {
        false
    }
    /// What the stream read for batch `time`.
    fn input_info(&self, _time: Time) -> Option<StreamInputInfo> {
        None
    }
    /// Batch `outcome.time()` completed (successfully or not): release what it held, adjust
    /// the rate, commit what it read. Called on the runner thread before the next batch runs
    /// and before a checkpoint of the batch is written.
    fn batch_completed(&self, _outcome: &BatchOutcome<'_>) {}

    /// The receiver's state, for receiver-based streams.
    fn receiver_info(&self) -> Option<ReceiverInfo> {
        None
    }
    /// What the source skipped because it could not be decoded or read (direct sources;
    /// receivers count theirs in [`ReceiverInfo::bad_records`]).
    fn bad_records(&self) -> Option<BadRecordReport> {
        None
    }

    /// The source's replay, when it can re-read its batches after a crash (implement
    /// [`Replay`] and return `Some(self)`).
    fn replay(&self) -> Option<&dyn ReplayHooks> {
        None
    }
}

/// A source that can re-read its batches after a crash, with typed positions.
///
/// The protocol, for a checkpointed job:
///
/// 1. before batch `t` runs, [`position`](Self::position)`(t)` is recorded;
/// 2. when a checkpoint of the state after batch `t` is written, it holds
///    [`state`](Self::state)`(t)`; once the checkpoint is durable,
///    [`checkpoint_written`](Self::checkpoint_written)`(t)` is called;
/// 3. a restarted job calls [`restore`](Self::restore) with the checkpoint's state, then
///    [`seek`](Self::seek) for every batch recorded after the checkpoint (those batches
///    re-run on the same input), then `InputStream::start`.
///
/// ```
/// use parking_lot::Mutex;
/// use sluice_streaming::source::{InputStream, Replay, ReplayHooks};
/// use sluice_streaming::Time;
///
/// /// Reads the numbers `from..to` of a counter per batch.
/// #[derive(Default)]
/// struct Counter { next: Mutex<u64>, batches: Mutex<Vec<(Time, (u64, u64))>> }
///
/// impl Replay for Counter {
///     type Position = (u64, u64);
///     type State = u64;
///     fn position(&self, time: Time) -> Option<(u64, u64)> {
///         self.batches.lock().iter().find(|(t, _)| *t == time).map(|(_, r)| *r)
///     }
///     fn seek(&self, time: Time, range: (u64, u64)) -> sluice_core::Result<()> {
///         self.batches.lock().push((time, range));
///         *self.next.lock() = range.1;
///         Ok(())
///     }
///     fn state(&self, _time: Time) -> Option<u64> { Some(*self.next.lock()) }
///     fn restore(&self, next: u64) -> sluice_core::Result<()> {
///         *self.next.lock() = next;
///         Ok(())
///     }
/// }
/// impl InputStream for Counter {
///     fn id(&self) -> usize { 0 }
///     fn replay(&self) -> Option<&dyn ReplayHooks> { Some(self) }
/// }
///
/// let c = Counter::default();
/// let hooks = c.replay().unwrap();
/// hooks.seek_encoded(Time::from_millis(1000), &serde_json::json!([0, 5])).unwrap();
/// assert_eq!(hooks.position_encoded(Time::from_millis(1000)).unwrap(), Some(serde_json::json!([0, 5])));
/// assert_eq!(hooks.state_encoded(Time::from_millis(1000)).unwrap(), Some(serde_json::json!(5)));
/// ```
pub trait Replay: Send + Sync {
    /// What one batch read (a file list, offset ranges, a range of logged records).
    type Position: Serialize + DeserializeOwned;
    /// What the source must remember across a restart, as of a checkpointed batch.
    type State: Serialize + DeserializeOwned;

    /// What batch `time` reads (`None`: nothing to record).
    fn position(&self, time: Time) -> Option<Self::Position>;
    /// Makes batch `time` read `position` again (a batch generated before the crash).
    fn seek(&self, time: Time, position: Self::Position) -> Result<()>;
    /// What to remember as of batch `time` (`None`: nothing).
    fn state(&self, time: Time) -> Option<Self::State>;
    /// Restores what [`state`](Self::state) returned.
    fn restore(&self, state: Self::State) -> Result<()>;
    /// A checkpoint of the state after batch `time` is durable: what it covers may be
    /// deleted (receivers' write-ahead logs).
    fn checkpoint_written(&self, _time: Time) -> Result<()> {
        Ok(())
    }
    /// Whether the source writes a log of its own under the checkpoint directory (it then
    /// needs one, and a checkpoint at the job's zero time).
    fn writes_log(&self) -> bool {
        false
    }
}

/// [`Replay`] as the engine calls it, with positions and states encoded (as JSON). Every
/// `Replay` implements it; sources do not implement it themselves.
pub trait ReplayHooks: Send + Sync {
    /// [`Replay::position`], encoded.
    fn position_encoded(&self, time: Time) -> Result<Option<serde_json::Value>>;
    /// [`Replay::seek`] with an encoded position.
    fn seek_encoded(&self, time: Time, position: &serde_json::Value) -> Result<()>;
    /// [`Replay::state`], encoded.
    fn state_encoded(&self, time: Time) -> Result<Option<serde_json::Value>>;
    /// [`Replay::restore`] with an encoded state.
    fn restore_encoded(&self, state: &serde_json::Value) -> Result<()>;
    /// [`Replay::checkpoint_written`].
    fn checkpoint_written(&self, time: Time) -> Result<()>;
    /// [`Replay::writes_log`].
    fn writes_log(&self) -> bool;
}

fn encode<T: Serialize>(what: &str, v: Option<T>) -> Result<Option<serde_json::Value>> {
    v.map(|v| serde_json::to_value(v).map_err(|e| Error::Serialization(format!("{what}: {e}"))))
        .transpose()
}

fn decode<T: DeserializeOwned>(what: &str, v: &serde_json::Value) -> Result<T> {
    T::deserialize(v).map_err(|e| Error::Serialization(format!("{what}: {e}")))
}

impl<R: Replay> ReplayHooks for R {
    fn position_encoded(&self, time: Time) -> Result<Option<serde_json::Value>> {
        encode(
            &format!("encoding the position of batch {time}"),
            self.position(time),
        )
    }
    fn seek_encoded(&self, time: Time, position: &serde_json::Value) -> Result<()> {
        let p = decode(&format!("the recorded position of batch {time}"), position)?;
        self.seek(time, p)
    }
    fn state_encoded(&self, time: Time) -> Result<Option<serde_json::Value>> {
        encode(
            &format!("encoding the state as of batch {time}"),
            self.state(time),
        )
    }
    fn restore_encoded(&self, state: &serde_json::Value) -> Result<()> {
        self.restore(decode("the checkpointed state", state)?)
    }
    fn checkpoint_written(&self, time: Time) -> Result<()> {
        Replay::checkpoint_written(self, time)
    }
    fn writes_log(&self) -> bool {
        Replay::writes_log(self)
    }
}
