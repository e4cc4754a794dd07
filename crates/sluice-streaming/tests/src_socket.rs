#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `socket_text_stream` against a real TCP server in the test (reference section E): the
//! receiver is the client; lines end at `\n` (a trailing `\r` is removed); invalid UTF-8
//! lines are counted as bad records and never stored; when the server closes the connection
//! the receiver reconnects.
//!
//! The batch clock is manual. Network delivery is waited for by polling the receiver's
//! `records_stored` / `bad_records` counters with a generous deadline, never by fixed sleeps.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_streaming::clock::ManualClock;
use sluice_streaming::{StopMode, StreamingContext};

mod common;
use common::{batch, collect_into, manual_context, run_batch, strings, wait_for, Collected};

const DEADLINE: Duration = Duration::from_secs(20);

/// Accepts one connection, waiting at most [`DEADLINE`].
fn accept(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + DEADLINE;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                return s;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "the receiver never connected");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// A started context whose socket stream is connected to a new server on this host: the
/// server's listener, the context, its clock, the collected output and the server's end of
/// the connection.
fn connected() -> (
    TcpListener,
    StreamingContext,
    Arc<ManualClock>,
    Collected<String>,
    TcpStream,
) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (ssc, clock) = manual_context();
    let out = collect_into(&ssc.socket_text_stream("127.0.0.1", port));
    ssc.start().unwrap();
    let conn = accept(&listener);
    (listener, ssc, clock, out, conn)
}

fn stored(ssc: &StreamingContext) -> u64 {
    ssc.receivers()[0].records_stored
}

#[test]
fn lines_arrive_in_batches_and_the_receiver_reconnects() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (ssc, clock) = manual_context();
    let stream = ssc.socket_text_stream("127.0.0.1", port);
    assert_eq!(
        stream.name(),
        format!("socket_text_stream 127.0.0.1:{port}")
    );
    let out = collect_into(&stream);
    ssc.start().unwrap();

    let mut conn = accept(&listener);
    // `\n` and `\r\n` endings; an empty line is a record too.
    conn.write_all(b"alpha\nbeta\r\n\ngamma\n").unwrap();
    conn.flush().unwrap();
    wait_for("4 lines", || stored(&ssc) == 4);
    run_batch(&ssc, &clock, 1);
    assert_eq!(batch(&out, 1000), strings(&["alpha", "beta", "", "gamma"]));

    // A line split over two writes is one record.
    conn.write_all(b"del").unwrap();
    conn.flush().unwrap();
    conn.write_all(b"ta\n").unwrap();
    conn.flush().unwrap();
    wait_for("delta", || stored(&ssc) == 5);
    run_batch(&ssc, &clock, 2);
    assert_eq!(batch(&out, 2000), strings(&["delta"]));

    // Nothing sent: an empty batch.
    run_batch(&ssc, &clock, 3);
    assert!(batch(&out, 3000).is_empty());

    // The server closes the connection; a last line without a newline is still delivered.
    conn.write_all(b"epsilon\nunterminated").unwrap();
    conn.flush().unwrap();
    drop(conn);
    wait_for("the last lines", || stored(&ssc) == 7);
    // The receiver reconnects to the same server.
    let mut conn = accept(&listener);
    conn.write_all(b"zeta\n").unwrap();
    conn.flush().unwrap();
    wait_for("zeta", || stored(&ssc) == 8);
    run_batch(&ssc, &clock, 4);
    assert_eq!(
        batch(&out, 4000),
        strings(&["epsilon", "unterminated", "zeta"])
    );
    let info = &ssc.receivers()[0];
    assert!(info.active);
    let err = info.last_error.clone().unwrap_or_default();
    assert!(err.contains("closed the connection"), "{err}");

    ssc.stop(StopMode::Immediate).unwrap();
    assert!(!ssc.receivers()[0].active);
}

