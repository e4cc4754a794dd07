//! Spark's file-sink log (`_spark_metadata/`), the commit point of a streaming Parquet sink:
//! batch `n`'s files are part of the table once the file `_spark_metadata/n` exists. Spark,
//! reading the directory, sees exactly the files the log lists, so a batch is visible whole
//! or not at all, even after a crash.
//!
//! Each log file is `v1` followed by one JSON entry per line (Spark's `SinkFileStatus`: path,
//! size, isDir, modificationTime, blockReplication, blockSize, action). Every tenth batch
//! (`(n + 1) % 10 == 0`) is a compaction batch, `n.compact`, holding every entry so far, so
//! a reader reads the latest compaction and the batches after it. The format, file names and
//! compaction rule are Spark's (`FileStreamSinkLog`); they are pure functions here
//! ([`encode`], [`decode`], [`is_compaction`], [`batches_to_read`]), apart from the log's I/O
//! ([`SinkLog`]).
//!
//! Beside it, `_sluice_sink/n` records the batch time of log entry `n` (Spark's log has no
//! room for it): a batch replayed after a crash whose time is already committed is skipped.
//!
//! After each compaction the files of batches the compaction made unnecessary are deleted, as
//! Spark's `deleteExpiredLog` does ([`expired_before`]): those of batches before the previous
//! compaction interval, once older than a delay (Spark's `fileSink.log.cleanupDelay`, 10
//! minutes), so that a reader still reading them is not cut short.

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::ObjectStoreExt;
use object_store::{PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TableError};
use crate::runtime::block_on;
use sluice_storage::Location;

/// Spark's default `spark.sql.streaming.fileSink.log.compactInterval`.
pub const COMPACT_INTERVAL: u64 = 10;
const VERSION: &str = "v1";
/// The log's directory under the table root.
pub const LOG_DIR: &str = "_spark_metadata";
const TIMES_DIR: &str = "_sluice_sink";

/// One file of a batch, as Spark's log lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SinkFileStatus {
    /// The file's fully qualified URL (`file:/...`, `s3a://...`).
    pub path: String,
    /// Its size, bytes.
    pub size: u64,
    /// Always false.
    pub is_dir: bool,
    /// When it was written, ms since the epoch.
    pub modification_time: i64,
    /// 1.
    pub block_replication: u32,
    /// Spark's default block size, 32 MiB.
    pub block_size: u64,
    /// `add` (Spark also knows `delete`).
    pub action: String,
}

impl SinkFileStatus {
    /// An added file.
    pub fn added(path: String, size: u64, modification_time: i64) -> SinkFileStatus {
        SinkFileStatus {
            path,
            size,
            is_dir: false,
            modification_time,
            block_replication: 1,
            block_size: 32 * 1024 * 1024,
            action: "add".into(),
        }
    }
}

/// Spark's default `spark.sql.streaming.fileSink.log.cleanupDelay`.
pub const DEFAULT_CLEANUP_DELAY: std::time::Duration = std::time::Duration::from_secs(600);

/// After compaction batch `id`, the log files of batches before the returned id may go
/// (Spark's `deleteExpiredLog`: `id + 1 − compactInterval`; `None` before that is positive).
///
/// ```
/// use sluice_tables::spark_log::expired_before;
/// assert_eq!(expired_before(9), None); // the first compaction keeps everything
/// assert_eq!(expired_before(19), Some(10)); // 0..=9 (9.compact included) may go
/// ```
pub fn expired_before(id: u64) -> Option<u64> {
    (id + 1).checked_sub(COMPACT_INTERVAL).filter(|&m| m > 0)
}

/// Whether batch `id` is a compaction batch.
pub fn is_compaction(id: u64) -> bool {
    (id + 1).is_multiple_of(COMPACT_INTERVAL)
}

/// The batches a reader of the log at latest batch `latest` reads (Spark's
/// `getAllValidBatches`): the latest compaction batch at or before it, and the ones after.
pub fn batches_to_read(latest: u64) -> std::ops::RangeInclusive<u64> {
    let start = ((latest + 1) / COMPACT_INTERVAL * COMPACT_INTERVAL).saturating_sub(1);
    start..=latest
}

/// The file name of batch `id`.
pub fn file_name(id: u64) -> String {
    if is_compaction(id) {
        format!("{id}.compact")
    } else {
        id.to_string()
    }
}

/// The batch id of a log file name (`None` for other files).
pub fn batch_of(name: &str) -> Option<u64> {
    name.strip_suffix(".compact").unwrap_or(name).parse().ok()
}

/// A log file's text.
pub fn encode(entries: &[SinkFileStatus]) -> Result<String> {
    let mut out = String::from(VERSION);
    for e in entries {
        out.push('\n');
        out.push_str(&serde_json::to_string(e).map_err(|e| TableError::Log {
            url: String::new(),
            reason: e.to_string(),
        })?);
    }
    Ok(out)
}

