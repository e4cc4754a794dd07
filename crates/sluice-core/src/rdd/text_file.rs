//! `text_file`: lines of text files as an `Rdd<String>`.
//!
//! The path may be a file, a directory (its files, skipping names that start with `.` or `_`,
//! as Hadoop does) or a glob pattern; `file://` URLs are paths, and other URLs (`s3://...`)
//! are read from object storage with the `object-store` feature (`rdd/text_object.rs`). Files are cut into byte-range splits (at least
//! `min_partitions` in all, at most 32 MiB each); a line belongs to the split where it starts,
//! so every line is read exactly once. Lines end at `\n`, and a trailing `\r` is removed.
//! A line that is not valid UTF-8 fails the task with an error naming the file and offset —
//! or, read with [`Context::text_files_lenient`], is skipped and reported, and so is a file
//! that cannot be read.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{ChunkIter, Compute, Rdd, CHUNK_SIZE};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::scheduler::task::TaskContext;

/// The largest split of a file.
const MAX_SPLIT_BYTES: u64 = 32 << 20;

/// A byte range of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSplit {
    /// The file.
    pub path: PathBuf,
    /// First byte of the range.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// Whether a file is hidden from inputs, as Hadoop's default filter has it: a name starting
/// with `.` (checksums, editors' files) or `_` (`_SUCCESS`, metadata).
fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .map(|n| {
            let n = n.to_string_lossy();
            n.starts_with('.') || n.starts_with('_')
        })
        .unwrap_or(false)
}

/// Resolves a path, directory or glob into a sorted list of files (hidden files skipped in
/// directories and glob matches).
pub fn list_input_files(path: &str) -> Result<Vec<PathBuf>> {
    let p = Path::new(path);
    if p.is_file() {
        return Ok(vec![p.to_path_buf()]);
    }
    let mut files = Vec::new();
    if p.is_dir() {
        let rd = std::fs::read_dir(p).map_err(|e| Error::io("listing directory", p, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| Error::io("listing directory", p, e))?;
            if is_hidden(&entry.path()) {
                continue;
            }
            if entry.path().is_file() {
                files.push(entry.path());
            }
        }
        files.sort();
        return Ok(files);
    }
    let paths = glob::glob(path)
        .map_err(|e| Error::InvalidArgument(format!("bad glob pattern {path:?}: {e}")))?;
    for entry in paths {
        let entry = entry
            .map_err(|e| Error::io("listing", e.path().to_path_buf(), std::io::Error::from(e)))?;
        if entry.is_file() && !is_hidden(&entry) {
            files.push(entry);
        }
    }
    if files.is_empty() {
        return Err(Error::InputNotFound(path.to_string()));
    }
    files.sort();
    Ok(files)
}

/// Cuts files into splits: about `total / min_partitions` bytes each (at most 32 MiB), with a
/// 10 % slack so that a file just over the size is not cut into a tiny tail.
pub fn plan_splits(files: &[(PathBuf, u64)], min_partitions: usize) -> Vec<FileSplit> {
    let total: u64 = files.iter().map(|f| f.1).sum();
    let goal = (total / min_partitions.max(1) as u64).clamp(1, MAX_SPLIT_BYTES);
    let mut splits = Vec::new();
    for (path, len) in files {
        let mut start = 0;
        let mut left = *len;
        while left as f64 / goal as f64 > 1.1 {
            splits.push(FileSplit {
                path: path.clone(),
                start,
                end: start + goal,
            });
            start += goal;
            left -= goal;
        }
        splits.push(FileSplit {
            path: path.clone(),
            start,
            end: *len,
        });
    }
    splits
}

/// What a lenient read skipped in one split (one task), reported once the split has been read
/// to its end. A retried task reports again, for the same split: keep the last report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedInput {
    /// The split (RDD partition).
    pub split: usize,
    /// Lines skipped because they are not valid UTF-8.
    pub bad_lines: u64,
    /// Whether the file could not be read (or stopped being readable part-way).
    pub unreadable: bool,
    /// The first problem, naming the file and the byte offset; empty when nothing was skipped.
    pub sample: String,
}

/// Receives a lenient read's [`SkippedInput`] reports.
pub type SkipReport = Arc<dyn Fn(SkippedInput) + Send + Sync>;

struct TextFileCompute {
    splits: Vec<FileSplit>,
    /// Set for a lenient read.
    report: Option<SkipReport>,
}

