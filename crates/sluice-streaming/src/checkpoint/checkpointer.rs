//! [`Checkpointer`]: the checkpoint protocol of one job, in one place.
//!
//! The scheduler calls it at four moments, and nowhere else touches the checkpoint directory:
//!
//! - **before a batch** runs ([`record_batch`](Checkpointer::record_batch)): what each
//!   replayable source reads for it is recorded, so that the batch can re-run on the same input
//!   after a crash;
//! - **after a batch** ([`after_batch`](Checkpointer::after_batch)): when a checkpoint is due
//!   ([`protocol::is_due`]), one is written. It is taken on the runner thread, before the next
//!   batch runs, so every operator's state is exactly "after `T`". Changed key groups are
//!   written first (a delta, or a full snapshot every [`FULL_EVERY`] checkpoints of a group),
//!   the sources' states next, the manifest last; then older checkpoints are removed, keeping
//!   [`KEEP`];
//! - **at a graceful stop** ([`at_stop`](Checkpointer::at_stop)): the last completed batch is
//!   checkpointed if the last checkpoint is older ([`protocol::final_checkpoint`]);
//! - **at restore** ([`restore`](Checkpointer::restore)): operators are matched by name and
//!   the job must fit the checkpoint ([`protocol::check_fit`]): the same batch interval, every
//!   operator present on both sides, with the same kind, key type and state type. Any
//!   difference is an error naming the operator and what differs. The job then resumes at
//!   `T + interval`, with the sources told what they read for batches that were generated but
//!   not completed, so those batches re-run on the same input.
//!
//! The decisions are the pure functions of [`protocol`] and [`manifest`](super::manifest);
//! this file does the I/O around them. A job whose sources write a log of their own (the
//! receivers' write-ahead log, [`wal`](super::wal)) also gets a checkpoint at its zero time
//! when it starts without one ([`on_start`](Checkpointer::on_start)), so that a crash before
//! its first regular checkpoint can be recovered from too.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use sluice_core::{Error, Result};

use super::format::{StateHeader, FORMAT_VERSION};
use super::manifest::{plan_groups, GroupWrite, Manifest, OperatorState};
use super::protocol;
use super::store::{BatchRecord, CheckpointDir};
use crate::graph::{Graph, StreamEnv};
use crate::time::{duration_ms, Time};

/// A group's chain is restarted with a full snapshot once it has this many files.
pub(crate) const FULL_EVERY: usize = 10;
/// Checkpoints kept on disk.
pub(crate) const KEEP: usize = 2;

/// Where a restored job resumes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Recovery {
    pub zero_time: Time,
    pub checkpoint_time: Time,
}

/// The checkpoint protocol of one job over its checkpoint directory (see the module docs).
pub(crate) struct Checkpointer {
    env: Arc<StreamEnv>,
    dir: CheckpointDir,
    /// The last checkpoint written or restored.
    last_manifest: Mutex<Option<Manifest>>,
    /// Set when the job was restored from a checkpoint.
    recovery: Mutex<Option<Recovery>>,
    /// The job's checkpoint interval, fixed by `on_start`.
    interval: OnceLock<Duration>,
}

impl Checkpointer {
    /// A checkpointer for the job of `env` over `dir` (opened, locked and cleaned of stale
    /// temporaries by [`CheckpointDir::open`]).
    pub(crate) fn new(env: Arc<StreamEnv>, dir: CheckpointDir) -> Checkpointer {
        // The receivers' write-ahead log is appended to: it lives beside a local checkpoint only.
        if let Some(local) = dir.local_dir() {
            env.set_checkpoint_path(local.to_path_buf());
        }
        Checkpointer {
            env,
            dir,
            last_manifest: Mutex::new(None),
            recovery: Mutex::new(None),
            interval: OnceLock::new(),
        }
    }

    /// Where the job resumes, when it was restored.
    pub(crate) fn recovery(&self) -> Option<Recovery> {
        *self.recovery.lock()
    }

    fn mismatch(&self, reason: String) -> Error {
        Error::Checkpoint {
            path: self.dir.path().to_path_buf(),
            reason,
        }
    }

