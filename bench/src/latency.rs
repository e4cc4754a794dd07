//! End-to-end latency over a socket (Sluice's side of workload (b)).
//!
//! A feeder thread serves lines on 127.0.0.1 at a fixed rate; each line carries the time it
//! was sent. The job reads them with `socket_text_stream`, counts words per batch, and in its
//! output operation records, for every line, the time from sending to the end of the output
//! of its batch. For each batch interval it reports the p50 and p99 of that latency and
//! whether the scheduling delay stayed flat (the job keeps up).

use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use sluice::prelude::*;
use sluice::BatchInfo;

/// Options of the latency benchmark.
#[derive(clap::Args)]
pub struct LatencyArgs {
    /// Lines per second sent (10 words each).
    #[arg(long, default_value_t = 20_000)]
    rate: u64,
    /// Seconds per batch interval.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Batch intervals in milliseconds.
    #[arg(long, value_delimiter = ',', default_values_t = vec![100, 20, 10])]
    intervals: Vec<u64>,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Serves lines `<send time µs> w w w ...` at `rate` per second until `stop`.
fn feeder(listener: TcpListener, rate: u64, stop: Arc<AtomicBool>) {
    let Ok((mut conn, _)) = listener.accept() else {
        return;
    };
    let start = Instant::now();
    let mut sent = 0u64;
    let mut buf = String::new();
    while !stop.load(Ordering::Acquire) {
        let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
        if due <= sent {
            std::thread::sleep(Duration::from_micros(200));
            continue;
        }
        buf.clear();
        for i in sent..due {
            buf.push_str(&format!("{} a b c d e f g h w{}\n", now_us(), i % 100));
        }
        if conn.write_all(buf.as_bytes()).is_err() {
            return;
        }
        sent = due;
    }
}

#[derive(Default)]
struct Sched(Mutex<Vec<f64>>);

impl StreamingListener for Sched {
    fn on_batch_completed(&self, b: &BatchInfo) {
        if let Some(d) = b.scheduling_delay {
            self.0.lock().push(d.as_secs_f64() * 1e3);
        }
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Runs the benchmark and prints a Markdown table.
pub fn run(a: LatencyArgs) -> Result<()> {
    println!(
        "End-to-end latency over a socket, {} lines/s (10 words each), local[2], {} s per row\n",
        a.rate, a.seconds
    );
    println!("| batch | lines | latency p50 | latency p99 | scheduling delay p99 | keeps up |");
    println!("|---:|---:|---:|---:|---:|---|");
    for &interval in &a.intervals {
        let listener =
            TcpListener::bind("127.0.0.1:0").map_err(|e| Error::io("binding", "127.0.0.1", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("binding", "127.0.0.1", e))?
            .port();
        let stop = Arc::new(AtomicBool::new(false));
        let feed = {
            let stop = Arc::clone(&stop);
            let rate = a.rate;
            std::thread::spawn(move || feeder(listener, rate, stop))
        };
        let ctx = Context::new(Conf::new().set_master("local[2]").set(
            "sluice.streaming.blockInterval",
            format!("{}ms", interval.max(2) / 2),
        ))?;
        let ssc = StreamingContext::new(&ctx, Duration::from_millis(interval))?;
        let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
        let l2 = Arc::clone(&latencies);
        ssc.socket_text_stream("127.0.0.1", port)
            .map(|line: String| {
                let sent: u64 = line
                    .split(' ')
                    .next()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                let words = line
                    .split(' ')
                    .skip(1)
                    .map(str::to_owned)
                    .collect::<Vec<_>>();
                (sent, words)
            })
            .foreach_rdd(move |rdd, _| {
                // The batch's work: a word count; then every line's latency is the time from
                // its sending to the end of its batch's output.
                let sent: Vec<u64> = rdd.map(|(s, _)| s).collect()?;
                rdd.flat_map(|(_, w)| w)
                    .map(|w| (w, 1u64))
                    .reduce_by_key(|x, y| x + y)
                    .count()?;
                let done = now_us();
                let mut l = l2.lock();
                l.extend(sent.iter().map(|s| done.saturating_sub(*s) as f64 / 1e3));
                Ok(())
            })?;
        let sched = Arc::new(Sched::default());
        ssc.add_listener(sched.clone());
        ssc.start()?;
        // Warm-up second, then measure.
        std::thread::sleep(Duration::from_secs(1));
        latencies.lock().clear();
        sched.0.lock().clear();
        std::thread::sleep(Duration::from_secs(a.seconds));
        let mut lat = std::mem::take(&mut *latencies.lock());
        let mut sch = std::mem::take(&mut *sched.0.lock());
        ssc.stop(StopMode::Immediate)?;
        stop.store(true, Ordering::Release);
        let _ = feed.join();
        let n = lat.len();
        let q = (sch.len() / 4).max(1);
        let first: f64 = sch.iter().take(q).sum::<f64>() / q as f64;
        let last: f64 = sch.iter().rev().take(q).sum::<f64>() / q as f64;
        let sched_p99 = pct(&mut sch, 0.99);
        // Keeps up: the scheduling delay does not grow, and no backlog of a batch or more
        // stands (the same rule as the Spark side of the side-by-side benchmark).
        let keeps_up = last <= first + interval as f64 && sched_p99 <= interval as f64;
        println!(
            "| {interval} ms | {n} | {:.1} ms | {:.1} ms | {:.2} ms | {} |",
            pct(&mut lat, 0.5),
            pct(&mut lat, 0.99),
            sched_p99,
            if keeps_up { "yes" } else { "NO" }
        );
    }
    Ok(())
}
