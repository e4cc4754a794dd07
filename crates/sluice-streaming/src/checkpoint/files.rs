//! Where a checkpoint's files live: the few operations the checkpoint protocol needs from its
//! storage, on a local directory or (with the `object-store` feature) in object storage.
//!
//! Files are named by slash-separated paths relative to the checkpoint's root
//! (`manifest-….ckpt`, `state/counts/g3-9-full.ckpt`, `batches/…`). Every write is whole or
//! absent: a local file is written to a temporary, synced and renamed; an object is one `PUT`.
//! A manifest — the single commit point of a checkpoint — is written with
//! [`CheckpointFiles::put_new`], which never replaces an existing file: in object storage it is
//! a conditional `PUT` (`If-None-Match: *`), so of two processes writing the same checkpoint
//! only one commits, and the other fails instead of overwriting it. A local directory is
//! locked against a second process instead ([`lock`](super::lock)).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_core::{Error, Result};

use super::format::write_atomic;
use super::lock::{lock, DirLock};
use super::names;

/// The storage of one checkpoint (see the module docs).
pub trait CheckpointFiles: Send + Sync + std::fmt::Debug {
    /// The checkpoint's location as given (a path or a URL), for messages.
    fn location(&self) -> &str;

    /// The full name of `rel`, for messages (a path or a URL).
    fn name_of(&self, rel: &str) -> PathBuf {
        PathBuf::from(format!("{}/{rel}", self.location().trim_end_matches('/')))
    }

    /// The local directory, when the checkpoint is on a file system (the receivers'
    /// write-ahead log lives beside it there).
    fn local_dir(&self) -> Option<&Path>;

    /// Writes `bytes` as `rel`, whole or not at all, replacing what was there.
    fn put(&self, rel: &str, bytes: &[u8]) -> Result<()>;

    /// Writes `bytes` as `rel` only if there is no `rel` yet; `false` (and nothing written)
    /// when there was.
    fn put_new(&self, rel: &str, bytes: &[u8]) -> Result<bool>;

    /// The bytes of `rel`; an error naming it when it is missing or unreadable.
    fn get(&self, rel: &str) -> Result<Vec<u8>>;

    /// Whether `rel` exists.
    fn exists(&self, rel: &str) -> Result<bool>;

    /// The names directly under the directory `rel` (`""`: the root), files and
    /// subdirectories alike, sorted; none when it does not exist.
    fn list(&self, rel: &str) -> Result<Vec<String>>;

    /// Deletes `rel` (nothing when it is absent).
    fn delete(&self, rel: &str) -> Result<()>;
}

/// Opens the storage of a checkpoint location: a local directory (a path or `file://`), or
/// an object-store URL (`s3://bucket/prefix` with the `object-store` feature and
/// sluice-storage's `s3`).
pub fn open(location: &str) -> Result<Arc<dyn CheckpointFiles>> {
    if let Some(rest) = location.strip_prefix("file://") {
        return Ok(Arc::new(LocalFiles::open(Path::new(rest), location)?));
    }
    if location.contains("://") {
        return open_object_store(location);
    }
    Ok(Arc::new(LocalFiles::open(Path::new(location), location)?))
}

#[cfg(feature = "object-store")]
fn open_object_store(location: &str) -> Result<Arc<dyn CheckpointFiles>> {
    Ok(Arc::new(super::object_files::ObjectFiles::open(location)?))
}

#[cfg(not(feature = "object-store"))]
fn open_object_store(location: &str) -> Result<Arc<dyn CheckpointFiles>> {
    Err(Error::Checkpoint {
        path: PathBuf::from(location),
        reason: "a checkpoint in object storage needs the `object-store` feature of \
                 sluice-streaming (the facade's `s3` feature for s3:// URLs)"
            .into(),
    })
}

/// A checkpoint in a local directory, locked against other processes while it is open.
#[derive(Debug)]
pub struct LocalFiles {
    dir: PathBuf,
    location: String,
    _lock: Arc<DirLock>,
}

fn list_dir(dir: &Path) -> Result<Vec<String>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io("listing", dir, e))? {
        let e = e.map_err(|e| Error::io("listing", dir, e))?;
        out.push(e.file_name().to_string_lossy().to_string());
    }
    out.sort();
    Ok(out)
}

