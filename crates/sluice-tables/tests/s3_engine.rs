#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The engine's own paths in object storage, on a real S3 server (moto's, started here):
//! a stateful job checkpointing to `s3://...`, stopped and restarted twice from its checkpoint
//! there, gives the outputs of a run without stops, and a second process committing the same
//! checkpoint is refused by the store's conditional put; `text_file` reads an object and the
//! objects under a prefix, a large object in several splits, each line once; and
//! `text_file_stream` over a prefix selects new objects by their last-modified times;
//! `save_as_text_file` writes parts and `_SUCCESS` there. Ignored unless
//! run with `--ignored` and `SLUICE_S3_SERVER` (moto's `moto_server`). One test: the AWS
//! settings are the process's environment.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::checkpointed::{build, restarts_continue_exactly, step_ctx, Outputs};
use common::s3_server::{http, start_server, use_server};
use parking_lot::Mutex;
use sluice_streaming::checkpoint::store::CheckpointDir;
use sluice_streaming::clock::ManualClock;
use sluice_streaming::time::{seconds, Time};
use sluice_streaming::{StopMode, StreamingContext};

#[test]
#[ignore = "needs SLUICE_S3_SERVER (moto_server)"]
fn checkpoints_and_text_input_in_s3() {
    let (_server, port) = start_server();
    assert_eq!(
        http(port, "PUT", "/checkpoints"),
        Some(200),
        "creating the bucket"
    );
    use_server(port);
    let url = "s3://checkpoints/jobs/counts";

    restarts_continue_exactly(url);
    let ctx = step_ctx();
    let outputs: Outputs = Arc::default();

    // The checkpoint is in the bucket; committing its latest manifest again, as a second
    // process running the same job would, is refused and leaves it as it was.
    let dir = CheckpointDir::open(url).unwrap();
    assert!(dir.local_dir().is_none());
    let latest = dir.latest().unwrap().expect("a manifest in S3");
    let e = dir.write_manifest(&latest).unwrap_err().to_string();
    assert!(e.contains("another process") && e.contains(url), "{e}");
    assert_eq!(dir.latest().unwrap(), Some(latest));

    // text_file: the objects under a prefix (hidden names skipped), one object, a large
    // object in several splits, and a prefix with nothing under it.
    let put = |key: &str, body: String| {
        let loc = sluice_storage::Location::parse("s3://checkpoints").unwrap();
        let store = loc.store().clone();
        let path = loc.child(key);
        sluice_storage::block_on(async move {
            use sluice_storage::object_store::ObjectStoreExt;
            store.put(&path, body.into_bytes().into()).await
        })
        .unwrap()
        .unwrap();
    };
    put("text/a.txt", "one\ntwo\n".into());
    put("text/b.txt", "three".into());
    put("text/_SUCCESS", String::new());
    let big: Vec<String> = (0..20_000).map(|i| format!("line {i}")).collect();
    put("big/all.txt", big.join("\r\n") + "\r\n");
    let read = |url: &str, parts: usize| ctx.text_file(url, parts).unwrap();
    assert_eq!(
        read("s3://checkpoints/text", 3).collect().unwrap(),
        ["one", "two", "three"]
    );
    assert_eq!(
        read("s3://checkpoints/text/b.txt", 1).collect().unwrap(),
        ["three"]
    );
    let lines = read("s3://checkpoints/big/all.txt", 4);
    assert_eq!(lines.num_partitions(), 4);
    assert_eq!(lines.collect().unwrap(), big);
    let e = ctx
        .text_file("s3://checkpoints/nothing/here", 1)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("s3://checkpoints/nothing/here"), "{e}");

    // save_as_text_file: parts and `_SUCCESS`, read back by text_file; an existing output is
    // refused, and a rewrite (what a re-run batch does) replaces it.
    let words = ctx.parallelize(vec!["a".to_string(), "b".into(), "c".into()], 2);
    words.save_as_text_file("s3://checkpoints/saved").unwrap();
    let back = ctx.text_file("s3://checkpoints/saved", 1).unwrap();
    assert_eq!(back.collect().unwrap(), ["a", "b", "c"]);
    let e = words
        .save_as_text_file("s3://checkpoints/saved")
        .unwrap_err()
        .to_string();
    assert!(e.contains("s3://checkpoints/saved"), "{e}");
    ctx.parallelize(vec!["d".to_string()], 1)
        .save_as_text_file_replacing("s3://checkpoints/saved")
        .unwrap();
    let back = ctx.text_file("s3://checkpoints/saved", 1).unwrap();
    assert_eq!(back.collect().unwrap(), ["d"]);

    // text_file_stream over a prefix: new objects (by their last-modified times), names
    // starting with `.` left out (as Spark's textFileStream does), each object once. The manual clock starts 10 s before the wall clock,
    // so objects uploaded now are new, and is then moved past the uploads.
    let wall_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    };
    let start = wall_ms() / 1000 * 1000 - 10_000;
    let clock = ManualClock::shared(start);
    let stream_ctx = StreamingContext::with_clock(&ctx, seconds(1), clock.clone()).unwrap();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen2 = Arc::clone(&seen);
    stream_ctx
        .text_file_stream("s3://checkpoints/incoming")
        .unwrap()
        .foreach_rdd(move |rdd, _| {
            seen2.lock().extend(rdd.collect()?);
            Ok(())
        })
        .unwrap();
    stream_ctx.start().unwrap();
    put("incoming/n1.txt", "x y\nz".into());
    put("incoming/n2.txt", "w".into());
    put("incoming/.n4.txt", "hidden".into());
    // Runs the batches up to a batch time at least 2 s after the wall clock's now, and later
    // than the last one run.
    let upto = |after: i64| {
        let t = ((wall_ms() / 1000 + 2) * 1000).max(after + 1000);
        clock.set_time(t);
        assert!(stream_ctx
            .await_batch(Time::from_millis(t), Duration::from_secs(60))
            .unwrap());
        t
    };
    let t = upto(start);
    put("incoming/n3.txt", "later".into());
    upto(t);
    stream_ctx.stop(StopMode::Immediate).unwrap();
    assert!(stream_ctx.take_error().is_none());
    let mut got = seen.lock().clone();
    got.sort();
    assert_eq!(got, ["later", "w", "x y", "z"]);
    let e = StreamingContext::new(&ctx, seconds(1))
        .unwrap()
        .text_file_stream("s3://no-such-bucket/in")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("s3://no-such-bucket/in"), "{e}");

    // A location that is not there: a clear error naming it, not a panic.
    let e = match StreamingContext::get_or_create("s3://no-such-bucket/x", || build(&ctx, &outputs))
    {
        Ok(_) => panic!("a missing bucket is an error"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("s3://no-such-bucket/x"), "{e}");
}
