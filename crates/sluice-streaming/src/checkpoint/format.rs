//! The framing of checkpoint files, and atomic writes.
//!
//! Every file is `SLCP` (4 bytes), the format version (u32), the payload length (u64), the
//! payload's CRC-32 (u32), then the payload; integers little-endian. A truncated file, a
//! foreign file or a flipped bit is detected and reported with the file's path — never read
//! as empty state.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sluice_core::{Error, Result};

/// The magic bytes of a checkpoint file.
pub const MAGIC: &[u8; 4] = b"SLCP";
/// The checkpoint format this build writes and reads. Version 2 added the header of state
/// files ([`StateHeader`]).
pub const FORMAT_VERSION: u32 = 2;
const HEADER: usize = 4 + 4 + 8 + 4;

/// A checkpoint error about `path`.
pub fn corrupt(path: &Path, reason: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Frames a payload.
///
/// ```
/// use sluice_streaming::checkpoint::format::{frame, unframe};
/// let bytes = frame(b"hello");
/// assert_eq!(unframe(&bytes, std::path::Path::new("x")).unwrap(), b"hello");
/// let mut bad = bytes.clone();
/// *bad.last_mut().unwrap() ^= 1;
/// assert!(unframe(&bad, std::path::Path::new("x")).is_err());
/// ```
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// Refuses a format version this build does not read.
fn check_version(version: u32, path: &Path) -> Result<()> {
    if version == FORMAT_VERSION {
        return Ok(());
    }
    Err(corrupt(
        path,
        format!("checkpoint format version {version}; this build reads version {FORMAT_VERSION}"),
    ))
}

/// Checks a framed file and returns its payload; `path` is for the error message.
pub fn unframe<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a [u8]> {
    if bytes.len() < HEADER {
        return Err(corrupt(
            path,
            format!("truncated: {} bytes, shorter than the header", bytes.len()),
        ));
    }
    if &bytes[..4] != MAGIC {
        return Err(corrupt(path, "not a checkpoint file (bad magic bytes)"));
    }
    check_version(le_u32(&bytes[4..8]), path)?;
    let len = le_u64(&bytes[8..16]);
    let crc = le_u32(&bytes[16..20]);
    let payload = &bytes[HEADER..];
    if payload.len() as u64 != len {
        return Err(corrupt(
            path,
            format!(
                "truncated or extended: payload of {} bytes, header says {len}",
                payload.len()
            ),
        ));
    }
    if crc32fast::hash(payload) != crc {
        return Err(corrupt(path, "checksum mismatch: the file is corrupt"));
    }
    Ok(payload)
}

/// What starts a byte slice made of consecutive frames (a write-ahead log segment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramePrefix<'a> {
    /// A whole frame: its payload and its length in bytes (header included).
    Whole {
        /// The checked payload.
        payload: &'a [u8],
        /// Bytes of the frame, header included.
        len: usize,
    },
    /// The beginning of a frame whose end is missing: a write cut short.
    Partial,
}

/// Reads the frame at the start of `bytes` (which may be followed by more frames). A frame
/// whose end is missing is [`FramePrefix::Partial`]; bad magic bytes, another version or a
/// checksum that does not match are errors naming `path`.
///
/// ```
/// use std::path::Path;
/// use sluice_streaming::checkpoint::format::{frame, next_frame, FramePrefix};
/// let mut log = frame(b"one");
/// log.extend(frame(b"two"));
/// let FramePrefix::Whole { payload, len } = next_frame(&log, Path::new("x")).unwrap() else {
///     panic!()
/// };
/// assert_eq!(payload, b"one");
/// assert_eq!(next_frame(&log[len..log.len() - 1], Path::new("x")).unwrap(), FramePrefix::Partial);
/// ```
pub fn next_frame<'a>(bytes: &'a [u8], path: &Path) -> Result<FramePrefix<'a>> {
    let magic = bytes.len().min(4);
    if bytes[..magic] != MAGIC[..magic] {
        return Err(corrupt(path, "not a checkpoint frame (bad magic bytes)"));
    }
    if bytes.len() < HEADER {
        return Ok(FramePrefix::Partial);
    }
    check_version(le_u32(&bytes[4..8]), path)?;
    let len = usize::try_from(le_u64(&bytes[8..16])).unwrap_or(usize::MAX);
    let crc = le_u32(&bytes[16..20]);
    let Some(payload) = HEADER
        .checked_add(len)
        .and_then(|end| bytes.get(HEADER..end))
    else {
        return Ok(FramePrefix::Partial);
    };
    if crc32fast::hash(payload) != crc {
        return Err(corrupt(path, "checksum mismatch: the file is corrupt"));
    }
    Ok(FramePrefix::Whole {
        payload,
        len: HEADER + len,
    })
}

