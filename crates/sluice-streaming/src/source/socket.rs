//! `socket_text_stream`: UTF-8 lines read from a TCP server (the receiver is the client).
//!
//! Lines end as Spark's socket receiver ends them (Java's `readLine`): at `\n`, `\r\n` or a
//! lone `\r`. A line that is not valid UTF-8 is counted as
//! a bad record and reported, never stored, and so is a line longer than
//! `sluice.streaming.receiver.maxLineBytes` (its bytes are skipped as they arrive, so memory
//! stays bounded). When the connection cannot be made or the peer
//! goes away, the receiver reports it and reconnects with exponential backoff (100 ms doubling
//! to 5 s).
//!
//! The receiver stores lines in batches: every complete line available from one read of the
//! socket goes into one `store_batch`, so that with the write-ahead log on one group commit
//! (one fsync) covers many lines.
//!
//! # Acknowledgements
//!
//! With the write-ahead log on (`sluice.streaming.receiver.writeAheadLog.enable`), the
//! receiver tells its peer what is safe: after each batch of lines is durably stored it writes
//! back, on the same TCP connection,
//!
//! ```text
//! ack <n>\n
//! ```
//!
//! where `<n>` is the number of lines received on this connection so far whose handling is
//! complete — stored in the log, or skipped as bad records (invalid UTF-8, too long), which
//! are counted so that the number stays an index into what the peer sent. Counts start at 0
//! on each connection and only grow. A line counted in an `ack` survives a crash of the job;
//! a line sent but not yet acknowledged may have been lost, so a peer that keeps unacknowledged
//! lines and, when the job reconnects (after a restart), sends again every line after the last
//! acknowledged count, loses nothing. It may deliver a line twice (stored, then the crash came
//! before its `ack` was sent or read): the protocol gives at-least-once delivery. A last line
//! without a final newline is acknowledged when the peer closes the connection. A peer that
//! does not read the acknowledgements eventually blocks the receiver when the socket's send
//! buffer is full, so peers of a job with the log on must read them. With the log off, nothing
//! is written back.

use std::io::{BufRead, BufReader, ErrorKind, Write};
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
    acknowledge: bool,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl SocketTextReceiver {
    /// A receiver connecting to `host:port`.
    pub fn new(host: &str, port: u16) -> Self {
        SocketTextReceiver {
            host: host.to_string(),
            port,
            acknowledge: false,
            stop: Arc::new(AtomicBool::new(false)),
            thread: Mutex::new(None),
        }
    }
}

impl SocketTextReceiver {
    /// Writes `ack <n>` back to the peer after lines are stored (see the module docs); meant
    /// for a stream whose lines go to the write-ahead log, which `socket_text_stream` sets up
    /// when the log is on.
    pub fn acknowledging(mut self, on: bool) -> Self {
        self.acknowledge = on;
        self
    }
}

/// Sleeps up to `d`, waking early when `stop` is set.
fn pause(d: Duration, stop: &AtomicBool) {
    let deadline = std::time::Instant::now() + d;
    while std::time::Instant::now() < deadline && !stop.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Turns one framed line into a record, or reports it as a bad record (`None`).
fn decode(ctx: &ReceiverContext<String>, frame: Frame, addr: &str, max: usize) -> Option<String> {
    let raw = match frame {
        Frame::Line(raw) => raw,
        Frame::TooLong(n) => {
            ctx.report_bad_records(
                1,
                &format!(
                    "a line of {n} bytes from {addr} is longer than {max} bytes \
                     (sluice.streaming.receiver.maxLineBytes); skipped"
                ),
            );
            return None;
        }
    };
    match String::from_utf8(raw) {
        Ok(line) => Some(line),
        Err(e) => {
            ctx.report_bad_records(
                1,
                &format!(
                    "invalid UTF-8 from {addr} at byte {} of a line",
                    e.utf8_error().valid_up_to()
                ),
            );
            None
        }
    }
}

/// One connection's lines on their way to the engine.
struct Connection {
    /// Lines handled on this connection (stored or skipped as bad).
    handled: u64,
    /// Where acknowledgements go, when acknowledging.
    acks: Option<TcpStream>,
}

impl Connection {
    /// Stores the lines of one read and acknowledges them. `Ok(false)`: the receiver was
    /// stopped; `Err`: the acknowledgement could not be written (reconnect).
    fn hand_over(
        &mut self,
        ctx: &ReceiverContext<String>,
        lines: Vec<String>,
        framed: u64,
    ) -> std::io::Result<bool> {
        if framed == 0 {
            return Ok(true);
        }
        if !lines.is_empty() && ctx.store_batch(lines).is_err() {
            return Ok(false);
        }
        self.handled += framed;
        if let Some(out) = &mut self.acks {
            out.write_all(format!("ack {}\n", self.handled).as_bytes())?;
            out.flush()?;
        }
        Ok(true)
    }
}

fn receive(
    host: String,
    port: u16,
    acknowledge: bool,
    stop: Arc<AtomicBool>,
    ctx: ReceiverContext<String>,
) {
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
        let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
        let acks = if acknowledge {
            match stream.try_clone() {
                Ok(s) => Some(s),
                Err(e) => {
                    ctx.report_error(&format!("cannot acknowledge to {addr}: {e}; reconnecting"));
                    pause(backoff, &stop);
                    continue;
                }
            }
        } else {
            None
        };
        let mut conn = Connection { handled: 0, acks };
        let mut reader = BufReader::with_capacity(64 << 10, stream);
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
            let mut lines = Vec::new();
            let mut framed = 0u64;
            let eof = chunk.is_empty();
            if eof {
                if let Some(last) = framer.finish() {
                    framed += 1;
                    lines.extend(decode(&ctx, last, &addr, max));
                }
            } else {
                // Every complete line of this read goes into one store.
                let mut pos = 0;
                while pos < chunk.len() {
                    let (used, frame) = framer.feed(&chunk[pos..]);
                    pos += used;
                    if let Some(frame) = frame {
                        framed += 1;
                        lines.extend(decode(&ctx, frame, &addr, max));
                    }
                }
                let n = chunk.len();
                reader.consume(n);
            }
            match conn.hand_over(&ctx, lines, framed) {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    ctx.report_error(&format!(
                        "writing an acknowledgement to {addr}: {e}; reconnecting"
                    ));
                    break;
                }
            }
            if eof {
                ctx.report_error(&format!("{addr} closed the connection; reconnecting"));
                break;
            }
        }
        pause(backoff, &stop);
    }
}

impl Receiver<String> for SocketTextReceiver {
    fn on_start(&self, ctx: ReceiverContext<String>) {
        self.stop.store(false, Ordering::Release);
        let (host, port, stop) = (self.host.clone(), self.port, Arc::clone(&self.stop));
        let acknowledge = self.acknowledge;
        let spawned = std::thread::Builder::new()
            .name(format!("sluice-socket-{}:{}", self.host, self.port))
            .spawn({
                let ctx = ctx.clone();
                move || receive(host, port, acknowledge, stop, ctx)
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
    /// With `sluice.streaming.receiver.writeAheadLog.enable` on, the lines go to the
    /// write-ahead log and are acknowledged to the server (see the module docs).
    pub fn socket_text_stream(&self, host: &str, port: u16) -> DStream<String> {
        let log = self.settings().receiver_wal;
        self.receiver_stream_with_log(SocketTextReceiver::new(host, port).acknowledging(log))
    }
}
