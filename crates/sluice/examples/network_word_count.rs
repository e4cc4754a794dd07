//! Counts words in UTF-8 lines received from a TCP server, batch by batch (Spark's
//! `NetworkWordCount`).
//!
//! Run a server with `nc -lk 9999`, then:
//! `cargo run --example network_word_count -- localhost 9999 [interval_ms] [batches]`

use std::time::Duration;

use sluice::prelude::*;

fn main() -> sluice::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: network_word_count <host> <port> [interval_ms] [batches]");
        std::process::exit(1);
    }
    let host = &args[1];
    let port: u16 = args[2]
        .parse()
        .map_err(|_| Error::InvalidArgument(format!("bad port {}", args[2])))?;
    let interval = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let batches: Option<u64> = args.get(4).and_then(|s| s.parse().ok());

    let ctx = Context::new(
        Conf::new()
            .set_master("local[2]")
            .set_app_name("NetworkWordCount"),
    )?;
    let ssc = StreamingContext::new(&ctx, Duration::from_millis(interval))?;
    let lines = ssc.socket_text_stream(host, port);
    let words = lines.flat_map(|l: String| sluice::text::split_small(l, ' '));
    let counts = words.map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b);
    counts.print(10)?;
    ssc.start()?;
    match batches {
        Some(n) => {
            while ssc.batches_completed() < n {
                ssc.await_termination_timeout(Duration::from_millis(20))?;
            }
            ssc.stop(StopMode::Graceful {
                timeout: Duration::from_secs(10),
            })
        }
        None => ssc.await_termination(),
    }
}
