#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Event-time windows with watermarks: hand-computed cases for each output mode and edge, and
//! property tests of the engine (partitions, shuffles, key groups) against plain models of
//! Structured Streaming's rules: for time windows, session windows and deduplication.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use parking_lot::Mutex;
use proptest::prelude::*;
use sluice_streaming::event_time::{EventWindow, OutputMode, WindowAggregation, WindowRange};
use sluice_streaming::testing::{run_stream_with, TestConfig};
use sluice_streaming::time::seconds;

use common::{EventRecord as Rec, WindowRow as Row};

fn recs(batch: &[(&str, i64, i64)]) -> Vec<Rec> {
    batch
        .iter()
        .map(|&(k, t, v)| (k.to_string(), (t, v)))
        .collect()
}

/// The batches of the hand-computed cases (also those of the Spark golden files).
fn shared_batches() -> Vec<Vec<Rec>> {
    vec![
        recs(&[("a", 1000, 1), ("a", 4000, 2), ("b", 12000, 3)]),
        recs(&[("a", 3000, 4), ("a", 10000, 5), ("c", 7000, 6)]),
        recs(&[("b", 22000, 7)]),
        recs(&[("a", 9000, 8), ("b", 16000, 9), ("c", 17000, 10)]),
        vec![],
        recs(&[("c", 40000, 11), ("a", 33000, 12)]),
        recs(&[("a", 34999, 13), ("b", 35000, 14)]),
        vec![],
    ]
}

/// The batches of the session cases (also those of the Spark golden files).
fn session_batches() -> Vec<Vec<Rec>> {
    vec![
        recs(&[("a", 1000, 1), ("a", 6000, 2), ("b", 20000, 3)]),
        recs(&[("a", 2000, 4), ("c", 30000, 5)]),
        recs(&[("a", 12000, 6), ("b", 24000, 7)]),
        vec![],
        recs(&[("a", 9000, 8), ("d", 50000, 9), ("b", 33999, 10)]),
        vec![],
        recs(&[("a", 16999, 11), ("c", 46000, 12)]),
        vec![],
    ]
}

type Agg = WindowAggregation<String, (i64, i64), (u64, i64)>;

/// Runs the aggregation `build` makes of the input; returns each batch's rows, sorted, and the
/// aggregation (for its reports).
fn run_with(
    batches: Vec<Vec<Rec>>,
    partitions: usize,
    build: impl FnOnce(&sluice_streaming::DStream<Rec>) -> Agg,
) -> (Vec<Vec<Row>>, Agg) {
    let n = batches.len();
    let handle: Arc<Mutex<Option<Agg>>> = Arc::default();
    let h = Arc::clone(&handle);
    let cfg = TestConfig {
        input_partitions: partitions,
        ..TestConfig::default()
    };
    let out = run_stream_with(cfg, batches, n, move |s| {
        let agg = build(&s);
        *h.lock() = Some(agg.clone());
        agg.stream()
    })
    .unwrap();
    let rows = out.into_iter().map(common::window_rows).collect();
    let agg = handle.lock().clone().unwrap();
    (rows, agg)
}

/// Runs a (count, sum) aggregation over `window` with `delay_ms` and `mode`.
fn run(
    batches: Vec<Vec<Rec>>,
    window: EventWindow,
    delay_ms: i64,
    mode: OutputMode,
    partitions: usize,
) -> (Vec<Vec<Row>>, Agg) {
    run_with(batches, partitions, |s| {
        common::count_and_sum(
            s,
            window,
            std::time::Duration::from_millis(delay_ms as u64),
            mode,
        )
    })
}

fn rows(v: &[(&str, i64, u64, i64)], size: i64) -> Vec<Row> {
    let mut out: Vec<Row> = v
        .iter()
        .map(|&(k, s, c, sum)| (k.to_string(), s, s + size, c, sum))
        .collect();
    out.sort();
    out
}

fn tumbling() -> EventWindow {
    EventWindow::tumbling(10_000).unwrap()
}

