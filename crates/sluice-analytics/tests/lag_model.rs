#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The lag model: coefficients equal to numpy's offline least-squares fit (golden files made
//! by `tests/golden/lag_model/record.py`), on random series against a plain normal-equations
//! model, and bad input (NaN, infinities, gaps, out-of-order points, a constant input)
//! counted and contained.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;
use sluice_analytics::lag_model::{LagModel, ModelPoint, Observation, PointStatus, Rejection};
use sluice_streaming::testing::run_stream;

fn model_of(doc: &Value) -> LagModel {
    let n = doc["lags"].as_u64().unwrap() as usize;
    let base = if doc["regression"].as_bool().unwrap() {
        LagModel::regression(n)
    } else {
        LagModel::series(n)
    };
    base.exogenous(doc["exogenous"].as_u64().unwrap() as usize)
        .forgetting(doc["forgetting"].as_f64().unwrap())
}

fn records_of(doc: &Value) -> Vec<(String, Observation)> {
    doc["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let exog = r[4]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let o = Observation {
                t: r[1].as_i64().unwrap(),
                x: r[2].as_f64().unwrap(),
                y: r[3].as_f64(),
                exog,
            };
            (r[0].as_str().unwrap().to_string(), o)
        })
        .collect()
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= 1e-6 * b.abs().max(1e-3),
            "{what}[{i}]: online {a} vs numpy's lstsq {b}"
        );
    }
}

/// Runs the model over `records` cut into `batches` batches; the points of each key in order.
fn run_model(
    model: LagModel,
    records: Vec<(String, Observation)>,
    batches: usize,
) -> BTreeMap<String, Vec<ModelPoint>> {
    let per = records.len().div_ceil(batches);
    let input: Vec<Vec<_>> = records.chunks(per).map(|c| c.to_vec()).collect();
    let n = input.len();
    let out = run_stream(input, n, move |s| model.fit_on(&s).unwrap().stream()).unwrap();
    let mut by_key: BTreeMap<String, Vec<ModelPoint>> = BTreeMap::new();
    for batch in out {
        let mut batch = batch;
        // A key's points come in its order; keys' relative order depends on partitions.
        batch.sort_by_key(|(k, p)| (k.clone(), p.t));
        for (k, p) in batch {
            by_key.entry(k).or_default().push(p);
        }
    }
    by_key
}

#[test]
fn coefficients_equal_numpys_offline_least_squares() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/lag_model");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        cases += 1;
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = doc["name"].as_str().unwrap().to_string();
        let by_key = run_model(model_of(&doc), records_of(&doc), 7);
        for (key, want) in doc["fits"].as_object().unwrap() {
            let points = &by_key[key];
            let want: Vec<f64> = want
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let last = points.last().unwrap();
            assert_eq!(last.status, PointStatus::Fitted, "{name}/{key}");
            assert_close(
                &format!("{name}/{key} after all points"),
                last.coefficients.as_ref().unwrap(),
                &want,
            );
            // After the first half of the rows.
            let half = doc["half_fits"][format!("{key}#rows")].as_u64().unwrap() as usize;
            let want_half: Vec<f64> = doc["half_fits"][key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let learned: Vec<&ModelPoint> = points
                .iter()
                .filter(|p| matches!(p.status, PointStatus::Fitted | PointStatus::Singular))
                .collect();
            assert_close(
                &format!("{name}/{key} after {half} rows"),
                learned[half - 1].coefficients.as_ref().unwrap(),
                &want_half,
            );
            // Each prediction was made by the coefficients before the point.
            for w in learned.windows(2) {
                if let (Some(b), Some(pred)) = (&w[0].coefficients, w[1].predicted) {
                    assert!(pred.is_finite() && b.iter().all(|c| c.is_finite()));
                    assert_eq!(w[1].residual, Some(w[1].actual - pred));
                }
            }
        }
    }
    assert_eq!(cases, 4);
}

