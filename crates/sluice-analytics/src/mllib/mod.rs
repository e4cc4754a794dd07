//! MLlib's streaming learners with `pyspark.mllib`'s update rules:
//! [`StreamingLinearRegressionWithSGD`], [`StreamingLogisticRegressionWithSGD`] and
//! [`StreamingKMeans`], each with `train_on(stream)`, `predict_on(stream)` and
//! `latest_model()`.
//!
//! Fed the same batches in the same partitions, with the same settings and initial model,
//! they end every batch with the weights and centers PySpark's do (checked against golden
//! files recorded from `pyspark.mllib`): the gradient descent samples its mini-batches with
//! Spark's own generators and seeds ([`spark_random`]), and random initial centers come from
//! numpy's generator as in PySpark ([`numpy_random`]).
//!
//! Where Spark fails a batch (a label other than 0 or 1 for the logistic learner, a vector of
//! the wrong length), these learners set the point aside and count it in `bad_records()`;
//! points with a NaN or an infinity are set aside too, so that one bad record cannot poison
//! every later prediction.

mod gradient_descent;
mod kmeans;
mod linear;
pub mod numpy_random;
mod point;
pub mod spark_random;

pub use gradient_descent::{run_mini_batch_sgd, Gradient, Partitions, SgdSettings, Updater};
pub use kmeans::{KMeansModel, StreamingKMeans, TimeUnit};
pub use linear::{
    LinearModel, StreamingLinearRegressionWithSGD, StreamingLogisticRegressionWithSGD,
};
pub use point::LabeledPoint;