#[test]
fn append_emits_each_window_once_when_the_watermark_closes_it() {
    let (out, agg) = run(shared_batches(), tumbling(), 5_000, OutputMode::Append, 2);
    let none: Vec<Row> = vec![];
    // The watermarks batches 0..7 close windows by: 0, 7, 7, 17, 17, 17, 35, 35 s; a record
    // is late under the one before: 0, 0, 7, 7, 17, 17, 17, 35 s.
    assert_eq!(out[0], none);
    assert_eq!(out[1], none);
    assert_eq!(out[2], none);
    // 17 s closes [0, 10 s). a@9 s arrives in this very batch: late only under 7 s, so it
    // still counts (as in Spark).
    assert_eq!(
        out[3],
        rows(&[("a", 0, 4, 15), ("c", 0, 1, 6)], 10_000),
        "a@10 s belongs to [10 s, 20 s), c@7 s (at the watermark) was counted"
    );
    assert_eq!(
        out[4], none,
        "an empty batch under the same watermark closes nothing new"
    );
    assert_eq!(out[5], none);
    assert_eq!(
        out[6],
        rows(
            &[
                ("a", 10_000, 1, 5),
                ("b", 10_000, 2, 12),
                ("b", 20_000, 1, 7),
                ("c", 10_000, 1, 10)
            ],
            10_000
        )
    );
    assert_eq!(out[7], none);
    assert_eq!(agg.late_records(), 0);
    assert_eq!(agg.watermark_ms(), 35_000);
    // Open: a and b in [30 s, 40 s), c in [40 s, 50 s).
    assert_eq!(agg.state_size(), 3);
}

#[test]
fn update_emits_the_windows_each_batch_changed() {
    let (out, agg) = run(shared_batches(), tumbling(), 5_000, OutputMode::Update, 3);
    assert_eq!(out[0], rows(&[("a", 0, 2, 3), ("b", 10_000, 1, 3)], 10_000));
    assert_eq!(
        out[1],
        rows(
            &[("a", 0, 3, 7), ("a", 10_000, 1, 5), ("c", 0, 1, 6)],
            10_000
        )
    );
    assert_eq!(out[2], rows(&[("b", 20_000, 1, 7)], 10_000));
    // a@9 s updates [0, 10 s), which is emitted and then dropped: 17 s closes it.
    assert_eq!(
        out[3],
        rows(
            &[("a", 0, 4, 15), ("b", 10_000, 2, 12), ("c", 10_000, 1, 10)],
            10_000
        )
    );
    assert!(out[4].is_empty());
    assert_eq!(
        out[5],
        rows(&[("a", 30_000, 1, 12), ("c", 40_000, 1, 11)], 10_000)
    );
    assert_eq!(
        out[6],
        rows(&[("a", 30_000, 2, 25), ("b", 30_000, 1, 14)], 10_000)
    );
    assert!(out[7].is_empty());
    assert_eq!(agg.late_records(), 0);
    assert_eq!(
        agg.state_size(),
        3,
        "closed windows were dropped without output"
    );
}

#[test]
fn complete_emits_every_window_and_drops_nothing() {
    let (out, agg) = run(shared_batches(), tumbling(), 5_000, OutputMode::Complete, 2);
    let after3 = [
        ("a", 0, 4, 15),
        ("a", 10_000, 1, 5),
        ("b", 10_000, 2, 12),
        ("b", 20_000, 1, 7),
        ("c", 0, 1, 6),
        ("c", 10_000, 1, 10),
    ];
    assert_eq!(out[0], rows(&[("a", 0, 2, 3), ("b", 10_000, 1, 3)], 10_000));
    assert_eq!(out[3], rows(&after3, 10_000));
    assert_eq!(out[4], out[3], "an empty batch emits the whole state again");
    let mut last = after3.to_vec();
    last.extend([
        ("a", 30_000, 2, 25),
        ("b", 30_000, 1, 14),
        ("c", 40_000, 1, 11),
    ]);
    assert_eq!(out[7], rows(&last, 10_000));
    assert_eq!(agg.late_records(), 0);
    assert_eq!(agg.state_size(), 9);
}