#[test]
fn invalid_utf8_lines_are_counted_not_stored() {
    let (_listener, ssc, clock, out, mut conn) = connected();
    conn.write_all(b"good\n\xff\xfe bad\r\nstill good \xc3\xa9\n\xc3\n")
        .unwrap();
    conn.flush().unwrap();
    wait_for("two bad records", || ssc.receivers()[0].bad_records == 2);
    wait_for("two good records", || stored(&ssc) == 2);
    let info = &ssc.receivers()[0];
    let err = info.last_error.clone().unwrap();
    assert!(err.contains("invalid UTF-8"), "{err}");
    assert!(info.active);
    run_batch(&ssc, &clock, 1);
    assert_eq!(batch(&out, 1000), strings(&["good", "still good é"]));
    // The connection still works after bad input.
    conn.write_all(b"later\n").unwrap();
    conn.flush().unwrap();
    wait_for("later", || stored(&ssc) == 3);
    run_batch(&ssc, &clock, 2);
    assert_eq!(batch(&out, 2000), strings(&["later"]));
    assert!(ssc.take_error().is_none());
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(ssc.receivers()[0].bad_records, 2);
}

#[test]
fn the_receiver_retries_until_the_server_is_up() {
    // Reserve a port, then free it: the first connection attempts are refused.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (ssc, clock) = manual_context();
    let out = collect_into(&ssc.socket_text_stream("127.0.0.1", port));
    ssc.start().unwrap();
    wait_for("a connection error", || {
        ssc.receivers()[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("cannot connect"))
    });
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let mut conn = accept(&listener);
    conn.write_all(b"finally\n").unwrap();
    conn.flush().unwrap();
    wait_for("the line", || stored(&ssc) == 1);
    run_batch(&ssc, &clock, 1);
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(batch(&out, 1000), strings(&["finally"]));
}

#[test]
fn lines_from_a_busy_server_arrive_complete_and_in_order() {
    let (_listener, ssc, clock, out, mut conn) = connected();
    let writer = std::thread::spawn(move || {
        let mut buf = Vec::new();
        for i in 0..2000 {
            writeln!(buf, "line-{i}").unwrap();
        }
        // Odd-sized writes so that lines straddle them.
        for chunk in buf.chunks(777) {
            conn.write_all(chunk).unwrap();
        }
        conn.flush().unwrap();
        conn
    });
    let conn = writer.join().unwrap();
    wait_for("2000 lines", || stored(&ssc) == 2000);
    run_batch(&ssc, &clock, 1);
    ssc.stop(StopMode::Immediate).unwrap();
    drop(conn);
    let expected: Vec<String> = (0..2000).map(|i| format!("line-{i}")).collect();
    assert_eq!(batch(&out, 1000), expected);
}

#[test]
fn a_line_longer_than_the_limit_is_skipped_and_counted() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let conf = sluice_core::Conf::new().set("sluice.streaming.receiver.maxLineBytes", "1k");
    let (ssc, clock) = common::manual_context_with(conf);
    let out = collect_into(&ssc.socket_text_stream("127.0.0.1", port));
    ssc.start().unwrap();
    let mut conn = accept(&listener);
    conn.write_all(b"short\n").unwrap();
    // 4 MiB without a newline, in pieces, then the end of that line and a good one: the
    // receiver keeps none of the long line's bytes.
    let piece = vec![b'x'; 64 << 10];
    for _ in 0..64 {
        conn.write_all(&piece).unwrap();
    }
    conn.write_all(b"\nafter\n").unwrap();
    conn.flush().unwrap();
    wait_for("the long line counted", || {
        ssc.receivers()[0].bad_records == 1
    });
    wait_for("two good lines", || stored(&ssc) == 2);
    let err = ssc.receivers()[0].last_error.clone().unwrap_or_default();
    assert!(
        err.contains("4194304 bytes") && err.contains("maxLineBytes"),
        "{err}"
    );
    run_batch(&ssc, &clock, 1);
    assert_eq!(batch(&out, 1000), strings(&["short", "after"]));
    ssc.stop(StopMode::Immediate).unwrap();
}
