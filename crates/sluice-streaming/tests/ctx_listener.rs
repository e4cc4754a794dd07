#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Listener events (reference section I, Spark's `StreamingListener`): batch submitted /
//! started / completed for every batch in order, output operation started / completed with
//! failure reasons, receiver events, input record counts and delays.
//!
//! Events are delivered asynchronously; `stop` delivers every pending event before it
//! returns, so the tests inspect the log after stopping.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sluice_core::Error;
use sluice_streaming::listener::{BatchInfo, OutputOperationInfo, ReceiverInfo, StreamingListener};
use sluice_streaming::time::seconds;
use sluice_streaming::StopMode;

mod common;
use common::{hand_over_named, idle_output, manual_context, run_batch};

#[derive(Debug, Clone)]
enum Ev {
    Started(i64),
    Submitted(BatchInfo),
    BatchStarted(BatchInfo),
    Completed(BatchInfo),
    OpStarted(OutputOperationInfo),
    OpCompleted(OutputOperationInfo),
    RecvStarted(ReceiverInfo),
    RecvError(ReceiverInfo),
    RecvStopped(ReceiverInfo),
}

impl Ev {
    /// A short form: kind, batch time, output operation id.
    fn short(&self) -> String {
        match self {
            Ev::Started(t) => format!("streaming-started@{t}"),
            Ev::Submitted(b) => format!("submitted@{}", b.batch_time.millis()),
            Ev::BatchStarted(b) => format!("started@{}", b.batch_time.millis()),
            Ev::Completed(b) => format!("completed@{}", b.batch_time.millis()),
            Ev::OpStarted(o) => format!("op{}-started@{}", o.id, o.batch_time.millis()),
            Ev::OpCompleted(o) => format!("op{}-completed@{}", o.id, o.batch_time.millis()),
            Ev::RecvStarted(_) => "receiver-started".into(),
            Ev::RecvError(_) => "receiver-error".into(),
            Ev::RecvStopped(_) => "receiver-stopped".into(),
        }
    }
}

#[derive(Default)]
struct Log(Mutex<Vec<Ev>>);

impl Log {
    fn push(&self, e: Ev) {
        self.0.lock().unwrap().push(e);
    }
    fn events(&self) -> Vec<Ev> {
        self.0.lock().unwrap().clone()
    }
    fn shorts(&self) -> Vec<String> {
        self.events().iter().map(Ev::short).collect()
    }
    fn completed(&self) -> Vec<BatchInfo> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Ev::Completed(b) => Some(b),
                _ => None,
            })
            .collect()
    }
}

impl StreamingListener for Log {
    fn on_streaming_started(&self, t: i64) {
        self.push(Ev::Started(t));
    }
    fn on_batch_submitted(&self, b: &BatchInfo) {
        self.push(Ev::Submitted(b.clone()));
    }
    fn on_batch_started(&self, b: &BatchInfo) {
        self.push(Ev::BatchStarted(b.clone()));
    }
    fn on_batch_completed(&self, b: &BatchInfo) {
        self.push(Ev::Completed(b.clone()));
    }
    fn on_output_operation_started(&self, o: &OutputOperationInfo) {
        self.push(Ev::OpStarted(o.clone()));
    }
    fn on_output_operation_completed(&self, o: &OutputOperationInfo) {
        self.push(Ev::OpCompleted(o.clone()));
    }
    fn on_receiver_started(&self, r: &ReceiverInfo) {
        self.push(Ev::RecvStarted(r.clone()));
    }
    fn on_receiver_error(&self, r: &ReceiverInfo) {
        self.push(Ev::RecvError(r.clone()));
    }
    fn on_receiver_stopped(&self, r: &ReceiverInfo) {
        self.push(Ev::RecvStopped(r.clone()));
    }
}