#[test]
fn sliding_windows_drop_a_record_only_for_the_windows_that_closed() {
    // 10 s windows every 5 s, no delay: the watermark is the latest event time.
    let window = EventWindow::sliding(10_000, 5_000).unwrap();
    let batches = vec![
        recs(&[("k", 15_000, 1)]), // the watermark becomes 15 s
        recs(&[("k", 12_000, 2)]), // late only under 0 s: both windows count; 15 s closes [5 s, 15 s)
        recs(&[("k", 14_000, 4)]), // late under 15 s for [5 s, 15 s), not for [10 s, 20 s)
        vec![],
    ];
    let (out, agg) = run(batches, window, 0, OutputMode::Update, 2);
    assert_eq!(
        out[0],
        rows(&[("k", 10_000, 1, 1), ("k", 15_000, 1, 1)], 10_000)
    );
    assert_eq!(
        out[1],
        rows(&[("k", 5_000, 1, 2), ("k", 10_000, 2, 3)], 10_000)
    );
    assert_eq!(out[2], rows(&[("k", 10_000, 3, 7)], 10_000));
    assert!(out[3].is_empty());
    assert_eq!(agg.late_records(), 1);
}

type LateRows = Arc<Mutex<BTreeMap<i64, Vec<(String, i64, i64, i64)>>>>;

/// Collects a late-record stream: (key, window start, window end, event time) per batch.
fn collect_late(
    s: &sluice_streaming::DStream<((String, WindowRange), (i64, i64))>,
    into: &LateRows,
) {
    let into = Arc::clone(into);
    s.foreach_rdd(move |rdd, t| {
        let mut v: Vec<(String, i64, i64, i64)> = rdd
            .collect()?
            .into_iter()
            .map(|((k, w), (ts, _))| (k, w.start, w.end, ts))
            .collect();
        v.sort();
        into.lock().insert(t.millis(), v);
        Ok(())
    })
    .unwrap();
}

#[test]
fn late_records_go_to_a_side_output() {
    // The sliding case above: k@14 s is late for [5 s, 15 s) only.
    let window = EventWindow::sliding(10_000, 5_000).unwrap();
    let batches = vec![
        recs(&[("k", 15_000, 1)]),
        recs(&[("k", 12_000, 2)]),
        recs(&[("k", 14_000, 4)]),
        vec![],
    ];
    let late: LateRows = Arc::default();
    let l = Arc::clone(&late);
    run_stream_with(TestConfig::default(), batches, 4, move |s| {
        let agg = common::count_and_sum(&s, window, std::time::Duration::ZERO, OutputMode::Update);
        collect_late(&agg.late_records_stream(), &l);
        agg.stream()
    })
    .unwrap();
    let late = late.lock();
    assert_eq!(late[&1000], vec![]);
    assert_eq!(late[&2000], vec![]);
    assert_eq!(late[&3000], vec![("k".to_string(), 5_000, 15_000, 14_000)]);
    assert_eq!(late[&4000], vec![]);
}

#[test]
fn late_session_events_go_to_a_side_output() {
    let batches = session_batches();
    let late: LateRows = Arc::default();
    let l = Arc::clone(&late);
    run_stream_with(TestConfig::default(), batches, 8, move |s| {
        let agg = common::count_and_sum_by_session(&s, seconds(5), seconds(5), OutputMode::Append);
        collect_late(&agg.late_records_stream(), &l);
        agg.stream()
    })
    .unwrap();
    let late = late.lock();
    let all: Vec<_> = late.iter().filter(|(_, v)| !v.is_empty()).collect();
    assert_eq!(
        all,
        vec![
            (&5000, &vec![("a".to_string(), 9000, 14000, 9000)]),
            (&7000, &vec![("a".to_string(), 16999, 21999, 16999)])
        ]
    );
}

