#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Event time against Spark Structured Streaming itself: the inputs of
//! `golden/event_time/cases.json` went through Spark (`golden/event_time/record.py`, pyspark
//! 4.3, one file per micro-batch) and each batch's rows were recorded in `<case>.json`; Sluice
//! runs the same batches and must emit the same rows, batch by batch — windows, sessions and
//! duplicates dropped within the watermark.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use sluice_streaming::event_time::{EventWindow, OutputMode};
use sluice_streaming::testing::{run_stream2_with, run_stream_with, TestConfig};

use common::EventRecord;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/event_time")
}

fn read(name: &str) -> Value {
    let path = dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A batch's rows, in a canonical order.
fn sorted(mut rows: Vec<Value>) -> Vec<Value> {
    rows.sort_by_key(Value::to_string);
    rows
}

fn batches(v: &Value) -> Vec<Vec<EventRecord>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|b| {
            b.as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r[0].as_str().unwrap().to_string(),
                        (r[1].as_i64().unwrap(), r[2].as_i64().unwrap()),
                    )
                })
                .collect()
        })
        .collect()
}

fn mode(case: &Value) -> OutputMode {
    match case["mode"].as_str().unwrap() {
        "append" => OutputMode::Append,
        "update" => OutputMode::Update,
        "complete" => OutputMode::Complete,
        m => panic!("unknown mode {m}"),
    }
}

fn window_rows(
    b: Vec<(
        (String, sluice_streaming::event_time::WindowRange),
        (u64, i64),
    )>,
) -> Vec<Value> {
    common::window_rows(b)
        .into_iter()
        .map(|(k, s, e, c, sum)| json!([k, s, e, c, sum]))
        .collect()
}

/// Runs `case` over `input` (padded with empty batches to `n`); each batch's rows as JSON.
fn run_case(case: &Value, mut input: Vec<Vec<EventRecord>>, n: usize) -> Vec<Vec<Value>> {
    let delay = Duration::from_millis(case["delay_ms"].as_u64().unwrap());
    // Spark may run a no-data batch after the last file: so does Sluice, with an empty batch.
    input.resize(n.max(input.len()), Vec::new());
    let n = input.len();
    let cfg = TestConfig {
        input_partitions: 2,
        ..TestConfig::default()
    };
    if case.get("dedup").is_some() {
        let out = run_stream_with(cfg, input, n, move |s| {
            s.with_watermark(|r: &EventRecord| r.1 .0, delay)
                .drop_duplicates_within_watermark(|r| r.0.clone())
                .unwrap()
                .stream()
        })
        .unwrap();
        return out
            .into_iter()
            .map(|b| b.into_iter().map(|(k, (t, v))| json!([k, t, v])).collect())
            .collect();
    }
    let mode = mode(case);
    let out = match case["gap_ms"].as_u64() {
        Some(gap) => run_stream_with(cfg, input, n, move |s| {
            common::count_and_sum_by_session(&s, Duration::from_millis(gap), delay, mode).stream()
        }),
        None => {
            let window = EventWindow::sliding(
                case["size_ms"].as_i64().unwrap(),
                case["slide_ms"].as_i64().unwrap(),
            )
            .unwrap();
            run_stream_with(cfg, input, n, move |s| {
                common::count_and_sum(&s, window, delay, mode).stream()
            })
        }
    }
    .unwrap();
    out.into_iter().map(window_rows).collect()
}

/// Runs a case of two watermarked inputs, unioned, under the case's policy.
fn run_union_case(case: &Value, spec: &Value, n: usize) -> Vec<Vec<Value>> {
    let names = case["inputs"].as_array().unwrap();
    let delays: Vec<Duration> = case["delays_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| Duration::from_millis(d.as_u64().unwrap()))
        .collect();
    let mut a = batches(&spec[names[0].as_str().unwrap()]);
    let mut b = batches(&spec[names[1].as_str().unwrap()]);
    let n = n.max(a.len()).max(b.len());
    a.resize(n, Vec::new());
    b.resize(n, Vec::new());
    let mut cfg = TestConfig {
        input_partitions: 2,
        ..TestConfig::default()
    };
    cfg.conf = cfg.conf.set(
        "sluice.streaming.multipleWatermarkPolicy",
        case["policy"].as_str().unwrap(),
    );
    let t = |r: &EventRecord| r.1 .0;
    if case.get("dedup").is_some() {
        let out = run_stream2_with(cfg, a, b, n, move |x, y| {
            x.with_watermark(t, delays[0])
                .union(&y.with_watermark(t, delays[1]))
                .unwrap()
                .drop_duplicates_within_watermark(|r| r.0.clone())
                .unwrap()
                .stream()
        })
        .unwrap();
        return out
            .into_iter()
            .map(|b| b.into_iter().map(|(k, (t, v))| json!([k, t, v])).collect())
            .collect();
    }
    let window = EventWindow::sliding(
        case["size_ms"].as_i64().unwrap(),
        case["slide_ms"].as_i64().unwrap(),
    )
    .unwrap();
    let mode = mode(case);
    let out = run_stream2_with(cfg, a, b, n, move |x, y| {
        let u = x
            .with_watermark(t, delays[0])
            .union(&y.with_watermark(t, delays[1]))
            .unwrap();
        common::count_and_sum_of(&u, window, mode).stream()
    })
    .unwrap();
    out.into_iter().map(window_rows).collect()
}

#[test]
fn every_case_matches_spark_batch_by_batch() {
    let spec = read("cases.json");
    let cases = spec["cases"].as_array().unwrap();
    assert!(cases.len() >= 19);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let golden = read(&format!("{name}.json"));
        assert_eq!(
            golden["case"], *case,
            "{name}: the golden file is of another case"
        );
        let want: Vec<Vec<Value>> = golden["batches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| sorted(b.as_array().unwrap().clone()))
            .collect();
        // Two inputs in append mode under `min`: the slow input holds every window open, so
        // Spark emits nothing — and neither may Sluice.
        assert!(
            want.iter().any(|b| !b.is_empty()) || name == "union_min",
            "{name}: Spark emitted nothing"
        );
        let got = if case.get("inputs").is_some() {
            run_union_case(case, &spec, want.len())
        } else {
            let input = match case.get("input").and_then(Value::as_str) {
                Some(name) => name,
                None if case.get("gap_ms").is_some() => "session_batches",
                None => "batches",
            };
            run_case(case, batches(&spec[input]), want.len())
        };
        assert_eq!(got.len(), want.len(), "{name}: number of batches");
        for (i, (g, w)) in got.into_iter().zip(&want).enumerate() {
            assert_eq!(&sorted(g), w, "{name}, batch {i}");
        }
    }
}
