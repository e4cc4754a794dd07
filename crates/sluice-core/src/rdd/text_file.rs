//! `text_file`: lines of text files as an `Rdd<String>`.
//!
//! The path may be a file, a directory (its files, skipping names that start with `.` or `_`,
//! as Hadoop does) or a glob pattern. Files are cut into byte-range splits (at least
//! `min_partitions` in all, at most 32 MiB each); a line belongs to the split where it starts,
//! so every line is read exactly once. Lines end at `\n`, and a trailing `\r` is removed.
//! A line that is not valid UTF-8 fails the task with an error naming the file and offset.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

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

struct TextFileCompute {
    splits: Vec<FileSplit>,
}

impl Compute<String> for TextFileCompute {
    fn compute(&self, split: usize, _: &TaskContext) -> Result<ChunkIter<String>> {
        let s = self.splits[split].clone();
        let mut reader = LineReader::open(&s)?;
        Ok(Box::new(std::iter::from_fn(move || {
            reader.next_chunk().transpose()
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
                    return Err(Error::InvalidUtf8 {
                        path: self.path.clone(),
                        offset: line_start,
                    })
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
        let splits = plan_splits(&sized, min_partitions);
        Ok(Rdd::from_compute(
            self,
            "MapPartitionsRDD",
            name,
            splits.len(),
            vec![],
            None,
            TextFileCompute { splits },
        ))
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
