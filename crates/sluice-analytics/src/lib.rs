//! # sluice-analytics
//!
//! Streaming analytics on Sluice's DStreams:
//!
//! - [`lag_model`]: the time-series model `y_t = Σ_{i=0..n} a_i x_{t−i} + b`, fitted per key
//!   online by [recursive least squares](rls), in `map_with_state` (checkpointed, O(batch)
//!   per batch), emitting per record the prediction, the residual and the coefficients.
//! - [`mllib`]: MLlib's streaming learners — linear and logistic regression by SGD, and
//!   k-means — with the same update rules as `pyspark.mllib`.
//! - [`anomaly`]: per-key detectors — a rolling z-score over a window, an EWMA control chart,
//!   and the model's residual beyond k σ — emitting [`anomaly::Alert`]s with their score and
//!   reason.

pub mod anomaly;
pub mod lag_model;
pub mod linalg;
pub mod mllib;
pub mod monitor;
pub mod rls;
pub mod scenarios;
