//! `text_file_stream`: lines of new files appearing in a directory (Spark's `textFileStream`).
//!
//! At each batch time `t` the directory is listed and a file is selected when all hold:
//! its name does not start with `.`; its modification time is after the ignore threshold
//! `max(creation time of the stream, t − remember window)` and not after `t`; and it was not
//! selected by a batch within the remember window. The remember window is the smallest multiple
//! of the batch interval covering `sluice.streaming.fileStream.minRememberDuration` (60 s).
//! Files are identified by modification time, so write a file elsewhere and rename it into the
//! directory; changes to a file after it was selected are not seen.
//!
//! The directory is resolved to its canonical path when the stream is created, so a job
//! restarted from its checkpoint with the path written another way (`in`, `./in`, absolute)
//! recognises the files it already read. A line that is not valid UTF-8, or a file that cannot
//! be read, is skipped and counted ([`StreamingContext::bad_records`]), not allowed to fail
//! the batch and lose its good files.
//!
//! With the `object-store` feature the directory may be an object-store prefix
//! (`s3://bucket/incoming/`): its objects are listed at each batch with their last-modified
//! times and selected by the same rule (an object appears whole when its upload completes, so
//! no rename is needed), then read with `text_file`. There a line that is not valid UTF-8
//! fails the batch, naming the object.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use sluice_core::rdd::text_file::SkippedInput;
use sluice_core::{Error, Rdd, Result};

use crate::bad_records::{BadRecordReport, BadRecords};
use crate::context::StreamingContext;
use crate::dstream::{DStream, StreamCompute};
use crate::graph::{BatchOutcome, InputStream, Replay, ReplayHooks, StreamEnv};
use crate::listener::StreamInputInfo;
use crate::time::{duration_ms, Time};

/// The selection rule, apart from the file system: pure, so it is tested on its own.
#[derive(Debug, Clone)]
pub struct FileSelector {
    /// Files modified at or before this time (ms) are never selected.
    pub initial_threshold_ms: i64,
    /// How far back (ms) files are considered and selections remembered.
    pub remember_window_ms: i64,
    /// Batch time → files selected by that batch.
    pub recent: BTreeMap<i64, Vec<PathBuf>>,
}

impl FileSelector {
    /// The files of `listing` (path, modification time in ms) that batch `time_ms` selects;
    /// records them as selected and forgets selections older than the window.
    pub fn select(&mut self, time_ms: i64, listing: &[(PathBuf, i64)]) -> Vec<PathBuf> {
        let threshold = self
            .initial_threshold_ms
            .max(time_ms - self.remember_window_ms);
        let already: HashSet<&PathBuf> = self.recent.values().flatten().collect();
        let mut chosen: Vec<PathBuf> = listing
            .iter()
            .filter(|(p, mtime)| {
                let hidden = p
                    .file_name()
                    .map(|n| n.to_string_lossy().starts_with('.'))
                    .unwrap_or(true);
                !hidden && *mtime > threshold && *mtime <= time_ms && !already.contains(p)
            })
            .map(|(p, _)| p.clone())
            .collect();
        chosen.sort();
        self.recent.insert(time_ms, chosen.clone());
        let cutoff = time_ms - self.remember_window_ms;
        self.recent.retain(|&t, _| t >= cutoff);
        chosen
    }
}

struct FileSource {
    id: std::sync::OnceLock<usize>,
    env: Arc<StreamEnv>,
    /// The directory, or the object-store prefix's URL.
    dir: PathBuf,
    /// `dir` is an object-store prefix.
    remote: bool,
    selector: Mutex<FileSelector>,
    /// Files per batch, for input reports and batch records.
    batches: Mutex<BTreeMap<Time, Vec<PathBuf>>>,
    /// Files recorded for batches that re-run after a restart: used instead of a listing.
    replay: Mutex<BTreeMap<Time, Vec<PathBuf>>>,
    /// Lines and files skipped by the reading tasks.
    bad: Arc<BadRecords>,
}

