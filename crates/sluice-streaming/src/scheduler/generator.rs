//! The job generator: waits on the clock for each batch time, assigns received data to the
//! batch, asks every output operation for its job, and queues the batch for the runner.
//! Also the stop protocol that drains or drops what is queued.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use parking_lot::Mutex;
use sluice_core::{Error, Result};

use super::job::JobSet;
use super::runner;
use crate::context::{Shared, StopMode};
use crate::listener::{BatchInfo, StreamingEvent};
use crate::time::Time;

/// Messages to the runner.
pub(crate) enum ToRunner {
    Batch(JobSet),
    End,
}

/// The scheduler's threads and the generator's position.
pub(crate) struct Threads {
    generator: JoinHandle<()>,
    runner: JoinHandle<()>,
    to_runner: Sender<ToRunner>,
    next_time: Arc<Mutex<Time>>,
}

/// Starts the generator and runner threads; the first batch is at `start`.
pub(crate) fn spawn(shared: Arc<Shared>, start: Time) -> Result<Threads> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let next_time = Arc::new(Mutex::new(start));
    let spawn_err =
        |e: std::io::Error| Error::Internal(format!("starting a scheduler thread: {e}"));
    let runner = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("sluice-job-runner".into())
            .spawn(move || runner::run(&shared, &rx))
            .map_err(spawn_err)?
    };
    let generator = {
        let shared = Arc::clone(&shared);
        let tx = tx.clone();
        let next_time = Arc::clone(&next_time);
        let last = shared.batch_limit.lock().map(|n| {
            let steps = i64::try_from(n.saturating_sub(1)).unwrap_or(i64::MAX);
            let interval = crate::time::duration_ms(shared.batch_interval);
            Time::from_millis(
                start
                    .millis()
                    .saturating_add(steps.saturating_mul(interval)),
            )
        });
        std::thread::Builder::new()
            .name("sluice-job-generator".into())
            .spawn(move || loop {
                let t = *next_time.lock();
                if last.is_some_and(|l| t > l) {
                    // The batch limit is reached: wait for the stop without generating.
                    wait_for_stop(&shared);
                    break;
                }
                if shared.clock.is_stepping() && !wait_for_runner(&shared, t) {
                    break;
                }
                if shared
                    .clock
                    .wait_until(t.millis(), &shared.stop_generator)
                    .is_none()
                {
                    break;
                }
                generate_batch(&shared, &tx, t);
                *next_time.lock() = t + shared.batch_interval;
            })
            .map_err(spawn_err)?
    };
    shared
        .engine_threads
        .lock()
        .extend([generator.thread().id(), runner.thread().id()]);
    Ok(Threads {
        generator,
        runner,
        to_runner: tx,
        next_time,
    })
}

/// Blocks until the generator is told to stop.
fn wait_for_stop(shared: &Shared) {
    let mut p = shared.progress.lock();
    while !shared.stop_generator.load(Ordering::Acquire) {
        shared
            .progress_changed
            .wait_for(&mut p, Duration::from_millis(20));
    }
}

/// With a stepping clock, waits until every batch before `time` has completed, so that
/// batches are generated one at a time. Returns false if asked to stop meanwhile.
fn wait_for_runner(shared: &Shared, time: Time) -> bool {
    let previous = time - shared.batch_interval;
    let first = shared.start_time.lock().unwrap_or(time);
    let mut p = shared.progress.lock();
    loop {
        if shared.stop_generator.load(Ordering::Acquire) {
            return false;
        }
        if time <= first || p.last_completed.is_some_and(|t| t >= previous) {
            return true;
        }
        shared
            .progress_changed
            .wait_for(&mut p, Duration::from_millis(20));
    }
}

/// Generates and queues the jobs of batch `time`.
pub(crate) fn generate_batch(shared: &Arc<Shared>, tx: &Sender<ToRunner>, time: Time) {
    let (inputs, outputs) = {
        let g = shared.graph.lock();
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
                        sluice_core::scheduler::executor::panic_message(&*p)
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
    if generation_error.is_none() {
        if let Some(dir) = shared.checkpoint_dir.lock().clone() {
            let record: crate::checkpoint::store::BatchRecord = inputs
                .iter()
                .filter_map(|i| i.batch_record(time).map(|v| (i.name(), v)))
                .collect();
            if !record.is_empty() {
                if let Err(e) = dir.write_batch_record(time.millis(), &record) {
                    generation_error = Some(format!("recording the batch's input: {e}"));
                    jobs.clear();
                }
            }
        }
    }
    let input_info: BTreeMap<_, _> = inputs
        .iter()
        .filter_map(|i| i.input_info(time).map(|info| (i.id(), info)))
        .collect();
    let submission_time_ms = shared.clock.now_ms();
    shared.post(StreamingEvent::BatchSubmitted(BatchInfo {
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
pub(crate) fn stop(shared: &Arc<Shared>, threads: Threads, mode: StopMode) {
    let inputs = shared.graph.lock().inputs.clone();
    match mode {
        StopMode::Graceful { timeout } => {
            // 1. No new data: stop sources (receivers flush what they hold).
            for i in &inputs {
                i.stop();
            }
            // 2. No new batches from the clock.
            shared.stop_generator.store(true, Ordering::Release);
            let _ = threads.generator.join();
            // 3. Whatever was received but not yet assigned goes into one more batch, now,
            //    rather than waiting for the clock.
            if inputs.iter().any(|i| i.has_unallocated_data()) {
                let t = *threads.next_time.lock();
                generate_batch(shared, &threads.to_runner, t);
            }
            // 4. Let the runner finish the queue, within the timeout.
            let _ = threads.to_runner.send(ToRunner::End);
            let deadline = Instant::now() + timeout;
            while !threads.runner.is_finished() && Instant::now() < deadline {
                let mut p = shared.progress.lock();
                shared
                    .progress_changed
                    .wait_for(&mut p, Duration::from_millis(20));
            }
            if !threads.runner.is_finished() {
                shared.abort_batches.store(true, Ordering::Release);
            }
            let _ = threads.runner.join();
            if let Err(e) = crate::checkpoint::runtime::write_final_checkpoint(shared) {
                shared.report_error(e);
            }
        }
        StopMode::Immediate => {
            shared.stop_generator.store(true, Ordering::Release);
            shared.abort_batches.store(true, Ordering::Release);
            let _ = threads.to_runner.send(ToRunner::End);
            for i in &inputs {
                i.stop();
            }
            let _ = threads.generator.join();
            let _ = threads.runner.join();
        }
    }
}
