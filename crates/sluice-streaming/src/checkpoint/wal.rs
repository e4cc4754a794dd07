//! The receivers' write-ahead log (`sluice.streaming.receiver.writeAheadLog.enable`).
//!
//! # Files
//!
//! Each receiver that logs has a directory `receivedData/<input name>/` in the checkpoint
//! directory, holding segments `log-<first sequence number>.wal` (names in
//! [`names`]). Every record a receiver stores gets the next sequence number of
//! that receiver (0, 1, 2, … across restarts). A segment is a sequence of entries, one per
//! `store` / `store_batch` call, each framed like every checkpoint file
//! ([`format`](super::format): magic, version, length, CRC-32); an entry's payload is its
//! first sequence number (u64, little-endian), its number of records (u64) and the records
//! encoded with bincode. Entries follow each other without gaps in sequence numbers, within a
//! segment and from one segment to the next.
//!
//! # Durability: group commit
//!
//! `store` returns only once its records are written and fsynced. Callers queue their
//! entries (encoded on their own thread); the first caller that finds no write in progress
//! becomes the leader: it takes every queued entry, writes them with one `write`, calls
//! `fdatasync` once, hands the entries to the receiver's buffers in sequence order and wakes
//! the others. While it writes, new entries queue up for the next leader, so one fsync covers
//! everything that arrived during the previous one. The receiver's buffers — hence batches —
//! only ever see records that are durable.
//!
//! # What a batch read, and recovery
//!
//! A batch takes the records of a contiguous range of sequence numbers; the range is the
//! receiver's part of the batch record written before the batch runs, and a checkpoint
//! records the end of the ranges of the batches it covers. After a crash, [`plan_replay`]
//! decides, from the checkpoint's end, the batch records after the checkpoint and what the
//! log holds: each recorded batch re-runs on exactly its range, read back from the log, and
//! the records logged after the last recorded range go into the first new batch.
//!
//! # Torn tails and corruption
//!
//! A process killed while writing may leave the last entry of the segment being written
//! incomplete. That entry's `fsync` never completed, so no `store` of its records returned:
//! they were never acknowledged, and dropping exactly that incomplete entry (the file is
//! truncated to its last whole entry) loses nothing that was acknowledged. Anything else — a
//! checksum that does not match, an incomplete entry in an older segment, a gap in sequence
//! numbers — is an error naming the file, never silently skipped.
//!
//! # Cleaning
//!
//! When a checkpoint is written, the segments all of whose records belong to batches it
//! covers are deleted ([`segments_to_delete`]); the segment being written is kept. The next
//! write after a checkpoint starts a new segment, so a segment rarely outlives the
//! checkpoint after its batches by more than one checkpoint.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

use parking_lot::{Condvar, Mutex};
use sluice_core::{Error, Result};

use super::format::{corrupt, frame, next_frame, FramePrefix};
use super::names;

/// A segment is closed (the next write starts a new one) once it holds this many bytes.
pub const SEGMENT_BYTES: u64 = 16 << 20;

/// Encodes records for the log.
pub type Encoder<T> = fn(&[T]) -> Result<Vec<u8>>;
/// Decodes what an [`Encoder`] wrote.
pub type Decoder<T> = fn(&[u8]) -> Result<Vec<T>>;

/// The bincode encoder of records.
pub fn bincode_encode<T: serde::Serialize>(items: &[T]) -> Result<Vec<u8>> {
    bincode::serialize(items)
        .map_err(|e| Error::Serialization(format!("encoding records for the log: {e}")))
}

/// The bincode decoder of records.
pub fn bincode_decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<Vec<T>> {
    bincode::deserialize(bytes)
        .map_err(|e| Error::Serialization(format!("decoding records of the log: {e}")))
}

// ---------------------------------------------------------------------------------------
// Pure decisions.

/// What the restart of a receiver replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayPlan {
    /// Batches generated but not covered by the checkpoint: each re-runs on these records.
    pub batches: Vec<(i64, Range<u64>)>,
    /// Records logged but allocated to no batch: they go into the first new batch.
    pub unallocated: Range<u64>,
}

