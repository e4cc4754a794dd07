//! Traffic monitoring: speed and flow per road segment every step (5 minutes), with a daily
//! profile (rush-hour dips) and injected incidents (speed down to a third for 12 steps). The
//! job fits the [lag model](crate::lag_model) to each segment's speed — one-step-ahead
//! prediction from its last 5 values — raises congestion alerts where the speed falls more
//! than 5 σ below the prediction, and reports the predictions of the slowest segments.

use serde::{Deserialize, Serialize};
use sluice_core::Result;
use sluice_streaming::DStream;

use super::noise::{normal, uniform, Injector};
use super::{injected, whole, Incident, Scenario, ScenarioJob};
use crate::anomaly::{residual_alert, Alert, AlertKind};
use crate::lag_model::{LagModel, ModelPoint, Observation};
use crate::monitor::ModelMonitor;

/// One reading of a road segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// The segment.
    pub segment: u32,
    /// The step (5 minutes each).
    pub step: u64,
    /// Mean speed, km/h.
    pub speed: f64,
    /// Vehicles in the step.
    pub flow: f64,
}

/// The traffic scenario.
#[derive(Debug, Clone)]
pub struct Traffic {
    /// Road segments.
    pub segments: u32,
    /// The generator's seed.
    pub seed: u64,
}

/// Steps per day.
const DAY: f64 = 288.0;

const INCIDENT: Injector = Injector {
    salt: 31,
    block: 300,
    p: 0.3,
    len: 12,
    first_block: 0,
};

/// The lag model the job fits to each segment's speed.
pub fn speed_model() -> LagModel {
    LagModel::series(4).forgetting(0.995).sigma_window(100)
}

/// A drop of the speed this many σ below the prediction is a congestion alert.
pub const CONGESTION_SIGMAS: f64 = 5.0;

impl Traffic {
    /// `segments` road segments from `seed`.
    pub fn new(segments: u32, seed: u64) -> Self {
        Traffic { segments, seed }
    }
}

fn segment_name(s: u32) -> String {
    format!("seg-{s:03}")
}

/// The congestion alert for a model point, if any: a residual below −k σ.
pub fn congestion_alert(p: &ModelPoint) -> Option<Alert> {
    let a = residual_alert(p, CONGESTION_SIGMAS)?;
    (a.score < 0.0).then(|| Alert {
        kind: AlertKind::Residual,
        reason: format!("congestion: {}", a.reason),
        ..a
    })
}

impl Scenario for Traffic {
    type Event = Reading;

    fn name(&self) -> &'static str {
        "traffic"
    }

    fn description(&self) -> String {
        format!(
            "speed and flow of {} road segments every 5 minutes, with rush hours and injected \
             incidents; a lag model per segment (n = 4) predicts the next speed, and a speed \
             {CONGESTION_SIGMAS} σ below its prediction is a congestion alert",
            self.segments
        )
    }

    fn records_per_step(&self) -> u64 {
        u64::from(self.segments)
    }

    fn event(&self, i: u64) -> Reading {
        let n = u64::from(self.segments);
        let (g, step) = (i % n, i / n);
        let s = self.seed;
        let free = 80.0 + 30.0 * uniform(s, g, 0, 1);
        let hour = (step as f64 % DAY) / DAY * 24.0;
        let rush = |h: f64| (-(hour - h) * (hour - h) / 2.0).exp();
        let dip = 0.35 * free * (rush(8.0) + rush(17.5));
        let mut speed = free - dip + 2.0 * normal(s, g, step, 2);
        if INCIDENT.offset(s, g, step).is_some() {
            speed *= 0.3 + 0.1 * uniform(s, g, step, 3);
        }
        let speed = speed.max(3.0);
        let flow = (speed * (1.5 + 0.5 * uniform(s, g, step, 4))).round();
        Reading {
            segment: g as u32,
            step,
            speed: (speed * 10.0).round() / 10.0,
            flow,
        }
    }

    fn job(&self, events: &DStream<Reading>) -> Result<ScenarioJob> {
        let series = events.map(|r: Reading| {
            (
                segment_name(r.segment),
                Observation::series(r.step as i64, r.speed),
            )
        });
        let points = speed_model().fit_on(&series)?.stream();
        let alerts =
            points.flat_map(|(k, p): (String, ModelPoint)| congestion_alert(&p).map(|a| (k, a)));
        // The segments predicted slowest for the next step.
        let report = points
            .filter(|(_, p): &(String, ModelPoint)| p.forecast.is_some())
            .transform(|rdd, _| {
                Ok(rdd.sort_by(
                    |(k, p)| (p.forecast.map(|f| (f * 10.0) as i64), k.clone(), p.t),
                    true,
                    1,
                ))
            })
            .map(|(k, p): (String, ModelPoint)| {
                format!(
                    "{k} at step {}: {:.1} km/h, next step predicted {:.1} km/h",
                    p.t,
                    p.actual,
                    p.forecast.unwrap_or(f64::NAN)
                )
            });
        let monitor = ModelMonitor::new("traffic speed (lag model, n = 4)", 20, 300);
        monitor.watch(&points, congestion_alert)?;
        Ok(ScenarioJob {
            alerts,
            report: Some(report),
            monitor: Some(monitor),
        })
    }

    fn incidents(&self, steps: u64) -> Vec<Incident> {
        // The drop is the alert; the model has adapted by the incident's end, and the
        // recovery is a rise, never a congestion alert.
        let name = |g: u64| segment_name(g as u32);
        injected(
            &INCIDENT,
            self.seed,
            self.segments.into(),
            steps,
            name,
            whole,
        )
    }
}
