//! MLlib's `StreamingKMeans`: k centers updated by every batch with a decay factor, exactly as
//! `StreamingKMeansModel.update` does (including the split of a dying cluster), with
//! `pyspark.mllib`'s random initial centers.

use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use sluice_core::{Error, Key, Result};
use sluice_streaming::source::{BadRecordReport, BadRecords};
use sluice_streaming::DStream;

use super::numpy_random::RandomState;
use super::point::vector_problem;
use crate::linalg::{axpy, dot, norm2, scal};

/// What the decay factor discounts: each batch, or each point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeUnit {
    /// The old weights are multiplied by the decay factor once per batch.
    Batches,
    /// ... by the decay factor to the power of the batch's number of points.
    Points,
}

/// Cluster centers with their weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansModel {
    /// The centers, all of one dimension.
    pub centers: Vec<Vec<f64>>,
    /// The weight (discounted number of points) of each center.
    pub weights: Vec<f64>,
}

/// Machine epsilon as MLlib computes it.
const EPSILON: f64 = f64::EPSILON;

impl KMeansModel {
    /// The index of the center closest to `x` (the first of equals), by MLlib's fast squared
    /// distance; `None` when `x` has the wrong length or is not finite.
    pub fn predict(&self, x: &[f64]) -> Option<usize> {
        let dim = self.centers.first()?.len();
        if vector_problem(x, dim).is_some() {
            return None;
        }
        let norms: Vec<f64> = self.centers.iter().map(|c| norm2(c)).collect();
        Some(closest(&self.centers, &norms, x, norm2(x)))
    }

    /// One batch's update: assign each point to its closest center, discount the weights,
    /// move each center to the weighted mean of its old position and its new points, and
    /// split the heaviest cluster when the lightest is dying.
    pub fn update(&mut self, sums: &[(Vec<f64>, u64)], decay: f64, unit: TimeUnit) {
        let discount = match unit {
            TimeUnit::Batches => decay,
            TimeUnit::Points => {
                let n: u64 = sums.iter().map(|(_, c)| c).sum();
                decay.powf(n as f64)
            }
        };
        scal(discount, &mut self.weights);
        for (label, (sum, count)) in sums.iter().enumerate() {
            if *count == 0 {
                continue;
            }
            let count = *count as f64;
            let updated = self.weights[label] + count;
            let lambda = count / updated.max(1e-16);
            self.weights[label] = updated;
            let center = &mut self.centers[label];
            scal(1.0 - lambda, center);
            axpy(lambda / count, sum, center);
        }
        let (mut largest, mut smallest) = (0, 0);
        for (i, w) in self.weights.iter().enumerate() {
            // Scala's maxBy / minBy keep the first of equals.
            if *w > self.weights[largest] {
                largest = i;
            }
            if *w < self.weights[smallest] {
                smallest = i;
            }
        }
        let (max_w, min_w) = (self.weights[largest], self.weights[smallest]);
        if min_w < 1e-8 * max_w {
            let w = (max_w + min_w) / 2.0;
            self.weights[largest] = w;
            self.weights[smallest] = w;
            for j in 0..self.centers[largest].len() {
                let x = self.centers[largest][j];
                let p = 1e-14 * x.abs().max(1.0);
                self.centers[largest][j] = x + p;
                self.centers[smallest][j] = x - p;
            }
        }
    }
}

/// MLlib's `fastSquaredDistance`: through the norms when that is precise enough.
fn fast_squared_distance(a: &[f64], norm_a: f64, b: &[f64], norm_b: f64) -> f64 {
    let sum_squared_norm = norm_a * norm_a + norm_b * norm_b;
    let norm_diff = norm_a - norm_b;
    let precision_bound = 2.0 * EPSILON * sum_squared_norm / (norm_diff * norm_diff + EPSILON);
    if precision_bound < 1e-6 {
        sum_squared_norm - 2.0 * dot(a, b)
    } else {
        a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
    }
}

/// MLlib's `findClosest`: skips centers whose norm alone puts them farther than the best.
fn closest(centers: &[Vec<f64>], norms: &[f64], x: &[f64], norm_x: f64) -> usize {
    let (mut best, mut best_distance) = (0, f64::INFINITY);
    for (i, c) in centers.iter().enumerate() {
        let lower = (norms[i] - norm_x) * (norms[i] - norm_x);
        if lower < best_distance {
            let d = fast_squared_distance(c, norms[i], x, norm_x);
            if d < best_distance {
                best = i;
                best_distance = d;
            }
        }
    }
    best
}

/// Streaming k-means (as `pyspark.mllib`'s `StreamingKMeans`: k = 2, decay factor 1, time
/// unit batches by default).
///
/// ```
/// use sluice_analytics::mllib::StreamingKMeans;
/// use sluice_streaming::testing::run_stream;
/// let km = StreamingKMeans::new(2)
///     .set_initial_centers(vec![vec![0.0], vec![1.0]], vec![1.0, 1.0])
///     .unwrap();
/// let points = vec![vec![-5.0], vec![-5.5], vec![9.0], vec![10.0]];
/// let k = km.clone();
/// run_stream(vec![points], 1, move |s| {
///     k.train_on(&s).unwrap();
///     s.count()
/// })
/// .unwrap();
/// let m = km.latest_model().unwrap();
/// assert_eq!(m.weights, vec![3.0, 3.0]);
/// assert!((m.centers[1][0] - (1.0 + 19.0) / 3.0).abs() < 1e-12);
/// ```
#[derive(Clone)]
pub struct StreamingKMeans {
    k: usize,
    decay: f64,
    unit: TimeUnit,
    model: Arc<RwLock<Option<KMeansModel>>>,
    bad: Arc<BadRecords>,
}

