//! A socket job that loses nothing in a crash: lines from a TCP server are written to the
//! receivers' write-ahead log before they are acknowledged to the server (`ack <n>` lines, see
//! `sluice::streaming::source::socket`), counted per distinct line with
//! `update_state_by_key`, and checkpointed every batch. Killed at any moment and restarted with
//! the same arguments, it continues from its checkpoint and the log; a server that resends
//! every line after the last acknowledged one gets every line counted at least once.
//!
//! `cargo run --example reliable_socket_count -- <host:port> <checkpoint-dir> <output-file>
//! <distinct lines>`
//!
//! Once the state holds `<distinct lines>` distinct lines, the job writes them with their
//! counts to `<output-file>` (`<count> <line>` per line, written to a temporary file and
//! renamed) and stops gracefully.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sluice::prelude::*;
use sluice::streaming::StreamingState;

fn main() -> sluice::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!(
            "usage: reliable_socket_count <host:port> <checkpoint-dir> <output-file> <distinct lines>"
        );
        std::process::exit(1);
    }
    let (addr, checkpoint, output) = (args[1].clone(), args[2].clone(), args[3].clone());
    let (host, port) = addr
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| Error::InvalidArgument(format!("bad address {addr}")))?;
    let expected: usize = args[4]
        .parse()
        .map_err(|_| Error::InvalidArgument(format!("bad line count {}", args[4])))?;
    let ctx = Context::new(
        Conf::new()
            .set_master("local[2]")
            .set_app_name("ReliableSocketCount")
            .set("sluice.streaming.receiver.writeAheadLog.enable", "true")
            .set("sluice.streaming.blockInterval", "50ms"),
    )?;
    let interval = Duration::from_millis(200);
    let done = Arc::new(AtomicBool::new(false));
    let ssc = StreamingContext::get_or_create(&checkpoint, || {
        let ssc = StreamingContext::new(&ctx, interval)?;
        let done = Arc::clone(&done);
        let output = output.clone();
        ssc.socket_text_stream(&host, port)
            .map(|l: String| (l, 1u64))
            .update_state_by_key(|new: &[u64], total: Option<&u64>| {
                Some(total.copied().unwrap_or(0) + new.iter().sum::<u64>())
            })
            .set_name("line counts")
            .checkpoint(interval)?
            .foreach_rdd(move |rdd, _| {
                if done.load(Ordering::Acquire) {
                    return Ok(());
                }
                let mut counts = rdd.collect()?;
                if counts.len() >= expected {
                    counts.sort();
                    let text: String = counts.iter().map(|(l, n)| format!("{n} {l}\n")).collect();
                    let tmp = format!("{output}.tmp");
                    std::fs::write(&tmp, text)
                        .and_then(|()| std::fs::rename(&tmp, &output))
                        .map_err(|e| Error::io("writing the counts", &output, e))?;
                    done.store(true, Ordering::Release);
                }
                Ok(())
            })?;
        Ok(ssc)
    })?;
    if let Some(t) = ssc.recovered_from() {
        eprintln!("restarting after batch {t}");
    }
    ssc.start()?;
    while !done.load(Ordering::Acquire) {
        if ssc.await_termination_timeout(Duration::from_millis(50))? {
            break;
        }
    }
    ssc.stop(StopMode::Graceful {
        timeout: Duration::from_secs(30),
    })?;
    if ssc.state() != StreamingState::Stopped {
        return Err(Error::Internal("the context did not stop".into()));
    }
    match ssc.take_error() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
