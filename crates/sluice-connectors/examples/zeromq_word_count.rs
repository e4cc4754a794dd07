//! A word count over a ZeroMQ publisher's messages (Spark's `ZeroMQWordCount`): subscribes to
//! a topic prefix at a PUB endpoint (or pulls from a PUSH endpoint with `--pull`), and prints
//! each batch's word counts.
//!
//! ```text
//! cargo run -p sluice-connectors --features zeromq --example zeromq_word_count -- \
//!     tcp://127.0.0.1:5556 [topic] [--pull] [--batches N]
//! ```
//!
//! A publisher to try it with, in Python with pyzmq:
//! `s = zmq.Context().socket(zmq.PUB); s.bind("tcp://127.0.0.1:5556");
//! s.send_multipart([b"topic", b"hello world"])`.

mod common;

use sluice_connectors::zeromq::{zeromq_stream, ZmqKind};
use sluice_core::{Conf, Context, Error, Result};
use sluice_streaming::{seconds, StreamingContext};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let endpoint = args.get(1).cloned().ok_or_else(|| {
        Error::InvalidArgument(
            "usage: zeromq_word_count <endpoint> [topic] [--pull] [--batches N]".into(),
        )
    })?;
    let pull = args.iter().any(|a| a == "--pull");
    let topic = args
        .get(2)
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_default();
    let batches: Option<u64> = args
        .iter()
        .position(|a| a == "--batches")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse())
        .transpose()
        .map_err(|_| Error::InvalidArgument("--batches: not a number".into()))?;

    let ctx = Context::new(
        Conf::new()
            .set_master("local[2]")
            .set_app_name("ZeroMQWordCount"),
    )?;
    let ssc = StreamingContext::new(&ctx, seconds(1))?;
    let kind = if pull {
        ZmqKind::Pull
    } else {
        ZmqKind::Sub(vec![topic])
    };
    let lines = zeromq_stream(&ssc)
        .connect(endpoint)
        .kind(kind)
        .build_text()?;
    lines
        .flat_map(|l: String| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .print(10)?;
    common::run(&ssc, seconds(1), batches)
}
