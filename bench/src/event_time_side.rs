//! Workload (f) of the side-by-side benchmarks: the event-time window of `sluice-bench
//! event-time` (10 s every 2 s, counting per key, watermark delay 10 s, append mode) over the
//! records every engine computes alike (`event_time::record`), printing the lines the harness
//! compares across engines.
//!
//! Output: for every window the run emitted, `EWINDOW <end ms> <keys> <records>` in order of
//! the window's end (keys = the window's distinct keys, records = the sum of their counts),
//! and a `RESULT` line with the median processing time per batch (the first 5 batches, while
//! the windows fill up, left out), the windows held in state at the middle and at the end of
//! the run with the process's resident set at both moments (over a long run, both stay flat:
//! the watermark bounds the state), and the records dropped as late.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sluice::prelude::*;
use sluice::streaming::event_time::{EventWindow, OutputMode};

use crate::event_time::{record, DELAY_MS};
use crate::side_by_side::step_context;
use crate::state::{median_ms, Collect};

/// Options of `event-time-side` (the same as the Spark and Flink programs' arguments).
#[derive(clap::Args)]
pub struct EventTimeSideArgs {
    /// Distinct keys.
    #[arg(long, default_value_t = 1_000_000)]
    keys: u64,
    /// Records per 1 s batch.
    #[arg(long, default_value_t = 100_000)]
    records: u64,
    /// Batches.
    #[arg(long, default_value_t = 20)]
    batches: i64,
    /// Percent of records out of order (by up to the watermark delay).
    #[arg(long, default_value_t = 5)]
    late_percent: u64,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

/// This process's resident set, MiB (0 where `/proc` does not say).
fn rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
}

/// Runs workload (f) and prints its lines.
pub fn event_time_side(a: EventTimeSideArgs) -> Result<()> {
    let started = Instant::now();
    let (_ctx, ssc) = step_context(a.threads)?;
    let (keys, per_batch, late_percent) = (a.keys, a.records, a.late_percent);
    let input = ssc.rate_stream(per_batch, Some(a.threads), move |i| {
        record(i, per_batch, keys, late_percent)
    });
    let agg = input
        .with_watermark(|r: &(u64, i64)| r.1, Duration::from_millis(DELAY_MS as u64))
        .count_by_window(EventWindow::sliding(10_000, 2_000)?, OutputMode::Append)?;
    // Per window end: (keys, records), summed per partition and then over the partitions.
    let windows: Arc<Mutex<BTreeMap<i64, (u64, u64)>>> = Arc::default();
    let w2 = Arc::clone(&windows);
    let last = Time::from_millis(a.batches * 1000);
    agg.stream().foreach_rdd(move |rdd, t| {
        if t > last {
            return Ok(());
        }
        let parts = rdd
            .map_partitions(|rows| {
                let mut m: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
                for ((_, w), c) in rows {
                    let e = m.entry(w.end).or_default();
                    e.0 += 1;
                    e.1 += c;
                }
                m.into_iter()
            })
            .collect()?;
        let mut all = w2.lock();
        for (end, (k, c)) in parts {
            let e = all.entry(end).or_default();
            e.0 += k;
            e.1 += c;
        }
        Ok(())
    })?;
    let collect = Arc::new(Collect::default());
    ssc.add_listener(collect.clone());
    ssc.start()?;
    let middle = Time::from_millis(a.batches / 2 * 1000);
    while !ssc.await_batch(middle, Duration::from_secs(5))? {}
    let (state_middle, rss_middle) = (agg.state_size(), rss_mib());
    while !ssc.await_batch(last, Duration::from_secs(5))? {}
    let (state_end, rss_end) = (agg.state_size(), rss_mib());
    ssc.stop(StopMode::Immediate)?;
    if let Some(e) = ssc.take_error() {
        return Err(e);
    }
    let infos = collect.0.lock().clone();
    let per_batch_ms = median_ms(
        infos
            .iter()
            .take(a.batches as usize)
            .skip(5)
            .filter_map(|b| b.processing_delay.map(|d| d.as_secs_f64() * 1e3))
            .collect(),
    );
    for (end, (k, c)) in windows.lock().iter() {
        println!("EWINDOW {end} {k} {c}");
    }
    println!(
        "RESULT engine=sluice records_per_batch={per_batch} batches={} median_batch_ms={per_batch_ms:.1} state_middle={state_middle} state_end={state_end} rss_middle_mib={rss_middle} rss_end_mib={rss_end} late={} wall_ms={}",
        a.batches,
        agg.late_records(),
        started.elapsed().as_millis()
    );
    Ok(())
}
