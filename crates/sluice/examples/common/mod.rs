//! What the recoverable examples share: their arguments, and running exactly the batches up
//! to the last one across restarts.

use std::time::Duration;

use sluice::prelude::*;
use sluice::streaming::StreamingState;

/// `<input-dir> <checkpoint-dir> <output-prefix> <batches> [--step] [--conf key=value]...`.
pub struct Args {
    pub input: String,
    pub checkpoint: String,
    pub prefix: String,
    pub batches: u32,
    pub step: bool,
    /// Settings given with `--conf key=value`.
    pub conf: Vec<(String, String)>,
}

/// Parses the arguments, or prints the usage of `program` and exits.
fn args(program: &str) -> sluice::Result<Args> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!(
            "usage: {program} <input-dir> <checkpoint-dir> <output-prefix> <batches> [--step] \
             [--conf key=value]..."
        );
        std::process::exit(1);
    }
    let batches: u32 = args[4]
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::InvalidArgument(format!("bad batch count {}", args[4])))?;
    let mut conf = Vec::new();
    for pair in args.windows(2).filter(|w| w[0] == "--conf") {
        let (k, v) = pair[1].split_once('=').ok_or_else(|| {
            Error::InvalidArgument(format!("--conf {}: expected key=value", pair[1]))
        })?;
        conf.push((k.to_string(), v.to_string()));
    }
    Ok(Args {
        conf,
        input: args[1].clone(),
        checkpoint: args[2].clone(),
        prefix: args[3].clone(),
        batches,
        step: args.iter().any(|a| a == "--step"),
    })
}

/// The arguments, and a `local[2]` context named `app` (on the step clock with `--step`).
pub fn setup(program: &str, app: &str) -> sluice::Result<(Args, Context)> {
    let args = args(program)?;
    let mut conf = Conf::new().set_master("local[2]").set_app_name(app);
    if args.step {
        conf = conf.set("sluice.streaming.clock", "step");
    }
    for (k, v) in &args.conf {
        conf = conf.set(k.clone(), v.clone());
    }
    Ok((args, Context::new(conf)?))
}

/// Runs the job up to its batch `batches`, counted from the first batch of its first run, and
/// stops gracefully. A restarted run generates exactly the batches after its checkpoint (a
/// graceful stop would otherwise also run the batch generated while the last one completed).
pub fn run(ssc: &StreamingContext, interval: Duration, batches: u32) -> sluice::Result<()> {
    let to_run = match (ssc.recovered_from(), ssc.start_time()) {
        (Some(t), Some(first)) => {
            eprintln!("restarting after batch {t}");
            let last = first + interval * (batches - 1);
            let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
            u64::try_from((last - t) / interval_ms).unwrap_or(0)
        }
        _ => u64::from(batches),
    };
    if to_run == 0 {
        return Ok(());
    }
    ssc.limit_batches(to_run)?;
    ssc.start()?;
    // Batch times, not counts: the first batch is at the start time (on the wall clock, or 1 s
    // on the step clock), on the original times after a restart too.
    let first = ssc
        .start_time()
        .ok_or_else(|| Error::Internal("a started context has a start time".into()))?;
    let last = first + interval * (batches - 1);
    while !ssc.await_batch(last, Duration::from_secs(1))? {
        if ssc.state() == StreamingState::Stopped {
            break;
        }
    }
    ssc.stop(StopMode::Graceful {
        timeout: Duration::from_secs(30),
    })?;
    match ssc.take_error() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
