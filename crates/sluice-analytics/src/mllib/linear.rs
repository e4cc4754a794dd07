//! MLlib's streaming linear learners: `StreamingLinearRegressionWithSGD` and
//! `StreamingLogisticRegressionWithSGD`, with `pyspark.mllib`'s defaults and update rules.
//!
//! Each batch of the training stream runs MLlib's mini-batch gradient descent from the latest
//! weights (`numIterations` iterations over the batch, one job each); predictions use the
//! model as it is when their batch runs (after the training of the same batch, when
//! `train_on` was called first, as in Spark).

use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use sluice_core::{Error, Key, Result};
use sluice_streaming::source::{BadRecordReport, BadRecords};
use sluice_streaming::DStream;

use super::gradient_descent::{run_mini_batch_sgd, Gradient, SgdSettings, Updater};
use super::point::{point_problem, LabeledPoint};
use crate::linalg::dot;

/// A linear model: weights, an intercept and, for a classifier, a decision threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    /// The weights, one per feature.
    pub weights: Vec<f64>,
    /// The intercept (0: MLlib's streaming learners fit none).
    pub intercept: f64,
    /// A logistic model's threshold on the probability (Spark's default 0.5); `None` for a
    /// regression, or for a classifier that returns probabilities.
    pub threshold: Option<f64>,
    logistic: bool,
}

impl LinearModel {
    /// The prediction for `x`: `w·x + b` for a regression; for a logistic model the class
    /// (1 when the probability is above the threshold, else 0), or the probability without a
    /// threshold. NaN when `x` has the wrong length or is not finite.
    pub fn predict(&self, x: &[f64]) -> f64 {
        if x.len() != self.weights.len() || x.iter().any(|v| !v.is_finite()) {
            return f64::NAN;
        }
        let margin = dot(&self.weights, x) + self.intercept;
        if !self.logistic {
            return margin;
        }
        let score = 1.0 / (1.0 + (-margin).exp());
        match self.threshold {
            Some(t) if score > t => 1.0,
            Some(_) => 0.0,
            None => score,
        }
    }
}

/// What the two learners share: the settings, the latest model and the bad-record count.
#[derive(Clone)]
struct Learner {
    settings: SgdSettings,
    logistic: bool,
    model: Arc<RwLock<Option<LinearModel>>>,
    bad: Arc<BadRecords>,
}

impl Learner {
    fn new(logistic: bool, settings: SgdSettings) -> Self {
        Learner {
            settings,
            logistic,
            model: Arc::default(),
            bad: Arc::default(),
        }
    }

    fn set_initial_weights(&self, weights: Vec<f64>) {
        *self.model.write() = Some(LinearModel {
            weights,
            intercept: 0.0,
            threshold: self.logistic.then_some(0.5),
            logistic: self.logistic,
        });
    }

    fn current(&self) -> Result<LinearModel> {
        self.model.read().clone().ok_or_else(|| {
            Error::IllegalState("the model must be initialised with set_initial_weights".into())
        })
    }

    fn train_on(&self, stream: &DStream<LabeledPoint>) -> Result<()> {
        self.settings.validate()?;
        self.current()?;
        let me = self.clone();
        stream.foreach_rdd(move |rdd, time| {
            let current = me.current()?;
            let (dim, binary) = (current.weights.len(), me.logistic);
            let parts = rdd.run_job(move |chunks, tc| {
                let (mut good, mut bad, mut sample) = (Vec::new(), 0u64, String::new());
                for c in chunks {
                    for p in c? {
                        match point_problem(&p, dim, binary) {
                            None => good.push(p),
                            Some(why) => {
                                bad += 1;
                                if sample.is_empty() {
                                    sample = format!("partition {}: {why}", tc.partition);
                                }
                            }
                        }
                    }
                }
                Ok((good, bad, sample))
            })?;
            let mut usable = 0;
            let mut partitions = Vec::with_capacity(parts.len());
            for (i, (good, bad, sample)) in parts.into_iter().enumerate() {
                me.bad.set(time, i, bad, sample);
                usable += good.len();
                partitions.push(vec![Arc::new(good)]);
            }
            if usable == 0 {
                return Ok(());
            }
            let data = rdd.context().parallelize_partitions(partitions);
            let (gradient, updater) = if me.logistic {
                (Gradient::Logistic, Updater::SquaredL2)
            } else {
                (Gradient::LeastSquares, Updater::Simple)
            };
            let weights =
                run_mini_batch_sgd(&data, gradient, updater, &me.settings, &current.weights)?;
            *me.model.write() = Some(LinearModel { weights, ..current });
            Ok(())
        })
    }

    fn predict_on(&self, stream: &DStream<Vec<f64>>) -> Result<DStream<f64>> {
        self.current()?;
        let model = Arc::clone(&self.model);
        Ok(
            stream
                .map(move |x: Vec<f64>| model.read().as_ref().map_or(f64::NAN, |m| m.predict(&x))),
        )
    }