/// Decides what a restarted receiver replays: `checkpointed_end` is the end of the records
/// of the batches the checkpoint covers, `batches` the ranges of the batches recorded after
/// it, `logged` the records the log holds. Fails if a batch needs records the log does not
/// hold, or if the batches overlap.
///
/// ```
/// use std::collections::BTreeMap;
/// use sluice_streaming::checkpoint::wal::plan_replay;
/// let batches = BTreeMap::from([(3000, 10..15), (4000, 15..15)]);
/// let plan = plan_replay(10, &batches, 4..22).unwrap();
/// assert_eq!(plan.batches, vec![(3000, 10..15), (4000, 15..15)]);
/// assert_eq!(plan.unallocated, 15..22);
/// ```
pub fn plan_replay(
    checkpointed_end: u64,
    batches: &BTreeMap<i64, Range<u64>>,
    logged: Range<u64>,
) -> std::result::Result<ReplayPlan, String> {
    if logged.end < checkpointed_end {
        return Err(format!(
            "the checkpoint covers records up to {checkpointed_end}, but the log ends at {}: \
             log segments are missing",
            logged.end
        ));
    }
    let mut next = checkpointed_end;
    let mut out = Vec::new();
    for (&t, r) in batches {
        if r.start > r.end {
            return Err(format!("batch {t} ms has an invalid range {r:?}"));
        }
        if r.start < next {
            return Err(format!(
                "batch {t} ms read records {}..{}, which overlap records of an earlier batch \
                 (up to {next})",
                r.start, r.end
            ));
        }
        if r.start != r.end && (r.start < logged.start || r.end > logged.end) {
            return Err(format!(
                "batch {t} ms read records {}..{}, but the log holds only {}..{}",
                r.start, r.end, logged.start, logged.end
            ));
        }
        next = r.end;
        out.push((t, r.clone()));
    }
    Ok(ReplayPlan {
        batches: out,
        unallocated: next.max(checkpointed_end)..logged.end,
    })
}

/// The segments (by first sequence number, ascending) that can be deleted once every record
/// before `covered_end` is covered by a checkpoint: those whose successor starts at or
/// before `covered_end`. The last segment (the one being written) is never deleted.
///
/// ```
/// use sluice_streaming::checkpoint::wal::segments_to_delete;
/// assert_eq!(segments_to_delete(&[0, 10, 20], 20), vec![0, 10]);
/// assert_eq!(segments_to_delete(&[0, 10, 20], 19), vec![0]);
/// assert_eq!(segments_to_delete(&[0], 100), Vec::<u64>::new());
/// ```
pub fn segments_to_delete(firsts: &[u64], covered_end: u64) -> Vec<u64> {
    firsts
        .windows(2)
        .filter(|w| w[1] <= covered_end)
        .map(|w| w[0])
        .collect()
}

/// One entry of a segment, as found by [`scan_segment`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRef {
    /// Sequence number of its first record.
    pub first: u64,
    /// Number of records.
    pub count: u64,
    /// Where its encoded records are in the segment's bytes.
    pub records: Range<usize>,
}

/// What a segment holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedSegment {
    /// Its entries, in order.
    pub entries: Vec<EntryRef>,
    /// The sequence number after its last record.
    pub end: u64,
    /// Bytes of whole entries; anything after is a torn tail.
    pub valid_len: usize,
    /// Bytes of an incomplete last entry (0 if none).
    pub torn: usize,
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// Parses a segment whose first record is `first`; `last` says whether it is the newest
/// segment (the only one that may end with an incomplete entry). `path` is for errors.
pub fn scan_segment(bytes: &[u8], path: &Path, first: u64, last: bool) -> Result<ScannedSegment> {
    let mut pos = 0;
    let mut next = first;
    let mut entries = Vec::new();
    while pos < bytes.len() {
        match next_frame(&bytes[pos..], path)? {
            FramePrefix::Partial => {
                if !last {
                    return Err(corrupt(
                        path,
                        format!(
                            "truncated at byte {pos}: an incomplete entry in a segment that is \
                             not the newest one"
                        ),
                    ));
                }
                return Ok(ScannedSegment {
                    entries,
                    end: next,
                    valid_len: pos,
                    torn: bytes.len() - pos,
                });
            }
            FramePrefix::Whole { payload, len } => {
                if payload.len() < 16 {
                    return Err(corrupt(
                        path,
                        format!("entry at byte {pos} is too short for its header"),
                    ));
                }
                let (e_first, count) = (le_u64(&payload[..8]), le_u64(&payload[8..16]));
                if e_first != next {
                    return Err(corrupt(
                        path,
                        format!(
                            "entry at byte {pos} starts at record {e_first}, expected {next}: \
                             records are missing"
                        ),
                    ));
                }
                let start = pos + (len - payload.len()) + 16;
                entries.push(EntryRef {
                    first: e_first,
                    count,
                    records: start..pos + len,
                });
                next = e_first.saturating_add(count);
                pos += len;
            }
        }
    }
    Ok(ScannedSegment {
        entries,
        end: next,
        valid_len: pos,
        torn: 0,
    })
}

