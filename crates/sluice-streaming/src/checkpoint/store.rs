//! A checkpoint directory (its files are named in [`names`]), on a local file system or in
//! object storage ([`files`](mod@super::files)).
//!
//! Every file is written whole or not at all and framed with a checksum; the manifest is
//! written last, and never over an existing one. A local directory is locked while a job uses
//! it ([`lock`](super::lock)).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_core::{Error, Result};

use super::files::{self, CheckpointFiles};
use super::format::{corrupt, frame, split_state_payload, state_payload, unframe, StateHeader};
use super::manifest::{unreferenced, Manifest};
use super::names::{self, BATCHES_DIR, STATE_DIR};

/// A checkpoint directory; a local one is locked against other processes while any handle on
/// it lives.
#[derive(Debug, Clone)]
pub struct CheckpointDir {
    files: Arc<dyn CheckpointFiles>,
    /// The location, as a path (a URL for object storage), for messages.
    location: PathBuf,
}

/// Sources' records of one generated batch, by source name.
pub type BatchRecord = BTreeMap<String, serde_json::Value>;

impl CheckpointDir {
    /// Opens (creating if needed) a checkpoint directory: a local path, which is locked
    /// (another process using it is an error), or an object-store URL (`s3://bucket/prefix`,
    /// with the `object-store` feature).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let given = dir.as_ref().to_string_lossy().to_string();
        let files = files::open(&given)?;
        let location = files
            .local_dir()
            .map_or_else(|| PathBuf::from(&given), Path::to_path_buf);
        Ok(CheckpointDir { files, location })
    }

    /// Reads and unframes `rel`.
    fn read_framed(&self, rel: &str) -> Result<Vec<u8>> {
        let bytes = self.files.get(rel)?;
        unframe(&bytes, &self.files.name_of(rel)).map(<[u8]>::to_vec)
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
            || !self.files.exists(names::COMMITTED_MARKER)?
        {
            return Ok(());
        }
        let state = self.state_files()?;
        let batches = self.batch_record_names()?;
        if state.is_empty() && batches.is_empty() {
            return Ok(());
        }
        Err(Error::Checkpoint {
            path: self.location.clone(),
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

    /// The directory (for object storage, its URL as a path), for messages.
    pub fn path(&self) -> &Path {
        &self.location
    }

    /// The local directory, when the checkpoint is on a file system.
    pub fn local_dir(&self) -> Option<&Path> {
        self.files.local_dir()
    }

    /// Sequence numbers of the manifests present, ascending.
    fn manifest_seqs(&self) -> Result<Vec<u64>> {
        Ok(self
            .files
            .list("")?
            .iter()
            .filter_map(|n| names::parse_manifest(n))
            .collect())
    }

    /// Reads a manifest.
    fn read_manifest(&self, seq: u64) -> Result<Manifest> {
        let rel = names::manifest(seq);
        let payload = self.read_framed(&rel)?;
        serde_json::from_slice(&payload).map_err(|e| {
            corrupt(
                &self.files.name_of(&rel),
                format!("unreadable manifest: {e}"),
            )
        })
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
        self.files
            .put(&rel, &frame(&state_payload(header, data)?))?;
        Ok(rel)
    }

    /// Reads the state file `rel` of operator `operator`, checking that it holds what its
    /// name says (operator, key group, checkpoint, full or delta).
    pub fn read_state(&self, operator: &str, rel: &str) -> Result<Vec<u8>> {
        let path = self.files.name_of(rel);
        let name = names::StateFileName::parse(rel)
            .ok_or_else(|| corrupt(&path, "not the name of a state file"))?;
        let expected = StateHeader {
            operator: operator.to_string(),
            group: name.group,
            sequence: name.sequence,
            full: name.full,
        };
        let bytes = self.files.get(rel)?;
        let payload = unframe(&bytes, &path)?;
        split_state_payload(payload, &path, &expected).map(<[u8]>::to_vec)
    }

    /// Every state file, relative to the directory.
    fn state_files(&self) -> Result<Vec<String>> {
        let mut files = Vec::new();
        for op in self.files.list(STATE_DIR)? {
            for f in self.files.list(&format!("{STATE_DIR}/{op}"))? {
                if !names::is_temporary(&f) {
                    files.push(format!("{STATE_DIR}/{op}/{f}"));
                }
            }
        }
        Ok(files)
    }

    /// Writes a manifest (last step of a checkpoint). A manifest of the same sequence number
    /// already there is an error: another process is checkpointing the same job here.
    pub fn write_manifest(&self, m: &Manifest) -> Result<()> {
        let json = serde_json::to_vec_pretty(m)
            .map_err(|e| Error::Serialization(format!("manifest: {e}")))?;
        let rel = names::manifest(m.sequence);
        if !self.files.put_new(&rel, &frame(&json))? {
            return Err(Error::Checkpoint {
                path: self.files.name_of(&rel),
                reason: "this checkpoint was already committed by another process: two \
                         processes are running the same job on this checkpoint location"
                    .into(),
            });
        }
        // Only after the manifest: a marker without any manifest means manifests were lost,
        // never that the first one was still being written when the process died.
        if !self.files.exists(names::COMMITTED_MARKER)? {
            self.files.put(
                names::COMMITTED_MARKER,
                &frame(b"a manifest was written here"),
            )?;
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
            let _ = self.files.delete(&names::manifest(s));
        }
        let files = self.state_files()?;
        for f in unreferenced(&kept, &files) {
            let _ = self.files.delete(f);
        }
        if let Some(latest) = kept.last() {
            for (t, name) in self.batch_record_names()? {
                if t <= latest.batch_time_ms {
                    let _ = self.files.delete(&format!("{BATCHES_DIR}/{name}"));
                }
            }
        }
        Ok(())
    }

    fn batch_record_names(&self) -> Result<Vec<(i64, String)>> {
        Ok(self
            .files
            .list(BATCHES_DIR)?
            .into_iter()
            .filter_map(|n| Some((names::parse_batch_record(&n)?, n)))
            .collect())
    }

    /// Records what the sources read for batch `time_ms` (before the batch runs).
    pub fn write_batch_record(&self, time_ms: i64, record: &BatchRecord) -> Result<()> {
        let json = serde_json::to_vec(record)
            .map_err(|e| Error::Serialization(format!("batch record: {e}")))?;
        self.files.put(
            &format!("{BATCHES_DIR}/{}", names::batch_record(time_ms)),
            &frame(&json),
        )
    }

    /// The batch records after `time_ms`, by batch time.
    pub fn batch_records_after(&self, time_ms: i64) -> Result<BTreeMap<i64, BatchRecord>> {
        let mut out = BTreeMap::new();
        for (t, name) in self.batch_record_names()? {
            if t > time_ms {
                let rel = format!("{BATCHES_DIR}/{name}");
                let payload = self.read_framed(&rel)?;
                let rec: BatchRecord = serde_json::from_slice(&payload).map_err(|e| {
                    corrupt(
                        &self.files.name_of(&rel),
                        format!("unreadable batch record: {e}"),
                    )
                })?;
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
        // A second commit of the same checkpoint is refused, the first one kept.
        let again = dir.write_manifest(&manifest(1)).unwrap_err().to_string();
        assert!(again.contains("another process"), "{again}");
        assert!(dir.latest().unwrap().is_some());
        // Committed, and then the manifests lost: refused.
        std::fs::remove_file(tmp.path().join(names::manifest(1))).unwrap();
        assert!(dir.check_unreferenced(false).is_err());
    }
}