fn list_dir(dir: &Path) -> Result<Vec<(PathBuf, i64)>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io("listing directory", dir, e))?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error::io("listing directory", dir, e))?;
        let path = entry.path();
        let Ok(meta) = entry.metadata() else {
            continue; // vanished between listing and stat
        };
        if !meta.is_file() {
            continue;
        }
        let mtime = meta
            .modified()
            .ok()
            .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        out.push((path, mtime));
    }
    Ok(out)
}

#[cfg(feature = "object-store")]
use super::object_listing::list_prefix;

#[cfg(not(feature = "object-store"))]
fn list_prefix(url: &str) -> Result<Vec<(PathBuf, i64)>> {
    Err(Error::InvalidArgument(format!(
        "{url}: a stream of new objects needs the `object-store` feature of sluice-streaming \
         (the facade's `tables` feature, with `s3` for s3:// URLs)"
    )))
}

struct FileCompute(Arc<FileSource>);

impl StreamCompute<String> for FileCompute {
    fn compute(&self, time: Time) -> Result<Option<Rdd<String>>> {
        let src = &self.0;
        let replayed = src.replay.lock().remove(&time);
        let files = match replayed {
            Some(files) => {
                let mut sel = src.selector.lock();
                sel.recent.insert(time.millis(), files.clone());
                files
            }
            None => {
                let listing = match src.remote {
                    true => list_prefix(&src.dir.to_string_lossy())?,
                    false => list_dir(&src.dir)?,
                };
                src.selector.lock().select(time.millis(), &listing)
            }
        };
        {
            let mut b = src.batches.lock();
            b.insert(time, files.clone());
            while b.len() > 1000 {
                b.pop_first();
            }
        }
        let ctx = &src.env.ctx;
        if files.is_empty() {
            return Ok(Some(ctx.empty()));
        }
        if src.remote {
            let rdds = files
                .iter()
                .map(|f| ctx.text_file(&f.to_string_lossy(), 1))
                .collect::<Result<Vec<_>>>()?;
            return Ok(Some(ctx.union(&rdds)));
        }
        let bad = Arc::clone(&src.bad);
        ctx.text_files_lenient(
            &files,
            files.len(),
            &format!("text_file_stream {}", src.dir.display()),
            Arc::new(move |s: SkippedInput| {
                let count = s.bad_lines + u64::from(s.unreadable);
                bad.set(time, s.split, count, s.sample);
            }),
        )
        .map(Some)
    }
}

impl InputStream for FileSource {
    fn id(&self) -> usize {
        self.id.get().copied().unwrap_or(usize::MAX)
    }
    fn input_info(&self, time: Time) -> Option<StreamInputInfo> {
        let b = self.batches.lock();
        let files = b.get(&time)?;
        Some(StreamInputInfo {
            input_stream_id: self.id(),
            num_records: 0,
            description: format!(
                "{} new file(s){}{}",
                files.len(),
                if files.is_empty() { "" } else { ": " },
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            rate_limit: None,
        })
    }
    fn batch_completed(&self, outcome: &BatchOutcome<'_>) {
        let time = outcome.time();
        self.batches.lock().retain(|&t, _| t > time);
    }
    fn bad_records(&self) -> Option<BadRecordReport> {
        Some(self.bad.report())
    }
    fn name(&self) -> String {
        format!("text_file_stream-{}", self.id())
    }
    fn replay(&self) -> Option<&dyn ReplayHooks> {
        Some(self)
    }
}

/// What a directory stream remembers across a restart.
#[derive(Serialize, Deserialize)]
struct Remembered {
    /// The original run's ignore threshold: files that arrived while the job was down are new.
    initial_threshold_ms: i64,
    /// The files selected by recent batches, by batch time.
    recent: BTreeMap<i64, Vec<PathBuf>>,
}

impl Replay for FileSource {
    /// The files a batch read.
    type Position = Vec<PathBuf>;
    type State = Remembered;

