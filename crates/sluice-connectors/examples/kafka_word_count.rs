//! A recoverable Kafka job: counts records per key from a topic with `update_state_by_key`,
//! writes the totals every batch with `save_as_text_files` (each batch's directory is
//! replaced when the batch runs again, so the output is idempotent), and commits offsets to
//! the consumer group after each batch. Killed at any moment and restarted with the same
//! arguments, it continues from its checkpoint: every record is counted exactly once.
//!
//! ```text
//! cargo run -p sluice-connectors --features kafka --example kafka_word_count -- \
//!     --brokers 127.0.0.1:9092 --topic words --checkpoint /tmp/ckpt --output /tmp/out/counts \
//!     [--expect N] [--batch-ms 100] [--max-rate 1000] [--group word-count] [--slow-ms 0] [--no-commit]
//! ```
//!
//! With `--expect N` the job stops gracefully once its totals add up to `N`. `--slow-ms`
//! makes each batch take at least that long, so that batches queue up behind a slow job.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sluice_connectors::kafka::{direct_stream, StartingOffsets};
use sluice_core::{Conf, Context, Error, Result};
use sluice_streaming::{milliseconds, StopMode, StreamingContext};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn need(args: &[String], name: &str) -> Result<String> {
    arg(args, name).ok_or_else(|| Error::InvalidArgument(format!("missing {name}")))
}

fn num(args: &[String], name: &str, default: u64) -> Result<u64> {
    arg(args, name).map_or(Ok(default), |v| {
        v.parse()
            .map_err(|_| Error::InvalidArgument(format!("{name}: not a number: {v}")))
    })
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let brokers = need(&args, "--brokers")?;
    let topic = need(&args, "--topic")?;
    let checkpoint = need(&args, "--checkpoint")?;
    let output = need(&args, "--output")?;
    let group = arg(&args, "--group").unwrap_or_else(|| "kafka-word-count".into());
    let expect = arg(&args, "--expect")
        .map(|v| v.parse::<u64>())
        .transpose()
        .map_err(|_| Error::InvalidArgument("--expect: not a number".into()))?;
    let batch_ms = num(&args, "--batch-ms", 100)?;
    let max_rate = num(&args, "--max-rate", 0)?;
    let no_commit = args.iter().any(|a| a == "--no-commit");
    let slow = Duration::from_millis(num(&args, "--slow-ms", 0)?);

    let mut conf = Conf::new()
        .set_master("local[2]")
        .set_app_name("KafkaWordCount");
    if max_rate > 0 {
        conf = conf.set("sluice.kafka.maxRatePerPartition", max_rate.to_string());
    }
    let ctx = Context::new(conf)?;
    let total = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&total);
    let ssc = StreamingContext::get_or_create(&checkpoint, move || {
        let ssc = StreamingContext::new(&ctx, milliseconds(batch_ms))?;
        let kafka = direct_stream(&ssc)
            .bootstrap_servers(brokers.as_str())
            .group_id(group.as_str())
            .subscribe([topic.as_str()])
            .starting_offsets(StartingOffsets::Earliest)
            .commit_offsets_after_batch(!no_commit)
            .build_strings()?;
        let counts = kafka
            .stream()
            .map(|r| (r.key.unwrap_or_default(), 1u64))
            .update_state_by_key(|new: &[u64], old: Option<&u64>| {
                Some(old.copied().unwrap_or(0) + new.iter().sum::<u64>())
            })
            .set_name("counts per key")
            .checkpoint(milliseconds(batch_ms * 3))?;
        counts.save_as_text_files(&output, "")?;
        let seen = Arc::clone(&seen);
        counts.foreach_rdd(move |rdd, _| {
            let sum = rdd.map(|(_, n)| n).fold(0, |a, b| a + b)?;
            seen.store(sum, Ordering::Release);
            std::thread::sleep(slow);
            Ok(())
        })?;
        Ok(ssc)
    })?;
    if let Some(t) = ssc.recovered_from() {
        eprintln!("restarting after batch {t}");
    }
    ssc.start()?;
    loop {
        if ssc.await_termination_timeout(Duration::from_millis(50))? {
            break;
        }
        if let Some(e) = ssc.take_error() {
            eprintln!("error: {e}");
        }
        if expect.is_some_and(|n| total.load(Ordering::Acquire) >= n) {
            ssc.stop(StopMode::Graceful {
                timeout: Duration::from_secs(30),
            })?;
            eprintln!("counted {} records", total.load(Ordering::Acquire));
            break;
        }
    }
    Ok(())
}
