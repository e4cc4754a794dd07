//! Streaming analytics from Python: MLlib's streaming learners (`NativeLinearLearner`,
//! `NativeKMeans`), the lag model and the anomaly detectors, all running in Rust on the
//! records of a Python stream. Records are read into Rust once per partition (taking the
//! interpreter lock once); a record that cannot be read as numbers becomes a point the Rust
//! operator refuses and counts, never a crash.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use sluice_analytics::anomaly::{Alert, EwmaChart, RollingZScore, Side};
use sluice_analytics::lag_model::{LagModel, ModelPoint, Observation, PointStatus};
use sluice_analytics::mllib::{
    LabeledPoint, StreamingKMeans, StreamingLinearRegressionWithSGD,
    StreamingLogisticRegressionWithSGD, TimeUnit,
};
use sluice_core::{Data, Rdd};
use sluice_streaming::source::BadRecordReport;
use sluice_streaming::DStream;

use crate::chunk::{to_chunks, Chunk};
use crate::dstream::NativeDStream;
use crate::error::{from_py, IntoPyResult};
use crate::keys::key_of;
use crate::state::PyKey;

/// The records of `rdd` read into Rust by `read`, partition by partition.
fn from_chunks<T: Data>(
    rdd: &Rdd<Chunk>,
    read: impl Fn(&Bound<'_, PyAny>) -> PyResult<T> + Send + Sync + 'static,
) -> Rdd<T> {
    let read = Arc::new(read);
    rdd.try_map_partitions_with_index(false, move |_, chunks| {
        Python::attach(|py| {
            let mut out = Vec::new();
            let done = (|| {
                for c in &chunks {
                    for rec in c.bind(py).iter() {
                        out.push(read(&rec)?);
                    }
                }
                Ok::<_, PyErr>(())
            })();
            done.map_err(|e| from_py(py, e))?;
            Ok(out)
        })
    })
}

fn stream_of<T: Data>(
    stream: &NativeDStream,
    read: impl Fn(&Bound<'_, PyAny>) -> PyResult<T> + Send + Sync + 'static,
) -> DStream<T> {
    let read = Arc::new(read);
    stream.stream.transform(move |rdd, _| {
        let read = Arc::clone(&read);
        Ok(from_chunks(&rdd, move |r| read(r)))
    })
}

/// Numbers of an iterable (a list, a tuple, a numpy array, a vector).
fn floats(obj: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    obj.try_iter()?.map(|x| x?.extract::<f64>()).collect()
}

/// A `LabeledPoint` (anything with `label` and `features`, or a `(label, features)` pair);
/// anything else is a point every learner refuses.
fn labeled(obj: &Bound<'_, PyAny>) -> LabeledPoint {
    let read = || -> PyResult<LabeledPoint> {
        if obj.hasattr("label")? && obj.hasattr("features")? {
            return Ok(LabeledPoint::new(
                obj.getattr("label")?.extract()?,
                floats(&obj.getattr("features")?)?,
            ));
        }
        Ok(LabeledPoint::new(
            obj.get_item(0)?.extract()?,
            floats(&obj.get_item(1)?)?,
        ))
    };
    read().unwrap_or_else(|_| LabeledPoint::new(f64::NAN, Vec::new()))
}

/// A vector; anything else is one every learner refuses.
fn vector(obj: &Bound<'_, PyAny>) -> Vec<f64> {
    floats(obj).unwrap_or_else(|_| vec![f64::NAN])
}

fn report(r: BadRecordReport) -> (u64, Vec<String>) {
    (r.total, r.samples)
}

enum Linear {
    Regression(StreamingLinearRegressionWithSGD),
    Logistic(StreamingLogisticRegressionWithSGD),
}

/// `StreamingLinearRegressionWithSGD` or `StreamingLogisticRegressionWithSGD` in Rust.
#[pyclass(name = "NativeLinearLearner", module = "sluice._native", frozen)]
pub(crate) struct NativeLinearLearner {
    learner: Linear,
}

#[pymethods]
impl NativeLinearLearner {
    #[new]
    #[pyo3(signature = (logistic, step_size, iterations, mini_batch_fraction, convergence_tol, reg_param, initial))]
    fn new(
        logistic: bool,
        step_size: f64,
        iterations: usize,
        mini_batch_fraction: f64,
        convergence_tol: f64,
        reg_param: f64,
        initial: Vec<f64>,
    ) -> NativeLinearLearner {
        let learner = if logistic {
            Linear::Logistic(
                StreamingLogisticRegressionWithSGD::new()
                    .step_size(step_size)
                    .num_iterations(iterations)
                    .mini_batch_fraction(mini_batch_fraction)
                    .convergence_tol(convergence_tol)
                    .reg_param(reg_param)
                    .set_initial_weights(initial),
            )
        } else {
            Linear::Regression(
                StreamingLinearRegressionWithSGD::new()
                    .step_size(step_size)
                    .num_iterations(iterations)
                    .mini_batch_fraction(mini_batch_fraction)
                    .convergence_tol(convergence_tol)
                    .set_initial_weights(initial),
            )
        };
        NativeLinearLearner { learner }
    }

    /// Trains on every batch of a stream of labelled points (an output operation).
    fn train_on(&self, stream: &NativeDStream) -> PyResult<()> {
        let points = stream_of(stream, |r| Ok(labeled(r)));
        match &self.learner {
            Linear::Regression(l) => l.train_on(&points),
            Linear::Logistic(l) => l.train_on(&points),
        }
        .py_err()
    }

    /// `(weights, intercept)` of the latest model.
    fn latest(&self) -> (Vec<f64>, f64) {
        let m = match &self.learner {
            Linear::Regression(l) => l.latest_model(),
            Linear::Logistic(l) => l.latest_model(),
        };
        m.map(|m| (m.weights, m.intercept)).unwrap_or_default()
    }

    /// `(count, examples)` of the points set aside.
    fn bad_records(&self) -> (u64, Vec<String>) {
        report(match &self.learner {
            Linear::Regression(l) => l.bad_records(),
            Linear::Logistic(l) => l.bad_records(),
        })
    }
}

/// `StreamingKMeans` in Rust.
#[pyclass(name = "NativeKMeans", module = "sluice._native", frozen)]
pub(crate) struct NativeKMeans {
    km: StreamingKMeans,
}

#[pymethods]
impl NativeKMeans {
    #[new]
    fn new(
        decay_factor: f64,
        points_unit: bool,
        centers: Vec<Vec<f64>>,
        weights: Vec<f64>,
    ) -> PyResult<NativeKMeans> {
        let unit = if points_unit {
            TimeUnit::Points
        } else {
            TimeUnit::Batches
        };
        let km = StreamingKMeans::new(centers.len())
            .decay_factor(decay_factor)
            .time_unit(unit)
            .set_initial_centers(centers, weights)
            .py_err()?;
        Ok(NativeKMeans { km })
    }

    /// Updates the model with every batch of a stream of vectors (an output operation).
    fn train_on(&self, stream: &NativeDStream) -> PyResult<()> {
        let points = stream_of(stream, |r| Ok(vector(r)));
        self.km.train_on(&points).py_err()
    }

    /// `(centers, weights)` of the latest model.
    fn latest(&self) -> (Vec<Vec<f64>>, Vec<f64>) {
        self.km
            .latest_model()
            .map(|m| (m.centers, m.weights))
            .unwrap_or_default()
    }

    /// `(count, examples)` of the vectors set aside.
    fn bad_records(&self) -> (u64, Vec<String>) {
        report(self.km.bad_records())
    }
}

/// numpy's `RandomState(seed).randn(k, dim)`, as `pyspark.mllib` draws random centers.
#[pyfunction]
pub(crate) fn numpy_randn(seed: u32, k: usize, dim: usize) -> Vec<Vec<f64>> {
    sluice_analytics::mllib::numpy_random::RandomState::new(seed).randn(k, dim)
}

/// A `(key, (t, x[, y[, exog]]))` record as the model's input; values that are not numbers
/// make an observation the model refuses and counts.
fn observation(rec: &Bound<'_, PyAny>) -> PyResult<(PyKey, Observation)> {
    let key = PyKey::new(&key_of(rec)?)?;
    let v = rec.get_item(1)?;
    let read = || -> PyResult<Observation> {
        let t: i64 = v.get_item(0)?.extract()?;
        let x: f64 = v.get_item(1)?.extract()?;
        let n = v.len()?;
        let y = if n > 2 {
            let y = v.get_item(2)?;
            if y.is_none() {
                None
            } else {
                Some(y.extract()?)
            }
        } else {
            None
        };
        let exog = if n > 3 {
            floats(&v.get_item(3)?)?
        } else {
            Vec::new()
        };
        Ok(Observation { t, x, y, exog })
    };
    let o = read().unwrap_or_else(|_| {
        let t = v.get_item(0).and_then(|t| t.extract()).unwrap_or(0);
        Observation::series(t, f64::NAN)
    });
    Ok((key, o))
}

fn status_name(s: &PointStatus) -> String {
    match s {
        PointStatus::Fitted => "fitted".into(),
        PointStatus::Warming => "warming".into(),
        PointStatus::Singular => "singular".into(),
        PointStatus::Rejected(r) => format!("rejected: {r:?}"),
    }
}

/// The lag model per key of a `(key, (t, x[, y[, exog]]))` stream: a stream of
/// `(key, (t, actual, predicted, residual, forecast, coefficients, sigma, status))`.
#[pyfunction]
#[pyo3(signature = (stream, n, regression, exogenous, forgetting, step, sigma_window, name))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn lag_model(
    stream: &NativeDStream,
    n: usize,
    regression: bool,
    exogenous: usize,
    forgetting: f64,
    step: i64,
    sigma_window: usize,
    name: String,
) -> PyResult<NativeDStream> {
    let base = if regression {
        LagModel::regression(n)
    } else {
        LagModel::series(n)
    };
    let model = base
        .exogenous(exogenous)
        .forgetting(forgetting)
        .step(step)
        .sigma_window(sigma_window);
    let input = stream_of(stream, observation);
    let points = model.fit_on(&input).py_err()?;
    points.set_name(name);
    Ok(NativeDStream::new(points.stream().transform(|rdd, _| {
        Ok(to_chunks(&rdd, |py, (k, p): &(PyKey, ModelPoint)| {
            let point = (
                p.t,
                p.actual,
                p.predicted,
                p.residual,
                p.forecast,
                p.coefficients.clone(),
                p.sigma,
                status_name(&p.status),
            )
                .into_pyobject(py)?;
            Ok(PyTuple::new(py, [k.bind(py).clone(), point.into_any()])?.into_any())
        }))
    })))
}

fn side_of(side: &str) -> PyResult<Side> {
    match side {
        "both" => Ok(Side::Both),
        "above" => Ok(Side::Above),
        "below" => Ok(Side::Below),
        other => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "side must be 'both', 'above' or 'below', got {other:?}"
        ))),
    }
}

