//! Shared set-up of the Kafka tests: the broker's address, unique topic names, and a job on
//! a manual clock that the test steps batch by batch.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use sluice_connectors::kafka::{direct_stream, DirectStreamBuilder, StartingOffsets};
use sluice_core::{Conf, Context, Error, Result};
use sluice_streaming::clock::ManualClock;
use sluice_streaming::{StopMode, StreamingContext, Time};

/// The test broker's address (`SLUICE_KAFKA_BROKERS`). The tests that need it are
/// `#[ignore]`d, so a plain `cargo test` lists them as ignored rather than passing them
/// silently; `scripts/test.sh` starts a broker and runs them with `--ignored`. Run without a
/// broker, such a test fails and says why.
pub fn brokers(test: &str) -> String {
    match std::env::var("SLUICE_KAFKA_BROKERS") {
        Ok(b) if !b.is_empty() => b,
        _ => panic!(
            "{test} needs a Kafka broker: set SLUICE_KAFKA_BROKERS, or run scripts/test.sh, \
             which starts one"
        ),
    }
}

/// A topic name no other test run uses.
pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{name}-{}-{nanos}", std::process::id())
}

/// A streaming job on a manual clock.
pub struct Job {
    pub ssc: StreamingContext,
    pub clock: Arc<ManualClock>,
    pub interval: Duration,
}

impl Job {
    /// A job with batches of `interval` and the extra settings `conf`.
    pub fn new(interval: Duration, conf: &[(&str, &str)]) -> Result<Job> {
        let mut c = Conf::new().set_master("local[2]");
        for (k, v) in conf {
            c = c.set(*k, *v);
        }
        let ctx = Context::new(c)?;
        let clock = ManualClock::shared(0);
        let ssc = StreamingContext::with_clock(&ctx, interval, clock.clone())?;
        Ok(Job {
            ssc,
            clock,
            interval,
        })
    }

    /// The time of batch `k` (from 1).
    pub fn time(&self, k: usize) -> Time {
        Time::from_millis(k as i64 * self.interval.as_millis() as i64)
    }

    /// Advances the clock to batch `k` and waits until it completed; fails on a job error.
    pub fn run_batch(&self, k: usize) -> Result<()> {
        self.clock.set_time(self.time(k).millis());
        if !self
            .ssc
            .await_batch(self.time(k), Duration::from_secs(60))?
        {
            return Err(Error::Internal(format!("batch {k} did not complete")));
        }
        match self.ssc.take_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// A direct stream over `topic` at `brokers`, from the earliest offsets.
    pub fn stream_from_earliest(&self, brokers: &str, topic: &str) -> DirectStreamBuilder {
        direct_stream(&self.ssc)
            .bootstrap_servers(brokers)
            .subscribe([topic])
            .starting_offsets(StartingOffsets::Earliest)
    }

    /// Stops the job at once.
    pub fn stop(&self) -> Result<()> {
        self.ssc.stop(StopMode::Immediate)
    }
}
