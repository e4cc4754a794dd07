//! Parquet output: [`ParquetStreamExt::save_as_parquet_files`] on a stream (each batch's files
//! committed in Spark's file-sink log, exactly once) and [`ParquetRddExt::save_as_parquet`] on
//! an RDD (one directory, as Spark's `df.write.parquet`).
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use sluice_core::Context;
//! use sluice_tables::{ParquetContextExt, ParquetOptions, ParquetRddExt};
//!
//! #[derive(Clone, Serialize, Deserialize, Debug, PartialEq)]
//! struct Reading { sensor: String, day: String, value: f64 }
//!
//! let dir = tempfile::tempdir().unwrap();
//! let out = dir.path().join("readings");
//! let ctx = Context::local(2).unwrap();
//! let rows = vec![
//!     Reading { sensor: "s1".into(), day: "d1".into(), value: 1.5 },
//!     Reading { sensor: "s2".into(), day: "d2".into(), value: 2.5 },
//! ];
//! ctx.parallelize(rows.clone(), 2)
//!     .save_as_parquet(out.to_str().unwrap(), ParquetOptions::new().partition_by(["day"]))
//!     .unwrap();
//! assert!(out.join("day=d1").is_dir());
//! let mut back: Vec<Reading> = ctx.read_parquet(out.to_str().unwrap()).unwrap().collect().unwrap();
//! back.sort_by(|a, b| a.sensor.cmp(&b.sensor));
//! assert_eq!(back, rows);
//! ```

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::PutPayload;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::{Data, Rdd};
use sluice_streaming::DStream;

use crate::error::TableError;
use crate::records::TableSchema;
use crate::runtime::block_on;
use crate::spark_log::{SinkFileStatus, SinkLog};
use crate::writer::{Codec, FileLayout};
use sluice_storage::Location;

/// How records are written as Parquet.
#[derive(Clone, Debug)]
pub struct ParquetOptions {
    partition_by: Vec<String>,
    codec: Codec,
    target_file_bytes: u64,
    schema: Option<TableSchema>,
    retries: usize,
    log_cleanup: Option<std::time::Duration>,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            partition_by: Vec::new(),
            codec: Codec::Zstd,
            target_file_bytes: 128 * 1024 * 1024,
            schema: None,
            retries: 10,
            log_cleanup: Some(crate::spark_log::DEFAULT_CLEANUP_DELAY),
        }
    }
}

impl ParquetOptions {
    /// Zstandard, no partitions, files of up to 128 MiB, the schema traced from the records'
    /// type.
    pub fn new() -> ParquetOptions {
        ParquetOptions::default()
    }

    /// Lays the files out in Hive-style `col=value/` directories by these columns, in order.
    pub fn partition_by<I, S>(mut self, columns: I) -> ParquetOptions
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.partition_by = columns.into_iter().map(Into::into).collect();
        self
    }

    /// The compression codec.
    pub fn codec(mut self, codec: Codec) -> ParquetOptions {
        self.codec = codec;
        self
    }

    /// The size at which a task starts a new file (bytes, compressed; a file ends at the first
    /// row group boundary past it).
    pub fn target_file_bytes(mut self, bytes: u64) -> ParquetOptions {
        self.target_file_bytes = bytes;
        self
    }

    /// How often a failed request to an object store is retried, with exponential backoff,
    /// before the batch fails (default 10).
    pub fn storage_retries(mut self, retries: usize) -> ParquetOptions {
        self.retries = retries;
        self
    }

    /// After each compaction of the stream's log, delete the log files it made unnecessary
    /// once they are older than this (Spark's default: 10 minutes); `None` keeps every log
    /// file (Spark's `fileSink.log.deletion=false`). Deleting is best effort: a file that
    /// cannot be deleted stays, and is never read again.
    pub fn log_cleanup(mut self, delay: Option<std::time::Duration>) -> ParquetOptions {
        self.log_cleanup = delay;
        self
    }

    /// An explicit schema (for timestamps, decimals, narrower types).
    pub fn schema(mut self, schema: TableSchema) -> ParquetOptions {
        self.schema = Some(schema);
        self
    }

    pub(crate) fn layout<T: DeserializeOwned>(self, url: &str) -> Result<FileLayout, TableError> {
        if self.target_file_bytes == 0 {
            return Err(TableError::InvalidArgument(
                "target file size must be positive".into(),
            ));
        }
        let schema = match self.schema {
            Some(s) => s,
            None => TableSchema::of::<T>()?,
        };
        let names = schema.column_names();
        for c in &self.partition_by {
            if !names.contains(c) {
                return Err(TableError::InvalidArgument(format!(
                    "partition column {c:?} is not a column of the records ({})",
                    names.join(", ")
                )));
            }
        }
        if self.partition_by.len() == names.len() {
            return Err(TableError::InvalidArgument(
                "every column is a partition column: the files would have no data columns".into(),
            ));
        }
        Ok(FileLayout {
            loc: Location::with_retries(url, self.retries)?,
            schema,
            partition_by: self.partition_by,
            codec: self.codec,
            target_file_bytes: self.target_file_bytes,
        })
    }
}

/// Each task's result: its files, or its error (shared, as a task's output must be `Clone`).
pub(crate) type Written = std::result::Result<Vec<SinkFileStatus>, Arc<TableError>>;

