//! Writing a checkpoint after a batch, and restoring a job from one.
//!
//! A checkpoint is taken after batch `T` completed, on the runner thread, before the next
//! batch runs, so every operator's state is exactly "after `T`". Changed key groups are
//! written first (a delta, or a full snapshot every [`FULL_EVERY`] checkpoints of a group),
//! the sources' positions next, the manifest last; then older checkpoints are removed,
//! keeping [`KEEP`].
//!
//! Restoring matches operators by name and checks that the job fits the checkpoint: the same
//! batch interval, every operator present on both sides, with the same kind, key type and
//! state type. Any difference is an error naming the operator and what differs. The job then
//! resumes at `T + interval`, with the sources told what they read for batches that were
//! generated but not completed, so those batches re-run on the same input.
//!
//! A job whose receivers write a write-ahead log ([`wal`](super::wal)) also gets a checkpoint
//! at its zero time when it starts without one, so that a crash before its first regular
//! checkpoint can be recovered from too.

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice_core::{Error, Result};

use super::format::{StateHeader, FORMAT_VERSION};
use super::manifest::{plan_groups, GroupWrite, Manifest, OperatorState};
use super::protocol;
use super::store::CheckpointDir;
use crate::context::Shared;
use crate::time::{duration_ms, Time};

/// A group's chain is restarted with a full snapshot once it has this many files.
pub const FULL_EVERY: usize = 10;
/// Checkpoints kept on disk.
pub const KEEP: usize = 2;

/// Where a restored job resumes.
#[derive(Debug, Clone)]
pub(crate) struct Recovery {
    pub zero_time: Time,
    pub checkpoint_time: Time,
}

fn mismatch(dir: &CheckpointDir, reason: String) -> Error {
    Error::Checkpoint {
        path: dir.path().to_path_buf(),
        reason,
    }
}