impl StreamingKMeans {
    /// `k` clusters, decay factor 1 per batch.
    pub fn new(k: usize) -> Self {
        StreamingKMeans {
            k,
            decay: 1.0,
            unit: TimeUnit::Batches,
            model: Arc::default(),
            bad: Arc::default(),
        }
    }

    /// The decay factor (1: every batch counts the same; 0: only the newest).
    pub fn decay_factor(mut self, a: f64) -> Self {
        self.decay = a;
        self
    }

    /// What the decay factor applies to.
    pub fn time_unit(mut self, unit: TimeUnit) -> Self {
        self.unit = unit;
        self
    }

    /// The decay factor that halves a batch's (or point's) weight after `half_life` of them.
    pub fn half_life(mut self, half_life: f64, unit: TimeUnit) -> Self {
        self.unit = unit;
        self.decay = (0.5f64.ln() / half_life).exp();
        self
    }

    /// Starts from the given centers and weights.
    pub fn set_initial_centers(self, centers: Vec<Vec<f64>>, weights: Vec<f64>) -> Result<Self> {
        let bad = |m: String| Err(Error::InvalidArgument(m));
        if centers.is_empty() || centers.len() != weights.len() {
            return bad(format!(
                "k-means needs as many weights as centers (at least one), got {} and {}",
                centers.len(),
                weights.len()
            ));
        }
        let dim = centers[0].len();
        if dim == 0 || centers.iter().any(|c| vector_problem(c, dim).is_some()) {
            return bad("k-means centers must be finite and all of one positive dimension".into());
        }
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return bad("k-means weights must be finite and non-negative".into());
        }
        *self.model.write() = Some(KMeansModel { centers, weights });
        Ok(self)
    }

    /// Starts from `k` centers drawn as `pyspark.mllib` draws them
    /// (`numpy.random.RandomState(seed).randn(k, dim)`), each with weight `weight`.
    pub fn set_random_centers(self, dim: usize, weight: f64, seed: u32) -> Result<Self> {
        let centers = RandomState::new(seed).randn(self.k, dim);
        let k = self.k;
        self.set_initial_centers(centers, vec![weight; k])
    }

    /// Updates the model with every batch of `stream` (an output operation). Vectors of the
    /// wrong length or with a NaN are set aside and counted in
    /// [`bad_records`](Self::bad_records).
    pub fn train_on(&self, stream: &DStream<Vec<f64>>) -> Result<()> {
        if !(0.0..=1.0).contains(&self.decay) {
            return Err(Error::InvalidArgument(format!(
                "the decay factor must be in [0, 1], got {}",
                self.decay
            )));
        }
        self.current()?;
        let me = self.clone();
        stream.foreach_rdd(move |rdd, time| {
            let mut model = me.current()?;
            let dim = model.centers[0].len();
            let norms: Arc<Vec<f64>> = Arc::new(model.centers.iter().map(|c| norm2(c)).collect());
            let centers = Arc::new(model.centers.clone());
            let parts = rdd.run_job(move |chunks, tc| {
                let mut sums = vec![(vec![0.0; dim], 0u64); centers.len()];
                let (mut bad, mut sample) = (0u64, String::new());
                for c in chunks {
                    for x in c? {
                        if let Some(why) = vector_problem(&x, dim) {
                            bad += 1;
                            if sample.is_empty() {
                                sample = format!("partition {}: {why}", tc.partition);
                            }
                            continue;
                        }
                        let i = closest(&centers, &norms, &x, norm2(&x));
                        axpy(1.0, &x, &mut sums[i].0);
                        sums[i].1 += 1;
                    }
                }
                Ok((sums, bad, sample))
            })?;
            let mut total = vec![(vec![0.0; dim], 0u64); model.centers.len()];
            for (i, (sums, bad, sample)) in parts.into_iter().enumerate() {
                me.bad.set(time, i, bad, sample);
                for (t, (s, c)) in total.iter_mut().zip(sums) {
                    if c > 0 {
                        axpy(1.0, &s, &mut t.0);
                        t.1 += c;
                    }
                }
            }
            model.update(&total, me.decay, me.unit);
            *me.model.write() = Some(model);
            Ok(())
        })
    }

    /// The closest center of every vector of `stream`, by the model when its batch runs
    /// (`None` for an unusable vector).
    pub fn predict_on(&self, stream: &DStream<Vec<f64>>) -> Result<DStream<Option<usize>>> {
        self.current()?;
        let model = Arc::clone(&self.model);
        Ok(stream.map(move |x: Vec<f64>| model.read().as_ref().and_then(|m| m.predict(&x))))
    }

    /// [`predict_on`](Self::predict_on) on the values of a keyed stream.
    pub fn predict_on_values<K: Key>(
        &self,
        stream: &DStream<(K, Vec<f64>)>,
    ) -> Result<DStream<(K, Option<usize>)>> {
        self.current()?;
        let model = Arc::clone(&self.model);
        Ok(stream.map(move |(k, x): (K, Vec<f64>)| {
            let p = model.read().as_ref().and_then(|m| m.predict(&x));
            (k, p)
        }))
    }

    /// The model after the latest batch.
    pub fn latest_model(&self) -> Option<KMeansModel> {
        self.model.read().clone()
    }

    /// The vectors set aside so far.
    pub fn bad_records(&self) -> BadRecordReport {
        self.bad.report()
    }

    fn current(&self) -> Result<KMeansModel> {
        self.model.read().clone().ok_or_else(|| {
            Error::IllegalState(
                "the initial centers must be set with set_initial_centers or set_random_centers"
                    .into(),
            )
        })
    }
}
