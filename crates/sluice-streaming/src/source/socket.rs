//! `socket_text_stream`: UTF-8 lines read from a TCP server (the receiver is the client).
//!
//! Lines end at `\n` (a trailing `\r` is removed). A line that is not valid UTF-8 is counted as
//! a bad record and reported, never stored, and so is a line longer than
//! `sluice.streaming.receiver.maxLineBytes` (its bytes are skipped as they arrive, so memory
//! stays bounded). When the connection cannot be made or the peer
//! goes away, the receiver reports it and reconnects with exponential backoff (100 ms doubling
//! to 5 s).

use std::io::{BufRead, BufReader, ErrorKind};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use super::lines::{Frame, LineFramer};
use super::receiver::{Receiver, ReceiverContext};
use crate::context::StreamingContext;
use crate::dstream::DStream;

/// The receiver behind [`StreamingContext::socket_text_stream`].
pub struct SocketTextReceiver {
    host: String,
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl SocketTextReceiver {
    /// A receiver connecting to `host:port`.
    pub fn new(host: &str, port: u16) -> Self {
        SocketTextReceiver {
            host: host.to_string(),
            port,
            stop: Arc::new(AtomicBool::new(false)),
            thread: Mutex::new(None),
        }
    }
}

/// Sleeps up to `d`, waking early when `stop` is set.
fn pause(d: Duration, stop: &AtomicBool) {
    let deadline = std::time::Instant::now() + d;
    while std::time::Instant::now() < deadline && !stop.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Hands one framed line to the engine. Returns false when the receiver has been stopped.
fn deliver(ctx: &ReceiverContext<String>, frame: Frame, addr: &str, max: usize) -> bool {
    let mut raw = match frame {
        Frame::Line(raw) => raw,
        Frame::TooLong(n) => {
            ctx.report_bad_records(
                1,
                &format!(
                    "a line of {n} bytes from {addr} is longer than {max} bytes \
                     (sluice.streaming.receiver.maxLineBytes); skipped"
                ),
            );
            return true;
        }
    };
    if raw.last() == Some(&b'\r') {
        raw.pop();
    }
    match String::from_utf8(raw) {
        Ok(line) => ctx.store(line).is_ok(),
        Err(e) => {
            ctx.report_bad_records(
                1,
                &format!(
                    "invalid UTF-8 from {addr} at byte {} of a line",
                    e.utf8_error().valid_up_to()
                ),
            );
            true
        }
    }
}

fn receive(host: String, port: u16, stop: Arc<AtomicBool>, ctx: ReceiverContext<String>) {
    let addr = format!("{host}:{port}");
    let max = ctx.max_line_bytes();
    let mut backoff = Duration::from_millis(100);
    while !stop.load(Ordering::Acquire) && !ctx.is_stopped() {
        let stream = match TcpStream::connect(&addr) {
            Ok(s) => s,
            Err(e) => {
                ctx.report_error(&format!(
                    "cannot connect to {addr}: {e}; retrying in {backoff:?}"
                ));
                pause(backoff, &stop);
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
        let mut reader = BufReader::new(stream);
        let mut framer = LineFramer::new(max);
        loop {
            if stop.load(Ordering::Acquire) || ctx.is_stopped() {
                return;
            }
            let chunk = match reader.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    continue
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    ctx.report_error(&format!("reading from {addr}: {e}; reconnecting"));
                    break;
                }
            };
            if chunk.is_empty() {
                if let Some(last) = framer.finish() {
                    if !deliver(&ctx, last, &addr, max) {
                        return;
                    }
                }
                ctx.report_error(&format!("{addr} closed the connection; reconnecting"));
                break;
            }
            let (used, frame) = framer.feed(chunk);
            reader.consume(used);
            if let Some(frame) = frame {
                if !deliver(&ctx, frame, &addr, max) {
                    return;
                }
            }
        }
        pause(backoff, &stop);
    }
}

impl Receiver<String> for SocketTextReceiver {
    fn on_start(&self, ctx: ReceiverContext<String>) {
        self.stop.store(false, Ordering::Release);
        let (host, port, stop) = (self.host.clone(), self.port, Arc::clone(&self.stop));
        let spawned = std::thread::Builder::new()
            .name(format!("sluice-socket-{}:{}", self.host, self.port))
            .spawn({
                let ctx = ctx.clone();
                move || receive(host, port, stop, ctx)
            });
        match spawned {
            Ok(h) => *self.thread.lock() = Some(h),
            Err(e) => ctx.report_error(&format!("cannot start the socket thread: {e}")),
        }
    }

    fn on_stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.thread.lock().take() {
            let _ = h.join();
        }
    }

    fn name(&self) -> String {
        format!("socket_text_stream {}:{}", self.host, self.port)
    }
}

impl StreamingContext {
    /// Lines of text from a TCP server at `host:port` (the receiver connects as a client).
    pub fn socket_text_stream(&self, host: &str, port: u16) -> DStream<String> {
        self.receiver_stream(SocketTextReceiver::new(host, port))
    }
}
