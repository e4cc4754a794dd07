//! Section (h) of the side-by-side benchmarks: streaming analytics. The lag model
//! (`y_t = Σ_{i=0..8} a_i x_{t−i} + b`, one model per key) over 100 thousand keys, and MLlib's
//! `StreamingKMeans` (k = 10, 10 dimensions), on a step clock (batches back to back), each
//! batch's processing time measured; the same records, computed by the same formulas, as
//! `bench/pyspark/analytics_bench.py`.
//!
//! The lag model starts from a warm state: every key's model has seen `WARM` points (made by
//! the same formula, in the initial state), so that each batch measures fitted models, and
//! the number of keys can grow while the points per batch stay the same (a batch should cost
//! the same: `map_with_state` touches only the keys with data).

use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use sluice::analytics::lag_model::{LagModel, Observation};
use sluice::analytics::mllib::StreamingKMeans;
use sluice::prelude::*;
use sluice::streaming::state::StateSpec;

use crate::side_by_side::step_context;
use crate::state::{median_ms, Collect};

/// The workloads.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// The lag model with n = 8 per key.
    Lag,
    /// StreamingKMeans with k = 10 over 10 dimensions.
    Kmeans,
}

/// Options of the analytics benchmark.
#[derive(clap::Args)]
pub struct AnalyticsArgs {
    /// What to run.
    #[arg(long, value_enum)]
    workload: Workload,
    /// Keys of the lag model.
    #[arg(long, default_value_t = 100_000)]
    keys: u64,
    /// Points per batch.
    #[arg(long, default_value_t = 100_000)]
    points: u64,
    /// Batches (the first is left out of the median).
    #[arg(long, default_value_t = 8)]
    batches: i64,
}

/// Points each key's model has seen in the initial state.
pub const WARM: u64 = 40;

/// The series of key `k` at step `t` (the same formula as the PySpark program).
pub fn series_value(k: u64, t: u64) -> f64 {
    let (kf, tf) = (k as f64, t as f64);
    let noise = ((k * 7919 + t * 104_729) % 1000) as f64 / 1000.0 - 0.5;
    (0.3 * tf + kf).sin() + 0.5 * (0.05 * tf * (1 + k % 7) as f64).sin() + 0.1 * noise
}

/// Point `i` of the k-means stream (the same formula as the PySpark program).
pub fn kmeans_point(i: u64) -> Vec<f64> {
    let c = (i * 7) % 10;
    (0..10u64)
        .map(|j| {
            let center = ((c * 37 + j * 11) % 20) as f64 - 10.0;
            center + ((i * 31 + j * 17) % 1000) as f64 / 1000.0 - 0.5
        })
        .collect()
}

/// The initial centers of k-means (the same as the PySpark program's).
pub fn kmeans_initial() -> Vec<Vec<f64>> {
    (0..10u64)
        .map(|c| {
            (0..10u64)
                .map(|j| ((c * 13 + j * 7) % 9) as f64 - 4.0)
                .collect()
        })
        .collect()
}

fn run_batches(ssc: &StreamingContext, batches: i64) -> Result<Vec<f64>> {
    let collect = Arc::new(Collect::default());
    ssc.add_listener(collect.clone());
    ssc.start()?;
    let last = Time::from_millis(batches * 1000);
    while !ssc.await_batch(last, Duration::from_secs(5))? {}
    ssc.stop(StopMode::Graceful {
        timeout: Duration::from_secs(60),
    })?;
    let infos = collect.0.lock().clone();
    Ok(infos
        .iter()
        .skip(1)
        .filter_map(|b| b.processing_delay.map(|d| d.as_secs_f64() * 1e3))
        .collect())
}

fn lag(args: &AnalyticsArgs) -> Result<()> {
    let (ctx, ssc) = step_context(2)?;
    let keys = args.keys;
    let model = LagModel::series(8);
    let warm_model = model.clone();
    let initial = ctx.range(0, keys as i64, 1, 8).map(move |k| {
        let k = k as u64;
        let mut s = warm_model.new_state();
        for t in 0..WARM {
            warm_model.observe(&mut s, &Observation::series(t as i64, series_value(k, t)));
        }
        (k, s)
    });
    let spec = StateSpec::function({
        let model = model.clone();
        move |_t: Time,
              k: &u64,
              o: Option<Observation>,
              s: &mut sluice::streaming::state::State<_>| {
            let o = o?;
            if !s.exists() {
                s.update(model.new_state()).ok()?;
            }
            let p = model.observe(s.get_mut().ok()?, &o);
            Some((*k, p.forecast.unwrap_or(0.0)))
        }
    })
    .initial_state(initial)
    .num_partitions(2);
    let points = ssc.rate_stream(args.points, Some(2), move |i| {
        let (k, t) = (i % keys, WARM + i / keys);
        (k, Observation::series(t as i64, series_value(k, t)))
    });
    let last_sum = Arc::new(parking_lot::Mutex::new((0.0f64, 0u64)));
    let sink = Arc::clone(&last_sum);
    points
        .map_with_state(spec)
        .stream()
        .foreach_rdd(move |rdd, _| {
            let (sum, n) = rdd
                .map(|(_, f)| (f, 1u64))
                .fold((0.0, 0), |a, b| (a.0 + b.0, a.1 + b.1))?;
            *sink.lock() = (sum, n);
            Ok(())
        })?;
    let per_batch = run_batches(&ssc, args.batches)?;
    let median = median_ms(per_batch);
    let (sum, n) = *last_sum.lock();
    println!(
        "RESULT engine=sluice workload=lag keys={keys} points={} median_batch_ms={median:.1} \
         points_per_s={:.0} last_forecasts={n} forecast_sum={sum:.6}",
        args.points,
        args.points as f64 / median * 1e3
    );
    Ok(())
}

fn kmeans(args: &AnalyticsArgs) -> Result<()> {
    let (_ctx, ssc) = step_context(2)?;
    let km = StreamingKMeans::new(10).set_initial_centers(kmeans_initial(), vec![1.0; 10])?;
    let points = ssc.rate_stream(args.points, Some(2), kmeans_point);
    km.train_on(&points)?;
    let per_batch = run_batches(&ssc, args.batches)?;
    let median = median_ms(per_batch);
    let m = km
        .latest_model()
        .ok_or_else(|| Error::Internal("no model".into()))?;
    let centers: Vec<String> = m
        .centers
        .iter()
        .map(|c| {
            c.iter()
                .map(|v| format!("{v:.9}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    println!(
        "RESULT engine=sluice workload=kmeans points={} median_batch_ms={median:.1} \
         points_per_s={:.0} centers={}",
        args.points,
        args.points as f64 / median * 1e3,
        centers.join(";")
    );
    Ok(())
}

/// Runs one workload and prints its RESULT line.
pub fn run(args: AnalyticsArgs) -> Result<()> {
    match args.workload {
        Workload::Lag => lag(&args),
        Workload::Kmeans => kmeans(&args),
    }
}