/// The entries of a log file's text; `url` names it in errors.
pub fn decode(text: &str, url: &str) -> Result<Vec<SinkFileStatus>> {
    let bad = |reason: String| TableError::Log {
        url: url.to_string(),
        reason,
    };
    let mut lines = text.split('\n');
    match lines.next() {
        Some(VERSION) => {}
        Some(v) if v.len() > 1 && v.starts_with('v') && v[1..].parse::<u32>().is_ok() => {
            return Err(bad(format!(
                "log version {v:?}; this reader knows {VERSION}"
            )))
        }
        _ => return Err(bad("not a file-sink log (no version line)".into())),
    }
    lines
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| bad(format!("entry {}: {e}", i + 1))))
        .collect()
}

/// The entries of a table after Spark's compaction rule: the files added and not deleted.
pub fn compact(entries: Vec<SinkFileStatus>) -> Vec<SinkFileStatus> {
    let deleted: std::collections::HashSet<String> = entries
        .iter()
        .filter(|e| e.action == "delete")
        .map(|e| e.path.clone())
        .collect();
    entries
        .into_iter()
        .filter(|e| e.action != "delete" && !deleted.contains(&e.path))
        .collect()
}

/// The log of one table.
pub struct SinkLog {
    loc: Location,
}

#[derive(Serialize, Deserialize)]
struct BatchTime {
    batch_time_ms: i64,
}

impl SinkLog {
    /// The log of the table at `loc`.
    pub fn new(loc: Location) -> SinkLog {
        SinkLog { loc }
    }

    fn log_path(&self, id: u64) -> Path {
        self.loc.child(&format!("{LOG_DIR}/{}", file_name(id)))
    }

    fn storage(
        &self,
        action: &'static str,
        path: &Path,
    ) -> impl Fn(object_store::Error) -> TableError {
        let url = self.loc.url_of(path);
        move |source| TableError::Storage {
            action,
            url: url.clone(),
            source,
        }
    }

    /// The latest committed batch id, if any.
    pub fn latest(&self) -> Result<Option<u64>> {
        let dir = self.loc.child(LOG_DIR);
        let store = self.loc.store().clone();
        let listed: Vec<object_store::ObjectMeta> =
            block_on(async { store.list(Some(&dir)).try_collect().await })?
                .map_err(self.storage("listing", &dir))?;
        Ok(listed
            .iter()
            .filter_map(|m| m.location.filename().and_then(batch_of))
            .max())
    }

