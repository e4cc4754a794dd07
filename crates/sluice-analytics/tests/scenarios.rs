#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The four scenarios end to end on their generators (manual clock): the detectors find the
//! injected incidents with the precision and recall the demos report.

use std::sync::Arc;

use sluice_analytics::scenarios::ecommerce::Ecommerce;
use sluice_analytics::scenarios::finance::Finance;
use sluice_analytics::scenarios::grid::Grid;
use sluice_analytics::scenarios::traffic::Traffic;
use sluice_analytics::scenarios::{event_stream, score, Scenario, Score};
use sluice_streaming::testing::run_stream_from;

fn run<S: Scenario>(scenario: S, steps_per_batch: u64, batches: usize) -> Score {
    let s = Arc::new(scenario);
    let job = Arc::clone(&s);
    let out = run_stream_from(batches, move |ssc| {
        let events = event_stream(ssc, Arc::clone(&job), steps_per_batch).unwrap();
        job.job(&events).unwrap().alerts
    })
    .unwrap();
    let alerts: Vec<(String, i64)> = out.into_iter().flatten().map(|(k, a)| (k, a.t)).collect();
    let sc = score(&alerts, &s.incidents(steps_per_batch * batches as u64));
    eprintln!(
        "{}: {} alerts, precision {:.3}, recall {:.3} ({} of {} incidents)",
        s.name(),
        sc.alerts,
        sc.precision(),
        sc.recall(),
        sc.detected,
        sc.incidents
    );
    sc
}

#[test]
fn finance_risk_alerts_find_outliers_and_bursts() {
    let s = run(Finance::new(100, 7), 50, 12);
    assert!(s.incidents > 100, "{s:?}");
    assert!(s.precision() >= 0.9 && s.recall() >= 0.9, "{s:?}");
}

#[test]
fn ecommerce_trending_items_are_found() {
    let s = run(Ecommerce::new(30, 600, 7), 50, 20);
    assert!(s.incidents > 10, "{s:?}");
    assert!(s.precision() >= 0.9 && s.recall() >= 0.9, "{s:?}");
}

#[test]
fn traffic_congestion_is_alerted_by_the_models_residuals() {
    let s = run(Traffic::new(60, 7), 50, 12);
    assert!(s.incidents > 20, "{s:?}");
    assert!(s.precision() >= 0.9 && s.recall() >= 0.9, "{s:?}");
}

#[test]
fn grid_drift_is_warned_before_the_fault() {
    let s = run(Grid::new(40, 7), 50, 16);
    assert!(s.incidents > 10, "{s:?}");
    assert!(s.precision() >= 0.9 && s.recall() >= 0.9, "{s:?}");
}