    fn position(&self, time: Time) -> Option<Vec<PathBuf>> {
        self.batches.lock().get(&time).cloned()
    }
    fn seek(&self, time: Time, files: Vec<PathBuf>) -> Result<()> {
        self.replay.lock().insert(time, files);
        Ok(())
    }
    fn state(&self, _time: Time) -> Option<Remembered> {
        let sel = self.selector.lock();
        Some(Remembered {
            initial_threshold_ms: sel.initial_threshold_ms,
            recent: sel.recent.clone(),
        })
    }
    fn restore(&self, state: Remembered) -> Result<()> {
        let mut sel = self.selector.lock();
        sel.initial_threshold_ms = state.initial_threshold_ms;
        sel.recent = state.recent;
        Ok(())
    }
}

impl StreamingContext {
    /// Lines of the new text files that appear in `dir` (see the module docs for which files
    /// count as new). A missing directory is an error here and at every batch.
    pub fn text_file_stream(&self, dir: impl AsRef<Path>) -> Result<DStream<String>> {
        self.env().check_can_add()?;
        let given = dir.as_ref();
        let text = given.to_string_lossy();
        let text = text.strip_prefix("file://").unwrap_or(&text);
        let remote = text.contains("://");
        let dir = if remote {
            // Listed now, so that a bucket that is not there fails here, not at the first batch.
            list_prefix(text)?;
            PathBuf::from(text)
        } else {
            let given = Path::new(text);
            if !given.is_dir() {
                return Err(Error::InputNotFound(format!(
                    "{} (text_file_stream needs an existing directory)",
                    given.display()
                )));
            }
            std::fs::canonicalize(given).map_err(|e| Error::io("resolving directory", given, e))?
        };
        let env = self.env();
        let interval = env.batch_interval;
        let min = duration_ms(env.settings.file_min_remember).max(0);
        let step = duration_ms(interval).max(1);
        let window = ((min + step - 1) / step).max(1) * step;
        let src = Arc::new(FileSource {
            id: std::sync::OnceLock::new(),
            env: Arc::clone(env),
            dir,
            remote,
            selector: Mutex::new(FileSelector {
                initial_threshold_ms: env.clock.now_ms(),
                remember_window_ms: window,
                recent: BTreeMap::new(),
            }),
            batches: Mutex::new(BTreeMap::new()),
            replay: Mutex::new(BTreeMap::new()),
            bad: Arc::new(BadRecords::default()),
        });
        let stream = DStream::new_node(
            env,
            "text_file_stream",
            interval,
            vec![],
            Duration::ZERO,
            FileCompute(Arc::clone(&src)),
        );
        let _ = src.id.set(stream.id());
        env.register_input(src);
        Ok(stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn spark_new_file_rules() {
        let mut s = FileSelector {
            initial_threshold_ms: 500,
            remember_window_ms: 60_000,
            recent: BTreeMap::new(),
        };
        let listing = vec![
            (p("d/old"), 500),     // not after the initial threshold
            (p("d/a"), 900),       // new
            (p("d/.hidden"), 900), // hidden
            (p("d/future"), 1500), // modified after the batch time
        ];
        assert_eq!(s.select(1000, &listing), vec![p("d/a")]);
        // Next batch: `a` was already selected; `future` is now due.
        assert_eq!(s.select(2000, &listing), vec![p("d/future")]);
        assert!(s.select(3000, &listing).is_empty());
    }

    #[test]
    fn files_older_than_the_window_are_ignored() {
        let mut s = FileSelector {
            initial_threshold_ms: 0,
            remember_window_ms: 2000,
            recent: BTreeMap::new(),
        };
        // At t = 10000 the threshold is 8000: a file modified at 7000 is too old.
        assert!(s.select(10_000, &[(p("x"), 7000)]).is_empty());
        assert_eq!(s.select(10_000 + 1000, &[(p("y"), 9500)]), vec![p("y")]);
    }
}