/// Encodes one entry (framed).
pub fn encode_entry(first: u64, count: u64, records: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(16 + records.len());
    payload.extend_from_slice(&first.to_le_bytes());
    payload.extend_from_slice(&count.to_le_bytes());
    payload.extend_from_slice(records);
    frame(&payload)
}

// ---------------------------------------------------------------------------------------
// Files.

/// A log read back from disk.
#[derive(Debug)]
pub struct OpenedLog {
    /// First sequence number of each segment, ascending.
    pub segments: Vec<u64>,
    /// The records the log holds.
    pub logged: Range<u64>,
    /// Entries at or after the requested start: (first sequence number, count, encoded
    /// records).
    pub entries: Vec<(u64, u64, Vec<u8>)>,
    /// Bytes of a torn tail that were dropped (0 if none).
    pub torn_bytes: usize,
}

fn segment_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io("listing", dir, e))? {
        let e = e.map_err(|e| Error::io("listing", dir, e))?;
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(first) = names::parse_log_segment(&name) {
            out.push((first, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Reads the log in `dir` (absent: empty), checks it, truncates a torn tail of its newest
/// segment, and returns the entries that hold records at or after `from`.
pub fn open_log(dir: &Path, from: u64) -> Result<OpenedLog> {
    let files = segment_files(dir)?;
    let mut segments = Vec::new();
    let mut entries = Vec::new();
    let mut start = None;
    let mut end = None::<u64>;
    let mut torn_bytes = 0;
    for (i, (first, path)) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        if let Some(e) = end {
            if e != *first {
                return Err(corrupt(
                    path,
                    format!(
                        "the previous segment ends at record {e}, this one starts at {first}: \
                         records are missing"
                    ),
                ));
            }
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io("reading log segment", path, e))?;
        let scanned = scan_segment(&bytes, path, *first, last)?;
        if scanned.torn > 0 {
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| Error::io("opening log segment", path, e))?;
            f.set_len(scanned.valid_len as u64)
                .and_then(|()| f.sync_all())
                .map_err(|e| Error::io("truncating the torn tail of", path, e))?;
            torn_bytes = scanned.torn;
        }
        for e in &scanned.entries {
            if e.first + e.count > from {
                entries.push((e.first, e.count, bytes[e.records.clone()].to_vec()));
            }
        }
        start.get_or_insert(*first);
        end = Some(scanned.end);
        segments.push(*first);
    }
    let logged = match (start, end) {
        (Some(s), Some(e)) => s..e,
        _ => from..from,
    };
    Ok(OpenedLog {
        segments,
        logged,
        entries,
        torn_bytes,
    })
}

/// Appends entries to segments.
struct Writer {
    dir: PathBuf,
    file: Option<File>,
    bytes: u64,
    segments: Vec<u64>,
    roll: bool,
}

impl Writer {
    fn append(&mut self, first: u64, data: &[u8]) -> Result<()> {
        if self.file.is_none() || self.roll || self.bytes >= SEGMENT_BYTES {
            std::fs::create_dir_all(&self.dir)
                .map_err(|e| Error::io("creating log directory", &self.dir, e))?;
            let path = self.dir.join(names::log_segment(first));
            // A segment of this name holds no whole entry (it would start at `first`):
            // whatever it holds was never acknowledged.
            let f = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&path)
                .map_err(|e| Error::io("creating log segment", &path, e))?;
            sync_dir(&self.dir);
            if self.segments.last() != Some(&first) {
                self.segments.push(first);
            }
            self.file = Some(f);
            self.bytes = 0;
            self.roll = false;
        }
        let path = self.dir.join(names::log_segment(
            self.segments.last().copied().unwrap_or(first),
        ));
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| Error::Internal("no open log segment".into()))?;
        f.write_all(data)
            .map_err(|e| Error::io("writing log segment", &path, e))?;
        f.sync_data()
            .map_err(|e| Error::io("syncing log segment", &path, e))?;
        self.bytes += data.len() as u64;
        Ok(())
    }
}

struct Pending<T> {
    first: u64,
    items: Vec<T>,
    encoded: Vec<u8>,
}

