//! Exactly-once recovery against a real broker: a job counting records per key from a Kafka
//! topic (`update_state_by_key`, checkpointed, writing its totals with an idempotent file
//! sink) is killed with SIGKILL at random moments and restarted from its checkpoint each time;
//! in the end every key's count equals the number of records produced with that key —
//! nothing lost, nothing counted twice — and the group's committed offsets are at the end.
#![cfg(feature = "kafka")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{brokers, unique};
use rand::{Rng, SeedableRng};
use sluice_connectors::kafka::admin::{committed_offsets, create_topic, produce, Produce};

fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}

/// The totals of the latest complete batch directory `counts-<t>`.
fn final_counts(out: &Path) -> BTreeMap<String, u64> {
    let mut latest: Option<(i64, PathBuf)> = None;
    for e in std::fs::read_dir(out).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().to_string();
        let Some(t) = name
            .strip_prefix("counts-")
            .and_then(|t| t.parse::<i64>().ok())
        else {
            continue;
        };
        if e.path().join("_SUCCESS").exists() && latest.as_ref().is_none_or(|(l, _)| t > *l) {
            latest = Some((t, e.path()));
        }
    }
    let (_, dir) = latest.expect("no complete output directory");
    let mut counts = BTreeMap::new();
    for part in std::fs::read_dir(&dir).unwrap() {
        let p = part.unwrap().path();
        if !p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("part-")
        {
            continue;
        }
        for line in std::fs::read_to_string(&p).unwrap().lines() {
            // "(key,count)"
            let inner = line.trim_start_matches('(').trim_end_matches(')');
            let (k, n) = inner.rsplit_once(',').unwrap();
            counts.insert(k.to_string(), n.parse::<u64>().unwrap());
        }
    }
    counts
}

#[ignore = "needs the Kafka test broker (SLUICE_KAFKA_BROKERS); scripts/test.sh starts one and runs these"]
#[test]
fn killed_and_restarted_job_counts_every_record_exactly_once() {
    let b = brokers("killed_and_restarted_job");
    let topic = unique("crash");
    create_topic(&b, &topic, 4).unwrap();
    // Keys k0..k9; key k has 200 + 17·k records, spread over the 4 partitions.
    let mut records = Vec::new();
    let mut expected = BTreeMap::new();
    for k in 0..10u64 {
        let n = 200 + 17 * k;
        expected.insert(format!("k{k}"), n);
        for i in 0..n {
            records.push(Produce {
                partition: Some(((k + i) % 4) as i32),
                key: Some(format!("k{k}").into_bytes()),
                value: Some(format!("{k}-{i}").into_bytes()),
            });
        }
    }
    let total: u64 = expected.values().sum();
    produce(&b, &topic, &records).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("checkpoint");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let group = unique("crash-group");
    let command = || {
        let mut c = Command::new(example("kafka_word_count"));
        c.args([
            "--brokers",
            &b,
            "--topic",
            &topic,
            "--group",
            &group,
            "--checkpoint",
            ckpt.to_str().unwrap(),
            "--output",
            out.join("counts").to_str().unwrap(),
            "--batch-ms",
            "100",
            // 4 partitions × 300 records/s = 120 records per 100 ms batch, but each batch
            // takes 150 ms: batches queue up, so kills find batches generated (their offset
            // ranges recorded) but not yet run. The whole topic takes about 5 s.
            "--max-rate",
            "300",
            "--slow-ms",
            "150",
            "--expect",
            &total.to_string(),
        ]);
        c.stdout(Stdio::null()).stderr(Stdio::piped());
        c
    };

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("seed {seed}");
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let mut restarts = 0;
    for _ in 0..3 {
        let mut child = command().spawn().unwrap();
        std::thread::sleep(Duration::from_millis(rng.gen_range(1200..2500)));
        child.kill().unwrap(); // SIGKILL
        let output = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&output.stderr);
        if err.contains("restarting after batch") {
            restarts += 1;
        }
    }
    // The last run goes to the end and stops gracefully.
    let mut child = command().spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            assert!(status.success(), "the last run failed: {err}");
            if err.contains("restarting after batch") {
                restarts += 1;
            }
            break;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the last run did not finish within 60 s (records lost?)");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        restarts >= 2,
        "the job recovered from a checkpoint only {restarts} time(s)"
    );
    assert_eq!(final_counts(&out), expected);
    // The graceful stop committed the last batch's offsets synchronously.
    let committed = committed_offsets(&b, &group, &topic).unwrap();
    let ends: u64 = committed.values().map(|o| o.unwrap_or(0) as u64).sum();
    assert_eq!(ends, total, "committed offsets {committed:?}");
}