/// A `(key, (t, value))` record as a detector's input (a value that is not a number is
/// counted by the detector and never scored).
fn scored(rec: &Bound<'_, PyAny>) -> PyResult<(PyKey, (i64, f64))> {
    let key = PyKey::new(&key_of(rec)?)?;
    let v = rec.get_item(1)?;
    let t = v.get_item(0).and_then(|t| t.extract()).unwrap_or(0);
    let x = v.get_item(1).and_then(|x| x.extract()).unwrap_or(f64::NAN);
    Ok((key, (t, x)))
}

fn alerts_to_python(alerts: DStream<(PyKey, Alert)>) -> NativeDStream {
    NativeDStream::new(alerts.transform(|rdd, _| {
        Ok(to_chunks(&rdd, |py, (k, a): &(PyKey, Alert)| {
            let alert = (
                a.t,
                a.value,
                a.score,
                format!("{:?}", a.kind),
                a.reason.clone(),
            )
                .into_pyobject(py)?;
            Ok(PyTuple::new(py, [k.bind(py).clone(), alert.into_any()])?.into_any())
        }))
    }))
}

/// A rolling z-score per key of a `(key, (t, value))` stream: a stream of
/// `(key, (t, value, score, kind, reason))` alerts.
#[pyfunction]
#[pyo3(signature = (stream, window, threshold, min_points, side, exclude_flagged, name))]
pub(crate) fn rolling_z_score(
    stream: &NativeDStream,
    window: usize,
    threshold: f64,
    min_points: usize,
    side: &str,
    exclude_flagged: bool,
    name: String,
) -> PyResult<NativeDStream> {
    let z = RollingZScore::new(window, threshold)
        .min_points(min_points)
        .side(side_of(side)?)
        .exclude_flagged(exclude_flagged)
        .named(name);
    let alerts = z.detect(&stream_of(stream, scored)).py_err()?;
    Ok(alerts_to_python(alerts))
}

/// An EWMA control chart per key of a `(key, (t, value))` stream: a stream of alerts.
#[pyfunction]
#[pyo3(signature = (stream, lam, limit, warmup, side, name))]
pub(crate) fn ewma_chart(
    stream: &NativeDStream,
    lam: f64,
    limit: f64,
    warmup: u64,
    side: &str,
    name: String,
) -> PyResult<NativeDStream> {
    let chart = EwmaChart::new(lam, limit)
        .warmup(warmup)
        .side(side_of(side)?)
        .named(name);
    let alerts = chart.detect(&stream_of(stream, scored)).py_err()?;
    Ok(alerts_to_python(alerts))
}
