//! A broker lost while the job runs: the batch waits (the driver retries with backoff and
//! reports why), nothing fails, and once the broker is back every record is read exactly
//! once. The test runs its own broker (`SLUICE_TANSU_BIN`) so that it can kill and restart it.
#![cfg(feature = "kafka")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{unique, Job};
use parking_lot::Mutex;
use sluice_connectors::kafka::admin::{create_topic, produce, Produce};
use sluice_streaming::listener::InputErrorInfo;
use sluice_streaming::{StreamingListener, Time};

/// Keeps the errors direct sources report to the listeners.
#[derive(Default)]
struct InputErrors(Mutex<Vec<InputErrorInfo>>);

impl StreamingListener for InputErrors {
    fn on_input_error(&self, e: &InputErrorInfo) {
        self.0.lock().push(e.clone());
    }
}

fn start_broker(bin: &str, data: &Path, port: u16) -> Child {
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(bin)
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
            "--storage-engine",
            "sqlite://tansu.db",
        ])
        .current_dir(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the broker did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn records(from: usize, to: usize) -> Vec<Produce> {
    (from..to)
        .map(|i| Produce {
            partition: Some((i % 2) as i32),
            key: None,
            value: Some(i.to_string().into_bytes()),
        })
        .collect()
}

#[ignore = "needs the test broker's binary (SLUICE_TANSU_BIN); scripts/test.sh sets it and runs these"]
#[test]
fn a_lost_broker_makes_batches_wait_and_loses_nothing() {
    let bin = std::env::var("SLUICE_TANSU_BIN").unwrap_or_else(|_| {
        panic!("this test starts a broker of its own: set SLUICE_TANSU_BIN (scripts/test.sh does)")
    });
    let data = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let servers = format!("127.0.0.1:{port}");
    let mut broker = start_broker(&bin, data.path(), port);
    let topic = unique("loss");
    create_topic(&servers, &topic, 2).unwrap();
    produce(&servers, &topic, &records(0, 100)).unwrap();

    let job = Job::new(
        Duration::from_secs(1),
        &[
            ("sluice.kafka.metadataTimeout", "1s"),
            ("sluice.kafka.pollTimeout", "30s"),
        ],
    )
    .unwrap();
    let kafka = job
        .stream_from_earliest(servers.as_str(), topic.as_str())
        .option("reconnect.backoff.max.ms", "500")
        .build_strings()
        .unwrap();
    let seen: Arc<Mutex<BTreeMap<Time, Vec<String>>>> = Arc::default();
    let s = Arc::clone(&seen);
    kafka
        .stream()
        .foreach_rdd(move |rdd, t| {
            s.lock()
                .insert(t, rdd.map(|r| r.value.unwrap_or_default()).collect()?);
            Ok(())
        })
        .unwrap();
    let errors = Arc::new(InputErrors::default());
    job.ssc.add_listener(errors.clone());
    job.ssc.start().unwrap();
    job.run_batch(1).unwrap();

    // The broker dies; batch 2 comes due and waits.
    broker.kill().unwrap();
    broker.wait().unwrap();
    job.clock.set_time(job.time(2).millis());
    let deadline = Instant::now() + Duration::from_secs(30);
    while kafka.planning_error().is_none() {
        assert!(Instant::now() < deadline, "no planning error reported");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Listeners hear of it too, naming the stream and the batch that waits.
    while errors.0.lock().is_empty() {
        assert!(
            Instant::now() < deadline,
            "no input error posted to the listeners"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    {
        let e = errors.0.lock()[0].clone();
        assert_eq!(e.stream_id, kafka.stream().id());
        assert!(e.name.starts_with("kafka:"), "{e:?}");
        assert!(
            e.message.contains("planning batch") && e.message.contains("retrying"),
            "{e:?}"
        );
        assert!(e.count >= 1);
    }
    assert!(!job
        .ssc
        .await_batch(job.time(2), Duration::from_millis(500))
        .unwrap());
    assert_eq!(job.ssc.last_completed_batch(), Some(job.time(1)));

    // Back on the same data: the job goes on where it was.
    let mut broker = start_broker(&bin, data.path(), port);
    produce(&servers, &topic, &records(100, 150)).unwrap();
    assert!(job
        .ssc
        .await_batch(job.time(2), Duration::from_secs(60))
        .unwrap());
    job.run_batch(3).unwrap();
    assert!(kafka.planning_error().is_none());
    job.stop().unwrap();
    broker.kill().unwrap();
    let _ = broker.wait();

    let seen = seen.lock();
    assert_eq!(seen[&job.time(1)].len(), 100);
    let mut all: Vec<usize> = seen
        .values()
        .flatten()
        .map(|v| v.parse().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..150).collect::<Vec<_>>(),
        "every record exactly once"
    );
}
