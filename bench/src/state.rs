//! The keyed-state benchmark.
//!
//! For 100 thousand, 1 million and 10 million keys (loaded as the initial state) and 100
//! thousand updates per batch on random keys, runs batches of `map_with_state` and of
//! `update_state_by_key` on a step clock (batches back to back) and reports the median
//! processing time per batch. With checkpointing on, it also reports the checkpoint bytes
//! written per batch (only changed key groups are written) and the time to restore the state
//! from a checkpoint.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sluice::prelude::*;
use sluice::streaming::state::{State, StateSpec};
use sluice::BatchInfo;

/// Options of the state benchmark.
#[derive(clap::Args)]
pub struct StateArgs {
    /// Key counts to test.
    #[arg(long, value_delimiter = ',', default_values_t = vec![100_000, 1_000_000, 10_000_000])]
    keys: Vec<u64>,
    /// Updates per batch.
    #[arg(long, default_value_t = 100_000)]
    updates: u64,
    /// Batches measured per configuration (after one warm-up batch).
    #[arg(long, default_value_t = 8)]
    batches: i64,
    /// State stores to run on: `memory` and `disk`.
    #[arg(long, value_delimiter = ',', default_values_t = vec!["memory".to_string(), "disk".to_string()])]
    stores: Vec<String>,
    /// Operators to run: `map` (map_with_state) and `update` (update_state_by_key, which
    /// visits every key every batch).
    #[arg(long, value_delimiter = ',', default_values_t = vec!["map".to_string(), "update".to_string()])]
    modes: Vec<String>,
    /// The largest key count also run with checkpoints (and restored).
    #[arg(long, default_value_t = 1_000_000)]
    checkpoint_max_keys: u64,
    /// More settings, `key=value` (for example `sluice.streaming.stateStore.cacheSize=1g`).
    #[arg(long = "conf")]
    conf: Vec<String>,
}

/// Keeps every completed batch's info.
#[derive(Default)]
pub(crate) struct Collect(pub(crate) Mutex<Vec<BatchInfo>>);

impl StreamingListener for Collect {
    fn on_batch_completed(&self, b: &BatchInfo) {
        self.0.lock().push(b.clone());
    }
}

/// The median (NaN for none).
pub(crate) fn median_ms(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A key for update `i` of a batch: spread over all keys by a multiplicative hash.
fn key_of(i: u64, keys: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % keys
}

struct Run {
    per_batch_ms: f64,
    checkpoint_bytes: Option<u64>,
    restore_ms: Option<f64>,
}

fn dir_size(dir: &std::path::Path, needle: &str) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                total += dir_size(&p, needle);
            } else if p.to_string_lossy().contains(needle) {
                total += e.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    total
}

