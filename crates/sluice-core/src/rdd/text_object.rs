//! `text_file` over object storage (`s3://bucket/prefix`, feature `object-store`): the lines of
//! one object, or of the objects directly under a prefix (names starting with `.` or `_`
//! skipped, as for a directory), in the same byte-range splits as files.
//!
//! A split's task reads its object from the byte before its start to the end with one ranged
//! `GET`, and stops reading as soon as it has passed its end: a line belongs to the split where
//! it starts, so every line is read exactly once, and a large object is read in parallel by
//! several tasks without any of them reading the whole of it. Glob patterns are not supported
//! on object storage (an error says so).

use futures::StreamExt;
use sluice_storage::object_store::path::Path as ObjectPath;
use sluice_storage::object_store::{self, GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use sluice_storage::{block_on, Location};

use super::text_file::{plan_splits, FileSplit};
use super::{ChunkIter, Compute, Rdd, CHUNK_SIZE};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::scheduler::task::TaskContext;

fn storage_error(url: &str, action: &str, e: impl std::fmt::Display) -> Error {
    Error::External {
        system: "object storage",
        message: format!("{action} {url}: {e}"),
    }
}

/// The objects `url` names (one object, or those directly under it as a prefix), with their
/// sizes, sorted.
fn list_objects(loc: &Location, url: &str) -> Result<Vec<(ObjectPath, u64)>> {
    let store = loc.store();
    let root = loc.root().clone();
    let listed = block_on(store.list_with_delimiter(Some(&root)))
        .map_err(|e| storage_error(url, "listing", e))?
        .map_err(|e| storage_error(url, "listing", e))?;
    let mut objects: Vec<(ObjectPath, u64)> = listed
        .objects
        .into_iter()
        .filter(|o| {
            o.location
                .filename()
                .is_some_and(|n| !n.starts_with('.') && !n.starts_with('_'))
        })
        .map(|o| (o.location, o.size))
        .collect();
    if objects.is_empty() && listed.common_prefixes.is_empty() {
        match block_on(store.head(&root)).map_err(|e| storage_error(url, "reading", e))? {
            Ok(meta) => objects.push((meta.location, meta.size)),
            Err(object_store::Error::NotFound { .. }) => {
                return Err(Error::InputNotFound(url.to_string()))
            }
            Err(e) => return Err(storage_error(url, "reading", e)),
        }
    }
    objects.sort();
    Ok(objects)
}

impl Context {
    /// The lines of an object-store URL, as [`text_file`](Self::text_file) reads a path.
    pub(crate) fn text_objects(&self, url: &str, min_partitions: usize) -> Result<Rdd<String>> {
        if url.contains(['*', '?', '[']) {
            return Err(Error::InvalidArgument(format!(
                "{url}: glob patterns are not supported on object storage; name an object or \
                 a prefix"
            )));
        }
        let loc = Location::existing(url).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let objects = list_objects(&loc, url)?;
        let sized: Vec<(std::path::PathBuf, u64)> = objects
            .iter()
            .map(|(p, n)| (std::path::PathBuf::from(p.as_ref()), *n))
            .collect();
        let splits = plan_splits(&sized, min_partitions);
        Ok(Rdd::from_compute(
            self,
            "MapPartitionsRDD",
            &format!("text_file {url}"),
            splits.len(),
            vec![],
            None,
            ObjectTextCompute { loc, splits },
        ))
    }
}

struct ObjectTextCompute {
    loc: Location,
    splits: Vec<FileSplit>,
}

impl Compute<String> for ObjectTextCompute {
    fn compute(&self, split: usize, _: &TaskContext) -> Result<ChunkIter<String>> {
        let s = self.splits[split].clone();
        let mut reader = ObjectLineReader::open(&self.loc, &s)?;
        Ok(Box::new(std::iter::from_fn(move || {
            reader.next_chunk().transpose()
        })))
    }
}

/// Reads the lines that start inside one split of an object.
struct ObjectLineReader {
    url: String,
    stream: futures::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>,
    /// Bytes read and not yet cut into lines.
    pending: Vec<u8>,
    /// The object offset of `pending[0]`.
    pos: u64,
    end: u64,
    /// The stream is exhausted.
    eof: bool,
}

impl ObjectLineReader {
    fn open(loc: &Location, s: &FileSplit) -> Result<Self> {
        let path = ObjectPath::parse(s.path.to_string_lossy().as_ref())
            .map_err(|e| Error::Internal(format!("an object's own path: {e}")))?;
        let url = loc.url_of(&path);
        // From the byte before the start: the line in progress there belongs to the
        // previous split, and is skipped below.
        let from = s.start.saturating_sub(1);
        let mut reader = ObjectLineReader {
            url,
            stream: futures::stream::empty().boxed(),
            pending: Vec::new(),
            pos: from,
            end: s.end,
            eof: s.start >= s.end,
        };
        if reader.eof {
            return Ok(reader);
        }
        let opts = GetOptions {
            range: Some(GetRange::Offset(from)),
            ..Default::default()
        };
        let store = loc.store();
        let got = block_on(store.get_opts(&path, opts))
            .map_err(|e| storage_error(&reader.url, "reading", e))?
            .map_err(|e| storage_error(&reader.url, "reading", e))?;
        reader.stream = got.into_stream();
        if s.start > 0 {
            // Skip through the first newline at or after `start - 1`.
            loop {
                if let Some(i) = memchr::memchr(b'\n', &reader.pending) {
                    reader.pending.drain(..=i);
                    reader.pos += i as u64 + 1;
                    break;
                }
                reader.pos += reader.pending.len() as u64;
                reader.pending.clear();
                if !reader.fill()? {
                    break;
                }
            }
        }
        Ok(reader)
    }

    /// Reads the next piece of the object into `pending`; false at its end.
    fn fill(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        match block_on(self.stream.next()).map_err(|e| storage_error(&self.url, "reading", e))? {
            Some(Ok(bytes)) => {
                self.pending.extend_from_slice(&bytes);
                Ok(true)
            }
            Some(Err(e)) => Err(storage_error(&self.url, "reading", e)),
            None => {
                self.eof = true;
                Ok(false)
            }
        }
    }

    /// The next line that starts before the split's end, without its `\n` (and `\r`).
    fn next_line(&mut self) -> Result<Option<String>> {
        if self.pos >= self.end {
            return Ok(None);
        }
        let mut searched = 0;
        let len = loop {
            if let Some(i) = memchr::memchr(b'\n', &self.pending[searched..]) {
                break Some(searched + i);
            }
            searched = self.pending.len();
            if !self.fill()? {
                break None;
            }
        };
        let (line_len, consumed) = match len {
            Some(i) => (i, i + 1),
            None if self.pending.is_empty() => return Ok(None),
            None => (self.pending.len(), self.pending.len()),
        };
        let mut line = &self.pending[..line_len];
        // As for files: a `\r` is removed only before a `\n`.
        if len.is_some() && line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        let text =
            std::str::from_utf8(line)
                .map(str::to_string)
                .map_err(|_| Error::InvalidUtf8 {
                    path: self.url.clone().into(),
                    offset: self.pos,
                })?;
        self.pending.drain(..consumed);
        self.pos += consumed as u64;
        Ok(Some(text))
    }

    fn next_chunk(&mut self) -> Result<Option<Vec<String>>> {
        let mut out = Vec::with_capacity(CHUNK_SIZE);
        while out.len() < CHUNK_SIZE {
            match self.next_line()? {
                Some(l) => out.push(l),
                None => break,
            }
        }
        Ok(if out.is_empty() { None } else { Some(out) })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// Lines read through the object-store reader (a local file system store) from every
    /// split of `text` cut into `parts`: each line exactly once, in order.
    fn read_all(text: &[u8], parts: usize) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.txt"), text).unwrap();
        let ctx = Context::local(2).unwrap();
        let url = format!("file://{}", dir.path().join("t.txt").display());
        let loc = Location::existing(dir.path().to_str().unwrap()).unwrap();
        let objects = list_objects(&loc, &url).unwrap();
        let sized: Vec<_> = objects
            .iter()
            .map(|(p, n)| (std::path::PathBuf::from(p.as_ref()), *n))
            .collect();
        let splits = plan_splits(&sized, parts);
        let rdd = Rdd::from_compute(
            &ctx,
            "MapPartitionsRDD",
            "t",
            splits.len(),
            vec![],
            None,
            ObjectTextCompute { loc, splits },
        );
        rdd.collect().unwrap()
    }

    #[test]
    fn corner_cases_match_local_text_file() {
        for text in [
            &b""[..],
            b"\n",
            b"a",
            b"a\n",
            b"a\r\nb\r\n",
            b"\n\nx\n\n",
            b"one\ntwo\nthree",
        ] {
            let want: Vec<String> = std::str::from_utf8(text)
                .unwrap()
                .lines()
                .map(String::from)
                .collect();
            for parts in 1..5 {
                assert_eq!(read_all(text, parts), want, "{text:?} in {parts}");
            }
        }
    }

    proptest! {
        #[test]
        fn every_line_once_in_any_split(text in "[ab\\n]{0,60}", parts in 1usize..8) {
            let want: Vec<String> = text.lines().map(String::from).collect();
            prop_assert_eq!(read_all(text.as_bytes(), parts), want);
        }
    }
}