impl Compute<String> for TextFileCompute {
    fn compute(&self, split: usize, _: &TaskContext) -> Result<ChunkIter<String>> {
        let s = self.splits[split].clone();
        let Some(report) = self.report.clone() else {
            let mut reader = LineReader::open(&s)?;
            return Ok(Box::new(std::iter::from_fn(move || {
                reader.next_chunk().transpose()
            })));
        };
        let mut skipped = SkippedInput {
            split,
            bad_lines: 0,
            unreadable: false,
            sample: String::new(),
        };
        let mut reader = match LineReader::open(&s) {
            Ok(r) => Some(r),
            Err(e) => {
                skipped.unreadable = true;
                skipped.sample = e.to_string();
                None
            }
        };
        let mut reported = false;
        Ok(Box::new(std::iter::from_fn(move || {
            if let Some(r) = reader.as_mut() {
                match r.next_chunk_lenient(&mut skipped) {
                    Ok(Some(chunk)) => return Some(Ok(chunk)),
                    Ok(None) => {}
                    Err(e) => {
                        skipped.unreadable = true;
                        if skipped.sample.is_empty() {
                            skipped.sample = e.to_string();
                        }
                    }
                }
                reader = None;
            }
            if !reported {
                reported = true;
                report(skipped.clone());
            }
            None
        })))
    }
}

/// Reads the lines that start inside one split.
struct LineReader {
    reader: BufReader<File>,
    path: PathBuf,
    pos: u64,
    end: u64,
    buf: Vec<u8>,
}

impl LineReader {
    fn open(s: &FileSplit) -> Result<Self> {
        let file = File::open(&s.path).map_err(|e| Error::io("opening", &s.path, e))?;
        let mut reader = BufReader::with_capacity(256 << 10, file);
        let mut pos = s.start;
        if s.start > 0 {
            // The line in progress at `start` belongs to the previous split: skip it.
            reader
                .seek(SeekFrom::Start(s.start - 1))
                .map_err(|e| Error::io("seeking in", &s.path, e))?;
            let mut skip = Vec::new();
            let n = reader
                .read_until(b'\n', &mut skip)
                .map_err(|e| Error::io("reading", &s.path, e))?;
            pos = s.start - 1 + n as u64;
        }
        Ok(LineReader {
            reader,
            path: s.path.clone(),
            pos,
            end: s.end,
            buf: Vec::new(),
        })
    }

    fn next_chunk(&mut self) -> Result<Option<Vec<String>>> {
        self.read_chunk(None)
    }

    /// Like `next_chunk`, but skips lines that are not valid UTF-8, counting them in `skipped`.
    fn next_chunk_lenient(&mut self, skipped: &mut SkippedInput) -> Result<Option<Vec<String>>> {
        self.read_chunk(Some(skipped))
    }

    fn read_chunk(
        &mut self,
        mut skipped: Option<&mut SkippedInput>,
    ) -> Result<Option<Vec<String>>> {
        let mut out = Vec::new();
        while out.len() < CHUNK_SIZE && self.pos < self.end {
            self.buf.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| Error::io("reading", &self.path, e))?;
            if n == 0 {
                self.end = self.pos;
                break;
            }
            let line_start = self.pos;
            self.pos += n as u64;
            let mut line = &self.buf[..];
            if line.last() == Some(&b'\n') {
                line = &line[..line.len() - 1];
                if line.last() == Some(&b'\r') {
                    line = &line[..line.len() - 1];
                }
            }
            match std::str::from_utf8(line) {
                Ok(s) => out.push(s.to_string()),
                Err(_) => {
                    let e = Error::InvalidUtf8 {
                        path: self.path.clone(),
                        offset: line_start,
                    };
                    match skipped.as_deref_mut() {
                        Some(sk) => {
                            sk.bad_lines += 1;
                            if sk.sample.is_empty() {
                                sk.sample = e.to_string();
                            }
                        }
                        None => return Err(e),
                    }
                }
            }
        }
        Ok(if out.is_empty() { None } else { Some(out) })
    }
}

