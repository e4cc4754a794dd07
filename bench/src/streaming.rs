//! The streaming word-count benchmark.
//!
//! For each source (the rate generator; a queue of pre-made batches from the corpus) and each
//! batch interval, runs `flat_map` words → `(w, 1)` → `reduce_by_key` → `count` for a fixed
//! wall-clock time on the system clock, and reports from the listener's batch infos: words per
//! second of processing time (capacity), the median and p99 processing time and scheduling
//! delay, and whether the scheduling delay grew over the run (the sign of a job that does not
//! keep up).

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use sluice::corpus::Corpus;
use sluice::prelude::*;
use sluice::BatchInfo;

/// Options of the streaming benchmark.
#[derive(clap::Args)]
pub struct StreamingArgs {
    /// Seconds to run each configuration.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Lines per second fed by the sources (10 words each).
    #[arg(long, default_value_t = 150_000)]
    lines_per_second: u64,
    /// Batch intervals in milliseconds.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1000, 100, 10])]
    intervals: Vec<u64>,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

#[derive(Default)]
struct Collect(Mutex<Vec<BatchInfo>>);

impl StreamingListener for Collect {
    fn on_batch_completed(&self, b: &BatchInfo) {
        self.0.lock().push(b.clone());
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i]
}

struct Row {
    source: &'static str,
    interval_ms: u64,
    batches: usize,
    words: u64,
    capacity: f64,
    proc_p50: f64,
    proc_p99: f64,
    sched_p50: f64,
    sched_p99: f64,
    stable: bool,
}

fn run_one(args: &StreamingArgs, source: &'static str, interval_ms: u64) -> Result<Row> {
    let ctx = Context::local(args.threads)?;
    let ssc = StreamingContext::new(&ctx, Duration::from_millis(interval_ms))?;
    let corpus = Arc::new(Corpus::standard());
    let per_batch = (args.lines_per_second * interval_ms / 1000).max(1);
    let lines = match source {
        "generator" => {
            let c = Arc::clone(&corpus);
            ssc.rate_stream(args.lines_per_second, Some(args.threads), move |i| {
                c.line_at(7, i, 10)
            })
        }
        _ => {
            // Pre-made batches, queued before the start: the queue never runs dry.
            let queue = RddQueue::new();
            let n_batches = (args.seconds * 1000 / interval_ms + 10) as usize;
            let lines = corpus.lines(7, per_batch as usize * 64, 10);
            for b in 0..n_batches {
                let start = (b * per_batch as usize) % (lines.len() - per_batch as usize + 1);
                let batch = lines[start..start + per_batch as usize].to_vec();
                queue.push(ctx.parallelize(batch, args.threads));
            }
            ssc.queue_stream(&queue, true, None)
        }
    };
    let words = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let w2 = Arc::clone(&words);
    lines
        .flat_map(|l: String| sluice::text::split_small(l, ' '))
        .map(|w| (w, 1u64))
        .reduce_by_key_into(args.threads, |a, b| a + b)
        .foreach_rdd(move |rdd, _| {
            let n = rdd.map(|(_, c)| c).fold(0, |a, b| a + b)?;
            w2.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        })?;
    let collect = Arc::new(Collect::default());
    ssc.add_listener(collect.clone());
    ssc.start()?;
    let _ = ssc.await_termination_timeout(Duration::from_secs(args.seconds))?;
    ssc.stop(StopMode::Immediate)?;
    let infos = collect.0.lock().clone();
    // Skip the first batches (warm-up).
    let skip = infos.len() / 10;
    let infos = &infos[skip..];
    let ms = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1e3);
    let mut proc: Vec<f64> = infos.iter().map(|b| ms(b.processing_delay)).collect();
    let mut sched: Vec<f64> = infos.iter().map(|b| ms(b.scheduling_delay)).collect();
    let busy: f64 = proc.iter().sum::<f64>() / 1e3;
    let total_words = words.load(std::sync::atomic::Ordering::Relaxed);
    let measured_words = per_batch * 10 * infos.len() as u64;
    // Stable: the scheduling delay of the last quarter is not much above the first quarter's.
    let q = (sched.len() / 4).max(1);
    let first: f64 = sched[..q.min(sched.len())].iter().sum::<f64>() / q as f64;
    let last: f64 = sched[sched.len().saturating_sub(q)..].iter().sum::<f64>() / q as f64;
    let stable = last <= first + interval_ms as f64;
    Ok(Row {
        source,
        interval_ms,
        batches: infos.len(),
        words: total_words,
        capacity: if busy > 0.0 {
            measured_words as f64 / busy
        } else {
            0.0
        },
        proc_p50: percentile(&mut proc.clone(), 0.5),
        proc_p99: percentile(&mut proc, 0.99),
        sched_p50: percentile(&mut sched.clone(), 0.5),
        sched_p99: percentile(&mut sched, 0.99),
        stable,
    })
}

/// Runs the benchmark and prints a Markdown table.
pub fn run(args: StreamingArgs) -> Result<()> {
    let mut rows = Vec::new();
    for &interval in &args.intervals {
        for source in ["generator", "queue"] {
            eprintln!("{source}, {interval} ms batches ...");
            rows.push(run_one(&args, source, interval)?);
        }
    }
    println!(
        "Streaming word count, {} lines/s offered (10 words each), local[{}], {} s per row\n",
        args.lines_per_second, args.threads, args.seconds
    );
    println!(
        "| source | batch | batches | words counted | capacity (Mwords/s of processing) | \
         processing p50 / p99 | scheduling delay p50 / p99 | keeps up |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    for r in rows {
        println!(
            "| {} | {} ms | {} | {} | {:.2} | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {} |",
            r.source,
            r.interval_ms,
            r.batches,
            r.words,
            r.capacity / 1e6,
            r.proc_p50,
            r.proc_p99,
            r.sched_p50,
            r.sched_p99,
            if r.stable { "yes" } else { "NO" }
        );
    }
    Ok(())
}
