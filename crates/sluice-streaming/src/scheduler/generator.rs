//! The job generator: waits on the clock for each batch time, assigns received data to the
//! batch, asks every output operation for its job, and queues the batch for the runner.
//! Also the stop protocol that drains or drops what is queued.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use parking_lot::Mutex;
use sluice_core::{Error, Result};

use super::job::{JobSet, ToRunner};
use super::{runner, Run, StopMode};
use crate::listener::{BatchInfo, StreamingEvent};
use crate::time::Time;

/// The scheduler's threads and the generator's position.
pub(crate) struct Threads {
    generator: JoinHandle<()>,
    runner: JoinHandle<()>,
    to_runner: Sender<ToRunner>,
    next_time: Arc<Mutex<Time>>,
}

impl Threads {
    /// The threads' ids (they must not stop the context: it would wait for themselves).
    pub(crate) fn ids(&self) -> [ThreadId; 2] {
        [self.generator.thread().id(), self.runner.thread().id()]
    }
}

/// Starts the generator and runner threads; the first batch is `run.first_batch`.
pub(crate) fn spawn(run: &Arc<Run>) -> Result<Threads> {
    let start = run.first_batch;
    let (tx, rx) = crossbeam_channel::unbounded();
    let next_time = Arc::new(Mutex::new(start));
    let spawn_err =
        |e: std::io::Error| Error::Internal(format!("starting a scheduler thread: {e}"));
    let runner = {
        let run = Arc::clone(run);
        std::thread::Builder::new()
            .name("sluice-job-runner".into())
            .spawn(move || runner::run(&run, &rx))
            .map_err(spawn_err)?
    };
    let generator = {
        let run = Arc::clone(run);
        let tx = tx.clone();
        let next_time = Arc::clone(&next_time);
        let interval = run.env.batch_interval;
        let last = run.batch_limit.map(|n| {
            let steps = i64::try_from(n.saturating_sub(1)).unwrap_or(i64::MAX);
            Time::from_millis(
                start
                    .millis()
                    .saturating_add(steps.saturating_mul(crate::time::duration_ms(interval))),
            )
        });
        std::thread::Builder::new()
            .name("sluice-job-generator".into())
            .spawn(move || loop {
                let t = *next_time.lock();
                if last.is_some_and(|l| t > l) {
                    // The batch limit is reached: wait for the stop without generating.
                    wait_for_stop(&run);
                    break;
                }
                if run.env.clock.is_stepping() && !wait_for_runner(&run, t) {
                    break;
                }
                if run
                    .env
                    .clock
                    .wait_until(t.millis(), &run.stop_generator)
                    .is_none()
                {
                    break;
                }
                generate_batch(&run, &tx, t);
                *next_time.lock() = t + interval;
            })
            .map_err(spawn_err)?
    };
    Ok(Threads {
        generator,
        runner,
        to_runner: tx,
        next_time,
    })
}

/// Blocks until the generator is told to stop.
fn wait_for_stop(run: &Run) {
    let mut p = run.progress.state.lock();
    while !run.stop_generator.load(Ordering::Acquire) {
        run.progress
            .changed
            .wait_for(&mut p, Duration::from_millis(20));
    }
}

/// With a stepping clock, waits until every batch before `time` has completed, so that
/// batches are generated one at a time. Returns false if asked to stop meanwhile.
fn wait_for_runner(run: &Run, time: Time) -> bool {
    let previous = time - run.env.batch_interval;
    let first = run.first_batch;
    let mut p = run.progress.state.lock();
    loop {
        if run.stop_generator.load(Ordering::Acquire) {
            return false;
        }
        if time <= first || p.last_completed.is_some_and(|t| t >= previous) {
            return true;
        }
        run.progress
            .changed
            .wait_for(&mut p, Duration::from_millis(20));
    }
}

