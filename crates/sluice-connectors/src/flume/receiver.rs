//! The Flume receiver's threads: one accepting sinks' connections, one per connection reading
//! calls and answering each once its events are stored.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use sluice_core::Data;
use sluice_streaming::{Receiver, ReceiverContext};

use super::avro::Reader;
use super::protocol::{
    protocol_hash, read_call, read_frame, read_handshake, write_error, write_frame,
    write_handshake, write_status, Call, FlumeEvent, Handshake, Status,
};
use crate::receiver_thread::ReceiverThread;

/// Turns an event into a record, or says why it cannot be one.
pub(super) type Decode<T> = Arc<dyn Fn(FlumeEvent) -> Result<T, String> + Send + Sync>;

/// The receiver behind [`super::flume_stream`].
pub(super) struct FlumeReceiver<T> {
    host: String,
    port: u16,
    decode: Decode<T>,
    thread: ReceiverThread,
}

impl<T> FlumeReceiver<T> {
    pub(super) fn new(host: String, port: u16, decode: Decode<T>) -> Self {
        FlumeReceiver {
            host,
            port,
            decode,
            thread: ReceiverThread::default(),
        }
    }
}

impl<T: Data> Receiver<T> for FlumeReceiver<T> {
    fn on_start(&self, ctx: ReceiverContext<T>) {
        let listener = match TcpListener::bind((self.host.as_str(), self.port)) {
            Ok(l) => l,
            Err(e) => {
                ctx.restart(
                    &format!("cannot listen on {}:{}: {e}", self.host, self.port),
                    ctx.restart_delay(),
                );
                return;
            }
        };
        let decode = Arc::clone(&self.decode);
        let c = ctx.clone();
        self.thread.start("sluice-flume", &ctx, move |stop| {
            accept(listener, decode, stop, c)
        });
    }

    fn on_stop(&self) {
        self.thread.stop();
    }

    fn name(&self) -> String {
        format!("flume:{}:{}", self.host, self.port)
    }
}

fn accept<T: Data>(
    listener: TcpListener,
    decode: Decode<T>,
    stop: Arc<AtomicBool>,
    ctx: ReceiverContext<T>,
) {
    if let Err(e) = listener.set_nonblocking(true) {
        ctx.report_error(&format!("listening: {e}"));
        return;
    }
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    while !stop.load(Ordering::Acquire) && !ctx.is_stopped() {
        match listener.accept() {
            Ok((stream, peer)) => {
                let (decode, stop, conn_ctx) =
                    (Arc::clone(&decode), Arc::clone(&stop), ctx.clone());
                let spawned = std::thread::Builder::new()
                    .name("sluice-flume-conn".into())
                    .spawn(move || {
                        if let Err(e) = serve(stream, &decode, &stop, &conn_ctx) {
                            conn_ctx.report_error(&format!("connection from {peer}: {e}"));
                        }
                    });
                match spawned {
                    Ok(h) => connections.push(h),
                    Err(e) => ctx.report_error(&format!("cannot serve {peer}: {e}")),
                }
                connections.retain(|h| !h.is_finished());
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => {
                ctx.report_error(&format!("accepting: {e}"));
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    for h in connections {
        let _ = h.join();
    }
}

/// Serves one sink until it disconnects or the receiver stops.
fn serve<T: Data>(
    mut stream: TcpStream,
    decode: &Decode<T>,
    stop: &AtomicBool,
    ctx: &ReceiverContext<T>,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_millis(100)))?;
    let ours = protocol_hash();
    let max = ctx.max_line_bytes();
    let mut shaken = false;
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    while !stop.load(Ordering::Acquire) && !ctx.is_stopped() {
        let frame = match read_frame(&buf) {
            Ok(f) => f,
            Err(e) => {
                ctx.report_bad_records(1, &format!("a malformed frame ({e}); disconnecting"));
                return Ok(());
            }
        };
        let Some((serial, call, used)) = frame else {
            match stream.read(&mut chunk) {
                Ok(0) => return Ok(()),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            continue;
        };
        buf.drain(..used);
        let mut r = Reader::new(&call);
        let mut answer = Vec::new();
        if !shaken {
            match read_handshake(&mut r, &ours) {
                Ok(h) => {
                    write_handshake(&mut answer, &h, &ours);
                    if h == Handshake::None {
                        stream.write_all(&write_frame(serial, &answer))?;
                        continue;
                    }
                    shaken = true;
                }
                Err(e) => {
                    ctx.report_bad_records(
                        1,
                        &format!("a malformed handshake ({e}); disconnecting"),
                    );
                    return Ok(());
                }
            }
        }
        if r.remaining() > 0 {
            match read_call(&mut r) {
                Ok(Call::Append(events)) => {
                    let mut records = Vec::with_capacity(events.len());
                    for e in events {
                        if e.body.len() > max {
                            ctx.report_bad_records(
                                1,
                                &format!(
                                    "an event body of {} bytes is longer than {max} bytes \
                                     (sluice.streaming.receiver.maxLineBytes); skipped",
                                    e.body.len()
                                ),
                            );
                            continue;
                        }
                        match decode(e) {
                            Ok(rec) => records.push(rec),
                            Err(why) => ctx.report_bad_records(1, &why),
                        }
                    }
                    let status = if records.is_empty() || ctx.store_batch(records).is_ok() {
                        Status::Ok
                    } else {
                        Status::Failed
                    };
                    write_status(&mut answer, status);
                }
                Ok(Call::Unknown(name)) => {
                    write_error(
                        &mut answer,
                        &format!("no message {name:?} in AvroSourceProtocol"),
                    );
                }
                Err(e) => {
                    ctx.report_bad_records(1, &format!("an undecodable call: {e}"));
                    write_error(&mut answer, &format!("undecodable call: {e}"));
                }
            }
        }
        stream.write_all(&write_frame(serial, &answer))?;
    }
    Ok(())
}