#[test]
fn duplicates_and_late_records_are_dropped_within_the_watermark() {
    // (id, (event time, value)); delay 5 s.
    let batches = vec![
        recs(&[("a", 1000, 1), ("a", 2000, 2), ("b", 3000, 3)]),
        recs(&[("a", 4000, 4), ("c", 20000, 5)]),
        recs(&[("a", 16000, 6), ("b", 9000, 7)]),
        recs(&[("a", 17000, 8), ("b", 14000, 9)]),
    ];
    let late: Arc<Mutex<BTreeMap<i64, Vec<Rec>>>> = Arc::default();
    let handle: Arc<Mutex<Option<sluice_streaming::event_time::Deduplicated<Rec>>>> =
        Arc::default();
    let (l, h) = (Arc::clone(&late), Arc::clone(&handle));
    let out = run_stream_with(TestConfig::default(), batches, 4, move |s| {
        let d = s
            .with_watermark(|r: &Rec| r.1 .0, seconds(5))
            .drop_duplicates_within_watermark(|r| r.0.clone())
            .unwrap();
        let l = Arc::clone(&l);
        d.late_records_stream()
            .foreach_rdd(move |rdd, t| {
                l.lock().insert(t.millis(), rdd.collect()?);
                Ok(())
            })
            .unwrap();
        *h.lock() = Some(d.clone());
        d.stream()
    })
    .unwrap();
    let keys = |b: &Vec<Rec>| {
        let mut v: Vec<(String, i64)> = b.iter().map(|r| (r.0.clone(), r.1 .0)).collect();
        v.sort();
        v
    };
    let k = |s: &str, t| (s.to_string(), t);
    // Batches run with watermarks (late, eviction): (0, 0), (0, 0), (0, 15 s), (15 s, 15 s).
    assert_eq!(
        keys(&out[0]),
        vec![k("a", 1000), k("b", 3000)],
        "the first a is kept"
    );
    assert_eq!(keys(&out[1]), vec![k("c", 20000)]);
    assert!(
        out[2].is_empty(),
        "a and b still remembered in batch 2; forgotten after it"
    );
    assert_eq!(
        keys(&out[3]),
        vec![k("a", 17000)],
        "b@14 s is late under 15 s"
    );
    assert_eq!(keys(&late.lock()[&4000]), vec![k("b", 14000)]);
    let d = handle.lock().clone().unwrap();
    assert_eq!((d.late_records(), d.duplicates()), (1, 4));
    assert_eq!(d.watermark_ms(), 15_000);
}

#[test]
fn a_window_that_never_closes_is_never_appended() {
    // One record, then nothing: the watermark stays below the window's end forever.
    let batches = vec![recs(&[("k", 1_000, 1)]), vec![], vec![], vec![]];
    let (out, agg) = run(batches, tumbling(), 5_000, OutputMode::Append, 1);
    assert!(out.iter().all(Vec::is_empty));
    assert_eq!(agg.state_size(), 1);
    assert_eq!(
        agg.watermark_ms(),
        0,
        "1 s - 5 s is below 0: the watermark stays at 0"
    );
}

#[test]
fn an_empty_batch_closes_the_windows_the_watermark_passed() {
    let batches = vec![recs(&[("k", 1_000, 1), ("k", 25_000, 2)]), vec![]];
    let (out, _) = run(batches, tumbling(), 5_000, OutputMode::Append, 2);
    assert!(out[0].is_empty(), "batch 0 runs under watermark 0");
    assert_eq!(
        out[1],
        rows(&[("k", 0, 1, 1)], 10_000),
        "20 s closes [0, 10 s)"
    );
}

#[test]
fn sessions_merge_touching_events_and_close_under_the_watermark() {
    let (out, agg) = run_with(session_batches(), 2, |s| {
        common::count_and_sum_by_session(s, seconds(5), seconds(5), OutputMode::Append)
    });
    let row = |k: &str, s, e, c, sum| (k.to_string(), s, e, c, sum);
    // a@1 s and a@6 s touch (6 s is the first session's end): one session [1 s, 11 s).
    assert!(out[0].is_empty());
    assert_eq!(out[1], vec![row("a", 1000, 11000, 3, 7)], "closed by 15 s");
    assert_eq!(out[2], vec![row("a", 12000, 17000, 1, 6)], "closed by 25 s");
    assert!(out[3].is_empty() && out[4].is_empty());
    assert_eq!(
        out[5],
        vec![
            row("b", 20000, 29000, 2, 10),
            row("b", 33999, 38999, 1, 10),
            row("c", 30000, 35000, 1, 5)
        ]
    );
    assert!(out[6].is_empty() && out[7].is_empty());
    // a@9 s (its session ends at 14 s <= 25 s) and a@17 s (22 s <= 45 s) were late.
    assert_eq!(agg.late_records(), 2);
    assert_eq!(agg.state_size(), 2, "c's and d's open sessions");
}

