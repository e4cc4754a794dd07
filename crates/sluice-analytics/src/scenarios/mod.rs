//! The article's four industry scenarios as runnable jobs on embedded, seeded generators that
//! inject anomalies with known ground truth: [`finance`] (risk alerts on transactions),
//! [`ecommerce`] (conversion over sliding windows and trending items), [`traffic`]
//! (congestion alerts and short-term prediction with the lag model) and [`grid`] (voltage
//! drift before a fault). `sluice demo <scenario>` runs them; [`score`] compares a run's
//! alerts with the injected truth (precision and recall).
//!
//! Every generator is stateless: record `i` is a pure function of the seed and `i` (one step
//! of the scenario holds [`Scenario::records_per_step`] records), so the stream is the
//! replayable `rate_stream` and a batch recomputed after a crash holds the same records.

pub mod ecommerce;
pub mod finance;
pub mod grid;
pub mod noise;
pub mod traffic;

use std::sync::Arc;
use std::time::Duration;

use sluice_core::{Data, Error, Result};
use sluice_streaming::{DStream, StreamingContext};

use crate::anomaly::Alert;
use crate::monitor::ModelMonitor;

/// A ground-truth incident of one entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// The entity (account, item, road segment, substation).
    pub entity: String,
    /// The first step of the incident.
    pub start: u64,
    /// The last step by which an alert counts as detecting it (for recall).
    pub detect_by: u64,
    /// The last step at which an alert is still about it (for precision): an incident's
    /// clearing can raise alerts too.
    pub attributable_until: u64,
}

/// How a run's alerts compare with the truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Score {
    /// Alerts raised.
    pub alerts: usize,
    /// Alerts about some incident.
    pub true_alerts: usize,
    /// Incidents injected in the steps run.
    pub incidents: usize,
    /// Incidents with an alert in time.
    pub detected: usize,
}

impl Score {
    /// True alerts / alerts (1 without alerts).
    pub fn precision(&self) -> f64 {
        if self.alerts == 0 {
            1.0
        } else {
            self.true_alerts as f64 / self.alerts as f64
        }
    }

    /// Detected incidents / incidents (1 without incidents).
    pub fn recall(&self) -> f64 {
        if self.incidents == 0 {
            1.0
        } else {
            self.detected as f64 / self.incidents as f64
        }
    }
}

/// Scores `(entity, step)` alerts against the incidents.
///
/// ```
/// use sluice_analytics::scenarios::{score, Incident};
/// let truth = vec![Incident { entity: "a".into(), start: 5, detect_by: 6, attributable_until: 8 }];
/// let s = score(&[("a".into(), 6), ("a".into(), 8), ("b".into(), 6)], &truth);
/// assert_eq!((s.true_alerts, s.alerts, s.detected, s.incidents), (2, 3, 1, 1));
/// ```
pub fn score(alerts: &[(String, i64)], incidents: &[Incident]) -> Score {
    let mut by_entity: std::collections::HashMap<&str, Vec<&Incident>> = Default::default();
    for inc in incidents {
        by_entity.entry(inc.entity.as_str()).or_default().push(inc);
    }
    let mut detected = std::collections::HashSet::new();
    let mut true_alerts = 0;
    for (entity, t) in alerts {
        let Ok(t) = u64::try_from(*t) else { continue };
        let mut about_one = false;
        for inc in by_entity.get(entity.as_str()).into_iter().flatten() {
            if (inc.start..=inc.attributable_until).contains(&t) {
                about_one = true;
            }
            if (inc.start..=inc.detect_by).contains(&t) {
                detected.insert((inc.entity.as_str(), inc.start));
            }
        }
        true_alerts += usize::from(about_one);
    }
    Score {
        alerts: alerts.len(),
        true_alerts,
        incidents: incidents.len(),
        detected: detected.len(),
    }
}

/// The streams of a scenario's job.
pub struct ScenarioJob {
    /// The alerts, keyed by entity.
    pub alerts: DStream<(String, Alert)>,
    /// Lines to print each batch besides the alerts (top conversions, forecasts, ...).
    pub report: Option<DStream<String>>,
    /// The job's model, for the web UI's model pages.
    pub monitor: Option<Arc<ModelMonitor>>,
}

/// A scenario: a generator with ground truth and the job that watches it.
pub trait Scenario: Send + Sync + 'static {
    /// One generated record.
    type Event: Data;

    /// The scenario's name (`sluice demo <name>`).
    fn name(&self) -> &'static str;

    /// One sentence about what is generated and what is detected.
    fn description(&self) -> String;

    /// Records in one step of the scenario.
    fn records_per_step(&self) -> u64;

    /// Record `i`: of step `i / records_per_step()`.
    fn event(&self, i: u64) -> Self::Event;

    /// The job over the records.
    fn job(&self, events: &DStream<Self::Event>) -> Result<ScenarioJob>;

    /// The incidents injected before step `steps`.
    fn incidents(&self, steps: u64) -> Vec<Incident>;
}

/// The scenario's records as a stream of `steps_per_batch` steps per batch (a `rate_stream`,
/// so replayable). An error when a batch cannot hold a whole number of steps' records at the
/// context's batch interval.
pub fn event_stream<S: Scenario>(
    ssc: &StreamingContext,
    scenario: Arc<S>,
    steps_per_batch: u64,
) -> Result<DStream<S::Event>> {
    let interval_ms = ssc.batch_interval().as_millis() as u64;
    let per_batch = scenario.records_per_step() * steps_per_batch.max(1);
    let per_second_x1000 = per_batch * 1000;
    if interval_ms == 0 || !per_second_x1000.is_multiple_of(interval_ms) {
        return Err(Error::InvalidArgument(format!(
            "{} records per batch cannot be generated at a whole rate per second with batches \
             of {interval_ms} ms",
            per_batch
        )));
    }
    let rate = per_second_x1000 / interval_ms;
    Ok(ssc
        .rate_stream(rate, None, move |i| scenario.event(i))
        .set_name(format!("generated records ({per_batch} per batch)")))
}

/// The incidents `inj` injected into entities `0..entities` before step `steps`, named by
/// `name`; `bounds(start, end)` gives `(start, detect_by, attributable_until)`.
pub(crate) fn injected(
    inj: &noise::Injector,
    seed: u64,
    entities: u64,
    steps: u64,
    name: impl Fn(u64) -> String,
    bounds: impl Fn(u64, u64) -> (u64, u64, u64),
) -> Vec<Incident> {
    let mut out = Vec::new();
    for e in 0..entities {
        for (start, end) in inj.incidents(seed, e, steps) {
            let (start, detect_by, attributable_until) = bounds(start, end);
            out.push(Incident {
                entity: name(e),
                start,
                detect_by,
                attributable_until,
            });
        }
    }
    out
}

/// Bounds of an incident detected anywhere within it.
pub(crate) fn whole(start: u64, end: u64) -> (u64, u64, u64) {
    (start, end, end)
}

/// The time a batch interval of `ms` milliseconds holds, for window settings.
pub(crate) fn batches(interval: Duration, n: u32) -> Duration {
    interval * n
}