    /// Checks, before the job starts, that it can checkpoint here: stateful operators are
    /// named, uniquely, and a job that was not restored does not start over state whose
    /// manifests are gone.
    pub(crate) fn check_start(&self) -> Result<()> {
        if self.recovery().is_none() {
            self.dir
                .check_unreferenced(self.env.settings.discard_unreferenced_state)?;
        }
        check_names(&self.env.graph())
    }

    /// At start, once the zero time is set and the sources started: operators track their
    /// changes, the interval is fixed, and a job whose sources keep a log of their own gets a
    /// checkpoint at its zero time when it has none, so that a crash before its first regular
    /// checkpoint restarts from there and replays the log.
    pub(crate) fn on_start(&self) -> Result<()> {
        let g = self.env.snapshot();
        for op in &g.operators {
            op.track_changes();
        }
        let asked = g
            .streams
            .iter()
            .filter_map(|s| s.checkpoint_interval())
            .min();
        let _ = self.interval.set(protocol::checkpoint_interval(
            self.env.batch_interval,
            asked,
        ));
        let logs = g
            .inputs
            .iter()
            .any(|i| i.replay().is_some_and(|r| r.writes_log()));
        if logs && self.last_manifest.lock().is_none() {
            let zero = self.zero_time()?;
            self.write(&g, zero)?;
        }
        Ok(())
    }

    /// The job's checkpoint interval ([`protocol::checkpoint_interval`]; fixed at start).
    pub(crate) fn interval(&self) -> Duration {
        self.interval
            .get()
            .copied()
            .unwrap_or_else(|| protocol::checkpoint_interval(self.env.batch_interval, None))
    }

    fn zero_time(&self) -> Result<Time> {
        self.env
            .zero_time()
            .ok_or_else(|| Error::Internal("checkpoint before start".into()))
    }

    /// Before batch `time` runs: records what each replayable source reads for it.
    pub(crate) fn record_batch(
        &self,
        inputs: &[Arc<dyn crate::graph::InputStream>],
        time: Time,
    ) -> Result<()> {
        let mut record = BatchRecord::new();
        for i in inputs {
            if let Some(r) = i.replay() {
                if let Some(v) = r.position_encoded(time)? {
                    record.insert(i.name(), v);
                }
            }
        }
        if record.is_empty() {
            return Ok(());
        }
        self.dir.write_batch_record(time.millis(), &record)
    }

    /// After batch `time` completed (its sources told): writes a checkpoint when one is due.
    pub(crate) fn after_batch(&self, time: Time) -> Result<()> {
        let zero = self.zero_time()?;
        if protocol::is_due(zero.millis(), time.millis(), self.interval()) {
            self.write(&self.env.snapshot(), time)?;
        }
        Ok(())
    }

    /// At a graceful stop, after the last batch: checkpoints the last completed batch if the
    /// last checkpoint is older ([`protocol::final_checkpoint`]), so that a restart does not
    /// redo it.
    pub(crate) fn at_stop(&self, last_completed: Option<Time>) -> Result<()> {
        let done = self.last_manifest.lock().as_ref().map(|m| m.batch_time_ms);
        match protocol::final_checkpoint(last_completed.map(Time::millis), done) {
            Some(t) => self.write(&self.env.snapshot(), Time::from_millis(t)),
            None => Ok(()),
        }
    }