fn run(
    keys: u64,
    args: &StateArgs,
    map_with_state: bool,
    checkpoint: bool,
    store: &str,
) -> Result<Run> {
    let mut conf = Conf::new()
        .set_master("local[2]")
        .set("sluice.streaming.clock", "step")
        .set("sluice.streaming.stateStore.kind", store);
    for kv in &args.conf {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| Error::InvalidArgument(format!("--conf {kv}: expected key=value")))?;
        conf = conf.set(k, v);
    }
    let ctx = Context::new(conf)?;
    let dir = std::env::temp_dir().join(format!("sluice-bench-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let updates = args.updates;
    let build = |ctx: &Context| -> Result<StreamingContext> {
        let ssc = StreamingContext::new(ctx, seconds(1))?;
        let initial = ctx.range(0, keys as i64, 1, 8).map(|k| (k as u64, 0u64));
        let input = ssc.rate_stream(updates, Some(2), move |i| (key_of(i, keys), 1u64));
        if map_with_state {
            let spec = StateSpec::function(|_t, _k: &u64, v: Option<u64>, s: &mut State<u64>| {
                let n = s.get_option().copied().unwrap_or(0) + v.unwrap_or(0);
                s.update(n).ok()?;
                None::<u64>
            })
            .initial_state(initial)
            .num_partitions(2);
            let m = input.map_with_state(spec);
            m.stream()
                .set_name("counts")
                .checkpoint(seconds(1))?
                .foreach_rdd(|_, _| Ok(()))?;
        } else {
            input
                .update_state_by_key_with(
                    |_t, _k, v: &[u64], s: Option<&u64>| {
                        Some(s.copied().unwrap_or(0) + v.iter().sum::<u64>())
                    },
                    Some(2),
                    Some(initial),
                )
                .set_name("counts")
                .checkpoint(seconds(1))?
                // Checkpointed, the job reads the whole state each batch, as a job writing it
                // out does (under checkpoints its order is made deterministic, which costs).
                .foreach_rdd(move |rdd, _| {
                    if checkpoint {
                        rdd.count().map(drop)
                    } else {
                        Ok(())
                    }
                })?;
        }
        Ok(ssc)
    };
    let ssc = if checkpoint {
        StreamingContext::get_or_create(&dir, || build(&ctx))?
    } else {
        build(&ctx)?
    };
    let collect = Arc::new(Collect::default());
    ssc.add_listener(collect.clone());
    ssc.start()?;
    let last = Time::from_millis((args.batches + 1) * 1000);
    while !ssc.await_batch(last, Duration::from_secs(5))? {}
    ssc.stop(StopMode::Graceful {
        timeout: Duration::from_secs(60),
    })?;
    let infos = collect.0.lock().clone();
    let per_batch: Vec<f64> = infos
        .iter()
        .skip(1)
        .filter_map(|b| b.processing_delay.map(|d| d.as_secs_f64() * 1e3))
        .collect();
    let (checkpoint_bytes, restore_ms) = if checkpoint {
        // Checkpoint 3 holds one batch of updates (the first held the whole initial state).
        let bytes = dir_size(&dir.join("state"), "-3-");
        let t = Instant::now();
        let restored = StreamingContext::get_or_create(&dir, || build(&ctx))?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        drop(restored);
        (Some(bytes), Some(ms))
    } else {
        (None, None)
    };
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Run {
        per_batch_ms: median_ms(per_batch),
        checkpoint_bytes,
        restore_ms,
    })
}

/// The peak resident set of this process so far (Linux), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn cell(r: &Option<Run>) -> String {
    r.as_ref()
        .map_or("-".into(), |r| format!("{:.1} ms", r.per_batch_ms))
}

/// Runs the benchmark and prints Markdown tables.
pub fn run_all(args: StateArgs) -> Result<()> {
    println!(
        "Keyed state, {} updates per batch on random keys, local[2], median of {} batches\n",
        args.updates, args.batches
    );
    let (map, update) = (
        args.modes.iter().any(|m| m == "map"),
        args.modes.iter().any(|m| m == "update"),
    );
    println!("| keys | store | map_with_state per batch | update_state_by_key per batch |");
    println!("|---:|---|---:|---:|");
    for &keys in &args.keys {
        for store in &args.stores {
            eprintln!("{keys} keys, {store} store ...");
            let m = map
                .then(|| run(keys, &args, true, false, store))
                .transpose()?;
            let u = update
                .then(|| run(keys, &args, false, false, store))
                .transpose()?;
            println!("| {keys} | {store} | {} | {} |", cell(&m), cell(&u));
        }
    }
    println!("\nCheckpointing every batch:\n");
    println!(
        "| keys | store | map_with_state per batch | checkpoint bytes of one batch | restore time | update_state_by_key per batch, reading the state |"
    );
    println!("|---:|---|---:|---:|---:|---:|");
    for &keys in &args.keys {
        if keys > args.checkpoint_max_keys {
            continue;
        }
        for store in &args.stores {
            eprintln!("{keys} keys, {store} store, checkpointing ...");
            let c = map
                .then(|| run(keys, &args, true, true, store))
                .transpose()?;
            let u = update
                .then(|| run(keys, &args, false, true, store))
                .transpose()?;
            println!(
                "| {keys} | {store} | {} | {} | {} | {} |",
                cell(&c),
                c.as_ref()
                    .and_then(|c| c.checkpoint_bytes)
                    .map_or("-".into(), |b| b.to_string()),
                c.as_ref()
                    .and_then(|c| c.restore_ms)
                    .map_or("-".into(), |ms| format!("{ms:.0} ms")),
                cell(&u)
            );
        }
    }
    if let Some(rss) = peak_rss_mib() {
        println!("\nPeak RSS of this process: {rss:.0} MiB");
    }
    Ok(())
}
