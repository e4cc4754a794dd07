#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `text_file_stream` (reference section E, Spark's `FileInputDStream`) on a real directory and
//! a manual clock. A file is selected by batch `t` iff its name does not start with `.`, its
//! modification time is after `max(clock time at creation, t − remember window)` and not
//! after `t`, and it was not selected within the remember window. Modification times are set
//! explicitly (`File::set_modified`) on the manual clock's scale (ms since the Unix epoch).

use std::sync::{Arc, Mutex};

use sluice_core::{Conf, Error};
use sluice_streaming::listener::{BatchInfo, StreamingListener};
use sluice_streaming::time::Time;
use sluice_streaming::StopMode;

mod common;
use common::{batch, collect_into, context_at, run_batch_at, set_mtime, strings, write_file};

#[derive(Default)]
struct InputLog(Mutex<Vec<(i64, u64, String)>>);

impl StreamingListener for InputLog {
    fn on_batch_completed(&self, b: &BatchInfo) {
        for info in b.stream_id_to_input_info.values() {
            self.0.lock().unwrap().push((
                b.batch_time.millis(),
                info.num_records,
                info.description.clone(),
            ));
        }
    }
}

#[test]
fn new_files_are_selected_once_by_modification_time() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Present before the start: one new file, a hidden one, one as old as the threshold (the
    // clock at creation, 0), one modified after the first batch.
    write_file(&d.join("a.txt"), "a1\na2\n", 500);
    write_file(&d.join(".hidden.txt"), "hidden\n", 500);
    write_file(&d.join("old.txt"), "old\n", 0);
    write_file(&d.join("later.txt"), "later\n", 1500);

    let (ssc, clock) = context_at(0, Conf::new());
    let log = Arc::new(InputLog::default());
    ssc.add_listener(log.clone());
    let out = collect_into(&ssc.text_file_stream(d).unwrap());
    ssc.start().unwrap();

    run_batch_at(&ssc, &clock, 1000);
    assert_eq!(batch(&out, 1000), strings(&["a1", "a2"]));

    // `later.txt` (modified at 1500) is due now; `a.txt` is not selected again.
    run_batch_at(&ssc, &clock, 2000);
    assert_eq!(batch(&out, 2000), strings(&["later"]));

    // Files appearing between batches; a batch reads its files in name order.
    write_file(&d.join("c.txt"), "c1\n", 2100);
    write_file(&d.join("b.txt"), "b1\nb2\n", 2900);
    run_batch_at(&ssc, &clock, 3000);
    assert_eq!(batch(&out, 3000), strings(&["b1", "b2", "c1"]));

    // Nothing new.
    run_batch_at(&ssc, &clock, 4000);
    assert!(batch(&out, 4000).is_empty());

    // Changing a file after it was selected does not select it again.
    write_file(&d.join("a.txt"), "a1\na2\na3\n", 4500);
    run_batch_at(&ssc, &clock, 5000);
    assert!(batch(&out, 5000).is_empty());

    ssc.stop(StopMode::Immediate).unwrap();
    // Input reports: file streams report 0 records and the files they selected.
    let log = log.0.lock().unwrap().clone();
    let one = log.iter().find(|(t, _, _)| *t == 1000).unwrap();
    assert_eq!(one.1, 0);
    assert!(one.2.starts_with("1 new file(s): "), "{}", one.2);
    assert!(one.2.ends_with("a.txt"), "{}", one.2);
    let four = log.iter().find(|(t, _, _)| *t == 4000).unwrap();
    assert_eq!(four.2, "0 new file(s)");
}

#[test]
fn write_then_rename_makes_a_file_appear_whole() {
    let dir = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir_in(dir.path().parent().unwrap_or(dir.path())).unwrap();
    let d = dir.path().join("in");
    std::fs::create_dir(&d).unwrap();
    let (ssc, clock) = context_at(0, Conf::new());
    let out = collect_into(&ssc.text_file_stream(&d).unwrap());
    ssc.start().unwrap();

    // Written under a hidden name inside the directory: ignored while being written.
    let hidden = d.join(".part.tmp");
    std::fs::write(&hidden, "first half\n").unwrap();
    set_mtime(&hidden, 500);
    run_batch_at(&ssc, &clock, 1000);
    assert!(batch(&out, 1000).is_empty());
    std::fs::write(&hidden, "first half\nsecond half\n").unwrap();
    set_mtime(&hidden, 1500);
    std::fs::rename(&hidden, d.join("whole.txt")).unwrap();
    run_batch_at(&ssc, &clock, 2000);
    assert_eq!(batch(&out, 2000), strings(&["first half", "second half"]));

    // Written elsewhere, then moved in.
    let outside = staging.path().join("moved.txt");
    write_file(&outside, "moved\n", 2500);
    std::fs::rename(&outside, d.join("moved.txt")).unwrap();
    run_batch_at(&ssc, &clock, 3000);
    assert_eq!(batch(&out, 3000), strings(&["moved"]));
    ssc.stop(StopMode::Immediate).unwrap();
}

