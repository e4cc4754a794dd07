//! A stateless, windowless pipeline over generated access-log lines: parse, drop malformed
//! lines (counted in an accumulator), keep errors, count them per path, and join with a small
//! per-batch table of path owners.
//!
//! `cargo run --example stateless_pipeline -- [interval_ms] [batches]`

use std::time::Duration;

use sluice::prelude::*;

const PATHS: [&str; 4] = ["/", "/login", "/api/items", "/api/orders"];

/// A generated log line: `status path`, with every 97th line malformed.
fn log_line(i: u64) -> String {
    if i.is_multiple_of(97) {
        return "garbage".to_string();
    }
    let status = if i.is_multiple_of(7) { 500 } else { 200 };
    format!("{status} {}", PATHS[(i % 4) as usize])
}

fn main() -> sluice::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let interval = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let batches: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);

    let ctx = Context::new(
        Conf::new()
            .set_master("local[2]")
            .set_app_name("StatelessPipeline"),
    )?;
    let ssc = StreamingContext::new(&ctx, Duration::from_millis(interval))?;
    let malformed = ctx.long_accumulator("malformed lines");

    let bad = malformed.clone();
    let requests = ssc
        .rate_stream(1000, None, log_line)
        .flat_map(move |line: String| {
            let mut parts = line.split(' ');
            match (
                parts.next().and_then(|s| s.parse::<u16>().ok()),
                parts.next(),
            ) {
                (Some(status), Some(path)) => Some((path.to_string(), status)),
                _ => {
                    bad.add(1);
                    None
                }
            }
        });
    let owners = ssc.queue_stream(
        &RddQueue::new(),
        true,
        Some(ctx.parallelize(
            vec![
                ("/login".to_string(), "identity team".to_string()),
                ("/api/items".to_string(), "catalog team".to_string()),
                ("/api/orders".to_string(), "orders team".to_string()),
            ],
            1,
        )),
    );
    let errors_per_path = requests
        .filter(|(_, status)| *status >= 500)
        .map(|(path, _)| (path, 1u64))
        .reduce_by_key(|a, b| a + b);
    errors_per_path
        .left_outer_join(&owners)
        .map(|(path, (n, owner))| (path, n, owner.unwrap_or_else(|| "nobody".to_string())))
        .transform(|rdd, _| Ok(rdd.sort_by(|r| r.0.clone(), true, 1)))
        .print(10)?;
    ssc.start()?;
    while ssc.batches_completed() < batches {
        ssc.await_termination_timeout(Duration::from_millis(20))?;
    }
    ssc.stop(StopMode::Graceful {
        timeout: Duration::from_secs(10),
    })?;
    println!("malformed lines skipped: {}", malformed.value());
    Ok(())
}
