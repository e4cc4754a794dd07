//! The UI's REST API, metrics and pages against a running job driven by a manual clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use sluice_core::Context;
use sluice_streaming::clock::ManualClock;
use sluice_streaming::time::{seconds, Time};
use sluice_streaming::{RddQueue, StopMode, StreamingContext};
use sluice_ui::{UiConfig, UiServer};

/// A minimal HTTP/1.1 GET: (status code, body).
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let status = buf[9..12].parse().unwrap();
    let body = buf
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    // Bodies may be chunked: drop chunk-size lines for the JSON checks below.
    let body = if buf
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(&body)
    } else {
        body
    };
    (status, body)
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

fn json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let (status, body) = get(addr, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Serves the UI of `ssc` on a free port, starts the job and runs `batches` batches.
fn start_and_run(ssc: &StreamingContext, clock: &ManualClock, batches: i64) -> UiServer {
    let config = UiConfig {
        port: 0,
        ..UiConfig::default()
    };
    let ui = UiServer::start(ssc, &config).unwrap();
    ssc.start().unwrap();
    for k in 1..=batches {
        clock.advance(seconds(1));
        assert!(ssc
            .await_batch(Time::from_millis(k * 1000), seconds(30))
            .unwrap());
    }
    ui
}

#[test]
fn api_reports_batches_statistics_receivers_and_metrics() {
    let ctx = Context::local(2).unwrap();
    let clock = ManualClock::shared(0);
    let ssc = StreamingContext::with_clock(&ctx, seconds(1), clock.clone()).unwrap();
    let queue = RddQueue::new();
    for b in 0..3 {
        queue.push(ctx.parallelize((0..10 * (b + 1)).collect::<Vec<i32>>(), 2));
    }
    let stream = ssc.queue_stream(&queue, true, None);
    stream
        .count()
        .foreach_rdd(|r, _| r.collect().map(|_| ()))
        .unwrap();
    stream
        .foreach_rdd(|_, t| {
            if t.millis() == 2000 {
                Err(sluice_core::Error::User("boom at 2 s".into()))
            } else {
                Ok(())
            }
        })
        .unwrap();
    let ui = start_and_run(&ssc, &clock, 3);
    assert!(ui.addr().ip().is_loopback());
    let _ = ssc.take_error();
    // Listener events are delivered asynchronously: stop delivers them all.
    ssc.stop(StopMode::Immediate).unwrap();
    let addr = ui.addr();

    let stats = json(addr, "/api/v1/streaming/statistics");
    assert_eq!(stats["batchDuration"], 1000);
    assert_eq!(stats["numTotalCompletedBatches"], 3);
    assert_eq!(stats["numFailedBatches"], 1);
    assert_eq!(stats["numActiveBatches"], 0);

    let batches = json(addr, "/api/v1/streaming/batches");
    let list = batches.as_array().unwrap();
    assert_eq!(list.len(), 3);
    // Newest first.
    assert_eq!(list[0]["batchTime"], 3000);
    assert_eq!(list[2]["batchTime"], 1000);
    assert!(list.iter().all(|b| b["status"] == "COMPLETED"));
    assert_eq!(list[1]["numFailedOutputOps"], 1);
    assert_eq!(list[1]["numTotalOutputOps"], 2);
    assert!(list[1]["firstFailureReason"]
        .as_str()
        .unwrap()
        .contains("boom at 2 s"));
    let t = list[0]["totalDelay"].as_f64().unwrap();
    let s = list[0]["schedulingDelay"].as_f64().unwrap();
    let p = list[0]["processingTime"].as_f64().unwrap();
    assert!((t - (s + p)).abs() < 1e-6);

    let detail = json(addr, "/api/v1/streaming/batches/2000");
    let ops = detail["outputOperations"].as_array().unwrap();
    assert_eq!(ops.len(), 2);
    assert_eq!(ops[0]["status"], "SUCCEEDED");
    assert_eq!(ops[1]["status"], "FAILED");
    // The count's job: a shuffle (reduce by key) over the queue's RDD: two stages.
    let lineage = ops[0]["lineage"].as_array().unwrap();
    assert!(lineage.iter().any(|n| n["stage"] == 1));
    assert!(lineage.iter().any(|n| n["shuffle"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!(true))));
    assert_eq!(get(addr, "/api/v1/streaming/batches/12345").0, 404);
    assert_eq!(get(addr, "/api/v1/streaming/batches/nonsense").0, 404);

    assert_eq!(
        json(addr, "/api/v1/streaming/receivers"),
        serde_json::json!([])
    );

    let (status, metrics) = get(addr, "/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("sluice_batches_completed_total 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sluice_batches_failed_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sluice_processing_delay_seconds_count 3"),
        "{metrics}"
    );

    let (status, page) = get(addr, "/");
    assert_eq!(status, 200);
    assert!(page.contains("Sluice Streaming") && page.contains("/static/app.js"));
    assert_eq!(get(addr, "/static/app.js").0, 200);
    assert_eq!(get(addr, "/batch?time=1000").0, 200);
}

#[test]
fn retention_is_bounded_and_the_ui_is_only_on_loopback() {
    let ctx = Context::local(1).unwrap();
    let clock = ManualClock::shared(0);
    let ssc = StreamingContext::with_clock(&ctx, seconds(1), clock.clone()).unwrap();
    ssc.rate_stream(5, Some(1), |i| i)
        .foreach_rdd(|r, _| r.count().map(|_| ()))
        .unwrap();
    let ui = UiServer::start(
        &ssc,
        &UiConfig {
            port: 0,
            retained_batches: 4,
            ..UiConfig::default()
        },
    )
    .unwrap();
    ssc.start().unwrap();
    for k in 1..=10 {
        clock.advance(seconds(1));
        assert!(ssc
            .await_batch(Time::from_millis(k * 1000), seconds(30))
            .unwrap());
    }
    ssc.stop(StopMode::Immediate).unwrap();
    let addr = ui.addr();
    let batches = json(addr, "/api/v1/streaming/batches");
    assert_eq!(batches.as_array().unwrap().len(), 4);
    let stats = json(addr, "/api/v1/streaming/statistics");
    assert_eq!(stats["numTotalCompletedBatches"], 10);
    assert_eq!(stats["numRetainedCompletedBatches"], 4);
    assert_eq!(stats["numProcessedRecords"], 50);
    // Bound to 127.0.0.1: another loopback address does not reach it.
    let other = SocketAddr::new("127.0.0.2".parse().unwrap(), addr.port());
    assert!(TcpStream::connect_timeout(&other, Duration::from_secs(2)).is_err());
}

#[test]
fn a_taken_port_moves_to_the_next_one() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let ctx = Context::local(1).unwrap();
    let ssc = StreamingContext::new(&ctx, seconds(1)).unwrap();
    let ui = UiServer::start(
        &ssc,
        &UiConfig {
            port,
            ..UiConfig::default()
        },
    )
    .unwrap();
    assert_ne!(ui.addr().port(), port);
    assert!(ui.addr().port() > port);
}