#[test]
fn files_older_than_the_remember_window_are_ignored() {
    // minRememberDuration 2 s with 1 s batches: batch t ignores files modified at or before
    // t − 2000.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let conf = Conf::new().set("sluice.streaming.fileStream.minRememberDuration", "2s");
    let (ssc, clock) = context_at(0, conf);
    let out = collect_into(&ssc.text_file_stream(d).unwrap());
    ssc.start().unwrap();
    for ms in [1000, 2000, 3000, 4000] {
        run_batch_at(&ssc, &clock, ms);
    }
    // Batch 5000 has threshold 3000.
    write_file(&d.join("too_old.txt"), "too old\n", 2500);
    write_file(&d.join("at_threshold.txt"), "at threshold\n", 3000);
    write_file(&d.join("recent.txt"), "recent\n", 3500);
    run_batch_at(&ssc, &clock, 5000);
    assert_eq!(batch(&out, 5000), strings(&["recent"]));
    // Still ignored later, and `recent.txt` not taken twice even after it leaves the window
    // (its modification time is then below the threshold too).
    for ms in [6000, 7000, 8000] {
        run_batch_at(&ssc, &clock, ms);
        assert!(batch(&out, ms).is_empty(), "batch {ms}");
    }
    ssc.stop(StopMode::Immediate).unwrap();
}

#[test]
fn files_older_than_the_stream_are_ignored() {
    // The initial threshold is the clock time when the stream is created (new files only).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_file(&d.join("before.txt"), "before\n", 9_000);
    write_file(&d.join("exactly.txt"), "exactly\n", 10_000);
    write_file(&d.join("after.txt"), "after\n", 10_500);
    let (ssc, clock) = context_at(10_000, Conf::new());
    let out = collect_into(&ssc.text_file_stream(d).unwrap());
    ssc.start().unwrap();
    assert_eq!(ssc.start_time(), Some(Time::from_millis(11_000)));
    run_batch_at(&ssc, &clock, 11_000);
    assert_eq!(batch(&out, 11_000), strings(&["after"]));
    ssc.stop(StopMode::Immediate).unwrap();
}

#[test]
fn empty_files_and_files_without_final_newline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ssc, clock) = context_at(0, Conf::new());
    let out = collect_into(&ssc.text_file_stream(d).unwrap());
    ssc.start().unwrap();
    write_file(&d.join("1-empty.txt"), "", 100);
    write_file(&d.join("2-no-newline.txt"), "x\ny", 200);
    write_file(&d.join("3-crlf.txt"), "p\r\nq\r\n", 300);
    run_batch_at(&ssc, &clock, 1000);
    assert_eq!(batch(&out, 1000), strings(&["x", "y", "p", "q"]));
    ssc.stop(StopMode::Immediate).unwrap();
}

#[test]
fn a_missing_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (ssc, _clock) = context_at(0, Conf::new());
    let r = ssc.text_file_stream(dir.path().join("does-not-exist"));
    assert!(matches!(r, Err(Error::InputNotFound(_))), "{r:?}");
    // A file is not a directory either.
    let f = dir.path().join("plain");
    std::fs::write(&f, "x").unwrap();
    assert!(ssc.text_file_stream(&f).is_err());
}

#[test]
fn a_directory_removed_after_start_fails_batches() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("watched");
    std::fs::create_dir(&d).unwrap();
    let (ssc, clock) = context_at(0, Conf::new());
    let out = collect_into(&ssc.text_file_stream(&d).unwrap());
    ssc.start().unwrap();
    run_batch_at(&ssc, &clock, 1000);
    assert!(ssc.take_error().is_none());
    std::fs::remove_dir(&d).unwrap();
    run_batch_at(&ssc, &clock, 2000);
    let e = ssc
        .take_error()
        .expect("listing a missing directory fails the batch");
    assert!(e.to_string().contains("2000"), "{e}");
    // It comes back: later batches work again.
    std::fs::create_dir(&d).unwrap();
    write_file(&d.join("back.txt"), "back\n", 2500);
    run_batch_at(&ssc, &clock, 3000);
    assert!(ssc.take_error().is_none());
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(batch(&out, 3000), strings(&["back"]));
    assert!(!out.lock().unwrap().contains_key(&2000));
}