#[test]
fn batch_and_output_operation_events_in_order() {
    let (ssc, clock) = manual_context();
    let log = Arc::new(Log::default());
    ssc.add_listener(log.clone());
    let s = ssc.rate_stream(2, Some(1), |i| i);
    s.foreach_rdd(|rdd, _| rdd.count().map(|_| ())).unwrap();
    s.map(|x| x * 2)
        .set_name("doubled")
        .foreach_rdd(|_, time| {
            if time.millis() == 2000 {
                Err(Error::User("second op fails at 2000".into()))
            } else {
                Ok(())
            }
        })
        .unwrap();
    ssc.start().unwrap();
    for k in 1..=3 {
        run_batch(&ssc, &clock, k);
    }
    let failure = ssc.take_error().unwrap();
    assert!(failure.to_string().contains("second op fails"), "{failure}");
    ssc.stop(StopMode::Immediate).unwrap();

    let mut expected = vec!["streaming-started@0".to_string()];
    for ms in [1000, 2000, 3000] {
        expected.extend([
            format!("submitted@{ms}"),
            format!("started@{ms}"),
            format!("op0-started@{ms}"),
            format!("op0-completed@{ms}"),
            format!("op1-started@{ms}"),
            format!("op1-completed@{ms}"),
            format!("completed@{ms}"),
        ]);
    }
    assert_eq!(log.shorts(), expected);

    for e in log.events() {
        match e {
            Ev::Submitted(b) => {
                assert_eq!(b.submission_time_ms, b.batch_time.millis());
                assert_eq!(b.scheduling_delay, None);
                assert_eq!(b.processing_delay, None);
                assert_eq!(b.total_delay(), None);
                assert_eq!(b.num_records(), 2);
                assert!(b.output_operation_infos.is_empty());
            }
            Ev::BatchStarted(b) => {
                assert!(b.scheduling_delay.is_some());
                assert_eq!(b.processing_delay, None);
                assert_eq!(b.num_records(), 2);
            }
            Ev::OpStarted(o) => {
                assert_eq!(o.duration, None);
                assert_eq!(o.failure_reason, None);
            }
            Ev::OpCompleted(o) => {
                assert!(o.duration.is_some());
                let expected_name = if o.id == 0 {
                    "foreach_rdd at rate_stream"
                } else {
                    "foreach_rdd at doubled"
                };
                assert_eq!(o.name, expected_name);
                if o.id == 1 && o.batch_time.millis() == 2000 {
                    let r = o.failure_reason.clone().expect("failure reason");
                    assert!(r.contains("second op fails at 2000"), "{r}");
                } else {
                    assert_eq!(o.failure_reason, None, "{o:?}");
                }
            }
            _ => {}
        }
    }

    let completed = log.completed();
    assert_eq!(completed.len(), 3);
    for b in &completed {
        let total = b.total_delay().expect("total delay");
        assert_eq!(
            total,
            b.scheduling_delay.unwrap() + b.processing_delay.unwrap()
        );
        assert_eq!(b.num_records(), 2);
        assert_eq!(
            b.output_operation_infos.keys().copied().collect::<Vec<_>>(),
            vec![0, 1]
        );
        let failed = usize::from(b.batch_time.millis() == 2000);
        assert_eq!(b.num_failed_output_ops(), failed);
        // Each operation ran within the batch's processing time.
        for o in b.output_operation_infos.values() {
            assert!(o.duration.unwrap() <= b.processing_delay.unwrap());
        }
    }
    let input = completed[0]
        .stream_id_to_input_info
        .values()
        .next()
        .unwrap();
    assert_eq!(input.input_stream_id, s.id());
    assert_eq!(input.description, "records 0..2");
}

#[test]
fn receiver_batches_report_the_records_stored() {
    let (ssc, clock) = manual_context();
    let log = Arc::new(Log::default());
    ssc.add_listener(log.clone());
    let (rx, h) = hand_over_named::<u8>("bytes");
    let stream = ssc.receiver_stream(rx);
    stream
        .foreach_rdd(|rdd, _| rdd.count().map(|_| ()))
        .unwrap();
    ssc.start().unwrap();
    let ctx = h.ctx();
    for i in 0..7 {
        ctx.store(i).unwrap();
    }
    run_batch(&ssc, &clock, 1);
    run_batch(&ssc, &clock, 2);
    ctx.store_batch(vec![1, 2, 3]).unwrap();
    ctx.report_error("just so you know");
    run_batch(&ssc, &clock, 3);
    ssc.stop(StopMode::Immediate).unwrap();

    let completed = log.completed();
    let records: Vec<u64> = completed.iter().map(BatchInfo::num_records).collect();
    assert_eq!(records, vec![7, 0, 3]);
    for b in &completed {
        let info = &b.stream_id_to_input_info[&stream.id()];
        assert_eq!(info.input_stream_id, stream.id());
    }
    // The submitted event carries the same input information.
    let submitted: Vec<u64> = log
        .events()
        .iter()
        .filter_map(|e| match e {
            Ev::Submitted(b) => Some(b.num_records()),
            _ => None,
        })
        .collect();
    assert_eq!(submitted, vec![7, 0, 3]);

    let receiver_events: Vec<Ev> = log
        .events()
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                Ev::RecvStarted(_) | Ev::RecvError(_) | Ev::RecvStopped(_)
            )
        })
        .collect();
    let kinds: Vec<String> = receiver_events.iter().map(Ev::short).collect();
    assert_eq!(
        kinds,
        vec!["receiver-started", "receiver-error", "receiver-stopped"]
    );
    if let Ev::RecvStarted(r) = &receiver_events[0] {
        assert_eq!(r.name, "bytes");
        assert!(r.active);
        assert_eq!(r.stream_id, stream.id());
    }
    if let Ev::RecvError(r) = &receiver_events[1] {
        assert_eq!(r.last_error.as_deref(), Some("just so you know"));
        assert_eq!(r.records_stored, 10);
    }
    if let Ev::RecvStopped(r) = &receiver_events[2] {
        assert!(!r.active);
    }
    // The receiver is started before the first batch.
    let shorts = log.shorts();
    let started = shorts.iter().position(|s| s == "receiver-started").unwrap();
    let first = shorts.iter().position(|s| s == "submitted@1000").unwrap();
    assert!(started < first, "{shorts:?}");
}

