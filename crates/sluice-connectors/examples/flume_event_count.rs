//! Counts the events Flume's Avro sink pushes, per value of a header (Spark's
//! `FlumeEventCount`, push model).
//!
//! ```text
//! cargo run -p sluice-connectors --features flume --example flume_event_count -- \
//!     127.0.0.1:41414 [header] [--batches N]
//! ```
//!
//! In the Flume agent: `a.sinks.k.type = avro`, `a.sinks.k.hostname = 127.0.0.1`,
//! `a.sinks.k.port = 41414`.

mod common;

use sluice_connectors::flume::flume_stream;
use sluice_core::{Conf, Context, Error, Result};
use sluice_streaming::{seconds, StreamingContext};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let address = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:41414".into());
    let (host, port) = address
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| Error::InvalidArgument(format!("not host:port: {address}")))?;
    let header = args
        .get(2)
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| "host".into());
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
            .set_app_name("FlumeEventCount"),
    )?;
    let ssc = StreamingContext::new(&ctx, seconds(1))?;
    let events = flume_stream(&ssc).bind(host, port).build()?;
    events
        .map(move |e| {
            let value = e
                .headers
                .iter()
                .find(|(k, _)| *k == header)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| "(none)".into());
            (value, 1u64)
        })
        .reduce_by_key(|a, b| a + b)
        .print(20)?;
    common::run(&ssc, seconds(1), batches)
}
