//! Process-level crash test: a recoverable job (directory source → `update_state_by_key` →
//! `save_as_text_files`) runs as a child process that is killed with SIGKILL at random
//! moments and restarted from its checkpoint each time; its final state and every batch's
//! output must equal those of a run without failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{example, Rng};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

const BATCHES: i64 = 40;

/// Input: file `k` is modified at `k` seconds − 500 ms of the step clock, so batch `k` selects
/// it; a hidden file is never read.
fn make_input(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for k in 1..=BATCHES {
        let words: Vec<String> = (0..50).map(|i| format!("w{}", (i * k) % 37)).collect();
        let p = dir.join(format!("part-{k:03}.txt"));
        std::fs::write(&p, words.join(" ") + "\n").unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(UNIX_EPOCH + Duration::from_millis((k * 1000 - 500) as u64))
            .unwrap();
    }
    let hidden = dir.join(".hidden");
    std::fs::write(&hidden, "ignored\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&hidden)
        .unwrap()
        .set_modified(UNIX_EPOCH + Duration::from_millis(1500))
        .unwrap();
}

fn command(input: &Path, ckpt: &Path, out: &Path, store: &str) -> Command {
    let mut c = Command::new(example("recoverable_count"));
    c.args([
        input.to_str().unwrap(),
        ckpt.to_str().unwrap(),
        out.join("counts").to_str().unwrap(),
        &BATCHES.to_string(),
        "--step",
        "--conf",
        &format!("sluice.streaming.stateStore.kind={store}"),
    ]);
    c
}

/// The bytes of each part file of each batch directory `counts-<t>` for t ≤ the last batch,
/// in file-name order: a recovered run must write the same bytes, not only the same lines.
fn outputs(out: &Path) -> Vec<(i64, Vec<String>)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(out).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        let Some(t) = name
            .strip_prefix("counts-")
            .and_then(|t| t.parse::<i64>().ok())
        else {
            continue;
        };
        if t > BATCHES * 1000 {
            continue;
        }
        let dir = out.join(&name);
        assert!(dir.join("_SUCCESS").exists(), "{name} is incomplete");
        let mut parts: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|p| p.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("part-")
            })
            .collect();
        parts.sort();
        let lines: Vec<String> = parts
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        v.push((t, lines));
    }
    v.sort();
    v
}

#[test]
fn killed_and_restarted_job_produces_the_output_of_a_failure_free_run() {
    killed_and_restarted("memory");
}

/// The same with the state on disk: each restart rebuilds the store from the checkpoint.
#[test]
fn killed_and_restarted_job_on_the_disk_store_produces_the_output_of_a_failure_free_run() {
    killed_and_restarted("disk");
}

fn killed_and_restarted(store: &str) {
    let root = tempfile::tempdir().unwrap();
    let input = root.path().join("input");
    make_input(&input);

    // Reference run, no failures.
    let (ckpt_a, out_a) = (root.path().join("ckpt-a"), root.path().join("out-a"));
    std::fs::create_dir_all(&out_a).unwrap();
    let started = std::time::Instant::now();
    let status = command(&input, &ckpt_a, &out_a, "memory").status().unwrap();
    assert!(status.success());
    let full_run = started.elapsed();
    let reference = outputs(&out_a);
    assert_eq!(reference.len(), BATCHES as usize);

    // Crashing run: SIGKILL at random moments, restart each time, then finish.
    let mut rng = Rng::from_clock();
    let (ckpt_b, out_b) = (root.path().join("ckpt-b"), root.path().join("out-b"));
    std::fs::create_dir_all(&out_b).unwrap();
    // Kill within the first quarter of a full run's time, so that most restarts are killed
    // again before they finish.
    let window_ms = (full_run.as_millis() as u64 / 4).max(20);
    let mut kills = 0;
    for _ in 0..6 {
        let mut child = command(&input, &ckpt_b, &out_b, store).spawn().unwrap();
        let wait = Duration::from_millis(10 + rng.next() % window_ms);
        let deadline = std::time::Instant::now() + wait;
        // Fault injection: kill at a random moment (unless the child already finished).
        while std::time::Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    let status = command(&input, &ckpt_b, &out_b, store).status().unwrap();
    assert!(status.success());
    eprintln!("killed {kills} times");
    // The first child starts from nothing and is killed within a quarter of a full run.
    assert!(kills >= 1);

    assert_eq!(outputs(&out_b), reference);
    // Nothing the killed runs were writing is left behind.
    let leftovers: Vec<String> = std::fs::read_dir(&out_b)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The final state: every word counted exactly once.
    let last = &reference.last().unwrap().1;
    let total: u64 = last
        .iter()
        .flat_map(|part| part.lines())
        .map(|l| {
            l.rsplit(',')
                .next()
                .unwrap()
                .trim_end_matches(')')
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(total, 50 * BATCHES as u64);
}
