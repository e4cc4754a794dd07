//! Process-level crash test of the receivers' write-ahead log: the `reliable_socket_count`
//! example (socket source with the log on, counts per line in checkpointed state) runs as a
//! child process that is killed with SIGKILL at random moments and restarted. The test is
//! its TCP server: it sends distinct lines, reads the job's `ack <n>` lines, and after each
//! reconnection (a restarted job) sends again every line after the last acknowledged one.
//! At the end every line must have been counted at least once. A line stored but whose ack
//! was lost in a crash is sent again and counted twice: the resend protocol gives
//! at-least-once delivery, and the test reports how many lines were counted twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{example, Rng};

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LINES: u64 = 6000;

fn line(i: u64) -> String {
    format!("line-{i:05}")
}

/// The feeder: lines acknowledged so far (over all connections), connections accepted.
struct Feeder {
    acked: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Serves one connection: sends every line after the last acknowledged one (20 lines every
/// 5 ms) while a thread reads the acks; returns once the connection is closed.
fn serve(conn: TcpStream, acked: &Arc<AtomicU64>, stop: &AtomicBool) {
    let base = acked.load(Ordering::Acquire);
    let closed = Arc::new(AtomicBool::new(false));
    let reader = {
        let (acked, closed) = (Arc::clone(acked), Arc::clone(&closed));
        let input = conn.try_clone().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(input).lines() {
                let Ok(l) = l else { break };
                let n: u64 = l.strip_prefix("ack ").unwrap().parse().unwrap();
                acked.fetch_max(base + n, Ordering::AcqRel);
            }
            closed.store(true, Ordering::Release);
        })
    };
    let mut out = conn;
    let mut i = base;
    while i < LINES && !closed.load(Ordering::Acquire) && !stop.load(Ordering::Acquire) {
        let end = (i + 20).min(LINES);
        let chunk: String = (i..end).map(|k| line(k) + "\n").collect();
        if out.write_all(chunk.as_bytes()).is_err() {
            break;
        }
        i = end;
        std::thread::sleep(Duration::from_millis(5));
    }
    // Everything sent: keep the connection until the job goes away (or the test ends).
    while !closed.load(Ordering::Acquire) && !stop.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = out.shutdown(std::net::Shutdown::Both);
    reader.join().unwrap();
}

impl Feeder {
    fn start() -> (Feeder, u16) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let acked = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (acked, connections, stop) = (
                Arc::clone(&acked),
                Arc::clone(&connections),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    match listener.accept() {
                        Ok((conn, _)) => {
                            conn.set_nonblocking(false).unwrap();
                            connections.fetch_add(1, Ordering::AcqRel);
                            serve(conn, &acked, &stop);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        (
            Feeder {
                acked,
                connections,
                stop,
                thread: Some(thread),
            },
            port,
        )
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn spawn_job(port: u16, ckpt: &Path, out: &Path) -> Child {
    Command::new(example("reliable_socket_count"))
        .args([
            &format!("127.0.0.1:{port}"),
            ckpt.to_str().unwrap(),
            out.to_str().unwrap(),
            &LINES.to_string(),
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn killed_and_restarted_socket_job_counts_every_line_at_least_once() {
    let root = tempfile::tempdir().unwrap();
    let (ckpt, out) = (root.path().join("ckpt"), root.path().join("counts.txt"));
    let (feeder, port) = Feeder::start();

    let mut rng = Rng::from_clock();
    let kills_planned = 3 + rng.next() % 4;
    let mut kills = 0;
    for _ in 0..kills_planned {
        let mut child = spawn_job(port, &ckpt, &out);
        // Fault injection: kill at a random moment (unless the job already finished).
        let deadline = Instant::now() + Duration::from_millis(300 + rng.next() % 700);
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(2));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        eprintln!(
            "after run: {} lines acknowledged",
            feeder.acked.load(Ordering::Acquire)
        );
        if out.exists() {
            break;
        }
    }
    // The last run goes to the end, within a bound.
    if !out.exists() {
        let mut child = spawn_job(port, &ckpt, &out);
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!(
                    "the job did not finish within 120 s ({} of {LINES} lines acknowledged)",
                    feeder.acked.load(Ordering::Acquire)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(status.success(), "{status}");
    }
    eprintln!(
        "killed {kills} times; {} connections",
        feeder.connections.load(Ordering::Acquire)
    );
    assert!(kills >= 1);

    let text = std::fs::read_to_string(&out).unwrap();
    let counts: BTreeMap<String, u64> = text
        .lines()
        .map(|l| {
            let (n, name) = l.split_once(' ').unwrap();
            (name.to_string(), n.parse().unwrap())
        })
        .collect();
    let missing: Vec<String> = (0..LINES)
        .map(line)
        .filter(|l| !counts.contains_key(l))
        .collect();
    assert!(missing.is_empty(), "lines never counted: {missing:?}");
    assert_eq!(counts.len() as u64, LINES, "unexpected lines counted");
    let twice: Vec<(&String, &u64)> = counts.iter().filter(|(_, n)| **n > 1).collect();
    eprintln!(
        "{} of {LINES} lines counted more than once (sent again after a crash lost their ack): {:?}",
        twice.len(),
        twice.iter().take(10).collect::<Vec<_>>()
    );
    assert!(counts.values().all(|n| *n >= 1));
}
