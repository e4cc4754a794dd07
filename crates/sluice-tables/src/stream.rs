//! A stream of a Parquet table's new files: [`ParquetSourceExt::parquet_file_stream`].
//!
//! The table is one written with Spark's file-sink log (`_spark_metadata/`, as
//! `save_as_parquet_files` and Spark's own file sink write it), and the stream follows the log:
//! each batch reads the files of the log batches committed since the previous one — the
//! files in the table as of the latest log batch and not in it as of the last one read — so
//! every committed file is read once, and files of a batch that never committed never. As
//! `text_file_stream` does, the stream starts with what is committed after it is created.
//! A table whose log does not exist yet is waited for (empty batches), and read from its
//! first log batch on.
//!
//! With checkpoints, each batch records the range of log batches it read, and a batch that
//! runs again after a restart reads the same range. The log keeps its older files for 10
//! minutes after a compaction (`DEFAULT_CLEANUP_DELAY`): a stream that falls further behind than
//! that fails with an error naming the missing log file, as a Kafka stream does when its
//! offsets are gone.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sluice_core::{Data, Rdd};
use sluice_storage::Location;
use sluice_streaming::listener::StreamInputInfo;
use sluice_streaming::source::{BatchOutcome, InputBinding, InputSource, InputStream, Replay};
use sluice_streaming::{DStream, StreamingContext, Time};

use crate::error::TableError;
use crate::reader::files_rdd;
use crate::records::TableSchema;
use crate::spark_log::{batches_to_read, compact, SinkLog};

/// A range of log batches, `(after, upto]`: `after` is `None` before the log's first batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRange {
    /// The last log batch read before this range.
    pub after: Option<u64>,
    /// The last log batch of this range.
    pub upto: u64,
}

/// The files of a table's log as of batch `id`, by URL.
fn view(log: &SinkLog, id: Option<u64>) -> crate::Result<BTreeSet<String>> {
    let Some(id) = id else {
        return Ok(BTreeSet::new());
    };
    let mut entries = Vec::new();
    for b in batches_to_read(id) {
        entries.extend(log.get(b)?);
    }
    Ok(compact(entries).into_iter().map(|e| e.path).collect())
}

/// The files committed in the log batches of `range`: in the table as of `upto` and not as of
/// `after`, sorted.
pub fn new_files(log: &SinkLog, range: LogRange) -> crate::Result<Vec<String>> {
    let before = view(log, range.after)?;
    Ok(view(log, Some(range.upto))?
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect())
}

struct ParquetLogSource<T> {
    loc: Location,
    schema: TableSchema,
    ctx: sluice_core::Context,
    binding: OnceLock<InputBinding>,
    /// The last log batch read (`None`: none yet).
    last: Mutex<Option<u64>>,
    /// The range each recent batch read, for input reports and batch records.
    ranges: Mutex<BTreeMap<Time, LogRange>>,
    /// Ranges recorded for batches that run again after a restart.
    replay: Mutex<BTreeMap<Time, LogRange>>,
    record: std::marker::PhantomData<fn() -> T>,
}

impl<T: Data + DeserializeOwned> InputStream for ParquetLogSource<T> {
    fn id(&self) -> usize {
        self.binding.get().map_or(usize::MAX, InputBinding::id)
    }
    fn name(&self) -> String {
        format!("parquet_file_stream-{}", self.id())
    }
    fn input_info(&self, time: Time) -> Option<StreamInputInfo> {
        let r = *self.ranges.lock().get(&time)?;
        Some(StreamInputInfo {
            input_stream_id: self.id(),
            num_records: 0,
            description: format!(
                "log batches {}..={} of {}",
                r.after.map_or(0, |a| a + 1),
                r.upto,
                self.loc.as_str()
            ),
            rate_limit: None,
        })
    }
    fn batch_completed(&self, outcome: &BatchOutcome<'_>) {
        let time = outcome.time();
        self.ranges.lock().retain(|&t, _| t > time);
    }
    fn replay(&self) -> Option<&dyn sluice_streaming::source::ReplayHooks> {
        Some(self)
    }
}

impl<T: Data + DeserializeOwned> InputSource<T> for ParquetLogSource<T> {
    fn bind(&self, binding: InputBinding) {
        let _ = self.binding.set(binding);
    }

    fn compute(&self, time: Time) -> sluice_core::Result<Option<Rdd<T>>> {
        let log = SinkLog::new(self.loc.clone());
        let range = match self.replay.lock().remove(&time) {
            Some(r) => Some(r),
            None => {
                let after = *self.last.lock();
                log.latest()?
                    .filter(|&latest| after.is_none_or(|a| latest > a))
                    .map(|upto| LogRange { after, upto })
            }
        };
        let Some(range) = range else {
            return Ok(Some(self.ctx.empty()));
        };
        *self.last.lock() = Some(range.upto);
        self.ranges.lock().insert(time, range);
        let mut paths = Vec::new();
        for url in new_files(&log, range)? {
            let path = self.loc.path_of_url(&url).ok_or_else(|| TableError::Log {
                url: self.loc.as_str().to_string(),
                reason: format!("entry {url} is not a file of this table's store"),
            })?;
            paths.push(path);
        }
        Ok(Some(files_rdd::<T>(
            &self.ctx,
            &self.loc,
            &self.schema,
            paths,
        )))
    }
}

impl<T: Data + DeserializeOwned> Replay for ParquetLogSource<T> {
    type Position = LogRange;
    type State = Option<u64>;

    fn position(&self, time: Time) -> Option<LogRange> {
        self.ranges.lock().get(&time).copied()
    }
    fn seek(&self, time: Time, position: LogRange) -> sluice_core::Result<()> {
        self.replay.lock().insert(time, position);
        Ok(())
    }
    fn state(&self, _time: Time) -> Option<Option<u64>> {
        Some(*self.last.lock())
    }
    fn restore(&self, state: Option<u64>) -> sluice_core::Result<()> {
        *self.last.lock() = state;
        Ok(())
    }
}

/// A stream of a Parquet table's newly committed files.
pub trait ParquetSourceExt {
    /// The records of the files committed to the Parquet table at `url` (a path, `file://` or
    /// `s3://`) after the stream is created, batch by batch, following the table's file-sink
    /// log (see the module docs). The record type's fields name the columns; Hive partition
    /// columns come back from the directories.
    fn parquet_file_stream<T: Data + DeserializeOwned>(
        &self,
        url: &str,
    ) -> sluice_core::Result<DStream<T>>;
}

impl ParquetSourceExt for StreamingContext {
    fn parquet_file_stream<T: Data + DeserializeOwned>(
        &self,
        url: &str,
    ) -> sluice_core::Result<DStream<T>> {
        let loc = Location::parse(url).map_err(TableError::from)?;
        let schema = TableSchema::of::<T>()?;
        let last = SinkLog::new(loc.clone()).latest()?;
        let source = Arc::new(ParquetLogSource::<T> {
            loc,
            schema,
            ctx: self.context().clone(),
            binding: OnceLock::new(),
            last: Mutex::new(last),
            ranges: Mutex::new(BTreeMap::new()),
            replay: Mutex::new(BTreeMap::new()),
            record: std::marker::PhantomData,
        });
        self.input_stream("parquet_file_stream", source)
    }
}