#[test]
fn sessions_refuse_update_mode_and_a_gap_of_zero() {
    let ctx = common::step_ctx();
    let ssc = sluice_streaming::StreamingContext::new(&ctx, seconds(1)).unwrap();
    let s = ssc
        .rate_stream(1, None, |i| (i, 1u8))
        .with_watermark(|r: &(u64, u8)| r.0 as i64, seconds(1));
    assert!(s.count_by_session(seconds(1), OutputMode::Update).is_err());
    assert!(s
        .count_by_session(std::time::Duration::ZERO, OutputMode::Append)
        .is_err());
    assert!(s.count_by_session(seconds(1), OutputMode::Complete).is_ok());
}

#[test]
fn bad_settings_are_errors() {
    assert!(EventWindow::sliding(5_000, 10_000).is_err());
    assert!(EventWindow::tumbling(0).is_err());
}

// ---- The model: Structured Streaming's rules, written out plainly.

/// The end of a batch in the models: the next batch's records are late under this batch's
/// watermark, and the watermark follows the latest event time minus the delay.
fn model_watermarks(wm: &mut i64, late_wm: &mut i64, max_ts: Option<i64>, delay: i64) {
    *late_wm = *wm;
    if let Some(m) = max_ts {
        *wm = (*wm).max(m - delay);
    }
}

fn model(
    batches: &[Vec<Rec>],
    size: i64,
    slide: i64,
    delay: i64,
    mode: OutputMode,
) -> (Vec<Vec<Row>>, u64) {
    // Windows close under `wm`; records are late under `late_wm`, the previous batch's `wm`.
    let (mut wm, mut late_wm) = (0i64, 0i64);
    let mut late = 0u64;
    let mut state: BTreeMap<(String, i64), (u64, i64)> = BTreeMap::new();
    let mut out = Vec::new();
    for batch in batches {
        let mut changed = BTreeSet::new();
        let mut max_ts: Option<i64> = None;
        for (k, (t, v)) in batch {
            max_ts = Some(max_ts.map_or(*t, |m| m.max(*t)));
            // Every start k * slide with start <= t < start + size, by scanning.
            let mut start = (t - size).div_euclid(slide) * slide;
            while start <= *t {
                if *t < start + size {
                    if mode != OutputMode::Complete && start + size <= late_wm {
                        late += 1;
                    } else {
                        let e = state.entry((k.clone(), start)).or_insert((0, 0));
                        e.0 += 1;
                        e.1 += v;
                        changed.insert((k.clone(), start));
                    }
                }
                start += slide;
            }
        }
        let row =
            |(k, s): &(String, i64), (c, sum): &(u64, i64)| (k.clone(), *s, s + size, *c, *sum);
        let mut emitted: Vec<Row> = match mode {
            OutputMode::Complete => state.iter().map(|(k, v)| row(k, v)).collect(),
            OutputMode::Update => changed.iter().map(|k| row(k, &state[k])).collect(),
            OutputMode::Append => state
                .iter()
                .filter(|((_, s), _)| s + size <= wm)
                .map(|(k, v)| row(k, v))
                .collect(),
        };
        if mode != OutputMode::Complete {
            state.retain(|(_, s), _| s + size > wm);
        }
        emitted.sort();
        out.push(emitted);
        model_watermarks(&mut wm, &mut late_wm, max_ts, delay);
    }
    (out, late)
}

