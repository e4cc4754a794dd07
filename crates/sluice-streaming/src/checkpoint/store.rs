//! A checkpoint directory on disk (its files are named in [`names`]).
//!
//! Every file is written atomically and framed with a checksum; the manifest is written last.
//! The directory is locked while a job uses it ([`lock`](super::lock)).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_core::{Error, Result};

use super::format::{
    corrupt, frame, read_framed, split_state_payload, state_payload, unframe, write_atomic,
    StateHeader,
};
use super::lock::{lock, DirLock};
use super::manifest::{unreferenced, Manifest};
use super::names::{self, BATCHES_DIR, STATE_DIR};

/// A checkpoint directory, locked against other processes while any handle on it lives.
#[derive(Debug, Clone)]
pub struct CheckpointDir {
    dir: PathBuf,
    _lock: Arc<DirLock>,
}

/// Sources' records of one generated batch, by source name.
pub type BatchRecord = BTreeMap<String, serde_json::Value>;

fn list(dir: &Path) -> Result<Vec<String>> {
    if !dir.exists() {
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

impl CheckpointDir {
    /// Opens (creating if needed) a checkpoint directory and locks it: another process using
    /// it is an error.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io("creating checkpoint directory", &dir, e))?;
        let lock = lock(&dir)?;
        let cdir = CheckpointDir { dir, _lock: lock };
        cdir.remove_temporaries()?;
        Ok(cdir)
    }

    /// Removes what atomic writes of a killed process left behind (the lock says no other
    /// process writes here).
    fn remove_temporaries(&self) -> Result<()> {
        let mut dirs = vec![self.dir.clone(), self.dir.join(BATCHES_DIR)];
        for op in list(&self.dir.join(STATE_DIR))? {
            dirs.push(self.dir.join(STATE_DIR).join(op));
        }
        for d in dirs.into_iter().filter(|d| d.is_dir()) {
            for name in list(&d)? {
                if names::is_temporary(&name) {
                    let p = d.join(&name);
                    std::fs::remove_file(&p)
                        .map_err(|e| Error::io("removing stale temporary", &p, e))?;
                }
            }
        }
        Ok(())
    }

    /// Refuses a directory that has state files or batch records but no manifest: a
    /// checkpoint whose index was lost. Starting over there would delete that state at the
    /// first checkpoint; `discard` (the setting
    /// `sluice.checkpoint.discardUnreferencedState`) allows it.
    ///
    /// A directory that never had a manifest (the first run crashed before its first
    /// checkpoint completed) holds nothing committed: starting over there is right, and
    /// allowed.
    pub fn check_unreferenced(&self, discard: bool) -> Result<()> {
        if discard
            || !self.manifest_seqs()?.is_empty()
            || !self.dir.join(names::COMMITTED_MARKER).exists()
        {
            return Ok(());
        }
        let state = self.state_files()?;
        let batches = self.batch_record_names()?;
        if state.is_empty() && batches.is_empty() {
            return Ok(());
        }
        Err(Error::Checkpoint {
            path: self.dir.clone(),
            reason: format!(
                "the directory holds {} state file(s) and {} batch record(s) but its manifests \
                 are gone, so it cannot be restored; starting over would delete them. Restore the \
                 manifest files, use another directory, or set \
                 sluice.checkpoint.discardUnreferencedState=true to start over",
                state.len(),
                batches.len()
            ),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Sequence numbers of the manifests present, ascending.
    fn manifest_seqs(&self) -> Result<Vec<u64>> {
        Ok(list(&self.dir)?
            .iter()
            .filter_map(|n| names::parse_manifest(n))
            .collect())
    }

    /// Reads a manifest.
    fn read_manifest(&self, seq: u64) -> Result<Manifest> {
        let path = self.dir.join(names::manifest(seq));
        let payload = read_framed(&path)?;
        serde_json::from_slice(&payload)
            .map_err(|e| corrupt(&path, format!("unreadable manifest: {e}")))
    }

    /// The latest checkpoint, if any. A corrupt latest manifest is an error, not a reason to
    /// fall back silently.
    pub fn latest(&self) -> Result<Option<Manifest>> {
        match self.manifest_seqs()?.last() {
            None => Ok(None),
            Some(&seq) => self.read_manifest(seq).map(Some),
        }
    }

    /// Writes a state file of operator `header.operator`; returns its path relative to the
    /// directory (what the manifest lists).
    pub fn write_state(&self, header: &StateHeader, data: &[u8]) -> Result<String> {
        let rel = names::StateFileName {
            operator_dir: names::operator_dir(&header.operator),
            group: header.group,
            sequence: header.sequence,
            full: header.full,
        }
        .path();
        write_atomic(&self.dir.join(&rel), &frame(&state_payload(header, data)?))?;
        Ok(rel)
    }

    /// Reads the state file `rel` of operator `operator`, checking that it holds what its
    /// name says (operator, key group, checkpoint, full or delta).
    pub fn read_state(&self, operator: &str, rel: &str) -> Result<Vec<u8>> {
        let path = self.dir.join(rel);
        let name = names::StateFileName::parse(rel)
            .ok_or_else(|| corrupt(&path, "not the name of a state file"))?;
        let expected = StateHeader {
            operator: operator.to_string(),
            group: name.group,
            sequence: name.sequence,
            full: name.full,
        };
        let bytes =
            std::fs::read(&path).map_err(|e| Error::io("reading checkpoint file", &path, e))?;
        let payload = unframe(&bytes, &path)?;
        split_state_payload(payload, &path, &expected).map(<[u8]>::to_vec)
    }

    /// Every state file, relative to the directory.
    fn state_files(&self) -> Result<Vec<String>> {
        let state_dir = self.dir.join(STATE_DIR);
        let mut files = Vec::new();
        for op in list(&state_dir)? {
            for f in list(&state_dir.join(&op))? {
                files.push(format!("{STATE_DIR}/{op}/{f}"));
            }
        }
        Ok(files)
    }

    /// Writes a manifest (last step of a checkpoint).
    pub fn write_manifest(&self, m: &Manifest) -> Result<()> {
        let json = serde_json::to_vec_pretty(m)
            .map_err(|e| Error::Serialization(format!("manifest: {e}")))?;
        write_atomic(&self.dir.join(names::manifest(m.sequence)), &frame(&json))?;
        // Only after the manifest: a marker without any manifest means manifests were lost,
        // never that the first one was still being written when the process died.
        let marker = self.dir.join(names::COMMITTED_MARKER);
        if !marker.exists() {
            write_atomic(&marker, &frame(b"a manifest was written here"))?;
        }
        Ok(())
    }

    /// Keeps the last `keep` checkpoints: removes older manifests, state files no kept
    /// manifest refers to, and batch records the latest checkpoint already covers.
    pub fn clean(&self, keep: usize) -> Result<()> {
        let seqs = self.manifest_seqs()?;
        let cut = seqs.len().saturating_sub(keep.max(1));
        let mut kept = Vec::new();
        for &s in &seqs[cut..] {
            kept.push(self.read_manifest(s)?);
        }
        for &s in &seqs[..cut] {
            let _ = std::fs::remove_file(self.dir.join(names::manifest(s)));
        }
        let files = self.state_files()?;
        for f in unreferenced(&kept, &files) {
            let _ = std::fs::remove_file(self.dir.join(f));
        }
        if let Some(latest) = kept.last() {
            for (t, name) in self.batch_record_names()? {
                if t <= latest.batch_time_ms {
                    let _ = std::fs::remove_file(self.dir.join(BATCHES_DIR).join(name));
                }
            }
        }
        Ok(())
    }

    fn batch_record_names(&self) -> Result<Vec<(i64, String)>> {
        Ok(list(&self.dir.join(BATCHES_DIR))?
            .into_iter()
            .filter_map(|n| Some((names::parse_batch_record(&n)?, n)))
            .collect())
    }

    /// Records what the sources read for batch `time_ms` (before the batch runs).
    pub fn write_batch_record(&self, time_ms: i64, record: &BatchRecord) -> Result<()> {
        let json = serde_json::to_vec(record)
            .map_err(|e| Error::Serialization(format!("batch record: {e}")))?;
        write_atomic(
            &self
                .dir
                .join(BATCHES_DIR)
                .join(names::batch_record(time_ms)),
            &frame(&json),
        )
    }

    /// The batch records after `time_ms`, by batch time.
    pub fn batch_records_after(&self, time_ms: i64) -> Result<BTreeMap<i64, BatchRecord>> {
        let mut out = BTreeMap::new();
        for (t, name) in self.batch_record_names()? {
            if t > time_ms {
                let path = self.dir.join(BATCHES_DIR).join(name);
                let payload = read_framed(&path)?;
                let rec: BatchRecord = serde_json::from_slice(&payload)
                    .map_err(|e| corrupt(&path, format!("unreadable batch record: {e}")))?;
                out.insert(t, rec);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn manifest(sequence: u64) -> Manifest {
        Manifest {
            format_version: 1,
            sequence,
            batch_interval_ms: 1000,
            zero_time_ms: 0,
            batch_time_ms: 1000,
            operators: BTreeMap::new(),
            sources: BTreeMap::new(),
        }
    }

    #[test]
    fn the_committed_marker_is_written_only_after_the_first_manifest() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = CheckpointDir::open(tmp.path()).unwrap();
        // The first manifest cannot be written (its temporary's path is taken), as when the
        // process dies while writing it.
        let blocked = tmp.path().join(format!(
            ".{}.tmp-{}",
            names::manifest(1),
            std::process::id()
        ));
        std::fs::create_dir_all(blocked.join("in-the-way")).unwrap();
        std::fs::create_dir_all(tmp.path().join(STATE_DIR).join("op")).unwrap();
        std::fs::write(
            tmp.path().join(STATE_DIR).join("op").join("g0-1-full.ckpt"),
            b"x",
        )
        .unwrap();
        assert!(dir.write_manifest(&manifest(1)).is_err());
        assert!(!tmp.path().join(names::COMMITTED_MARKER).exists());
        // Nothing was committed: the next run may start over here.
        dir.check_unreferenced(false).unwrap();
        std::fs::remove_dir_all(&blocked).unwrap();
        dir.write_manifest(&manifest(1)).unwrap();
        assert!(tmp.path().join(names::COMMITTED_MARKER).exists());
        // Committed, and then the manifests lost: refused.
        std::fs::remove_file(tmp.path().join(names::manifest(1))).unwrap();
        assert!(dir.check_unreferenced(false).is_err());
    }
}