/// A listener that panics on every event.
struct Panicky(AtomicUsize);

impl StreamingListener for Panicky {
    fn on_batch_completed(&self, _b: &BatchInfo) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("listener bug");
    }
}

#[test]
fn a_panicking_listener_does_not_disturb_others() {
    let (ssc, clock) = manual_context();
    let panicky = Arc::new(Panicky(AtomicUsize::new(0)));
    let log = Arc::new(Log::default());
    ssc.add_listener(panicky.clone());
    ssc.add_listener(log.clone());
    idle_output(&ssc);
    ssc.start().unwrap();
    for k in 1..=3 {
        run_batch(&ssc, &clock, k);
    }
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(panicky.0.load(Ordering::SeqCst), 3);
    assert_eq!(log.completed().len(), 3);
    assert!(ssc.take_error().is_none());
}

#[test]
fn events_are_all_delivered_by_stop() {
    // Many batches, then an immediate stop: every event posted before the stop is delivered
    // before `stop` returns.
    let (ssc, clock) = manual_context();
    let log = Arc::new(Log::default());
    ssc.add_listener(log.clone());
    idle_output(&ssc);
    ssc.start().unwrap();
    for k in 1..=10 {
        run_batch(&ssc, &clock, k);
    }
    ssc.stop(StopMode::Immediate).unwrap();
    let times: Vec<i64> = log
        .completed()
        .iter()
        .map(|b| b.batch_time.millis())
        .collect();
    assert_eq!(times, (1..=10).map(|k| k * 1000).collect::<Vec<i64>>());
    // Nothing arrives after the stop.
    let n = log.events().len();
    clock.advance(seconds(3));
    assert_eq!(log.events().len(), n);
}

#[test]
fn two_listeners_see_the_same_events() {
    let (ssc, clock) = manual_context();
    let a = Arc::new(Log::default());
    let b = Arc::new(Log::default());
    ssc.add_listener(a.clone());
    ssc.add_listener(b.clone());
    ssc.rate_stream(3, None, |i| i)
        .foreach_rdd(|_, _| Ok(()))
        .unwrap();
    ssc.start().unwrap();
    run_batch(&ssc, &clock, 1);
    run_batch(&ssc, &clock, 2);
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(a.shorts(), b.shorts());
    assert_eq!(a.completed().len(), 2);
}

#[test]
fn a_batch_whose_jobs_cannot_be_generated_still_completes() {
    let (ssc, clock) = manual_context();
    let log = Arc::new(Log::default());
    ssc.add_listener(log.clone());
    ssc.rate_stream(1, None, |i| i)
        .transform(|rdd, time| {
            if time.millis() == 1000 {
                Err(Error::User("cannot plan".into()))
            } else {
                Ok(rdd)
            }
        })
        .foreach_rdd(|_, _| Ok(()))
        .unwrap();
    ssc.start().unwrap();
    run_batch(&ssc, &clock, 1);
    run_batch(&ssc, &clock, 2);
    let e = ssc.take_error().unwrap();
    assert!(e.to_string().contains("cannot plan"), "{e}");
    ssc.stop(StopMode::Immediate).unwrap();
    let times: Vec<i64> = log
        .completed()
        .iter()
        .map(|b| b.batch_time.millis())
        .collect();
    assert_eq!(times, vec![1000, 2000]);
    // Batch 2's operation ran normally.
    let b2 = &log.completed()[1];
    assert_eq!(b2.output_operation_infos.len(), 1);
    assert_eq!(b2.num_failed_output_ops(), 0);
}