fn arb_batches() -> impl Strategy<Value = Vec<Vec<Rec>>> {
    // Event times drift upwards by batch, with records out of order by up to 8 s.
    let batch = |b: i64| {
        prop::collection::vec(("[a-e]", 0i64..8_000, -20i64..20), 0..12).prop_map(move |v| {
            v.into_iter()
                .map(|(k, jitter, val)| (k, (b * 3_000 + 8_000 - jitter, val)))
                .collect::<Vec<Rec>>()
        })
    };
    (1usize..9).prop_flat_map(move |n| (0..n as i64).map(batch).collect::<Vec<_>>())
}

/// Like [`arb_batches`] with times on a 500 ms grid, so that sessions touch and end exactly
/// at watermarks often.
fn arb_coarse_batches() -> impl Strategy<Value = Vec<Vec<Rec>>> {
    let batch = |b: i64| {
        prop::collection::vec(("[a-c]", 0i64..16, -20i64..20), 0..10).prop_map(move |v| {
            v.into_iter()
                .map(|(k, jitter, val)| (k, (b * 3_000 + 8_000 - jitter * 500, val)))
                .collect::<Vec<Rec>>()
        })
    };
    (1usize..9).prop_flat_map(move |n| (0..n as i64).map(batch).collect::<Vec<_>>())
}

