//! [`ModelMonitor`]: what a running lag model has done for a few of its keys — the series,
//! the model's predictions, the alerts and the coefficients over time — kept bounded for the
//! web UI's model pages (`sluice_ui::UiServer::add_model`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Display;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;
use sluice_core::{Key, Result};
use sluice_streaming::DStream;

use crate::anomaly::Alert;
use crate::lag_model::ModelPoint;

/// One point of a watched key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TracePoint {
    /// The point's time step.
    pub t: i64,
    /// The observed value.
    pub actual: f64,
    /// The model's prediction of it, made before it arrived.
    pub predicted: Option<f64>,
    /// The score of the alert raised on this point, if one was.
    pub alert: Option<f64>,
    /// The coefficients after the point.
    pub coefficients: Option<Vec<f64>>,
}

/// The recent history of up to `max_keys` keys of a model (the first keys it sees), each
/// bounded to `history` points.
///
/// ```
/// use sluice_analytics::lag_model::{LagModel, Observation};
/// use sluice_analytics::monitor::ModelMonitor;
/// use sluice_streaming::testing::run_stream;
/// let monitor = ModelMonitor::new("demo", 2, 100);
/// let m = monitor.clone();
/// let input = vec![(0..30).map(|t| ("k".to_string(), Observation::series(t, (t % 7) as f64))).collect()];
/// run_stream(input, 1, move |s| {
///     let points = LagModel::series(1).fit_on(&s).unwrap().stream();
///     m.watch(&points, |_| None).unwrap();
///     points
/// })
/// .unwrap();
/// assert_eq!(monitor.keys(), vec!["k".to_string()]);
/// assert_eq!(monitor.trace("k").unwrap().len(), 30);
/// ```
pub struct ModelMonitor {
    name: String,
    max_keys: usize,
    history: usize,
    traces: Mutex<BTreeMap<String, VecDeque<TracePoint>>>,
}

impl ModelMonitor {
    /// A monitor called `name` (the UI's page title).
    pub fn new(name: impl Into<String>, max_keys: usize, history: usize) -> Arc<Self> {
        Arc::new(ModelMonitor {
            name: name.into(),
            max_keys: max_keys.max(1),
            history: history.max(1),
            traces: Mutex::default(),
        })
    }

    /// The monitor's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The keys watched, in order.
    pub fn keys(&self) -> Vec<String> {
        self.traces.lock().keys().cloned().collect()
    }

    /// The recent points of `key`, oldest first.
    pub fn trace(&self, key: &str) -> Option<Vec<TracePoint>> {
        self.traces
            .lock()
            .get(key)
            .map(|d| d.iter().cloned().collect())
    }

    /// Records, after every batch of `points`, the points of the watched keys (choosing the
    /// first keys seen while there is room), with the alert `alert` raises on each (an
    /// output operation).
    pub fn watch<K: Key + Display>(
        self: &Arc<Self>,
        points: &DStream<(K, ModelPoint)>,
        alert: impl Fn(&ModelPoint) -> Option<Alert> + Send + Sync + 'static,
    ) -> Result<()> {
        let me = Arc::clone(self);
        let alert = Arc::new(alert);
        points.foreach_rdd(move |rdd, _| {
            let mut watched: BTreeSet<String> = me.traces.lock().keys().cloned().collect();
            let room = me.max_keys.saturating_sub(watched.len());
            if room > 0 {
                let mut seen: Vec<String> = rdd
                    .map(|(k, _)| k.to_string())
                    .take(room.saturating_mul(32))?;
                seen.sort();
                seen.dedup();
                let new: Vec<String> = seen
                    .into_iter()
                    .filter(|k| !watched.contains(k))
                    .take(room)
                    .collect();
                watched.extend(new);
            }
            let watched = Arc::new(watched);
            let w = Arc::clone(&watched);
            let alert = Arc::clone(&alert);
            let mut picked: Vec<(String, TracePoint)> = rdd
                .filter(move |(k, _)| w.contains(&k.to_string()))
                .map(move |(k, p)| {
                    let score = alert(&p).map(|a| a.score);
                    let point = TracePoint {
                        t: p.t,
                        actual: p.actual,
                        predicted: p.predicted,
                        alert: score,
                        coefficients: p.coefficients,
                    };
                    (k.to_string(), point)
                })
                .collect()?;
            picked.sort_by(|a, b| (&a.0, a.1.t).cmp(&(&b.0, b.1.t)));
            let mut traces = me.traces.lock();
            for k in watched.iter() {
                traces.entry(k.clone()).or_default();
            }
            for (k, p) in picked {
                let d = traces.entry(k).or_default();
                d.push_back(p);
                while d.len() > me.history {
                    d.pop_front();
                }
            }
            Ok(())
        })
    }
}
