#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The anomaly detectors on series with known anomalies, per key in a stream, and on bad
//! values.

use sluice_analytics::anomaly::{
    residual_alerts, AlertKind, EwmaChart, EwmaState, RollingZScore, Side, ZScoreState,
};
use sluice_analytics::lag_model::{LagModel, Observation};
use sluice_analytics::scenarios::noise::normal;
use sluice_streaming::testing::run_stream;

/// A noisy level with spikes at known steps.
fn spiky(key: u64, len: u64, spikes: &[u64]) -> Vec<(i64, f64)> {
    (0..len)
        .map(|t| {
            let v = 10.0 + normal(1, key, t, 0) + if spikes.contains(&t) { 9.0 } else { 0.0 };
            (t as i64, v)
        })
        .collect()
}

#[test]
fn rolling_z_score_finds_the_spikes_of_each_key() {
    let spikes_a = [40, 90, 150, 190];
    let spikes_b = [60, 120];
    let mut batch = Vec::new();
    for (t, v) in spiky(1, 200, &spikes_a) {
        batch.push(("a".to_string(), (t, v)));
    }
    for (t, v) in spiky(2, 200, &spikes_b) {
        batch.push(("b".to_string(), (t, v)));
    }
    let batches: Vec<Vec<_>> = batch.chunks(37).map(|c| c.to_vec()).collect();
    let n = batches.len();
    let z = RollingZScore::new(30, 4.0).min_points(10);
    let out = run_stream(batches, n, move |s| z.detect(&s).unwrap()).unwrap();
    let mut found: Vec<(String, i64)> = out.into_iter().flatten().map(|(k, a)| (k, a.t)).collect();
    found.sort();
    let mut want: Vec<(String, i64)> = spikes_a
        .iter()
        .map(|t| ("a".to_string(), *t as i64))
        .chain(spikes_b.iter().map(|t| ("b".to_string(), *t as i64)))
        .collect();
    want.sort();
    assert_eq!(found, want);
}

#[test]
fn a_spike_masks_the_next_one_unless_flagged_values_stay_out_of_the_window() {
    let series = spiky(1, 200, &[150, 170]);
    let run = |z: RollingZScore| {
        let mut s = ZScoreState::default();
        series
            .iter()
            .filter_map(|(t, v)| z.observe(&mut s, *t, *v).map(|a| a.t))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(RollingZScore::new(30, 4.0).min_points(10)), vec![150]);
    assert_eq!(
        run(RollingZScore::new(30, 4.0)
            .min_points(10)
            .exclude_flagged(true)),
        vec![150, 170]
    );
}

#[test]
fn non_finite_values_are_counted_and_never_scored() {
    let z = RollingZScore::new(5, 3.0);
    let mut s = ZScoreState::default();
    for t in 0..10 {
        assert!(z.observe(&mut s, t, 1.0 + (t % 3) as f64 * 0.1).is_none());
    }
    assert!(z.observe(&mut s, 10, f64::NAN).is_none());
    assert!(z.observe(&mut s, 11, f64::NEG_INFINITY).is_none());
    assert_eq!(s.non_finite, 2);
    // The window is intact: a spike still scores, with a finite score.
    let a = z.observe(&mut s, 12, 50.0).unwrap();
    assert!(a.score.is_finite() && a.score > 3.0);
    // A value leaving a constant window gets a large, finite score.
    let mut flat = ZScoreState::default();
    for t in 0..10 {
        z.observe(&mut flat, t, 2.0);
    }
    let a = z.observe(&mut flat, 10, 2.5).unwrap();
    assert!(a.score.is_finite() && a.score > 1e6);
    let chart = EwmaChart::new(0.2, 3.0).warmup(5);
    let mut e = EwmaState::default();
    assert!(chart.observe(&mut e, 0, f64::NAN).is_none());
    assert_eq!(e.non_finite, 1);
}

#[test]
fn sides_flag_only_their_direction() {
    let up = RollingZScore::new(10, 3.0).side(Side::Above);
    let down = RollingZScore::new(10, 3.0).side(Side::Below);
    let (mut a, mut b) = (ZScoreState::default(), ZScoreState::default());
    for t in 0..10 {
        let v = 5.0 + (t % 2) as f64 * 0.1;
        up.observe(&mut a, t, v);
        down.observe(&mut b, t, v);
    }
    assert!(up.observe(&mut a.clone(), 10, 0.0).is_none());
    assert!(up.observe(&mut a, 10, 10.0).is_some());
    assert!(down.observe(&mut b.clone(), 10, 10.0).is_none());
    assert!(down.observe(&mut b, 10, 0.0).is_some());
}

#[test]
fn ewma_chart_warns_of_a_slow_drift_and_not_of_noise() {
    let chart = EwmaChart::new(0.1, 4.0).warmup(50);
    let mut s = EwmaState::default();
    let mut first = None;
    for t in 0..400u64 {
        let drift = if t >= 300 {
            0.05 * (t - 300) as f64
        } else {
            0.0
        };
        let v = 10.0 + 0.5 * normal(3, 0, t, 0) + drift;
        if let Some(a) = chart.observe(&mut s, t as i64, v) {
            assert_eq!(a.kind, AlertKind::Ewma);
            first.get_or_insert(t);
        }
    }
    let first = first.expect("the drift was not seen");
    assert!((300..330).contains(&first), "first warning at {first}");
}

#[test]
fn residual_alerts_flag_what_the_model_did_not_expect() {
    // x_{t+1} = 0.8 x_t + 2 + noise, with a jump at t = 150.
    let mut x = 10.0;
    let mut batch = Vec::new();
    for t in 0..200u64 {
        batch.push(("k".to_string(), Observation::series(t as i64, x)));
        x = 0.8 * x + 2.0 + 0.3 * normal(9, 0, t, 0) + if t == 149 { 8.0 } else { 0.0 };
    }
    let batches: Vec<Vec<_>> = batch.chunks(50).map(|c| c.to_vec()).collect();
    let out = run_stream(batches, 4, |s| {
        let points = LagModel::series(1).fit_on(&s).unwrap().stream();
        residual_alerts(&points, 5.0)
    })
    .unwrap();
    let alerts: Vec<i64> = out.into_iter().flatten().map(|(_, a)| a.t).collect();
    assert_eq!(alerts, vec![150]);
}