impl Context {
    /// The lines of a text file, of the files of a directory, or of the files a glob pattern
    /// matches, in at least `min_partitions` partitions (Spark's `textFile`).
    ///
    /// ```
    /// use sluice_core::Context;
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("a.txt"), "one\ntwo\n").unwrap();
    /// let ctx = Context::local(2).unwrap();
    /// let lines = ctx.text_file(dir.path().to_str().unwrap(), 2).unwrap();
    /// assert_eq!(lines.collect().unwrap(), vec!["one", "two"]);
    /// ```
    pub fn text_file(&self, path: &str, min_partitions: usize) -> Result<Rdd<String>> {
        let path = path.strip_prefix("file://").unwrap_or(path);
        if path.contains("://") {
            return self.text_from_object_store(path, min_partitions);
        }
        let files = list_input_files(path)?;
        self.text_files(&files, min_partitions, &format!("text_file {path}"))
    }

    /// The lines of the given files, in order, in at least `min_partitions` partitions.
    pub fn text_files(
        &self,
        files: &[PathBuf],
        min_partitions: usize,
        name: &str,
    ) -> Result<Rdd<String>> {
        let mut sized = Vec::with_capacity(files.len());
        for f in files {
            let len = std::fs::metadata(f)
                .map_err(|e| Error::io("reading metadata of", f, e))?
                .len();
            sized.push((f.clone(), len));
        }
        Ok(self.text_file_rdd(plan_splits(&sized, min_partitions), name, None))
    }

    /// Like [`text_files`](Self::text_files), but a line that is not valid UTF-8 is skipped,
    /// and so is a file that cannot be read; `report` hears of each split's skips once the
    /// split has been read (see [`SkippedInput`]). For sources that must not lose a whole
    /// batch to one bad file.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use sluice_core::Context;
    /// let dir = tempfile::tempdir().unwrap();
    /// let f = dir.path().join("a.txt");
    /// std::fs::write(&f, b"one\n\xff\ntwo\n").unwrap();
    /// let missing = dir.path().join("gone.txt");
    /// let skipped = Arc::new(Mutex::new(Vec::new()));
    /// let s2 = skipped.clone();
    /// let ctx = Context::local(1).unwrap();
    /// let lines = ctx
    ///     .text_files_lenient(&[f, missing], 1, "t", Arc::new(move |s| s2.lock().unwrap().push(s)))
    ///     .unwrap();
    /// assert_eq!(lines.collect().unwrap(), vec!["one", "two"]);
    /// let mut skipped = skipped.lock().unwrap().clone();
    /// skipped.sort_by_key(|s| s.split);
    /// assert_eq!((skipped[0].bad_lines, skipped[0].unreadable), (1, false));
    /// assert!(skipped[1].unreadable);
    /// ```
    pub fn text_files_lenient(
        &self,
        files: &[PathBuf],
        min_partitions: usize,
        name: &str,
        report: SkipReport,
    ) -> Result<Rdd<String>> {
        // A file whose size cannot be read is still given a split, which reports it.
        let sized: Vec<(PathBuf, u64)> = files
            .iter()
            .map(|f| (f.clone(), std::fs::metadata(f).map_or(0, |m| m.len())))
            .collect();
        let mut splits = plan_splits(&sized, min_partitions);
        for s in &mut splits {
            if s.end == 0 {
                // Read to the end whatever the size said (a missing file fails to open).
                s.end = u64::MAX;
            }
        }
        Ok(self.text_file_rdd(splits, name, Some(report)))
    }

    #[cfg(feature = "object-store")]
    fn text_from_object_store(&self, url: &str, min_partitions: usize) -> Result<Rdd<String>> {
        self.text_objects(url, min_partitions)
    }

    #[cfg(not(feature = "object-store"))]
    fn text_from_object_store(&self, url: &str, _: usize) -> Result<Rdd<String>> {
        Err(Error::InvalidArgument(format!(
            "{url}: reading object storage needs the `object-store` feature of sluice-core (the \
             facade's `tables` feature, with `s3` for s3:// URLs)"
        )))
    }

    fn text_file_rdd(
        &self,
        splits: Vec<FileSplit>,
        name: &str,
        report: Option<SkipReport>,
    ) -> Rdd<String> {
        Rdd::from_compute(
            self,
            "MapPartitionsRDD",
            name,
            splits.len(),
            vec![],
            None,
            TextFileCompute { splits, report },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_files_exactly() {
        let files = vec![(PathBuf::from("a"), 100), (PathBuf::from("b"), 0)];
        let s = plan_splits(&files, 3);
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].start, 0);
        assert_eq!(s[2].end, 100);
        assert_eq!((s[3].start, s[3].end), (0, 0));
        for w in s[..3].windows(2) {
            assert_eq!(w[0].end, w[1].start);
        }
    }
}
