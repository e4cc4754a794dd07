#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Event-time windows against Spark Structured Streaming itself: the inputs of
//! `golden/event_time/cases.json` went through Spark (`golden/event_time/record.py`, pyspark
//! 4.3, one file per micro-batch) and each batch's rows were recorded in `<case>.json`; Sluice
//! runs the same batches and must emit the same rows, batch by batch.

mod common;

use std::path::PathBuf;

use serde_json::Value;
use sluice_streaming::event_time::{EventWindow, OutputMode};
use sluice_streaming::testing::{run_stream_with, TestConfig};

use common::WindowRow as Row;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/event_time")
}

fn read(name: &str) -> Value {
    let path = dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn rows(v: &Value) -> Vec<Row> {
    let mut out: Vec<Row> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let r = r.as_array().unwrap();
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_i64().unwrap(),
                r[2].as_i64().unwrap(),
                r[3].as_u64().unwrap(),
                r[4].as_i64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn run_case(case: &Value, input: &[Vec<(String, i64, i64)>], batches: usize) -> Vec<Vec<Row>> {
    let gap = case["gap_ms"]
        .as_u64()
        .map(std::time::Duration::from_millis);
    let window = || {
        EventWindow::sliding(
            case["size_ms"].as_i64().unwrap(),
            case["slide_ms"].as_i64().unwrap(),
        )
        .unwrap()
    };
    let window = gap.is_none().then(window);
    let delay = std::time::Duration::from_millis(case["delay_ms"].as_u64().unwrap());
    let mode = match case["mode"].as_str().unwrap() {
        "append" => OutputMode::Append,
        "update" => OutputMode::Update,
        "complete" => OutputMode::Complete,
        m => panic!("unknown mode {m}"),
    };
    let mut input: Vec<Vec<(String, (i64, i64))>> = input
        .iter()
        .map(|b| b.iter().map(|(k, t, v)| (k.clone(), (*t, *v))).collect())
        .collect();
    // Spark may run a no-data batch after the last file: so does Sluice, with an empty batch.
    input.resize(batches.max(input.len()), Vec::new());
    let n = input.len();
    let cfg = TestConfig {
        input_partitions: 2,
        ..TestConfig::default()
    };
    let out = run_stream_with(cfg, input, n, move |s| match window {
        Some(w) => common::count_and_sum(&s, w, delay, mode).stream(),
        None => common::count_and_sum_by_session(&s, gap.unwrap_or_default(), delay, mode).stream(),
    })
    .unwrap();
    out.into_iter().map(common::window_rows).collect()
}

fn batches(v: &Value) -> Vec<Vec<(String, i64, i64)>> {
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
                        r[1].as_i64().unwrap(),
                        r[2].as_i64().unwrap(),
                    )
                })
                .collect()
        })
        .collect()
}

#[test]
fn every_case_matches_spark_batch_by_batch() {
    let spec = read("cases.json");
    let cases = spec["cases"].as_array().unwrap();
    assert!(cases.len() >= 11);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let golden = read(&format!("{name}.json"));
        assert_eq!(
            golden["case"], *case,
            "{name}: the golden file is of another case"
        );
        let want: Vec<Vec<Row>> = golden["batches"]
            .as_array()
            .unwrap()
            .iter()
            .map(rows)
            .collect();
        assert!(
            want.iter().any(|b| !b.is_empty()),
            "{name}: Spark emitted nothing"
        );
        let input = match case.get("input").and_then(Value::as_str) {
            Some(name) => name,
            None if case.get("gap_ms").is_some() => "session_batches",
            None => "batches",
        };
        let got = run_case(case, &batches(&spec[input]), want.len());
        assert_eq!(got.len(), want.len(), "{name}: number of batches");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{name}, batch {i}");
        }
    }
}