#[test]
fn event_time_operators_show_their_watermark_late_records_and_state() {
    use sluice_streaming::event_time::{EventWindow, OutputMode};
    let ctx = Context::local(2).unwrap();
    let clock = ManualClock::shared(0);
    let ssc = StreamingContext::with_clock(&ctx, seconds(1), clock.clone()).unwrap();
    let queue = RddQueue::new();
    // (key, event time ms): the watermark becomes 25 s - 5 s = 20 s; then a@1 s is late.
    queue.push(ctx.parallelize(vec![('a', 12_000i64), ('b', 25_000)], 2));
    queue.push(ctx.parallelize(vec![('a', 1_000i64)], 1));
    queue.push(ctx.parallelize(vec![('a', 1_000i64)], 1));
    ssc.queue_stream(&queue, true, None)
        .with_watermark(|r: &(char, i64)| r.1, seconds(5))
        .count_by_window(EventWindow::tumbling(10_000).unwrap(), OutputMode::Append)
        .unwrap()
        .set_name("counts")
        .stream()
        .foreach_rdd(|r, _| r.count().map(drop))
        .unwrap();
    let ui = start_and_run(&ssc, &clock, 3);
    let addr = ui.addr();
    let w = json(addr, "/api/v1/streaming/watermarks");
    assert_eq!(
        w,
        serde_json::json!([{
            "operator": "counts",
            "watermarkMs": 20_000,
            "lateRecords": 1,
            "stateSize": 1
        }]),
        "[10 s, 20 s) was emitted and dropped; b's [20 s, 30 s) is held"
    );
    let (_, metrics) = get(addr, "/metrics");
    assert!(
        metrics.contains("sluice_watermark_ms{operator=\"counts\"} 20000"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sluice_late_records_total{operator=\"counts\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sluice_state_keys{operator=\"counts\"} 1"),
        "{metrics}"
    );
    ssc.stop(StopMode::Immediate).unwrap();
}

#[test]
fn a_running_models_keys_and_points_are_served_for_its_page() {
    use sluice_analytics::anomaly::residual_alert;
    use sluice_analytics::lag_model::{LagModel, Observation};
    use sluice_analytics::monitor::ModelMonitor;
    let ctx = Context::local(2).unwrap();
    let clock = ManualClock::shared(0);
    let ssc = StreamingContext::with_clock(&ctx, seconds(1), clock.clone()).unwrap();
    let queue = RddQueue::new();
    // Two keys; "b" jumps at t = 39.
    for batch in 0..2i64 {
        let records: Vec<(String, Observation)> = (batch * 20..batch * 20 + 20)
            .flat_map(|t| {
                let a = 10.0 + (t % 3) as f64;
                let b = 5.0 + (t % 4) as f64 * 0.5 + if t == 39 { 40.0 } else { 0.0 };
                [
                    ("a".to_string(), Observation::series(t, a)),
                    ("b".to_string(), Observation::series(t, b)),
                ]
            })
            .collect();
        queue.push(ctx.parallelize(records, 2));
    }
    let points = LagModel::series(1)
        .fit_on(&ssc.queue_stream(&queue, true, None))
        .unwrap()
        .stream();
    let monitor = ModelMonitor::new("speeds", 10, 25);
    monitor.watch(&points, |p| residual_alert(p, 4.0)).unwrap();
    let config = UiConfig {
        port: 0,
        ..UiConfig::default()
    };
    let ui = UiServer::start(&ssc, &config).unwrap();
    ui.add_model(monitor);
    ssc.start().unwrap();
    for k in 1..=2 {
        clock.advance(seconds(1));
        assert!(ssc
            .await_batch(Time::from_millis(k * 1000), seconds(30))
            .unwrap());
    }
    let addr = ui.addr();
    assert_eq!(
        json(addr, "/api/v1/models"),
        serde_json::json!([{"name": "speeds", "keys": ["a", "b"]}])
    );
    let b = json(addr, "/api/v1/models/speeds?key=b");
    let b = b.as_array().unwrap();
    // Bounded to the last 25 points, oldest first.
    assert_eq!(b.len(), 25);
    assert_eq!(b[0]["t"], 15);
    assert_eq!(b[24]["t"], 39);
    assert!(b[24]["alert"].as_f64().unwrap() > 4.0, "{:?}", b[24]);
    assert!(b[..24].iter().all(|p| p["alert"].is_null()));
    assert_eq!(b[24]["coefficients"].as_array().unwrap().len(), 3);
    let (status, _) = get(addr, "/api/v1/models/speeds?key=zzz");
    assert_eq!(status, 404);
    let (status, _) = get(addr, "/api/v1/models/other?key=a");
    assert_eq!(status, 404);
    let (status, page) = get(addr, "/models");
    assert_eq!(status, 200);
    assert!(page.contains("sluiceModels()"));
    ssc.stop(StopMode::Immediate).unwrap();
}