#[test]
fn the_series_form_forecasts_the_next_value_and_scores_it_when_it_arrives() {
    // x_{t+1} = 2 x_t - x_{t-1} (n = 1): a straight line, fitted exactly.
    let records: Vec<(String, Observation)> = (0..12)
        .map(|t| {
            (
                "k".to_string(),
                Observation::series(t, 3.0 * t as f64 + 1.0),
            )
        })
        .collect();
    let points = &run_model(LagModel::series(1), records, 3)["k"];
    assert_eq!(points[0].status, PointStatus::Warming);
    assert_eq!(points[1].status, PointStatus::Warming);
    // Rows x_t, x_{t-1}, 1 on a line are collinear: the fit stays singular, so it says so.
    assert!(points[2..]
        .iter()
        .all(|p| p.status == PointStatus::Singular));
    assert!(points
        .iter()
        .all(|p| p.forecast.is_none() && p.coefficients.is_none()));
    // A curved series determines every coefficient; the forecast of t+1 is then scored at t+1.
    let records: Vec<(String, Observation)> = (0..12)
        .map(|t| ("k".to_string(), Observation::series(t, (t * t) as f64)))
        .collect();
    let points = &run_model(LagModel::series(1), records, 2)["k"];
    let first_fit = points
        .iter()
        .position(|p| p.status == PointStatus::Fitted)
        .unwrap();
    for w in points[first_fit..].windows(2) {
        let forecast = w[0].forecast.unwrap();
        assert_eq!(w[1].predicted, Some(forecast));
        assert!(
            (w[1].actual - forecast).abs() < 1e-6,
            "{} vs {forecast}",
            w[1].actual
        );
    }
}

#[test]
fn bad_values_gaps_and_disorder_are_refused_and_never_poison_the_key() {
    let model = LagModel::regression(1);
    let mut s = model.new_state();
    let mut t = 0;
    let mut feed = |s: &mut _, x: f64, y: f64| {
        t += 1;
        model.observe(s, &Observation::with_target(t, x, y))
    };
    for i in 0..20 {
        let x = (i as f64).sin() * 5.0;
        feed(&mut s, x, 2.0 * x + 1.0);
    }
    let good = s.coefficients().unwrap();
    for (x, y) in [(f64::NAN, 1.0), (1.0, f64::INFINITY), (1e300, 1.0)] {
        let p = feed(&mut s, x, y);
        assert!(matches!(
            p.status,
            PointStatus::Rejected(Rejection::NonFinite | Rejection::OutOfRange)
        ));
        assert_eq!(s.coefficients().unwrap(), good);
    }
    assert_eq!(s.counts.rejected, 3);
    // Out of order: refused, unchanged.
    let p = model.observe(&mut s, &Observation::with_target(1, 1.0, 3.0));
    assert_eq!(p.status, PointStatus::Rejected(Rejection::OutOfOrder));
    // A regression record without its target.
    let p = model.observe(&mut s, &Observation::series(100, 1.0));
    assert_eq!(p.status, PointStatus::Rejected(Rejection::MissingTarget));
    // Wrong number of exogenous inputs.
    let p = model.observe(
        &mut s,
        &Observation::with_target(100, 1.0, 3.0).exogenous(vec![1.0]),
    );
    assert_eq!(p.status, PointStatus::Rejected(Rejection::WrongExogenous));
    // A gap starts the inputs over but keeps the coefficients.
    let p = model.observe(&mut s, &Observation::with_target(1000, 1.0, 3.0));
    assert_eq!(p.status, PointStatus::Warming);
    assert_eq!(s.counts.gaps, 1);
    let p = model.observe(&mut s, &Observation::with_target(1001, 2.0, 5.0));
    assert_eq!(p.status, PointStatus::Fitted);
    let c = p.coefficients.unwrap();
    // y = 2 x + 1 exactly: a_0 + a_1 = 2 on this data's span, and every value finite.
    assert!(c.iter().all(|v| v.is_finite()));
    assert!((p.predicted.unwrap() - 5.0).abs() < 1e-6);
}