    fn predict_on_values<K: Key>(
        &self,
        stream: &DStream<(K, Vec<f64>)>,
    ) -> Result<DStream<(K, f64)>> {
        self.current()?;
        let model = Arc::clone(&self.model);
        Ok(stream.map(move |(k, x): (K, Vec<f64>)| {
            let p = model.read().as_ref().map_or(f64::NAN, |m| m.predict(&x));
            (k, p)
        }))
    }
}

macro_rules! streaming_linear_learner {
    ($(#[$doc:meta])* $name:ident, logistic = $logistic:expr, reg_param = $reg:expr) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            learner: Learner,
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $name {
            /// A learner with `pyspark.mllib`'s defaults: step size 0.1, 50 iterations per
            /// batch, mini-batch fraction 1, convergence tolerance 0.001.
            pub fn new() -> Self {
                $name {
                    learner: Learner::new(
                        $logistic,
                        SgdSettings {
                            step_size: 0.1,
                            iterations: 50,
                            reg_param: $reg,
                            mini_batch_fraction: 1.0,
                            convergence_tol: 0.001,
                        },
                    ),
                }
            }

            /// The initial step size (iteration `i` of a batch steps `step_size / √i`).
            pub fn step_size(mut self, s: f64) -> Self {
                self.learner.settings.step_size = s;
                self
            }

            /// Iterations of gradient descent per batch.
            pub fn num_iterations(mut self, n: usize) -> Self {
                self.learner.settings.iterations = n;
                self
            }

            /// The fraction of each batch sampled per iteration (Spark's sampler and seeds).
            pub fn mini_batch_fraction(mut self, f: f64) -> Self {
                self.learner.settings.mini_batch_fraction = f;
                self
            }

            /// Stop a batch's iterations when the weights move by less than this (relative).
            pub fn convergence_tol(mut self, t: f64) -> Self {
                self.learner.settings.convergence_tol = t;
                self
            }

            /// The weights to start from; required before training or predicting.
            pub fn set_initial_weights(self, weights: Vec<f64>) -> Self {
                self.learner.set_initial_weights(weights);
                self
            }

            /// Trains the model on every batch of `stream` (an output operation). Points with
            /// the wrong number of features or a NaN are set aside and counted in
            /// [`bad_records`](Self::bad_records).
            pub fn train_on(&self, stream: &DStream<LabeledPoint>) -> Result<()> {
                self.learner.train_on(stream)
            }

            /// The prediction for every vector of `stream`, by the model when its batch runs.
            pub fn predict_on(&self, stream: &DStream<Vec<f64>>) -> Result<DStream<f64>> {
                self.learner.predict_on(stream)
            }

            /// [`predict_on`](Self::predict_on) on the values of a keyed stream.
            pub fn predict_on_values<K: Key>(
                &self,
                stream: &DStream<(K, Vec<f64>)>,
            ) -> Result<DStream<(K, f64)>> {
                self.learner.predict_on_values(stream)
            }

            /// The model after the latest trained batch (`None` before `set_initial_weights`).
            pub fn latest_model(&self) -> Option<LinearModel> {
                self.learner.model.read().clone()
            }

            /// The points set aside so far.
            pub fn bad_records(&self) -> BadRecordReport {
                self.learner.bad.report()
            }
        }
    };
}

streaming_linear_learner!(
    /// Linear regression trained on a stream by MLlib's mini-batch SGD, without intercept
    /// (as `pyspark.mllib`'s `StreamingLinearRegressionWithSGD`).
    ///
    /// ```
    /// use sluice_analytics::mllib::{LabeledPoint, StreamingLinearRegressionWithSGD};
    /// use sluice_streaming::testing::run_stream;
    /// let model = StreamingLinearRegressionWithSGD::new()
    ///     .step_size(0.5)
    ///     .set_initial_weights(vec![0.0]);
    /// let points: Vec<LabeledPoint> =
    ///     (0..20).map(|i| LabeledPoint::new(2.0 * (i % 5) as f64, vec![(i % 5) as f64])).collect();
    /// let m = model.clone();
    /// run_stream(vec![points.clone(), points], 2, move |s| {
    ///     m.train_on(&s).unwrap();
    ///     s.count()
    /// })
    /// .unwrap();
    /// let w = model.latest_model().unwrap().weights[0];
    /// assert!((w - 2.0).abs() < 0.05, "{w}");
    /// ```
    StreamingLinearRegressionWithSGD,
    logistic = false,
    reg_param = 0.0
);

streaming_linear_learner!(
    /// Binary logistic regression trained on a stream by MLlib's mini-batch SGD with its L2
    /// updater, without intercept (as `pyspark.mllib`'s
    /// `StreamingLogisticRegressionWithSGD`). Labels must be 0 or 1; other labels are set
    /// aside and counted (where Spark fails the batch).
    StreamingLogisticRegressionWithSGD,
    logistic = true,
    reg_param = 0.0
);

impl StreamingLogisticRegressionWithSGD {
    /// The L2 regularisation parameter (default 0).
    pub fn reg_param(mut self, r: f64) -> Self {
        self.learner.settings.reg_param = r;
        self
    }
}
