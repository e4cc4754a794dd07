//! The `sluice` program as a process: stopping on signals, exiting with a half-open UI client,
//! reporting receiver trouble and overload, running exactly `--batches`, refusing bad
//! arguments. Waits are bounded; a child still running at the end of a test is killed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long any one wait of these tests may take.
const LIMIT: Duration = Duration::from_secs(60);

/// Which output a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    Stdout,
    Stderr,
}

/// A running `sluice` with its output collected line by line.
struct Sluice {
    child: Child,
    lines: Receiver<(Out, String)>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

fn collect(
    pipe: impl Read + Send + 'static,
    which: Out,
    all: Arc<Mutex<String>>,
    tx: mpsc::Sender<(Out, String)>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            {
                let mut a = all.lock().unwrap();
                a.push_str(&line);
                a.push('\n');
            }
            let _ = tx.send((which, line));
        }
    })
}

impl Sluice {
    fn start(args: &[&str]) -> Sluice {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(
                child.stdout.take().unwrap(),
                Out::Stdout,
                Arc::clone(&stdout),
                tx.clone(),
            ),
            collect(
                child.stderr.take().unwrap(),
                Out::Stderr,
                Arc::clone(&stderr),
                tx,
            ),
        ];
        Sluice {
            child,
            lines,
            stdout,
            stderr,
            readers,
        }
    }

    /// Waits for a line of `which` that satisfies `f`; returns it.
    fn wait_for_line(&self, which: Out, f: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((w, line)) if w == which && f(&line) => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "no such line on {which:?} within {LIMIT:?}\nstdout:\n{}\nstderr:\n{}",
                    self.stdout.lock().unwrap(),
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    fn signal(&self, s: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), s).unwrap();
    }

    /// Waits for the process to exit by itself within `limit`: its status, stdout, stderr.
    fn wait(mut self, limit: Duration) -> (ExitStatus, String, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "sluice did not exit within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                    self.stdout.lock().unwrap(),
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        let out = self.stdout.lock().unwrap().clone();
        let err = self.stderr.lock().unwrap().clone();
        (status, out, err)
    }
}

impl Drop for Sluice {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `sluice` to completion (bounded).
fn run(args: &[&str]) -> (ExitStatus, String, String) {
    Sluice::start(args).wait(LIMIT)
}

/// The number of batches printed in Spark's format (a `Time: ...` header each).
fn printed_batches(stdout: &str) -> usize {
    stdout.lines().filter(|l| l.starts_with("Time: ")).count()
}

/// A local port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

// --- Signals -----------------------------------------------------------------------------

fn stops_gracefully_on(signal: Signal) {
    let s = Sluice::start(&["demo", "--no-ui", "--interval-ms", "100", "--rate", "1000"]);
    s.wait_for_line(Out::Stdout, |l| l.starts_with("Time: "));
    s.signal(signal);
    let (status, out, err) = s.wait(LIMIT);
    assert_eq!(status.code(), Some(0), "{status:?}\nstderr:\n{err}");
    assert!(err.contains("stopping gracefully"), "{err}");
    assert!(err.contains("stopped after "), "{err}");
    assert!(printed_batches(&out) >= 1, "{out}");
}

#[test]
fn sigterm_stops_gracefully() {
    stops_gracefully_on(Signal::SIGTERM);
}

#[test]
fn sighup_stops_gracefully() {
    stops_gracefully_on(Signal::SIGHUP);
}

// --- The UI ------------------------------------------------------------------------------

#[test]
fn a_half_open_ui_client_does_not_keep_the_program_from_exiting() {
    let s = Sluice::start(&[
        "demo",
        "--batches",
        "20",
        "--interval-ms",
        "100",
        "--rate",
        "1000",
        "--ui-port",
        "0",
    ]);
    let line = s.wait_for_line(Out::Stderr, |l| l.starts_with("Streaming UI at "));
    let addr = line
        .trim_start_matches("Streaming UI at http://")
        .trim()
        .to_string();
    // A client that sent half a request and then nothing.
    let mut half = TcpStream::connect(&addr).unwrap();
    half.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    // A later connection answered: the half-open one was accepted before it.
    let mut probe = TcpStream::connect(&addr).unwrap();
    probe
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    probe.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let (status, out, err) = s.wait(Duration::from_secs(30));
    assert!(status.success(), "{status:?}\n{err}");
    assert_eq!(printed_batches(&out), 20, "{out}");
    drop(half);
}

// --- Receivers ---------------------------------------------------------------------------

#[test]
fn a_refused_connection_is_reported_on_stderr() {
    let port = closed_port().to_string();
    let (status, _, err) = run(&[
        "wordcount",
        "--socket",
        &format!("127.0.0.1:{port}"),
        "--batches",
        "2",
        "--interval-ms",
        "200",
        "--no-ui",
    ]);
    assert!(status.success(), "{status:?}\n{err}");
    let refused: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("receiver ") && l.to_lowercase().contains("refused"))
        .collect();
    assert!(!refused.is_empty(), "{err}");
    assert!(refused[0].contains(&port), "{err}");
    // The receiver retries every 100 ms at first, but its lines come at most once a second.
    assert!(refused.len() <= 3, "{err}");
    assert!(err.contains("stopped: 0 records stored"), "{err}");
}

