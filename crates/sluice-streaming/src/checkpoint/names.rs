//! The names of the files in a checkpoint directory: the one place that builds and parses them.
//!
//! ```text
//! manifest-<seq, 20 digits>.ckpt          the index of checkpoint <seq>
//! state/<operator>/g<group>-<seq>-full.ckpt
//! state/<operator>/g<group>-<seq>-delta.ckpt
//! batches/<time ms>.ckpt                  what the sources read for a generated batch
//! receivedData/<input>/log-<first seq, 20 digits>.wal
//!                                         a segment of a receiver's write-ahead log
//! .lock                                   held by the process that uses the directory
//! committed                               present once a first manifest was written
//! ```

/// The directory of state files, relative to the checkpoint directory.
pub const STATE_DIR: &str = "state";
/// The directory of batch records, relative to the checkpoint directory.
pub const BATCHES_DIR: &str = "batches";
/// The directory of receivers' write-ahead logs, relative to the checkpoint directory.
pub const RECEIVED_DATA_DIR: &str = "receivedData";
/// The lock file, relative to the checkpoint directory.
pub const LOCK_FILE: &str = ".lock";
/// Written once, before the directory's first manifest, and never removed: a directory that
/// has it but no manifest lost its manifests (rather than crashed before its first one).
pub const COMMITTED_MARKER: &str = "committed";

/// Whether `name` is a temporary file of an atomic write (see
/// [`write_atomic`](super::format::write_atomic)): `.<file>.tmp-<pid>`.
///
/// ```
/// use sluice_streaming::checkpoint::names::is_temporary;
/// assert!(is_temporary(".manifest-00000000000000000001.ckpt.tmp-4242"));
/// assert!(!is_temporary("manifest-00000000000000000001.ckpt"));
/// ```
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// The file name of manifest `seq`.
///
/// ```
/// use sluice_streaming::checkpoint::names::{manifest, parse_manifest};
/// assert_eq!(manifest(7), "manifest-00000000000000000007.ckpt");
/// assert_eq!(parse_manifest(&manifest(7)), Some(7));
/// assert_eq!(parse_manifest("manifest-x.ckpt"), None);
/// ```
pub fn manifest(seq: u64) -> String {
    format!("manifest-{seq:020}.ckpt")
}

/// The sequence number of a manifest's file name.
pub fn parse_manifest(name: &str) -> Option<u64> {
    name.strip_prefix("manifest-")?
        .strip_suffix(".ckpt")?
        .parse()
        .ok()
}

/// The file name of the record of batch `time_ms` (inside [`BATCHES_DIR`]).
pub fn batch_record(time_ms: i64) -> String {
    format!("{time_ms}.ckpt")
}

/// The batch time of a batch record's file name.
pub fn parse_batch_record(name: &str) -> Option<i64> {
    name.strip_suffix(".ckpt")?.parse().ok()
}

/// The directory name of an operator's state: its name with every character other than ASCII
/// letters, digits, `-` and `_` replaced by `_`.
pub fn operator_dir(op: &str) -> String {
    op.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What a state file's name says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateFileName {
    /// The operator's directory ([`operator_dir`] of its name).
    pub operator_dir: String,
    /// The key group.
    pub group: usize,
    /// The checkpoint that wrote it.
    pub sequence: u64,
    /// A full snapshot (or a delta).
    pub full: bool,
}

impl StateFileName {
    /// The path of the file, relative to the checkpoint directory.
    ///
    /// ```
    /// use sluice_streaming::checkpoint::names::StateFileName;
    /// let n = StateFileName { operator_dir: "counts".into(), group: 3, sequence: 9, full: true };
    /// assert_eq!(n.path(), "state/counts/g3-9-full.ckpt");
    /// assert_eq!(StateFileName::parse(&n.path()), Some(n));
    /// assert_eq!(StateFileName::parse("state/counts/g3-9-half.ckpt"), None);
    /// ```
    pub fn path(&self) -> String {
        format!(
            "{STATE_DIR}/{}/g{}-{}-{}.ckpt",
            self.operator_dir,
            self.group,
            self.sequence,
            if self.full { "full" } else { "delta" }
        )
    }

    /// Parses a path made by [`path`](Self::path).
    pub fn parse(rel: &str) -> Option<StateFileName> {
        let rest = rel.strip_prefix(STATE_DIR)?.strip_prefix('/')?;
        let (dir, file) = rest.split_once('/')?;
        let stem = file.strip_prefix('g')?.strip_suffix(".ckpt")?;
        let mut parts = stem.splitn(3, '-');
        let group = parts.next()?.parse().ok()?;
        let sequence = parts.next()?.parse().ok()?;
        let full = match parts.next()? {
            "full" => true,
            "delta" => false,
            _ => return None,
        };
        Some(StateFileName {
            operator_dir: dir.to_string(),
            group,
            sequence,
            full,
        })
    }
}

/// The directory of the write-ahead log of input `input`, relative to the checkpoint
/// directory (the name is sanitised like [`operator_dir`]).
///
/// ```
/// use sluice_streaming::checkpoint::names::received_data_dir;
/// assert_eq!(received_data_dir("input-0"), "receivedData/input-0");
/// assert_eq!(received_data_dir("a b"), "receivedData/a_b");
/// ```
pub fn received_data_dir(input: &str) -> String {
    format!("{RECEIVED_DATA_DIR}/{}", operator_dir(input))
}

/// The file name of the log segment whose first record has sequence number `first_seq`.
///
/// ```
/// use sluice_streaming::checkpoint::names::{log_segment, parse_log_segment};
/// assert_eq!(log_segment(42), "log-00000000000000000042.wal");
/// assert_eq!(parse_log_segment(&log_segment(42)), Some(42));
/// assert_eq!(parse_log_segment("log-x.wal"), None);
/// assert_eq!(parse_log_segment("log-1.ckpt"), None);
/// ```
pub fn log_segment(first_seq: u64) -> String {
    format!("log-{first_seq:020}.wal")
}

/// The first sequence number of a log segment's file name.
pub fn parse_log_segment(name: &str) -> Option<u64> {
    name.strip_prefix("log-")?
        .strip_suffix(".wal")?
        .parse()
        .ok()
}
