//! A checkpoint directory on disk.
//!
//! ```text
//! <dir>/manifest-00000000000000000007.ckpt   the index of checkpoint 7 (framed JSON)
//! <dir>/state/<operator>/g<group>-<seq>-full.ckpt
//! <dir>/state/<operator>/g<group>-<seq>-delta.ckpt
//! <dir>/batches/<time>.ckpt                   what the sources read for a generated batch
//! ```
//!
//! Every file is written atomically and framed with a checksum; the manifest is written last.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sluice_core::{Error, Result};

use super::format::{corrupt, frame, read_framed, write_atomic};
use super::manifest::{unreferenced, Manifest};

/// A checkpoint directory.
#[derive(Debug, Clone)]
pub struct CheckpointDir {
    dir: PathBuf,
}

/// Sources' records of one generated batch, by source name.
pub type BatchRecord = BTreeMap<String, serde_json::Value>;

fn manifest_name(seq: u64) -> String {
    format!("manifest-{seq:020}.ckpt")
}

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
    /// Opens (creating if needed) a checkpoint directory.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io("creating checkpoint directory", &dir, e))?;
        Ok(CheckpointDir { dir })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Sequence numbers of the manifests present, ascending.
    fn manifest_seqs(&self) -> Result<Vec<u64>> {
        Ok(list(&self.dir)?
            .iter()
            .filter_map(|n| {
                n.strip_prefix("manifest-")
                    .and_then(|r| r.strip_suffix(".ckpt"))
                    .and_then(|r| r.parse().ok())
            })
            .collect())
    }

    /// Reads a manifest.
    fn read_manifest(&self, seq: u64) -> Result<Manifest> {
        let path = self.dir.join(manifest_name(seq));
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

    /// Writes a state file (path relative to the directory).
    pub fn write_state(&self, rel: &str, payload: &[u8]) -> Result<()> {
        write_atomic(&self.dir.join(rel), &frame(payload))
    }

    /// Reads a state file.
    pub fn read_state(&self, rel: &str) -> Result<Vec<u8>> {
        read_framed(&self.dir.join(rel))
    }

    /// Writes a manifest (last step of a checkpoint).
    pub fn write_manifest(&self, m: &Manifest) -> Result<()> {
        let json = serde_json::to_vec_pretty(m)
            .map_err(|e| Error::Serialization(format!("manifest: {e}")))?;
        write_atomic(&self.dir.join(manifest_name(m.sequence)), &frame(&json))
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
            let _ = std::fs::remove_file(self.dir.join(manifest_name(s)));
        }
        let state_dir = self.dir.join("state");
        let mut files = Vec::new();
        for op in list(&state_dir)? {
            for f in list(&state_dir.join(&op))? {
                files.push(format!("state/{op}/{f}"));
            }
        }
        for f in unreferenced(&kept, &files) {
            let _ = std::fs::remove_file(self.dir.join(f));
        }
        if let Some(latest) = kept.last() {
            for (t, name) in self.batch_record_names()? {
                if t <= latest.batch_time_ms {
                    let _ = std::fs::remove_file(self.dir.join("batches").join(name));
                }
            }
        }
        Ok(())
    }

    fn batch_record_names(&self) -> Result<Vec<(i64, String)>> {
        Ok(list(&self.dir.join("batches"))?
            .into_iter()
            .filter_map(|n| {
                let t = n.strip_suffix(".ckpt")?.parse().ok()?;
                Some((t, n))
            })
            .collect())
    }

    /// Records what the sources read for batch `time_ms` (before the batch runs).
    pub fn write_batch_record(&self, time_ms: i64, record: &BatchRecord) -> Result<()> {
        let json = serde_json::to_vec(record)
            .map_err(|e| Error::Serialization(format!("batch record: {e}")))?;
        write_atomic(
            &self.dir.join("batches").join(format!("{time_ms}.ckpt")),
            &frame(&json),
        )
    }

    /// The batch records after `time_ms`, by batch time.
    pub fn batch_records_after(&self, time_ms: i64) -> Result<BTreeMap<i64, BatchRecord>> {
        let mut out = BTreeMap::new();
        for (t, name) in self.batch_record_names()? {
            if t > time_ms {
                let path = self.dir.join("batches").join(name);
                let payload = read_framed(&path)?;
                let rec: BatchRecord = serde_json::from_slice(&payload)
                    .map_err(|e| corrupt(&path, format!("unreadable batch record: {e}")))?;
                out.insert(t, rec);
            }
        }
        Ok(out)
    }
}