impl LocalFiles {
    /// Opens (creating if needed) and locks the directory, and removes the temporaries a
    /// killed process's atomic writes left behind.
    pub fn open(dir: &Path, location: &str) -> Result<LocalFiles> {
        let dir = dir.to_path_buf();
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io("creating checkpoint directory", &dir, e))?;
        let lock = lock(&dir)?;
        let files = LocalFiles {
            dir,
            location: location.to_string(),
            _lock: lock,
        };
        files.remove_temporaries()?;
        Ok(files)
    }

    /// Removes what atomic writes of a killed process left behind (the lock says no other
    /// process writes here).
    fn remove_temporaries(&self) -> Result<()> {
        let mut dirs = vec![self.dir.clone(), self.dir.join(names::BATCHES_DIR)];
        for op in list_dir(&self.dir.join(names::STATE_DIR))? {
            dirs.push(self.dir.join(names::STATE_DIR).join(op));
        }
        for d in dirs.into_iter().filter(|d| d.is_dir()) {
            for name in list_dir(&d)? {
                if names::is_temporary(&name) {
                    let p = d.join(&name);
                    std::fs::remove_file(&p)
                        .map_err(|e| Error::io("removing stale temporary", &p, e))?;
                }
            }
        }
        Ok(())
    }

    fn path(&self, rel: &str) -> PathBuf {
        rel.split('/')
            .filter(|p| !p.is_empty())
            .fold(self.dir.clone(), |p, part| p.join(part))
    }
}

impl CheckpointFiles for LocalFiles {
    fn location(&self) -> &str {
        &self.location
    }

    fn name_of(&self, rel: &str) -> PathBuf {
        self.path(rel)
    }

    fn local_dir(&self) -> Option<&Path> {
        Some(&self.dir)
    }

    fn put(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.path(rel), bytes)
    }

    fn put_new(&self, rel: &str, bytes: &[u8]) -> Result<bool> {
        // The directory's lock keeps other processes out: checking first is enough here.
        if self.path(rel).exists() {
            return Ok(false);
        }
        self.put(rel, bytes).map(|()| true)
    }

    fn get(&self, rel: &str) -> Result<Vec<u8>> {
        let p = self.path(rel);
        std::fs::read(&p).map_err(|e| Error::io("reading checkpoint file", &p, e))
    }

    fn exists(&self, rel: &str) -> Result<bool> {
        Ok(self.path(rel).exists())
    }

    fn list(&self, rel: &str) -> Result<Vec<String>> {
        list_dir(&self.path(rel))
    }

    fn delete(&self, rel: &str) -> Result<()> {
        let p = self.path(rel);
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io("removing checkpoint file", &p, e))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn local_files_put_get_list_delete_and_put_new_never_replaces() {
        let tmp = tempfile::tempdir().unwrap();
        let f = open(tmp.path().to_str().unwrap()).unwrap();
        assert_eq!(f.local_dir(), Some(tmp.path()));
        f.put("state/op/a.ckpt", b"one").unwrap();
        f.put("m.ckpt", b"m").unwrap();
        assert_eq!(f.get("state/op/a.ckpt").unwrap(), b"one");
        assert_eq!(f.list("").unwrap(), [".lock", "m.ckpt", "state"]);
        assert_eq!(f.list("state/op").unwrap(), ["a.ckpt"]);
        assert!(f.list("nothing").unwrap().is_empty());
        assert!(f.put_new("n.ckpt", b"1").unwrap());
        assert!(!f.put_new("n.ckpt", b"2").unwrap());
        assert_eq!(f.get("n.ckpt").unwrap(), b"1");
        f.delete("n.ckpt").unwrap();
        f.delete("n.ckpt").unwrap();
        assert!(!f.exists("n.ckpt").unwrap());
        let missing = f.get("n.ckpt").unwrap_err().to_string();
        assert!(missing.contains("n.ckpt"), "{missing}");
    }

    #[cfg(not(feature = "object-store"))]
    #[test]
    fn a_url_without_the_feature_is_a_clear_error() {
        let e = open("s3://bucket/ck").unwrap_err().to_string();
        assert!(e.contains("object-store"), "{e}");
    }
}
