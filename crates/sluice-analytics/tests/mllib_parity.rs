#![allow(clippy::unwrap_used, clippy::expect_used)]
//! MLlib's streaming learners against `pyspark.mllib`: the same batches, in the same two
//! partitions, give the same weights and centers after every batch, to 1e-9 (golden files
//! recorded by `tests/golden/mllib/record.py`; with pyspark installed, the ignored test also
//! records them afresh and compares).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;
use sluice_analytics::mllib::{
    LabeledPoint, LinearModel, StreamingKMeans, StreamingLinearRegressionWithSGD,
    StreamingLogisticRegressionWithSGD, TimeUnit,
};
use sluice_streaming::testing::{run_stream_with, TestConfig};
use sluice_streaming::DStream;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/mllib")
}

fn f(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

fn vector(v: &Value) -> Vec<f64> {
    v.as_array().expect("an array").iter().map(f).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn assert_vectors(case: &str, what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{case}: {what}: length");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(close(*a, *b), "{case}: {what}[{i}]: {a} vs PySpark's {b}");
    }
}

/// The models Sluice's learner has after each batch of the case.
fn run_case(doc: &Value) -> Vec<Value> {
    let kind = doc["kind"].as_str().unwrap();
    let p = &doc["params"];
    let batches = doc["batches"].as_array().unwrap();
    let n = batches.len();
    let models: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = Arc::clone(&models);
    let config = TestConfig::default();
    match kind {
        "linear" | "logistic" => {
            let input: Vec<Vec<LabeledPoint>> = batches
                .iter()
                .map(|b| {
                    b.as_array()
                        .unwrap()
                        .iter()
                        .map(|lp| LabeledPoint::new(f(&lp[0]), vector(&lp[1])))
                        .collect()
                })
                .collect();
            let initial = vector(&doc["initial"]);
            let (step, iters) = (
                f(&p["stepSize"]),
                p["numIterations"].as_u64().unwrap() as usize,
            );
            let (fraction, tol) = (f(&p["miniBatchFraction"]), f(&p["convergenceTol"]));
            let reg = p.get("regParam").map_or(0.0, f);
            // Trains the case's learner on the stream; returns how to read its latest model.
            let train =
                move |s: &DStream<LabeledPoint>| -> Box<dyn Fn() -> LinearModel + Send + Sync> {
                    if kind == "linear" {
                        let m = StreamingLinearRegressionWithSGD::new()
                            .step_size(step)
                            .num_iterations(iters)
                            .mini_batch_fraction(fraction)
                            .convergence_tol(tol)
                            .set_initial_weights(initial.clone());
                        m.train_on(s).unwrap();
                        Box::new(move || m.latest_model().unwrap())
                    } else {
                        let m = StreamingLogisticRegressionWithSGD::new()
                            .step_size(step)
                            .num_iterations(iters)
                            .mini_batch_fraction(fraction)
                            .reg_param(reg)
                            .convergence_tol(tol)
                            .set_initial_weights(initial.clone());
                        m.train_on(s).unwrap();
                        Box::new(move || m.latest_model().unwrap())
                    }
                };
            run_stream_with(config, input, n, move |s| {
                let latest = train(&s);
                s.foreach_rdd(move |_, _| {
                    let lm = latest();
                    sink.lock().push(
                        serde_json::json!({"weights": lm.weights, "intercept": lm.intercept}),
                    );
                    Ok(())
                })
                .unwrap();
                s.count()
            })
            .unwrap();
        }
        "kmeans" => {
            let input: Vec<Vec<Vec<f64>>> = batches
                .iter()
                .map(|b| b.as_array().unwrap().iter().map(vector).collect())
                .collect();
            let k = p["k"].as_u64().unwrap() as usize;
            let unit = match p["timeUnit"].as_str().unwrap() {
                "points" => TimeUnit::Points,
                _ => TimeUnit::Batches,
            };
            let mut km = StreamingKMeans::new(k).time_unit(unit);
            if let Some(d) = p.get("decayFactor") {
                km = km.decay_factor(f(d));
            }
            if let Some(h) = p.get("halfLife") {
                km = km.half_life(f(h), unit);
            }
            let init = &doc["initial"];
            km = if let Some(r) = init.get("random") {
                let km = km
                    .set_random_centers(
                        r["dim"].as_u64().unwrap() as usize,
                        f(&r["weight"]),
                        r["seed"].as_u64().unwrap() as u32,
                    )
                    .unwrap();
                let m0 = km.latest_model().unwrap();
                let want = &doc["initial_model"];
                for (i, c) in m0.centers.iter().enumerate() {
                    assert_vectors(
                        doc["name"].as_str().unwrap(),
                        "random initial center",
                        c,
                        &vector(&want["centers"][i]),
                    );
                }
                km
            } else {
                let centers = init["centers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(vector)
                    .collect();
                km.set_initial_centers(centers, vector(&init["weights"]))
                    .unwrap()
            };
            run_stream_with(config, input, n, move |s| {
                km.train_on(&s).unwrap();
                s.foreach_rdd(move |_, _| {
                    let m = km.latest_model().unwrap();
                    sink.lock()
                        .push(serde_json::json!({"centers": m.centers, "weights": m.weights}));
                    Ok(())
                })
                .unwrap();
                s.count()
            })
            .unwrap();
        }
        other => panic!("unknown case kind {other}"),
    }
    let out = models.lock().clone();
    out
}

fn check_case(doc: &Value, want_models: &[Value]) {
    let name = doc["name"].as_str().unwrap();
    let got = run_case(doc);
    assert_eq!(got.len(), want_models.len(), "{name}: batches");
    for (b, (g, w)) in got.iter().zip(want_models).enumerate() {
        if doc["kind"] == "kmeans" {
            assert_vectors(
                name,
                &format!("batch {b} weights"),
                &vector(&g["weights"]),
                &vector(&w["weights"]),
            );
            for (i, c) in w["centers"].as_array().unwrap().iter().enumerate() {
                assert_vectors(
                    name,
                    &format!("batch {b} center {i}"),
                    &vector(&g["centers"][i]),
                    &vector(c),
                );
            }
        } else {
            assert_vectors(
                name,
                &format!("batch {b} weights"),
                &vector(&g["weights"]),
                &vector(&w["weights"]),
            );
            assert!(
                close(f(&g["intercept"]), f(&w["intercept"])),
                "{name}: intercept"
            );
        }
    }
}

fn golden_cases(dir: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

#[test]
fn streaming_learners_match_pyspark_mllib_batch_by_batch() {
    let cases = golden_cases(&golden_dir());
    assert!(cases.len() >= 9, "golden cases missing");
    for doc in &cases {
        check_case(doc, doc["models"].as_array().unwrap());
    }
}

#[test]
#[ignore = "needs pyspark and numpy (SLUICE_PYSPARK_PYTHON)"]
fn mllib_parity_against_live_pyspark() {
    let python = std::env::var("SLUICE_PYSPARK_PYTHON").expect("SLUICE_PYSPARK_PYTHON");
    let out = std::env::temp_dir().join(format!("sluice-mllib-golden-{}", std::process::id()));
    let status = std::process::Command::new(python)
        .arg(golden_dir().join("record.py"))
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "record.py failed");
    let fresh = golden_cases(&out);
    assert_eq!(fresh.len(), golden_cases(&golden_dir()).len());
    for doc in &fresh {
        check_case(doc, doc["models"].as_array().unwrap());
    }
    let _ = std::fs::remove_dir_all(&out);
}