#[test]
fn bad_records_show_on_the_status_line() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap().to_string();
    let feeder = std::thread::spawn(move || {
        let (mut conn, _) = server.accept().unwrap();
        conn.write_all(b"good words here\n\xff\xfe bad\nmore good words\n\xc3\x28\n\xa0\xa1\n")
            .unwrap();
        conn.flush().unwrap();
        // Hold the connection until the program is done.
        let mut buf = [0u8; 16];
        let _ = conn.read(&mut buf);
    });
    let (status, out, err) = run(&[
        "wordcount",
        "--socket",
        &addr,
        "--batches",
        "5",
        "--interval-ms",
        "200",
        "--no-ui",
    ]);
    assert!(status.success(), "{status:?}\n{err}");
    assert!(out.contains("(good,2)"), "{out}");
    let status_lines: Vec<&str> = err.lines().filter(|l| l.starts_with("batch ")).collect();
    assert!(
        status_lines.iter().any(|l| l.contains("(+")),
        "no batch line shows new bad records:\n{err}"
    );
    assert!(
        status_lines.last().unwrap().ends_with(", 3 bad records"),
        "{err}"
    );
    assert!(err.contains("invalid UTF-8"), "{err}");
    let _ = feeder.join();
}

// --- Overload ----------------------------------------------------------------------------

#[test]
fn falling_behind_is_warned_about_but_not_too_often() {
    // 1 ms batches of 100 lines each take longer than 1 ms to count: batches queue up.
    let started = Instant::now();
    let (status, out, err) = run(&[
        "demo",
        "--no-ui",
        "--interval-ms",
        "1",
        "--rate",
        "100000",
        "--batches",
        "60",
        "--max-delay-ms",
        "5",
    ]);
    let took = started.elapsed();
    assert!(status.success(), "{status:?}\n{err}");
    assert_eq!(printed_batches(&out), 60);
    let warnings = err
        .lines()
        .filter(|l| l.starts_with("warning: falling behind"))
        .count();
    assert!(warnings >= 1, "{err}");
    assert!(
        warnings as u64 <= 1 + took.as_secs() / 5,
        "{warnings} warnings in {took:?}:\n{err}"
    );
}

#[test]
fn a_graceful_stop_that_drops_batches_says_so_and_fails() {
    let s = Sluice::start(&[
        "demo",
        "--no-ui",
        "--interval-ms",
        "1",
        "--rate",
        "100000",
        "--stop-timeout-ms",
        "1",
    ]);
    // Every batch takes longer than the 1 ms interval, so once some have run, many are queued.
    for _ in 0..20 {
        s.wait_for_line(Out::Stderr, |l| l.starts_with("batch "));
    }
    s.signal(Signal::SIGTERM);
    let (status, _, err) = s.wait(LIMIT);
    assert!(!status.success(), "{status:?}\n{err}");
    assert_eq!(status.code(), Some(1), "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("dropped"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.starts_with("error: the graceful stop timed out after 1 ms"),
        "{line}"
    );
}

// --- Batches and arguments ---------------------------------------------------------------

#[test]
fn batches_runs_exactly_that_many_batches_even_with_tiny_intervals() {
    let (status, out, err) = run(&[
        "demo",
        "--no-ui",
        "--interval-ms",
        "1",
        "--batches",
        "5",
        "--rate",
        "1000",
    ]);
    assert!(status.success(), "{status:?}\n{err}");
    assert_eq!(printed_batches(&out), 5, "{out}");
    assert_eq!(err.lines().filter(|l| l.starts_with("batch ")).count(), 5);
    assert!(err.contains("stopped after 5 batches"), "{err}");
}

/// Runs `sluice` with arguments it must refuse before starting anything.
fn refused(args: &[&str]) -> String {
    let started = Instant::now();
    let (status, out, err) = Sluice::start(args).wait(Duration::from_secs(10));
    assert!(!status.success(), "{args:?} was accepted:\n{out}\n{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!out.contains("Time: "), "{out}");
    err
}

#[test]
fn a_zero_interval_or_batch_count_is_refused() {
    let err = refused(&["demo", "--no-ui", "--interval-ms", "0"]);
    assert!(err.contains("--interval-ms"), "{err}");
    let err = refused(&["demo", "--no-ui", "--batches", "0"]);
    assert!(err.contains("--batches"), "{err}");
}

#[test]
fn a_socket_without_a_host_or_with_a_bad_port_is_refused() {
    for (arg, why) in [
        (":9000", "the host is empty"),
        ("localhost:0", "bad port"),
        ("localhost:99999", "bad port"),
        ("localhost:http", "bad port"),
        ("localhost", "expected host:port"),
        ("::1:9000", "IPv6"),
    ] {
        let err = refused(&["wordcount", "--socket", arg, "--no-ui", "--batches", "1"]);
        assert!(err.contains(why), "{arg}: {err}");
        assert!(err.contains("--socket"), "{arg}: {err}");
    }
}

// --- Scenario demos ------------------------------------------------------------------------

#[test]
fn each_scenario_demo_prints_its_alerts_and_scores_them_against_the_truth() {
    for scenario in ["finance", "ecommerce", "traffic", "grid"] {
        let (status, out, err) = run(&[
            "demo",
            scenario,
            "--no-ui",
            "--interval-ms",
            "100",
            "--batches",
            "6",
            "--steps-per-batch",
            "50",
            "--top",
            "2",
        ]);
        assert!(status.success(), "{scenario}: {status:?}\n{err}");
        assert!(
            out.starts_with(&format!("Sluice demo {scenario}:")),
            "{out}"
        );
        assert_eq!(out.matches("Alerts at ").count(), 6, "{scenario}:\n{out}");
        let last = out.lines().last().unwrap_or_default();
        assert!(
            last.starts_with(&format!("{scenario} over 300 steps:")) && last.contains("recall"),
            "{scenario}: {last}"
        );
    }
    let err = refused(&["demo", "weather", "--no-ui"]);
    assert!(err.contains("weather"), "{err}");
}