    fn read_text(&self, path: &Path) -> Result<Option<String>> {
        let store = self.loc.store().clone();
        let got = block_on(async {
            match store.get(path).await {
                Ok(r) => r.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })?
        .map_err(self.storage("reading", path))?;
        match got {
            None => Ok(None),
            Some(b) => String::from_utf8(b.to_vec())
                .map(Some)
                .map_err(|_| TableError::Log {
                    url: self.loc.url_of(path),
                    reason: "not UTF-8".into(),
                }),
        }
    }

    /// The entries of batch `id` (an error if it is missing).
    pub fn get(&self, id: u64) -> Result<Vec<SinkFileStatus>> {
        let path = self.log_path(id);
        let url = self.loc.url_of(&path);
        match self.read_text(&path)? {
            Some(t) => decode(&t, &url),
            None => Err(TableError::Log {
                url,
                reason: "missing: the log has a gap".into(),
            }),
        }
    }

    /// Every file of the table, as a reader sees it.
    pub fn all_files(&self) -> Result<Vec<SinkFileStatus>> {
        let Some(latest) = self.latest()? else {
            return Ok(Vec::new());
        };
        let mut entries = Vec::new();
        for id in batches_to_read(latest) {
            entries.extend(self.get(id)?);
        }
        Ok(compact(entries))
    }

    /// The batch time committed as batch `id` by this sink (`None` if the log entry was written
    /// by another writer).
    pub fn batch_time(&self, id: u64) -> Result<Option<i64>> {
        let path = self.loc.child(&format!("{TIMES_DIR}/{id}"));
        match self.read_text(&path)? {
            None => Ok(None),
            Some(t) => serde_json::from_str::<BatchTime>(&t)
                .map(|b| Some(b.batch_time_ms))
                .map_err(|e| TableError::Log {
                    url: self.loc.url_of(&path),
                    reason: e.to_string(),
                }),
        }
    }

    /// After compaction batch `id`: deletes the log files (and their `_sluice_sink` batch
    /// times) of the batches before [`expired_before`]`(id)` that were last modified more than
    /// `delay` before `now`. Returns how many files went. A reader needs none of them: it reads
    /// the latest compaction and the batches after it.
    pub fn delete_expired(
        &self,
        id: u64,
        delay: std::time::Duration,
        now: std::time::SystemTime,
    ) -> Result<usize> {
        let Some(min) = expired_before(id) else {
            return Ok(0);
        };
        let cutoff = now - delay;
        let store = self.loc.store().clone();
        let mut deleted = 0;
        for dir in [LOG_DIR, TIMES_DIR] {
            let dir = self.loc.child(dir);
            let listed: Vec<object_store::ObjectMeta> =
                block_on(async { store.list(Some(&dir)).try_collect().await })?
                    .map_err(self.storage("listing", &dir))?;
            for m in listed {
                let Some(batch) = m.location.filename().and_then(batch_of) else {
                    continue;
                };
                let modified: std::time::SystemTime = m.last_modified.into();
                if batch < min && modified < cutoff {
                    block_on(store.delete(&m.location))?
                        .map_err(self.storage("deleting", &m.location))?;
                    deleted += 1;
                }
            }
        }
        Ok(deleted)
    }

    /// Commits batch `id` (the batch at `batch_time_ms`) with its files: records the batch time,
    /// then writes the log file only if it does not exist yet (the commit point; on a
    /// compaction batch, with every earlier entry). Returns false if batch `id` was already
    /// committed (by an earlier attempt).
    pub fn commit(&self, id: u64, batch_time_ms: i64, files: &[SinkFileStatus]) -> Result<bool> {
        let times = self.loc.child(&format!("{TIMES_DIR}/{id}"));
        let text =
            serde_json::to_string(&BatchTime { batch_time_ms }).map_err(|e| TableError::Log {
                url: self.loc.url_of(&times),
                reason: e.to_string(),
            })?;
        let store = self.loc.store().clone();
        block_on(store.put(&times, PutPayload::from(Bytes::from(text))))?
            .map_err(self.storage("writing", &times))?;
        let mut entries = Vec::new();
        if is_compaction(id) {
            // The previous compaction (if any) and the batches since (`id` >= 9 here).
            for prev in batches_to_read(id - 1) {
                entries.extend(self.get(prev)?);
            }
            entries = compact(entries);
        }
        entries.extend(files.iter().cloned());
        let body = encode(&entries)?;
        let path = self.log_path(id);
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match block_on(store.put_opts(&path, PutPayload::from(Bytes::from(body)), opts))? {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(self.storage("committing", &path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compactions_delete_the_log_files_they_made_unnecessary() {
        #![allow(clippy::unwrap_used)]
        let dir = tempfile::tempdir().unwrap();
        let log = SinkLog::new(Location::parse(dir.path().to_str().unwrap()).unwrap());
        let now = std::time::SystemTime::now();
        let names = |sub: &str| {
            let mut n: Vec<String> = std::fs::read_dir(dir.path().join(sub))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
                .collect();
            n.sort_by_key(|name| batch_of(name));
            n
        };
        for id in 0..25u64 {
            let file = SinkFileStatus::added(format!("file:/t/part-{id}.parquet"), 10, 0);
            assert!(log.commit(id, 1000 * (id as i64 + 1), &[file]).unwrap());
            if is_compaction(id) {
                // A delay longer than the files' age keeps them; no delay deletes them.
                let kept = log
                    .delete_expired(id, std::time::Duration::from_secs(3600), now)
                    .unwrap();
                assert_eq!(kept, 0);
                log.delete_expired(
                    id,
                    std::time::Duration::ZERO,
                    now + std::time::Duration::from_secs(1),
                )
                .unwrap();
            }
        }
        // After 19.compact, batches 0..=9 went (9.compact included); 10..=24 stay.
        let want: Vec<String> = (10..25u64).map(file_name).collect();
        assert_eq!(names(LOG_DIR), want);
        assert_eq!(
            names(TIMES_DIR),
            (10..25u64).map(|i| i.to_string()).collect::<Vec<_>>()
        );
        // A reader still sees every file.
        assert_eq!(log.all_files().unwrap().len(), 25);
        assert_eq!(log.latest().unwrap(), Some(24));
        assert_eq!(log.batch_time(24).unwrap(), Some(25_000));
    }

    #[test]
    fn compaction_follows_spark() {
        assert!(is_compaction(9) && is_compaction(19) && !is_compaction(10));
        assert_eq!(batches_to_read(5), 0..=5);
        assert_eq!(batches_to_read(9), 9..=9);
        assert_eq!(batches_to_read(12), 9..=12);
        assert_eq!(batches_to_read(19), 19..=19);
        assert_eq!(file_name(9), "9.compact");
        assert_eq!(batch_of("9.compact"), Some(9));
        assert_eq!(batch_of("12"), Some(12));
        assert_eq!(batch_of(".12.crc"), None);
    }

    #[test]
    fn entries_round_trip_in_spark_s_format() {
        let e = SinkFileStatus::added("file:/t/a.parquet".into(), 10, 1_700_000_000_000);
        let text = encode(std::slice::from_ref(&e)).unwrap();
        assert_eq!(
            text,
            "v1\n{\"path\":\"file:/t/a.parquet\",\"size\":10,\"isDir\":false,\"modificationTime\":1700000000000,\"blockReplication\":1,\"blockSize\":33554432,\"action\":\"add\"}"
        );
        assert_eq!(decode(&text, "x").unwrap(), vec![e]);
        assert!(decode("", "x").is_err());
        assert!(decode("v2\n", "x").unwrap_err().to_string().contains("v2"));
        assert!(decode("v1\n{\"path\":", "x").is_err());
        assert!(decode("PAR1garbage", "x").is_err());
    }
}
