//! MLlib's mini-batch gradient descent (`GradientDescent.runMiniBatchSGD`), step for step: the
//! same sampled mini-batches, gradients, updaters, step sizes and convergence test, so that a
//! learner fed the same batches ends with the same weights as Spark's.

use std::sync::Arc;

use sluice_core::{Rdd, Result};

use super::point::LabeledPoint;
use super::spark_random::BernoulliSampler;
use crate::linalg::{axpy, dot, norm2};

/// The loss whose gradient is descended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gradient {
    /// Squared error `(x·w − y)² / 2` (MLlib's `LeastSquaresGradient`).
    LeastSquares,
    /// Binary logistic loss for labels 0 and 1 (MLlib's `LogisticGradient`).
    Logistic,
}

impl Gradient {
    /// Adds the gradient at `p` to `cum` and returns the loss.
    fn add(self, p: &LabeledPoint, w: &[f64], cum: &mut [f64]) -> f64 {
        match self {
            Gradient::LeastSquares => {
                let diff = dot(&p.features, w) - p.label;
                axpy(diff, &p.features, cum);
                diff * diff / 2.0
            }
            Gradient::Logistic => {
                let margin = -dot(&p.features, w);
                let multiplier = 1.0 / (1.0 + margin.exp()) - p.label;
                axpy(multiplier, &p.features, cum);
                let log1p_exp = if margin > 0.0 {
                    margin + (-margin).exp().ln_1p()
                } else {
                    margin.exp().ln_1p()
                };
                if p.label > 0.0 {
                    log1p_exp
                } else {
                    log1p_exp - margin
                }
            }
        }
    }
}

/// How a step changes the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Updater {
    /// `w −= step/√i · g` (MLlib's `SimpleUpdater`).
    Simple,
    /// The same after shrinking `w` by `1 − step/√i · regParam` (MLlib's `SquaredL2Updater`).
    SquaredL2,
}

/// The settings of one run of gradient descent.
#[derive(Debug, Clone, PartialEq)]
pub struct SgdSettings {
    /// The initial step size (the step of iteration `i` is `step_size / √i`).
    pub step_size: f64,
    /// The number of iterations.
    pub iterations: usize,
    /// The regularisation parameter.
    pub reg_param: f64,
    /// The fraction of the data sampled for each iteration.
    pub mini_batch_fraction: f64,
    /// Stop when an iteration moves the weights by less than this, relative to their norm.
    pub convergence_tol: f64,
}

impl SgdSettings {
    /// Checks the settings as Spark's setters do.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(sluice_core::Error::InvalidArgument(m));
        if self.step_size.is_nan() || self.step_size <= 0.0 {
            return bad(format!(
                "step size must be positive, got {}",
                self.step_size
            ));
        }
        if !(self.mini_batch_fraction > 0.0 && self.mini_batch_fraction <= 1.0) {
            return bad(format!(
                "mini-batch fraction must be in (0, 1], got {}",
                self.mini_batch_fraction
            ));
        }
        if self.reg_param.is_nan() || self.reg_param < 0.0 {
            return bad(format!(
                "regularisation parameter must be non-negative, got {}",
                self.reg_param
            ));
        }
        if !(0.0..=1.0).contains(&self.convergence_tol) {
            return bad(format!(
                "convergence tolerance must be in [0, 1], got {}",
                self.convergence_tol
            ));
        }
        Ok(())
    }
}

/// The points of one batch, one shared vector per partition of the batch's RDD (so that
/// the iterations read them in place, in the partitions Spark would sample from).
pub type Partitions = Rdd<Arc<Vec<LabeledPoint>>>;

/// Runs `settings.iterations` iterations of mini-batch gradient descent from `initial` over
/// `data` and returns the weights (`initial` itself when `data` is empty).
pub fn run_mini_batch_sgd(
    data: &Partitions,
    gradient: Gradient,
    updater: Updater,
    settings: &SgdSettings,
    initial: &[f64],
) -> Result<Vec<f64>> {
    let total: usize = data
        .run_job(|chunks, _| {
            let mut n = 0;
            for c in chunks {
                n += c?.iter().map(|p| p.len()).sum::<usize>();
            }
            Ok(n)
        })?
        .into_iter()
        .sum();
    let mut weights = initial.to_vec();
    if total == 0 {
        return Ok(weights);
    }
    let n = weights.len();
    let mut previous: Option<Vec<f64>> = None;
    for i in 1..=settings.iterations {
        let w = Arc::new(weights.clone());
        let fraction = settings.mini_batch_fraction;
        let parts = data.run_job(|chunks, tc| {
            let mut sampler =
                BernoulliSampler::for_partition(fraction, 42 + i as i64, tc.partition);
            let mut grad = vec![0.0; n];
            let (mut loss, mut count) = (0.0, 0u64);
            for c in chunks {
                for part in c? {
                    for p in part.iter() {
                        if sampler.keep() {
                            loss += gradient.add(p, &w, &mut grad);
                            count += 1;
                        }
                    }
                }
            }
            Ok((grad, loss, count))
        })?;
        let mut grad_sum = vec![0.0; n];
        let mut batch = 0u64;
        for (g, _, c) in parts {
            axpy(1.0, &g, &mut grad_sum);
            batch += c;
        }
        if batch == 0 {
            continue;
        }
        let step = settings.step_size / (i as f64).sqrt();
        if updater == Updater::SquaredL2 {
            let shrink = 1.0 - step * settings.reg_param;
            for v in &mut weights {
                *v *= shrink;
            }
        }
        let m = batch as f64;
        for (v, g) in weights.iter_mut().zip(&grad_sum) {
            *v += -step * (g / m);
        }
        if let Some(prev) = &previous {
            let diff: Vec<f64> = prev.iter().zip(&weights).map(|(a, b)| a - b).collect();
            if norm2(&diff) < settings.convergence_tol * norm2(&weights).max(1.0) {
                break;
            }
        }
        previous = Some(weights.clone());
    }
    Ok(weights)
}