    /// Writes a checkpoint of the state after batch `time`.
    fn write(&self, g: &Graph, time: Time) -> Result<()> {
        let zero = self.zero_time()?;
        let dir = &self.dir;
        let previous = self.last_manifest.lock().clone();
        let sequence = previous.as_ref().map_or(1, |m| m.sequence + 1);
        let mut states = BTreeMap::new();
        for op in &g.operators {
            let name = op.name();
            let prev_groups = previous
                .as_ref()
                .and_then(|m| m.operators.get(&name))
                .map(|o| o.groups.clone());
            let mut groups = prev_groups.clone().unwrap_or_default();
            let full_every = if op.always_full() { 1 } else { FULL_EVERY };
            for (group, write) in plan_groups(
                prev_groups.as_ref(),
                &op.changed_groups(),
                &op.full_groups(),
                full_every,
            ) {
                let full = write == GroupWrite::Full;
                let header = StateHeader {
                    operator: name.clone(),
                    group,
                    sequence,
                    full,
                };
                let rel = dir.write_state(&header, &op.encode_group(group, full)?)?;
                let chain = groups.entry(group).or_default();
                if full {
                    chain.clear();
                }
                chain.push(rel);
            }
            states.insert(
                name,
                OperatorState {
                    kind: op.kind().to_string(),
                    key_type: op.key_type().to_string(),
                    state_type: op.state_type().to_string(),
                    num_groups: op.num_groups(),
                    groups,
                },
            );
        }
        let mut sources = BTreeMap::new();
        for i in &g.inputs {
            if let Some(r) = i.replay() {
                let state = r.state_encoded(time).map_err(|e| Error::Checkpoint {
                    path: dir.path().to_path_buf(),
                    reason: format!("source {:?}: {e}", i.name()),
                })?;
                if let Some(v) = state {
                    sources.insert(i.name(), v);
                }
            }
        }
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            sequence,
            batch_interval_ms: duration_ms(self.env.batch_interval),
            zero_time_ms: zero.millis(),
            batch_time_ms: time.millis(),
            operators: states,
            sources,
        };
        dir.write_manifest(&manifest)?;
        *self.last_manifest.lock() = Some(manifest);
        dir.clean(KEEP)?;
        // What the new checkpoint covers is no longer needed in the sources' own logs.
        for i in &g.inputs {
            if let Some(r) = i.replay() {
                r.checkpoint_written(time)?;
            }
        }
        Ok(())
    }

    /// Restores the job's state from `manifest` (the program has built its graph); returns
    /// where to resume.
    pub(crate) fn restore(&self, manifest: Manifest) -> Result<Recovery> {
        let g = self.env.snapshot();
        check_names(&g)?;
        let shapes: Vec<protocol::OperatorShape> = g
            .operators
            .iter()
            .map(|o| protocol::OperatorShape {
                name: o.name(),
                kind: o.kind().to_string(),
                key_type: o.key_type().to_string(),
                state_type: o.state_type().to_string(),
                num_groups: o.num_groups(),
            })
            .collect();
        protocol::check_fit(&manifest, duration_ms(self.env.batch_interval), &shapes)
            .map_err(|reason| self.mismatch(reason))?;
        for op in &g.operators {
            let name = op.name();
            let Some(st) = manifest.operators.get(&name) else {
                continue; // `check_fit` made sure every operator has state
            };
            for (&group, files) in &st.groups {
                let mut contents = Vec::with_capacity(files.len());
                for f in files {
                    contents.push(self.dir.read_state(&name, f)?);
                }
                op.restore_group(group, &contents).map_err(|e| {
                    self.mismatch(format!("operator {name:?}, key group {group}: {e}"))
                })?;
            }
        }
        for i in &g.inputs {
            let (Some(r), Some(v)) = (i.replay(), manifest.sources.get(&i.name())) else {
                continue;
            };
            r.restore_encoded(v)
                .map_err(|e| self.mismatch(format!("source {:?}: {e}", i.name())))?;
        }
        for (t, record) in self.dir.batch_records_after(manifest.batch_time_ms)? {
            for i in &g.inputs {
                let (Some(r), Some(v)) = (i.replay(), record.get(&i.name())) else {
                    continue;
                };
                r.seek_encoded(Time::from_millis(t), v).map_err(|e| {
                    self.mismatch(format!("source {:?}, batch {t} ms: {e}", i.name()))
                })?;
            }
        }
        let recovery = Recovery {
            zero_time: Time::from_millis(manifest.zero_time_ms),
            checkpoint_time: Time::from_millis(manifest.batch_time_ms),
        };
        *self.last_manifest.lock() = Some(manifest);
        *self.recovery.lock() = Some(recovery);
        Ok(recovery)
    }
}

/// Checks that stateful operators are named, uniquely, when checkpointing.
fn check_names(g: &Graph) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for op in &g.operators {
        if !op.is_named() {
            return Err(Error::InvalidArgument(format!(
                "stateful operator {} (stream {}) must be named with .set_name(\"...\") when \
                 checkpointing: its state is matched to the operator by name",
                op.kind(),
                op.stream_id()
            )));
        }
        if !seen.insert(op.name()) {
            return Err(Error::InvalidArgument(format!(
                "two stateful operators are named {:?}; names must be unique when checkpointing",
                op.name()
            )));
        }
    }
    Ok(())
}
