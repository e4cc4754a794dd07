//! The event-time benchmark.
//!
//! A sliding event-time window (10 s every 2 s) counting records per key, with a watermark
//! delay of 10 s, over 1 s batches of generated records on a step clock (batches back to back):
//! record `i` of batch `b` has a key spread over `--keys` keys and an event time in the batch's
//! second, and a fraction (`--late-percent`, default 5 %) of the records is out of order by
//! up to the delay. For each batch size it reports the median processing time per batch, the
//! records per second that makes, and the state (windows held) at the end, beside the same
//! count over a processing-time window (`count_by_value_and_window`, the DStream counterpart)
//! on the same records. The state stays bounded by the watermark: it is reported at the middle
//! and at the end of the run.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use sluice::prelude::*;
use sluice::streaming::event_time::{EventWindow, OutputMode, WindowAggregation};

use crate::side_by_side::step_context;
use crate::state::{median_ms, Collect};

/// Options of the event-time benchmark.
#[derive(clap::Args)]
pub struct EventTimeArgs {
    /// Records per 1 s batch, one run each.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1_000_000, 100_000])]
    records: Vec<u64>,
    /// Distinct keys.
    #[arg(long, default_value_t = 1_000_000)]
    keys: u64,
    /// Percent of records out of order (by up to the watermark delay).
    #[arg(long, default_value_t = 5)]
    late_percent: u64,
    /// Batches per run (the first 5 are left out of the median: the windows fill up).
    #[arg(long, default_value_t = 20)]
    batches: i64,
}

fn mix(i: u64) -> u64 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x.wrapping_mul(0xBF58_476D_1CE4_E5B9)
}

pub(crate) const DELAY_MS: i64 = 10_000;
/// Event times start here, so that the records out of order in the first batches are not
/// before the epoch (where the watermark starts).
const START_MS: i64 = 60_000;

/// Record `i` at `per_batch` records per 1 s batch: (key, event time ms). The hash is
/// shifted to 63 bits so that the JVM programs of the side-by-side comparison, on signed
/// 64-bit integers, compute the same records (`bench/flink/FlinkEventTimeBench.java`,
/// `bench/pyspark/event_time_bench.py`).
pub(crate) fn record(i: u64, per_batch: u64, keys: u64, late_percent: u64) -> (u64, i64) {
    let h = mix(i) >> 1;
    let batch = (i / per_batch) as i64;
    let mut ts = START_MS + batch * 1000 + ((i % per_batch) * 1000 / per_batch) as i64;
    if h % 100 < late_percent {
        ts -= ((h >> 8) % DELAY_MS as u64) as i64;
    }
    (h % keys, ts)
}

struct Run {
    per_batch_ms: f64,
    state_middle: usize,
    state_end: usize,
    late: u64,
}

fn run(per_batch: u64, args: &EventTimeArgs, event_time: bool) -> Result<Run> {
    let (_ctx, ssc) = step_context(2)?;
    let (keys, late_percent) = (args.keys, args.late_percent);
    let input = ssc.rate_stream(per_batch, Some(2), move |i| {
        record(i, per_batch, keys, late_percent)
    });
    let agg: Arc<Mutex<Option<WindowAggregation<u64, i64, u64>>>> = Arc::default();
    if event_time {
        let a = input
            .with_watermark(|r: &(u64, i64)| r.1, Duration::from_millis(DELAY_MS as u64))
            .count_by_window(EventWindow::sliding(10_000, 2_000)?, OutputMode::Append)?;
        a.stream().foreach_rdd(|rdd, _| rdd.count().map(drop))?;
        *agg.lock() = Some(a);
    } else {
        input
            .map(|(k, _)| k)
            .count_by_value_and_window(seconds(10), seconds(2), Some(2))?
            .foreach_rdd(|rdd, _| rdd.count().map(drop))?;
    }
    let collect = Arc::new(Collect::default());
    ssc.add_listener(collect.clone());
    ssc.start()?;
    let size = || {
        agg.lock().as_ref().map_or_else(
            || ssc.state_sizes().iter().map(|s| s.1).sum(),
            |a| a.state_size(),
        )
    };
    let middle = Time::from_millis(args.batches / 2 * 1000);
    while !ssc.await_batch(middle, Duration::from_secs(5))? {}
    let state_middle = size();
    let last = Time::from_millis(args.batches * 1000);
    while !ssc.await_batch(last, Duration::from_secs(5))? {}
    let state_end = size();
    ssc.stop(StopMode::Graceful {
        timeout: Duration::from_secs(120),
    })?;
    if let Some(e) = ssc.take_error() {
        return Err(e);
    }
    let late = agg.lock().as_ref().map_or(0, |a| a.late_records());
    let per_batch_ms = median_ms(
        collect
            .0
            .lock()
            .iter()
            .skip(5)
            .filter_map(|b| b.processing_delay.map(|d| d.as_secs_f64() * 1e3))
            .collect(),
    );
    Ok(Run {
        per_batch_ms,
        state_middle,
        state_end,
        late,
    })
}

/// Runs the benchmark and prints a Markdown table.
pub fn run_all(args: EventTimeArgs) -> Result<()> {
    println!(
        "Sliding window 10 s every 2 s, counting per key over {} keys, {} % of the records out of \
         order by up to {} s, local[2], median of {} batches (the first 5 left out)\n",
        args.keys,
        args.late_percent,
        DELAY_MS / 1000,
        args.batches - 5
    );
    println!(
        "| records per batch | event time (append) per batch | records/s | windows held, middle → end | late records | processing-time window per batch | ratio |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &args.records {
        eprintln!("{n} records per batch ...");
        let e = run(n, &args, true)?;
        let p = run(n, &args, false)?;
        println!(
            "| {n} | {:.0} ms | {:.2} M | {} → {} | {} | {:.0} ms | {:.2} |",
            e.per_batch_ms,
            n as f64 / e.per_batch_ms / 1e3,
            e.state_middle,
            e.state_end,
            e.late,
            p.per_batch_ms,
            e.per_batch_ms / p.per_batch_ms
        );
    }
    Ok(())
}
