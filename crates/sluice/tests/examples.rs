//! Runs the programs in `examples/` (built by `cargo test`) with small, bounded arguments and
//! checks what they print.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/examples-<hash> → target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(name);
    assert!(path.exists(), "example binary {path:?} was not built");
    path
}

fn run(name: &str, args: &[&str]) -> String {
    let out = Command::new(example(name)).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn queue_stream_counts_last_digits_every_batch() {
    let out = run("queue_stream", &["50", "3"]);
    assert_eq!(out.matches("Time: ").count(), 3, "{out}");
    for d in 0..10 {
        assert_eq!(out.matches(&format!("({d},100)\n")).count(), 3, "{out}");
    }
}

#[test]
fn stateless_pipeline_reports_errors_per_path_and_malformed_lines() {
    let out = run("stateless_pipeline", &["100", "2"]);
    assert!(out.contains("malformed lines skipped: "), "{out}");
    assert!(out.contains(",orders team)"), "{out}");
    assert!(out.contains("(/,") && out.contains(",nobody)"), "{out}");
}

#[test]
fn network_word_count_counts_lines_from_a_socket() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.write_all(b"to be or not to be\n").unwrap();
        conn.flush().unwrap();
        // Keep the connection open until the example has stopped.
        let mut buf = [0u8; 16];
        let _ = std::io::Read::read(&mut conn, &mut buf);
    });
    let child = Command::new(example("network_word_count"))
        .args(["127.0.0.1", &port, "100", "30"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for expected in ["(to,2)", "(be,2)", "(or,1)", "(not,1)"] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    drop(server);
}

#[test]
fn directory_word_count_counts_new_files() {
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("in");
    std::fs::create_dir(&watched).unwrap();
    let mut child = Command::new(example("directory_word_count"))
        .args([watched.to_str().unwrap(), "100", "40"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Once the first batch has run, the stream exists: write a file elsewhere and move it in.
    let mut text = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let first_batch = line.starts_with("Time: ");
        text.push_str(&line);
        text.push('\n');
        if first_batch {
            break;
        }
    }
    let staged = dir.path().join("words.txt");
    std::fs::write(&staged, "sluice gate sluice\n").unwrap();
    std::fs::rename(&staged, watched.join("words.txt")).unwrap();
    for line in lines {
        text.push_str(&line.unwrap());
        text.push('\n');
    }
    assert!(child.wait().unwrap().success());
    assert!(text.contains("(gate,1)\n(sluice,2)\n"), "{text}");
}
