//! What the receivers' examples share: running a job for a number of batches, or until
//! stopped.

use std::time::Duration;

use sluice_core::{Error, Result};
use sluice_streaming::{StopMode, StreamingContext};

/// Starts `ssc` and runs it: exactly `batches` batches of `interval` then a graceful stop, or,
/// without a count, until it is stopped (Ctrl-C ends the process).
pub fn run(ssc: &StreamingContext, interval: Duration, batches: Option<u64>) -> Result<()> {
    let Some(n) = batches.filter(|n| *n > 0) else {
        ssc.start()?;
        return ssc.await_termination();
    };
    ssc.limit_batches(n)?;
    ssc.start()?;
    let first = ssc
        .start_time()
        .ok_or_else(|| Error::Internal("a started context has a start time".into()))?;
    let steps = u32::try_from(n - 1)
        .map_err(|_| Error::InvalidArgument(format!("too many batches: {n}")))?;
    let last = first + interval * steps;
    while !ssc.await_batch(last, Duration::from_secs(1))? {}
    ssc.stop(StopMode::Graceful {
        timeout: Duration::from_secs(10),
    })
}