/// The files the tasks wrote, or the first task's error.
pub(crate) fn written(tasks: Rdd<Written>) -> sluice_core::Result<Vec<SinkFileStatus>> {
    let mut files = Vec::new();
    for t in tasks.collect()? {
        files.extend(t.map_err(TableError::InTask)?);
    }
    Ok(files)
}

/// Writes the files of the batch at `t` (one task per partition), named
/// `part-<partition>-<t>.cNNN...`, and returns them.
pub(crate) fn write_batch<T: Data + Serialize>(
    layout: &Arc<FileLayout>,
    rdd: &Rdd<T>,
    t: i64,
) -> sluice_core::Result<Vec<SinkFileStatus>> {
    let l2 = Arc::clone(layout);
    written(rdd.map_partitions_with_index(move |p, recs| {
        std::iter::once(
            l2.write(recs, &format!("part-{p:05}-{t}"), &format!("batch {t} ms"))
                .map_err(Arc::new),
        )
    }))
}

/// Parquet output of a stream.
pub trait ParquetStreamExt<T> {
    /// Writes each batch's records as Parquet files under `url` (a path, `file://` or `s3://`),
    /// committing them in Spark's file-sink log (`_spark_metadata/`): Spark reading the
    /// directory sees every batch exactly once, even after a crash. Files are named
    /// `part-<partition>-<batch time ms>.cNNN.<codec>.parquet`, so a batch re-run before its
    /// commit rewrites the same files; a batch whose time is already committed (a batch
    /// replayed after a restart from a checkpoint) is skipped. The schema and partition
    /// columns are checked now, before the first batch.
    fn save_as_parquet_files(&self, url: &str, options: ParquetOptions) -> sluice_core::Result<()>;
}

impl<T: Data + Serialize + DeserializeOwned> ParquetStreamExt<T> for DStream<T> {
    fn save_as_parquet_files(&self, url: &str, options: ParquetOptions) -> sluice_core::Result<()> {
        let cleanup = options.log_cleanup;
        let layout = Arc::new(options.layout::<T>(url)?);
        let log = Arc::new(SinkLog::new(layout.loc.clone()));
        // The latest committed batch id and its batch time, read from the log once and then
        // kept: the sink is the directory's only writer, so a batch does not list the log.
        let latest: Arc<parking_lot::Mutex<Option<(Option<u64>, Option<i64>)>>> = Arc::default();
        self.foreach_rdd(move |rdd, time| {
            let t = time.millis();
            let mut known = latest.lock();
            let (last_id, last_time) = match *known {
                Some(k) => k,
                None => {
                    let id = log.latest()?;
                    let at = match id {
                        Some(id) => log.batch_time(id)?,
                        None => None,
                    };
                    *known.insert((id, at))
                }
            };
            if last_time.is_some_and(|committed| committed >= t) {
                return Ok(());
            }
            let id = last_id.map_or(0, |l| l + 1);
            let files = write_batch(&layout, &rdd, t)?;
            if !log.commit(id, t, &files)? && log.batch_time(id)? != Some(t) {
                // Another writer took this batch id: read the log again next time, and fail
                // this batch rather than lose it.
                *known = None;
                return Err(TableError::Log {
                    url: layout
                        .loc
                        .url_of(&layout.loc.child(crate::spark_log::LOG_DIR)),
                    reason: format!(
                        "batch id {id} was committed by another writer; one sink per directory"
                    ),
                }
                .into());
            }
            *known = Some((Some(id), Some(t)));
            if let (Some(delay), true) = (cleanup, crate::spark_log::is_compaction(id)) {
                // Best effort: the batch is committed whatever happens here.
                let _ = log.delete_expired(id, delay, std::time::SystemTime::now());
            }
            Ok(())
        })
    }
}

/// Parquet output of an RDD.
pub trait ParquetRddExt<T> {
    /// Writes the records as Parquet files under `url`, which must not hold files yet, then
    /// a `_SUCCESS` marker (as Spark's `df.write.parquet`). Returns the files written.
    fn save_as_parquet(
        &self,
        url: &str,
        options: ParquetOptions,
    ) -> sluice_core::Result<Vec<SinkFileStatus>>;
}

impl<T: Data + Serialize + DeserializeOwned> ParquetRddExt<T> for Rdd<T> {
    fn save_as_parquet(
        &self,
        url: &str,
        options: ParquetOptions,
    ) -> sluice_core::Result<Vec<SinkFileStatus>> {
        let layout = Arc::new(options.layout::<T>(url)?);
        let (store, root) = (layout.loc.store().clone(), layout.loc.root().clone());
        let existing =
            block_on(async { store.list(Some(&root)).try_next().await })?.map_err(|source| {
                TableError::Storage {
                    action: "listing",
                    url: url.to_string(),
                    source,
                }
            })?;
        if existing.is_some() {
            return Err(TableError::Location {
                url: url.to_string(),
                reason: "already holds files".into(),
            }
            .into());
        }
        let l2 = Arc::clone(&layout);
        let files = written(self.map_partitions_with_index(move |p, recs| {
            std::iter::once(
                l2.write(recs, &format!("part-{p:05}"), "save_as_parquet")
                    .map_err(Arc::new),
            )
        }))?;
        let marker = layout.loc.child("_SUCCESS");
        block_on(store.put(&marker, PutPayload::from(Bytes::new())))?.map_err(|source| {
            TableError::Storage {
                action: "writing",
                url: layout.loc.url_of(&marker),
                source,
            }
        })?;
        Ok(files)
    }
}