/// Checks that stateful operators are named, uniquely, when checkpointing.
pub(crate) fn check_names(shared: &Shared) -> Result<()> {
    let g = shared.graph.lock();
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

/// Whether a checkpoint is due after batch `time` ([`protocol::is_due`]).
pub(crate) fn is_checkpoint_time(shared: &Shared, zero: Time, time: Time) -> bool {
    protocol::is_due(zero.millis(), time.millis(), checkpoint_interval(shared))
}

/// The job's checkpoint interval ([`protocol::checkpoint_interval`]).
pub(crate) fn checkpoint_interval(shared: &Shared) -> std::time::Duration {
    protocol::checkpoint_interval(shared.batch_interval, *shared.checkpoint_interval.lock())
}

/// After a graceful stop, checkpoints the last completed batch if the last checkpoint is
/// older ([`protocol::final_checkpoint`]), so that a restart does not redo it.
pub(crate) fn write_final_checkpoint(shared: &Shared) -> Result<()> {
    let Some(dir) = shared.checkpoint_dir.lock().clone() else {
        return Ok(());
    };
    let last = shared.progress.lock().last_completed.map(Time::millis);
    let done = shared
        .last_manifest
        .lock()
        .as_ref()
        .map(|m| m.batch_time_ms);
    match protocol::final_checkpoint(last, done) {
        Some(t) => write_checkpoint(shared, &dir, Time::from_millis(t)),
        None => Ok(()),
    }
}

/// Writes a checkpoint of the state after batch `time`.
pub(crate) fn write_checkpoint(shared: &Shared, dir: &CheckpointDir, time: Time) -> Result<()> {
    let zero = shared
        .zero_time()
        .ok_or_else(|| Error::Internal("checkpoint before start".into()))?;
    let (operators, inputs) = {
        let g = shared.graph.lock();
        (g.operators.clone(), g.inputs.clone())
    };
    let previous = shared.last_manifest.lock().clone();
    let sequence = previous.as_ref().map_or(1, |m| m.sequence + 1);
    let mut states = BTreeMap::new();
    for op in &operators {
        let name = op.name();
        let prev_groups = previous
            .as_ref()
            .and_then(|m| m.operators.get(&name))
            .map(|o| o.groups.clone());
        let mut groups = prev_groups.clone().unwrap_or_default();
        let full_every = if op.always_full() { 1 } else { FULL_EVERY };
        for (g, write) in plan_groups(prev_groups.as_ref(), &op.changed_groups(), full_every) {
            let full = write == GroupWrite::Full;
            let header = StateHeader {
                operator: name.clone(),
                group: g,
                sequence,
                full,
            };
            let rel = dir.write_state(&header, &op.encode_group(g, full)?)?;
            let chain = groups.entry(g).or_default();
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
    for i in &inputs {
        if let Some(v) = i.checkpoint_state(time) {
            sources.insert(i.name(), v);
        }
    }
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        sequence,
        batch_interval_ms: duration_ms(shared.batch_interval),
        zero_time_ms: zero.millis(),
        batch_time_ms: time.millis(),
        operators: states,
        sources,
    };
    dir.write_manifest(&manifest)?;
    *shared.last_manifest.lock() = Some(manifest);
    dir.clean(KEEP)?;
    // Receivers' write-ahead logs: what the new checkpoint covers is no longer needed.
    for i in &inputs {
        i.checkpoint_written(time)?;
    }
    Ok(())
}

/// Checks that inputs writing a write-ahead log have a checkpoint directory, and gives a job
/// that starts without a checkpoint one at its zero time (nothing processed yet), so that a
/// crash before its first regular checkpoint restarts from there and replays the log instead
/// of finding batch records without a manifest. Called by `start` once the sources started.
pub(crate) fn prepare_write_ahead_logs(shared: &Shared) -> Result<()> {
    let inputs = shared.graph.lock().inputs.clone();
    if !inputs.iter().any(|i| i.uses_write_ahead_log()) {
        return Ok(());
    }
    let Some(dir) = shared.checkpoint_dir.lock().clone() else {
        return Err(Error::config(
            crate::conf::RECEIVER_WAL,
            "true",
            "the receivers' write-ahead log needs a checkpoint directory: call \
             StreamingContext::checkpoint or use get_or_create",
        ));
    };
    if shared.last_manifest.lock().is_some() {
        return Ok(());
    }
    let zero = shared
        .zero_time()
        .ok_or_else(|| Error::Internal("checkpoint before start".into()))?;
    write_checkpoint(shared, &dir, zero)
}

/// Restores the job's state from `manifest`; returns where to resume.
pub(crate) fn restore(
    shared: &Arc<Shared>,
    dir: &CheckpointDir,
    manifest: Manifest,
) -> Result<Recovery> {
    check_names(shared)?;
    let (operators, inputs) = {
        let g = shared.graph.lock();
        (g.operators.clone(), g.inputs.clone())
    };
    let shapes: Vec<protocol::OperatorShape> = operators
        .iter()
        .map(|o| protocol::OperatorShape {
            name: o.name(),
            kind: o.kind().to_string(),
            key_type: o.key_type().to_string(),
            state_type: o.state_type().to_string(),
            num_groups: o.num_groups(),
        })
        .collect();
    protocol::check_fit(&manifest, duration_ms(shared.batch_interval), &shapes)
        .map_err(|reason| mismatch(dir, reason))?;
    for op in &operators {
        let name = op.name();
        let Some(st) = manifest.operators.get(&name) else {
            continue; // `check_fit` made sure every operator has state
        };
        for (&g, files) in &st.groups {
            let mut contents = Vec::with_capacity(files.len());
            for f in files {
                contents.push(dir.read_state(&name, f)?);
            }
            op.restore_group(g, &contents)
                .map_err(|e| mismatch(dir, format!("operator {name:?}, key group {g}: {e}")))?;
        }
    }
    for i in &inputs {
        if let Some(v) = manifest.sources.get(&i.name()) {
            i.restore_state(v)?;
        }
    }
    for (t, record) in dir.batch_records_after(manifest.batch_time_ms)? {
        for i in &inputs {
            if let Some(v) = record.get(&i.name()) {
                i.restore_batch(Time::from_millis(t), v)?;
            }
        }
    }
    let recovery = Recovery {
        zero_time: Time::from_millis(manifest.zero_time_ms),
        checkpoint_time: Time::from_millis(manifest.batch_time_ms),
    };
    *shared.last_manifest.lock() = Some(manifest);
    Ok(recovery)
}