#[test]
fn a_constant_input_is_singular_until_it_varies() {
    let model = LagModel::regression(0);
    let mut s = model.new_state();
    for t in 0..50 {
        let p = model.observe(&mut s, &Observation::with_target(t, 4.0, 9.0));
        assert_eq!(p.status, PointStatus::Singular);
        assert!(p.predicted.is_none() && p.coefficients.is_none());
    }
    let p = model.observe(&mut s, &Observation::with_target(50, 5.0, 11.0));
    assert_eq!(p.status, PointStatus::Fitted);
    let c = p.coefficients.unwrap();
    assert!(
        (c[0] - 2.0).abs() < 1e-9 && (c[1] - 1.0).abs() < 1e-9,
        "{c:?}"
    );
}

#[test]
fn invalid_settings_are_errors() {
    let run = |m: LagModel| {
        run_stream(
            vec![vec![("k".to_string(), Observation::series(0, 1.0))]],
            1,
            move |s| match m.fit_on(&s) {
                Ok(f) => f.stream().map(|_| 0),
                Err(_) => s.map(|_| 1),
            },
        )
        .unwrap()
    };
    assert_eq!(run(LagModel::series(2).forgetting(0.0)), vec![vec![1]]);
    assert_eq!(run(LagModel::series(2).forgetting(1.2)), vec![vec![1]]);
    assert_eq!(run(LagModel::series(2).step(0)), vec![vec![1]]);
    assert_eq!(run(LagModel::series(2)), vec![vec![0]]);
}

#[allow(clippy::needless_range_loop)]
/// The least-squares solution by the normal equations, solved by Gaussian elimination with
/// partial pivoting (a plain model, independent of the QR update).
fn normal_equations(rows: &[Vec<f64>], ys: &[f64]) -> Vec<f64> {
    let d = rows[0].len();
    let mut a = vec![vec![0.0; d + 1]; d];
    for (r, y) in rows.iter().zip(ys) {
        for i in 0..d {
            for j in 0..d {
                a[i][j] += r[i] * r[j];
            }
            a[i][d] += r[i] * y;
        }
    }
    for c in 0..d {
        let p = (c..d)
            .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
            .unwrap();
        a.swap(c, p);
        for i in c + 1..d {
            let f = a[i][c] / a[c][c];
            for j in c..=d {
                a[i][j] -= f * a[c][j];
            }
        }
    }
    let mut x = vec![0.0; d];
    for i in (0..d).rev() {
        let s: f64 = (i + 1..d).map(|j| a[i][j] * x[j]).sum();
        x[i] = (a[i][d] - s) / a[i][i];
    }
    x
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn online_fit_equals_the_normal_equations(
        n in 0usize..4,
        seed in 0u64..1_000,
        len in 30usize..80,
        batches in 1usize..5,
    ) {
        // A deterministic, well-conditioned regression series from the seed.
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        };
        let xs: Vec<f64> = (0..len).map(|_| 3.0 * next()).collect();
        let ys: Vec<f64> = xs.iter().map(|x| 0.7 * x + 2.0 + next()).collect();
        let records: Vec<(String, Observation)> = xs
            .iter()
            .zip(&ys)
            .enumerate()
            .map(|(t, (x, y))| ("k".to_string(), Observation::with_target(t as i64, *x, *y)))
            .collect();
        let points = &run_model(LagModel::regression(n), records, batches)["k"];
        let rows: Vec<Vec<f64>> = (n..len)
            .map(|t| (0..=n).map(|i| xs[t - i]).chain([1.0]).collect())
            .collect();
        let want = normal_equations(&rows, &ys[n..]);
        let got = points.last().unwrap().coefficients.clone().unwrap();
        for (a, b) in got.iter().zip(&want) {
            prop_assert!((a - b).abs() <= 1e-8 * b.abs().max(1.0), "{:?} vs {:?}", got, want);
        }
    }
}