struct Queue<T> {
    pending: Vec<Pending<T>>,
    next_seq: u64,
    durable: u64,
    committing: bool,
    failed: Option<String>,
}

/// A receiver's write-ahead log: appends with group commit, and cleaning.
pub struct WriteAheadLog<T> {
    queue: Mutex<Queue<T>>,
    done: Condvar,
    writer: Mutex<Writer>,
    encode: Encoder<T>,
}

impl<T> WriteAheadLog<T> {
    /// A log appending to `dir`, whose next record has sequence number `next_seq`; `segments`
    /// are the segments already there (from [`open_log`]).
    pub fn new(dir: PathBuf, next_seq: u64, segments: Vec<u64>, encode: Encoder<T>) -> Self {
        WriteAheadLog {
            queue: Mutex::new(Queue {
                pending: Vec::new(),
                next_seq,
                durable: next_seq,
                committing: false,
                failed: None,
            }),
            done: Condvar::new(),
            writer: Mutex::new(Writer {
                dir,
                file: None,
                bytes: 0,
                segments,
                roll: true,
            }),
            encode,
        }
    }

    /// Logs `items` and returns once they are durable. Whoever writes a group hands each of
    /// its entries, in sequence order, to `deliver` (first sequence number, records) before
    /// any later entry is written, so `deliver` sees every record exactly once and in order.
    pub fn append(&self, items: Vec<T>, deliver: &dyn Fn(u64, Vec<T>)) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let encoded = (self.encode)(&items)?;
        let count = items.len() as u64;
        let mut q = self.queue.lock();
        if let Some(f) = &q.failed {
            return Err(Error::IllegalState(format!(
                "the receiver's write-ahead log failed earlier: {f}"
            )));
        }
        let first = q.next_seq;
        q.next_seq += count;
        let end = q.next_seq;
        q.pending.push(Pending {
            first,
            items,
            encoded,
        });
        loop {
            if q.durable >= end {
                return Ok(());
            }
            if let Some(f) = &q.failed {
                return Err(Error::IllegalState(format!(
                    "writing the receiver's write-ahead log: {f}"
                )));
            }
            if !q.committing {
                q.committing = true;
                let group = std::mem::take(&mut q.pending);
                drop(q);
                let outcome = self.commit(group, deliver);
                q = self.queue.lock();
                q.committing = false;
                match outcome {
                    Ok(group_end) => q.durable = q.durable.max(group_end),
                    Err(e) => q.failed = Some(e.to_string()),
                }
                self.done.notify_all();
                continue;
            }
            self.done.wait(&mut q);
        }
    }

    /// Writes a group with one write and one fsync, then delivers it; returns its end.
    fn commit(&self, group: Vec<Pending<T>>, deliver: &dyn Fn(u64, Vec<T>)) -> Result<u64> {
        let Some(first) = group.first().map(|p| p.first) else {
            return Ok(0);
        };
        let mut data = Vec::with_capacity(group.iter().map(|p| p.encoded.len() + 36).sum());
        let mut end = first;
        for p in &group {
            let count = p.items.len() as u64;
            data.extend(encode_entry(p.first, count, &p.encoded));
            end = p.first + count;
        }
        let mut w = self.writer.lock();
        w.append(first, &data)?;
        for p in group {
            deliver(p.first, p.items);
        }
        drop(w);
        Ok(end)
    }

    /// A checkpoint covers every record before `covered_end`: deletes the segments that hold
    /// only such records, and starts a new segment at the next write.
    pub fn checkpoint_written(&self, covered_end: u64) -> Result<()> {
        let mut w = self.writer.lock();
        w.roll = true;
        let doomed = segments_to_delete(&w.segments, covered_end);
        for first in &doomed {
            let path = w.dir.join(names::log_segment(*first));
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("deleting log segment", &path, e)),
            }
        }
        w.segments.retain(|s| !doomed.contains(s));
        Ok(())
    }

    /// The sequence number after the last durable record.
    pub fn durable_end(&self) -> u64 {
        self.queue.lock().durable
    }

    /// First sequence numbers of the segments on disk.
    pub fn segments(&self) -> Vec<u64> {
        self.writer.lock().segments.clone()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn nothing_after_the_checkpoint_replays_nothing() {
        let plan = plan_replay(7, &BTreeMap::new(), 0..7).unwrap();
        assert!(plan.batches.is_empty());
        assert_eq!(plan.unallocated, 7..7);
    }

    #[test]
    fn logged_but_unallocated_records_go_to_the_first_new_batch() {
        let plan = plan_replay(7, &BTreeMap::new(), 0..12).unwrap();
        assert_eq!(plan.unallocated, 7..12);
    }

    #[test]
    fn recorded_batches_replay_their_exact_ranges() {
        let b = BTreeMap::from([(2000, 7..9), (3000, 9..9), (4000, 9..12)]);
        let plan = plan_replay(7, &b, 5..14).unwrap();
        assert_eq!(
            plan.batches,
            vec![(2000, 7..9), (3000, 9..9), (4000, 9..12)]
        );
        assert_eq!(plan.unallocated, 12..14);
    }

    #[test]
    fn a_fresh_log_after_a_run_without_checkpoint_replays_everything() {
        let plan = plan_replay(0, &BTreeMap::new(), 0..3).unwrap();
        assert_eq!(plan.unallocated, 0..3);
        let empty = plan_replay(0, &BTreeMap::new(), 0..0).unwrap();
        assert_eq!(empty.unallocated, 0..0);
    }

    #[test]
    fn missing_records_are_errors() {
        // The log lost its end.
        assert!(plan_replay(10, &BTreeMap::new(), 0..8).is_err());
        // A batch needs records before the oldest segment.
        let b = BTreeMap::from([(2000, 3..9)]);
        let e = plan_replay(3, &b, 5..12).unwrap_err();
        assert!(e.contains("3..9"), "{e}");
        // A batch needs records past the end of the log.
        let b = BTreeMap::from([(2000, 7..20)]);
        assert!(plan_replay(7, &b, 0..12).is_err());
        // Overlapping batches.
        let b = BTreeMap::from([(2000, 7..10), (3000, 9..11)]);
        assert!(plan_replay(7, &b, 0..12).is_err());
    }

    #[test]
    fn empty_batches_need_no_records() {
        let b = BTreeMap::from([(2000, 7..7)]);
        let plan = plan_replay(7, &b, 7..7).unwrap();
        assert_eq!(plan.batches, vec![(2000, 7..7)]);
    }

    #[test]
    fn cleaning_keeps_segments_with_uncovered_records_and_the_newest() {
        assert_eq!(segments_to_delete(&[], 10), Vec::<u64>::new());
        assert_eq!(segments_to_delete(&[0, 5, 9], 0), Vec::<u64>::new());
        assert_eq!(segments_to_delete(&[0, 5, 9], 5), vec![0]);
        assert_eq!(segments_to_delete(&[0, 5, 9], 8), vec![0]);
        assert_eq!(segments_to_delete(&[0, 5, 9], 9), vec![0, 5]);
        assert_eq!(segments_to_delete(&[0, 5, 9], u64::MAX), vec![0, 5]);
    }

    fn segment(entries: &[(u64, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (first, recs) in entries {
            out.extend(encode_entry(*first, recs.len() as u64, recs));
        }
        out
    }

    #[test]
    fn scanning_finds_entries_and_a_torn_tail() {
        let bytes = segment(&[(4, b"ab"), (6, b"cde")]);
        let p = Path::new("seg");
        let s = scan_segment(&bytes, p, 4, true).unwrap();
        assert_eq!(s.end, 9);
        assert_eq!(s.torn, 0);
        assert_eq!(&bytes[s.entries[1].records.clone()], b"cde");
        for cut in 1..bytes.len() - s.entries[1].records.end + 30 {
            let torn = &bytes[..bytes.len() - cut.min(bytes.len() - 1)];
            let t = scan_segment(torn, p, 4, true).unwrap();
            assert!(t.valid_len + t.torn == torn.len());
            // An older segment must be whole.
            if t.torn > 0 {
                assert!(scan_segment(torn, p, 4, false).is_err());
            }
        }
    }

    #[test]
    fn scanning_refuses_corruption_and_gaps() {
        let p = Path::new("seg");
        let mut bytes = segment(&[(0, b"ab"), (2, b"cd")]);
        let n = bytes.len();
        bytes[n - 1] ^= 1;
        let e = scan_segment(&bytes, p, 0, true).unwrap_err().to_string();
        assert!(e.contains("seg") && e.contains("checksum"), "{e}");
        let gap = segment(&[(0, b"ab"), (3, b"cd")]);
        assert!(scan_segment(&gap, p, 0, true).is_err());
        let wrong_start = segment(&[(1, b"ab")]);
        assert!(scan_segment(&wrong_start, p, 0, true).is_err());
        assert!(scan_segment(b"garbage!", p, 0, true).is_err());
    }
}
