//! An exclusive lock on a checkpoint directory, so that two processes never use one directory
//! at once (each would delete the other's state files as unreferenced, and every later restart
//! would fail).
//!
//! The lock is an OS file lock on `<dir>/.lock`, released by the OS when the process ends,
//! however it ends: a `kill -9` leaves no stale lock. Within one process, every handle on the
//! same directory shares one lock (a program that calls `checkpoint(dir)` inside the function
//! it hands to `get_or_create(dir, ...)` opens the directory twice).

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use sluice_core::{Error, Result};

use super::names::LOCK_FILE;

/// A held lock; released when the last handle is dropped.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

fn held() -> &'static Mutex<HashMap<PathBuf, Weak<DirLock>>> {
    static HELD: OnceLock<Mutex<HashMap<PathBuf, Weak<DirLock>>>> = OnceLock::new();
    HELD.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Who the lock file says holds it (`pid N`), as written by the holder.
fn recorded_owner(file: &mut File) -> String {
    let mut owner = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.read_to_string(&mut owner);
    owner
}

/// Takes the lock. When the holder is this very process — which holds no handle of its own
/// any more — the holder is a child process forked by another thread that has not yet
/// replaced itself with its program (the lock is shared with a forked child until its `exec`
/// closes it): that lasts moments, so the lock is tried again for up to two seconds.
fn try_lock_own(file: &mut File) -> std::result::Result<(), TryLockError> {
    let ours = format!("pid {}", std::process::id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match file.try_lock() {
            Err(TryLockError::WouldBlock)
                if recorded_owner(file).trim() == ours && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// Takes the lock of the checkpoint directory `dir` (which exists), or shares the one this
/// process already holds. Another process holding it is an error naming that process.
pub fn lock(dir: &Path) -> Result<Arc<DirLock>> {
    let canonical = std::fs::canonicalize(dir)
        .map_err(|e| Error::io("resolving checkpoint directory", dir, e))?;
    let mut map = held()
        .lock()
        .map_err(|_| Error::Internal("the checkpoint lock table is poisoned".into()))?;
    map.retain(|_, w| w.strong_count() > 0);
    if let Some(l) = map.get(&canonical).and_then(Weak::upgrade) {
        return Ok(l);
    }
    let path = canonical.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::io("opening the lock file", &path, e))?;
    match try_lock_own(&mut file) {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let owner = recorded_owner(&mut file);
            let owner = owner.trim();
            return Err(Error::Checkpoint {
                path: canonical,
                reason: format!(
                    "the checkpoint directory is in use by another process{}; two jobs must not \
                     share a checkpoint directory (stop the other one, or give this job its own \
                     directory)",
                    if owner.is_empty() {
                        String::new()
                    } else {
                        format!(" ({owner})")
                    }
                ),
            });
        }
        Err(TryLockError::Error(e)) => return Err(Error::io("locking", &path, e)),
    }
    // Who holds it, for the message the next process gets.
    let _ = file.set_len(0);
    let _ = file.seek(SeekFrom::Start(0));
    let _ = writeln!(file, "pid {}", std::process::id());
    let _ = file.sync_all();
    let l = Arc::new(DirLock { _file: file });
    map.insert(canonical, Arc::downgrade(&l));
    Ok(l)
}