/// Generates and queues the jobs of batch `time`.
pub(crate) fn generate_batch(run: &Run, tx: &Sender<ToRunner>, time: Time) {
    let (inputs, outputs) = {
        let g = run.env.graph();
        (g.inputs.clone(), g.outputs.clone())
    };
    for i in &inputs {
        i.allocate(time);
    }
    let mut jobs = Vec::new();
    let mut generation_error = None;
    for o in &outputs {
        // Generating runs user code (`transform` functions): a panic fails the batch, not the
        // generator thread.
        let generated =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| o.generate_job(time)))
                .unwrap_or_else(|p| {
                    Err(sluice_core::Error::User(format!(
                        "panic: {}",
                        sluice_core::internals::panic_message(&*p)
                    )))
                });
        match generated {
            Ok(Some(j)) => jobs.push(j),
            Ok(None) => {}
            Err(e) => {
                // As in Spark, a batch whose jobs cannot all be generated runs none of them.
                generation_error = Some(format!("generating jobs for {}: {e}", o.name()));
                jobs.clear();
                break;
            }
        }
    }
    // Checkpointing: record what the sources read before the batch runs.
    if let (None, Some(c)) = (&generation_error, &run.checkpointer) {
        if let Err(e) = c.record_batch(&inputs, time) {
            generation_error = Some(format!("recording the batch's input: {e}"));
            jobs.clear();
        }
    }
    let input_info: BTreeMap<_, _> = inputs
        .iter()
        .filter_map(|i| i.input_info(time).map(|info| (i.id(), info)))
        .collect();
    let submission_time_ms = run.env.clock.now_ms();
    run.env.post(StreamingEvent::BatchSubmitted(BatchInfo {
        batch_time: time,
        stream_id_to_input_info: input_info,
        submission_time_ms,
        scheduling_delay: None,
        processing_delay: None,
        output_operation_infos: BTreeMap::new(),
    }));
    let _ = tx.send(ToRunner::Batch(JobSet {
        time,
        jobs,
        generation_error,
        submitted: Instant::now(),
        submission_time_ms,
    }));
}

/// Stops the threads: gracefully (drain) or immediately (drop queued batches).
pub(crate) fn stop(run: &Run, threads: Threads, mode: StopMode) {
    let inputs = run.env.graph().inputs.clone();
    match mode {
        StopMode::Graceful { timeout } => {
            // 1. No new data: stop sources (receivers flush what they hold).
            for i in &inputs {
                i.stop();
            }
            // 2. No new batches from the clock.
            run.stop_generator.store(true, Ordering::Release);
            let _ = threads.generator.join();
            // 3. Whatever was received but not yet assigned goes into one more batch, now,
            //    rather than waiting for the clock.
            if inputs.iter().any(|i| i.has_unallocated_data()) {
                let t = *threads.next_time.lock();
                generate_batch(run, &threads.to_runner, t);
            }
            // 4. Let the runner finish the queue, within the timeout.
            let _ = threads.to_runner.send(ToRunner::End);
            let deadline = Instant::now() + timeout;
            while !threads.runner.is_finished() && Instant::now() < deadline {
                let mut p = run.progress.state.lock();
                run.progress
                    .changed
                    .wait_for(&mut p, Duration::from_millis(20));
            }
            if !threads.runner.is_finished() {
                run.abort_batches.store(true, Ordering::Release);
            }
            let _ = threads.runner.join();
            if let Some(c) = &run.checkpointer {
                let last = run.progress.state.lock().last_completed;
                if let Err(e) = c.at_stop(last) {
                    run.progress.report_error(e);
                }
            }
        }
        StopMode::Immediate => {
            run.stop_generator.store(true, Ordering::Release);
            run.abort_batches.store(true, Ordering::Release);
            let _ = threads.to_runner.send(ToRunner::End);
            for i in &inputs {
                i.stop();
            }
            let _ = threads.generator.join();
            let _ = threads.runner.join();
        }
    }
}
