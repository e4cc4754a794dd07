//! The batch runner: runs each queued batch's jobs one at a time, in output-operation order,
//! posting listener events, recording failures, and clearing old RDDs once a batch is done.
//! A failing output operation fails its batch; later batches still run.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Receiver;
use sluice_core::Error;

use super::job::{JobSet, ToRunner};
use super::Run;
use crate::graph::BatchOutcome;
use crate::listener::{BatchInfo, OutputOperationInfo, StreamingEvent};

/// The runner thread's loop.
pub(crate) fn run(run: &Arc<Run>, rx: &Receiver<ToRunner>) {
    while let Ok(ToRunner::Batch(js)) = rx.recv() {
        if run.abort_batches.load(Ordering::Acquire) {
            run.progress.update(|p| p.batches_dropped += 1);
            continue;
        }
        run_batch(run, js);
    }
}

fn run_batch(run: &Run, js: JobSet) {
    let time = js.time;
    let (inputs, streams) = {
        let g = run.env.graph();
        (g.inputs.clone(), g.streams.clone())
    };
    let input_info: BTreeMap<_, _> = inputs
        .iter()
        .filter_map(|i| i.input_info(time).map(|info| (i.id(), info)))
        .collect();
    let started = Instant::now();
    let mut info = BatchInfo {
        batch_time: time,
        stream_id_to_input_info: input_info,
        submission_time_ms: js.submission_time_ms,
        scheduling_delay: Some(started - js.submitted),
        processing_delay: None,
        output_operation_infos: BTreeMap::new(),
    };
    run.env.post(StreamingEvent::BatchStarted(info.clone()));
    let mut failed = false;
    if let Some(msg) = &js.generation_error {
        failed = true;
        run.progress.report_error(Error::BatchFailed {
            batch_time_ms: time.millis(),
            output_op: "(job generation)".into(),
            message: msg.clone(),
            cause: None,
        });
    }
    for job in js.jobs {
        let mut op = OutputOperationInfo {
            batch_time: time,
            id: job.output_id,
            name: job.name.clone(),
            duration: None,
            failure_reason: None,
            lineage: job.lineage,
        };
        run.env
            .post(StreamingEvent::OutputOperationStarted(op.clone()));
        let t0 = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(job.run));
        op.duration = Some(t0.elapsed());
        let (failure, cause) = match outcome {
            Ok(Ok(())) => (None, None),
            Ok(Err(e)) => (Some(e.to_string()), Some(Box::new(e))),
            Err(p) => (
                Some(format!(
                    "panic: {}",
                    sluice_core::internals::panic_message(&*p)
                )),
                None,
            ),
        };
        if let Some(msg) = &failure {
            failed = true;
            run.progress.report_error(Error::BatchFailed {
                batch_time_ms: time.millis(),
                output_op: format!("{} ({})", job.output_id, job.name),
                message: msg.clone(),
                cause,
            });
        }
        op.failure_reason = failure;
        run.env
            .post(StreamingEvent::OutputOperationCompleted(op.clone()));
        info.output_operation_infos.insert(op.id, op);
    }
    info.processing_delay = Some(started.elapsed());
    let outcome = BatchOutcome {
        info: &info,
        failed,
    };
    for i in &inputs {
        i.batch_completed(&outcome);
    }
    for s in &streams {
        s.clear_metadata(time);
    }
    // A checkpoint, when due, captures the state after this batch, before the next one runs.
    if let Some(c) = &run.checkpointer {
        if let Err(e) = c.after_batch(time) {
            failed = true;
            run.progress.report_error(e);
        }
    }
    run.env.post(StreamingEvent::BatchCompleted(info));
    run.progress.update(|p| {
        p.last_completed = Some(p.last_completed.map_or(time, |t| t.max(time)));
        p.batches_completed += 1;
        if failed {
            p.batches_failed += 1;
        }
    });
}