/// Writes a file atomically: a temporary file in the same directory, fsync, rename, and an
/// fsync of the directory, so that after a crash the file is either absent or complete.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::InvalidArgument(format!("{} has no directory", path.display())))?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating directory", dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io("creating", &tmp, e))?;
        f.write_all(bytes)
            .map_err(|e| Error::io("writing", &tmp, e))?;
        f.sync_all().map_err(|e| Error::io("syncing", &tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io("renaming into", path, e))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Reads and unframes a file.
pub fn read_framed(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("reading checkpoint file", path, e))?;
    unframe(&bytes, path).map(<[u8]>::to_vec)
}

/// What a state file says about itself, checked when it is read back: a file copied from
/// another operator, key group or checkpoint is refused instead of loading wrong state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateHeader {
    /// The operator's name.
    pub operator: String,
    /// The key group.
    pub group: usize,
    /// The checkpoint that wrote the file.
    pub sequence: u64,
    /// A full snapshot (or a delta).
    pub full: bool,
}

/// The payload of a state file: the header's length (u32, little-endian), the header (JSON),
/// then the state.
///
/// ```
/// use std::path::Path;
/// use sluice_streaming::checkpoint::format::{state_payload, split_state_payload, StateHeader};
/// let h = StateHeader { operator: "counts".into(), group: 3, sequence: 7, full: true };
/// let bytes = state_payload(&h, b"data").unwrap();
/// assert_eq!(split_state_payload(&bytes, Path::new("f"), &h).unwrap(), b"data");
/// let other = StateHeader { group: 4, ..h };
/// assert!(split_state_payload(&bytes, Path::new("f"), &other).is_err());
/// ```
pub fn state_payload(header: &StateHeader, data: &[u8]) -> Result<Vec<u8>> {
    let h = serde_json::to_vec(header)
        .map_err(|e| Error::Serialization(format!("state file header: {e}")))?;
    let len = u32::try_from(h.len())
        .map_err(|_| Error::Internal("state file header over 4 GiB".into()))?;
    let mut out = Vec::with_capacity(4 + h.len() + data.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    Ok(out)
}

/// Checks a state file's header against what the manifest expects of it and returns the
/// state; `path` is for the error message.
pub fn split_state_payload<'a>(
    payload: &'a [u8],
    path: &Path,
    expected: &StateHeader,
) -> Result<&'a [u8]> {
    if payload.len() < 4 {
        return Err(corrupt(path, "state file without a header"));
    }
    let len = le_u32(&payload[..4]) as usize;
    let end = 4usize
        .checked_add(len)
        .ok_or_else(|| corrupt(path, "state file header is truncated"))?;
    let Some(header) = payload.get(4..end) else {
        return Err(corrupt(path, "state file header is truncated"));
    };
    let found: StateHeader = serde_json::from_slice(header)
        .map_err(|e| corrupt(path, format!("unreadable state file header: {e}")))?;
    if &found != expected {
        return Err(corrupt(
            path,
            format!(
                "the file holds state of operator {:?}, key group {}, checkpoint {} ({}), but \
                 the manifest expects operator {:?}, key group {}, checkpoint {} ({}): was it \
                 copied or renamed?",
                found.operator,
                found.group,
                found.sequence,
                if found.full { "full" } else { "delta" },
                expected.operator,
                expected.group,
                expected.sequence,
                if expected.full { "full" } else { "delta" },
            ),
        ));
    }
    Ok(&payload[end..])
}
