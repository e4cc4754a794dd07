//! What the tables' integration tests share: running input batches through a stream on the
//! manual clock with the output operation under test.

use sluice_core::Data;
use sluice_streaming::testing::{run_stream_with, TestConfig};
use sluice_streaming::DStream;

/// Runs `input` (batch `k` at `k` s) through a stream whose output operation `register` adds;
/// an error from `register` itself (a setting refused before the first batch) is the result.
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
