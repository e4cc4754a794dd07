//! What the tables' integration tests share: running input batches through a stream on the
//! manual clock with the output operation under test.

#[allow(dead_code)] // not every test file runs the checkpointed job
pub mod checkpointed;
#[allow(dead_code)] // not every test file needs the server
pub mod s3_server;

use sluice_core::Data;
use sluice_streaming::testing::{run_stream_with, TestConfig};
use sluice_streaming::DStream;

/// Runs `input` (batch `k` at `k` s) through a stream whose output operation `register` adds;
/// an error from `register` itself (a setting refused before the first batch) is the result.
#[allow(dead_code)] // not every test file runs a sink
pub fn run_with_sink<T: Data>(
    input: Vec<Vec<T>>,
    register: impl FnOnce(&DStream<T>) -> sluice_core::Result<()>,
) -> sluice_core::Result<()> {
    let n = input.len();
    let mut failure = None;
    let out = run_stream_with(TestConfig::default(), input, n, |s| {
        if let Err(e) = register(&s) {
            failure = Some(e);
        }
        s.map(|_| ())
    });
    match failure {
        Some(e) => Err(e),
        None => out.map(drop),
    }
}

/// Runs the reader script `tests/readers/<script>` with `args` on the python named by the
/// environment variable `python_env`, and returns the JSON object it printed last.
#[allow(dead_code)] // not every test file reads with an independent reader
pub fn read_with(python_env: &str, script: &str, args: &[&str]) -> serde_json::Value {
    let python = std::env::var(python_env)
        .unwrap_or_else(|_| panic!("{python_env} must name a python for this test"));
    let script = format!("{}/tests/readers/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(python)
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python_env}: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}): {text}"))
}