fn arb_mode() -> impl Strategy<Value = OutputMode> {
    prop_oneof![
        Just(OutputMode::Append),
        Just(OutputMode::Update),
        Just(OutputMode::Complete)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn the_engine_matches_the_model(
        batches in prop_oneof![arb_batches(), arb_coarse_batches()],
        (size, slide) in prop_oneof![Just((4_000i64, 4_000i64)), Just((6_000, 2_000)), Just((5_000, 3_000))],
        delay in prop_oneof![Just(0i64), Just(2_000), Just(5_000)],
        mode in arb_mode(),
        partitions in 1usize..4,
    ) {
        let window = EventWindow::sliding(size, slide).unwrap();
        let (want, late) = model(&batches, size, slide, delay, mode);
        let (got, agg) = run(batches, window, delay, mode, partitions);
        prop_assert_eq!(got, want);
        prop_assert_eq!(agg.late_records(), late);
    }
}

/// Session windows by Spark's rules, written out plainly: per key, the batch's events form
/// sessions (an event at or before a session's end joins it); a batch session that ends at or
/// before the previous batch's watermark is late (in every mode); the rest merge with the held
/// sessions they overlap or touch; append emits and drops the sessions the watermark closed.
fn session_model(
    batches: &[Vec<Rec>],
    gap: i64,
    delay: i64,
    mode: OutputMode,
) -> (Vec<Vec<Row>>, u64) {
    let (mut wm, mut late_wm) = (0i64, 0i64);
    let mut late = 0u64;
    // key -> sessions (start, end, count, sum), ordered and disjoint.
    let mut held: BTreeMap<String, Vec<(i64, i64, u64, i64)>> = BTreeMap::new();
    let mut out = Vec::new();
    for batch in batches {
        let max_ts = batch.iter().map(|(_, (t, _))| *t).max();
        let mut by_key: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
        for (k, (t, v)) in batch {
            by_key.entry(k.clone()).or_default().push((*t, *v));
        }
        for (k, mut evs) in by_key {
            evs.sort();
            let mut new: Vec<(i64, i64, u64, i64)> = Vec::new();
            for (t, v) in evs {
                match new.last_mut() {
                    Some(s) if t <= s.1 => {
                        s.1 = s.1.max(t + gap);
                        s.2 += 1;
                        s.3 += v;
                    }
                    _ => new.push((t, t + gap, 1, v)),
                }
            }
            let mut all = held.remove(&k).unwrap_or_default();
            for s in new {
                if s.1 <= late_wm {
                    late += s.2;
                } else {
                    all.push(s);
                }
            }
            all.sort();
            let mut merged: Vec<(i64, i64, u64, i64)> = Vec::new();
            for s in all {
                match merged.last_mut() {
                    Some(m) if s.0 <= m.1 => {
                        m.1 = m.1.max(s.1);
                        m.2 += s.2;
                        m.3 += s.3;
                    }
                    _ => merged.push(s),
                }
            }
            if !merged.is_empty() {
                held.insert(k, merged);
            }
        }
        let mut emitted: Vec<Row> = Vec::new();
        for (k, sessions) in held.iter_mut() {
            if mode == OutputMode::Complete {
                emitted.extend(sessions.iter().map(|s| (k.clone(), s.0, s.1, s.2, s.3)));
            } else {
                emitted.extend(
                    sessions
                        .iter()
                        .filter(|s| s.1 <= wm)
                        .map(|s| (k.clone(), s.0, s.1, s.2, s.3)),
                );
                sessions.retain(|s| s.1 > wm);
            }
        }
        held.retain(|_, v| !v.is_empty());
        emitted.sort();
        out.push(emitted);
        model_watermarks(&mut wm, &mut late_wm, max_ts, delay);
    }
    (out, late)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn sessions_match_the_model(
        batches in arb_coarse_batches(),
        gap in prop_oneof![Just(1_000i64), Just(3_000), Just(6_000)],
        delay in prop_oneof![Just(0i64), Just(2_000), Just(5_000)],
        complete in any::<bool>(),
        partitions in 1usize..4,
    ) {
        let mode = if complete { OutputMode::Complete } else { OutputMode::Append };
        let (want, late) = session_model(&batches, gap, delay, mode);
        let (got, agg) = run_with(batches, partitions, |s| {
            common::count_and_sum_by_session(
                s,
                std::time::Duration::from_millis(gap as u64),
                std::time::Duration::from_millis(delay as u64),
                mode,
            )
        });
        prop_assert_eq!(got, want);
        prop_assert_eq!(agg.late_records(), late);
    }
}

/// `dropDuplicatesWithinWatermark` by Spark's rules, written out plainly: a record at or
/// before the previous batch's watermark is late; otherwise the first record of a key (in
/// arrival order) is kept and the key remembered until the watermark reaches its event time
/// plus the delay, and every other record of it is a duplicate. Returns the kept records per
/// batch (sorted), and the late and duplicate counts.
fn dedup_model(batches: &[Vec<Rec>], delay: i64) -> (Vec<Vec<Rec>>, u64, u64) {
    let (mut wm, mut late_wm) = (0i64, 0i64);
    let (mut late, mut duplicates) = (0u64, 0u64);
    let mut remembered: BTreeMap<String, i64> = BTreeMap::new();
    let mut out = Vec::new();
    for batch in batches {
        let mut kept = Vec::new();
        let mut max_ts: Option<i64> = None;
        for r in batch {
            let t = r.1 .0;
            max_ts = Some(max_ts.map_or(t, |m| m.max(t)));
            if t <= late_wm {
                late += 1;
            } else if remembered.contains_key(&r.0) {
                duplicates += 1;
            } else {
                remembered.insert(r.0.clone(), t + delay);
                kept.push(r.clone());
            }
        }
        remembered.retain(|_, expires| *expires > wm);
        kept.sort();
        out.push(kept);
        model_watermarks(&mut wm, &mut late_wm, max_ts, delay);
    }
    (out, late, duplicates)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn deduplication_matches_the_model(
        batches in prop_oneof![arb_batches(), arb_coarse_batches()],
        delay in prop_oneof![Just(0i64), Just(2_000), Just(5_000), Just(9_000)],
        partitions in 1usize..4,
    ) {
        let (want, late, duplicates) = dedup_model(&batches, delay);
        let n = batches.len();
        let handle: Arc<Mutex<Option<sluice_streaming::event_time::Deduplicated<Rec>>>> =
            Arc::default();
        let h = Arc::clone(&handle);
        let cfg = TestConfig { input_partitions: partitions, ..TestConfig::default() };
        let got = run_stream_with(cfg, batches, n, move |s| {
            let d = s
                .with_watermark(|r: &Rec| r.1 .0, std::time::Duration::from_millis(delay as u64))
                .drop_duplicates_within_watermark(|r| r.0.clone())
                .unwrap();
            *h.lock() = Some(d.clone());
            d.stream()
        })
        .unwrap();
        let got: Vec<Vec<Rec>> = got
            .into_iter()
            .map(|mut b| {
                b.sort();
                b
            })
            .collect();
        prop_assert_eq!(got, want);
        let d = handle.lock().clone().unwrap();
        prop_assert_eq!((d.late_records(), d.duplicates()), (late, duplicates));
    }
}

#[test]
fn a_checkpointed_aggregation_restarts_where_it_stopped() {
    // A replayable generator: record i has key i % 3 and an event time that wanders back
    // and forth around its arrival time; a restart from the checkpoint must emit exactly what
    // a run without the crash emits.
    use sluice_streaming::{StopMode, StreamingContext};
    type Out = Arc<Mutex<BTreeMap<i64, Vec<Row>>>>;
    let build = |ctx: &sluice_core::Context, out: &Out| {
        let ssc = StreamingContext::new(ctx, seconds(1))?;
        let out = Arc::clone(out);
        ssc.rate_stream(10, Some(2), |i| {
            let t = (i as i64) * 100 - ((i as i64 * 7919) % 1_500);
            (format!("k{}", i % 3), (t, 1i64))
        })
        .with_watermark(|r: &(String, (i64, i64))| r.1 .0, seconds(1))
        .aggregate_by_window(
            EventWindow::sliding(2_000, 1_000)?,
            || (0u64, 0i64),
            |(c, s), (_, v)| (c + 1, s + v),
            |(c1, s1), (c2, s2)| (c1 + c2, s1 + s2),
            OutputMode::Append,
        )?
        .set_name("windows")
        .stream()
        .checkpoint(seconds(2))?
        .foreach_rdd(move |rdd, t| {
            let mut v: Vec<Row> = rdd
                .collect()?
                .into_iter()
                .map(|((k, w), (c, s)): ((String, WindowRange), (u64, i64))| {
                    (k, w.start, w.end, c, s)
                })
                .collect();
            v.sort();
            out.lock().insert(t.millis(), v);
            Ok(())
        })?;
        Ok(ssc)
    };
    let ctx = common::step_ctx();
    let reference: Out = Arc::default();
    let ssc = build(&ctx, &reference).unwrap();
    ssc.start().unwrap();
    assert!(ssc
        .await_batch(sluice_streaming::Time::from_millis(12_000), seconds(60))
        .unwrap());
    ssc.stop(StopMode::Immediate).unwrap();
    assert!(ssc.take_error().is_none());
    // The context lists the operator's watermark and state; its watermark is no state entry.
    let w = ssc.watermarks();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].operator, "windows");
    assert!(w[0].watermark_ms > 0 && w[0].state_size > 0, "{w:?}");
    let sizes = ssc.state_sizes();
    assert_eq!(sizes.len(), 1);
    assert_eq!(sizes[0], ("windows".to_string(), w[0].state_size));

    let dir = tempfile::tempdir().unwrap();
    let outputs: Out = Arc::default();
    let ssc = StreamingContext::get_or_create(dir.path(), || build(&ctx, &outputs)).unwrap();
    ssc.start().unwrap();
    assert!(ssc
        .await_batch(sluice_streaming::Time::from_millis(5_000), seconds(60))
        .unwrap());
    ssc.stop(StopMode::Immediate).unwrap();
    drop(ssc);
    let ssc = StreamingContext::get_or_create(dir.path(), || build(&ctx, &outputs)).unwrap();
    assert!(ssc.recovered_from().is_some());
    ssc.start().unwrap();
    assert!(ssc
        .await_batch(sluice_streaming::Time::from_millis(12_000), seconds(60))
        .unwrap());
    ssc.stop(StopMode::Immediate).unwrap();
    assert!(ssc.take_error().is_none());
    let (reference, outputs) = (reference.lock(), outputs.lock());
    let emitted: usize = reference.values().map(Vec::len).sum();
    assert!(emitted > 10, "the reference run emits windows ({emitted})");
    for t in (1..=12).map(|k| k * 1000) {
        assert_eq!(outputs.get(&t), reference.get(&t), "batch {t}");
    }
}
