#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `text_file_stream` with checkpoints and bad input: a restarted job recognises the files it
//! read however its directory is written, batches whose only consumers are stateful still
//! record their files before they run, and a bad file costs its bad lines, not the batch.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use sluice_core::{Conf, Context};
use sluice_streaming::clock::ManualClock;
use sluice_streaming::time::{seconds, Time};
use sluice_streaming::{StopMode, StreamingContext};

mod common;
use common::write_file;

type Counts = Arc<Mutex<BTreeMap<i64, Vec<(String, u64)>>>>;

/// Counts lines of the files in `input` with `update_state_by_key` (the stream's only
/// consumer), checkpointing into `ck` every 2 batches; records each batch's state.
fn job(
    ctx: &Context,
    ck: &Path,
    input: &Path,
    clock: Arc<ManualClock>,
    out: &Counts,
) -> StreamingContext {
    let out = Arc::clone(out);
    StreamingContext::get_or_create(ck, || {
        let ssc = StreamingContext::with_clock(ctx, seconds(1), clock)?;
        ssc.text_file_stream(input)?
            .map(|l: String| (l, 1u64))
            .update_state_by_key(|v: &[u64], s: Option<&u64>| {
                Some(s.copied().unwrap_or(0) + v.iter().sum::<u64>())
            })
            .set_name("counts")
            .checkpoint(seconds(2))?
            .foreach_rdd(move |rdd, t| {
                let mut v = rdd.collect()?;
                v.sort();
                out.lock().insert(t.millis(), v);
                Ok(())
            })?;
        Ok(ssc)
    })
    .unwrap()
}

fn run(ssc: &StreamingContext, clock: &ManualClock, ms: i64) {
    clock.set_time(ms);
    assert!(ssc
        .await_batch(Time::from_millis(ms), Duration::from_secs(30))
        .unwrap());
    assert!(ssc.take_error().is_none());
}

#[test]
fn a_restarted_stream_reads_each_file_once_however_its_directory_is_written() {
    let root = tempfile::tempdir().unwrap();
    let input = root.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let ctx = Context::new(Conf::new().set_master("local[2]")).unwrap();
    let spellings = [
        root.path().join("./in"),
        root.path().join("in/../in"),
        root.path().join("in/"),
        input.clone(),
    ];
    for (round, second) in spellings.iter().enumerate() {
        let ck = root.path().join(format!("ck-{round}"));
        let out: Counts = Arc::default();
        let clock = ManualClock::shared(10_000);
        let ssc = job(&ctx, &ck, &input, clock.clone(), &out);
        ssc.start().unwrap();
        let name = |s: &str| format!("{s}-{round}");
        write_file(&input.join(name("a")), b"a\n", 10_500);
        run(&ssc, &clock, 11_000);
        write_file(&input.join(name("b")), b"b\n", 11_500);
        run(&ssc, &clock, 12_000); // checkpointed
        write_file(&input.join(name("c")), b"c\n", 12_500);
        run(&ssc, &clock, 13_000); // not checkpointed: re-run after the restart
                                   // The batch's files were recorded before it ran, though only a stateful operator
                                   // reads the stream.
        assert!(ck.join("batches/13000.ckpt").exists());
        ssc.stop(StopMode::Immediate).unwrap();
        drop(ssc);

        let out: Counts = Arc::default();
        let clock = ManualClock::shared(12_000);
        let ssc = job(&ctx, &ck, second, clock.clone(), &out);
        assert_eq!(ssc.recovered_from(), Some(Time::from_millis(12_000)));
        ssc.start().unwrap();
        run(&ssc, &clock, 13_000);
        write_file(&input.join(name("d")), b"d\n", 13_500);
        run(&ssc, &clock, 14_000);
        ssc.stop(StopMode::Immediate).unwrap();
        // Every line once: nothing read again under the other spelling.
        let want: Vec<(String, u64)> = ["a", "b", "c", "d"]
            .iter()
            .map(|s| (s.to_string(), 1))
            .collect();
        assert_eq!(
            out.lock()[&14_000],
            want,
            "restarted as {}",
            second.display()
        );
        for f in ["a", "b", "c", "d"] {
            std::fs::remove_file(input.join(name(f))).unwrap();
        }
    }
}

#[test]
fn a_bad_file_costs_its_bad_lines_not_the_batch() {
    let root = tempfile::tempdir().unwrap();
    let input = root.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let ctx = Context::new(Conf::new().set_master("local[2]")).unwrap();
    let clock = ManualClock::shared(10_000);
    let ssc = StreamingContext::with_clock(&ctx, seconds(1), clock.clone()).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = Arc::clone(&seen);
    ssc.text_file_stream(&input)
        .unwrap()
        .foreach_rdd(move |rdd, _| {
            s2.lock().extend(rdd.collect()?);
            Ok(())
        })
        .unwrap();
    write_file(&input.join("good.txt"), b"a\nb\n", 10_500);
    write_file(&input.join("bad.txt"), b"x\n\xff\xfe\ny\n\xc3\n", 10_500);
    ssc.start().unwrap();
    run(&ssc, &clock, 11_000);
    ssc.stop(StopMode::Immediate).unwrap();
    let mut lines = seen.lock().clone();
    lines.sort();
    assert_eq!(lines, vec!["a", "b", "x", "y"]);
    let bad = ssc.bad_records();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].1.total, 2);
    assert!(
        bad[0].1.samples[0].contains("bad.txt") && bad[0].1.samples[0].contains("UTF-8"),
        "{:?}",
        bad[0].1
    );
}
