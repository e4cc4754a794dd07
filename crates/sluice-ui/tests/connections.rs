//! The UI server's handling of slow, idle and half-open connections: timeouts close them,
//! and stopping the server does not wait for them for long.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sluice_core::Context;
use sluice_streaming::time::seconds;
use sluice_streaming::StreamingContext;
use sluice_ui::{UiConfig, UiServer};

fn server(config: UiConfig) -> (StreamingContext, UiServer) {
    let ctx = Context::local(1).unwrap();
    let ssc = StreamingContext::new(&ctx, seconds(1)).unwrap();
    let ui = UiServer::start(&ssc, &UiConfig { port: 0, ..config }).unwrap();
    (ssc, ui)
}

/// Sends one complete keep-alive request and reads its whole response (by its
/// `content-length`), which proves that the server has accepted the connection.
fn request_keep_alive(s: &mut TcpStream, path: &str) -> String {
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "connection closed early");
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .expect("a content-length");
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    String::from_utf8(body).unwrap()
}

/// Waits until the server closes `s` (end of stream or reset); returns how long it took.
fn time_until_closed(s: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return started.elapsed(),
            // A response (408, or anything else) before the close is fine.
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("the server kept the connection open for {limit:?}")
            }
            Err(_) => return started.elapsed(),
        }
    }
}

/// A new connection that sent the start of a request and then nothing, once the server has
/// accepted it: connections are accepted in the order they were made, so a request answered
/// on a later connection shows that this one was accepted too.
fn half_open(ui: &UiServer) -> TcpStream {
    let mut client = TcpStream::connect(ui.addr()).unwrap();
    client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    client.flush().unwrap();
    let mut probe = TcpStream::connect(ui.addr()).unwrap();
    request_keep_alive(&mut probe, "/api/v1/streaming/receivers");
    client
}

/// Runs `f` on another thread and waits at most `limit` for it.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("did not finish within {limit:?}"))
}

#[test]
fn stopping_does_not_wait_for_a_half_sent_request() {
    // Timeouts far longer than the bound: only the bounded shutdown can make it.
    let (_ssc, ui) = server(UiConfig {
        header_read_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_secs(600),
        ..UiConfig::default()
    });
    let mut client = half_open(&ui);
    let started = Instant::now();
    within(Duration::from_secs(10), move || ui.stop()).unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "stop took {took:?}");
    // The connection is dropped, not left open.
    assert!(time_until_closed(&mut client, Duration::from_secs(5)) < Duration::from_secs(5));
}

#[test]
fn dropping_the_server_does_not_wait_for_a_half_sent_request() {
    let (_ssc, ui) = server(UiConfig {
        header_read_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_secs(600),
        ..UiConfig::default()
    });
    let _client = half_open(&ui);
    let started = Instant::now();
    within(Duration::from_secs(10), move || drop(ui));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_half_sent_request_is_closed_after_the_header_read_timeout() {
    let (_ssc, ui) = server(UiConfig {
        header_read_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_secs(600),
        ..UiConfig::default()
    });
    let mut client = TcpStream::connect(ui.addr()).unwrap();
    request_keep_alive(&mut client, "/api/v1/streaming/receivers");
    // A client trickling its request head byte by byte still runs out of time.
    let trickle = std::thread::spawn({
        let mut w = client.try_clone().unwrap();
        move || {
            for b in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            {
                if w.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    });
    let took = time_until_closed(&mut client, Duration::from_secs(10));
    assert!(took < Duration::from_secs(3), "closed after {took:?}");
    let _ = trickle.join();
    // The server still serves others.
    let mut other = TcpStream::connect(ui.addr()).unwrap();
    assert_eq!(
        request_keep_alive(&mut other, "/api/v1/streaming/receivers"),
        "[]"
    );
}

#[test]
fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let (_ssc, ui) = server(UiConfig {
        header_read_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_millis(300),
        ..UiConfig::default()
    });
    let mut client = TcpStream::connect(ui.addr()).unwrap();
    // Requests within the idle timeout keep the connection.
    for _ in 0..3 {
        assert_eq!(
            request_keep_alive(&mut client, "/api/v1/streaming/receivers"),
            "[]"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let took = time_until_closed(&mut client, Duration::from_secs(10));
    assert!(took < Duration::from_secs(3), "closed after {took:?}");
}

#[test]
fn a_connection_that_sends_nothing_is_closed_after_the_idle_timeout() {
    let (_ssc, ui) = server(UiConfig {
        header_read_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_millis(300),
        ..UiConfig::default()
    });
    let mut client = TcpStream::connect(ui.addr()).unwrap();
    client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let took = time_until_closed(&mut client, Duration::from_secs(10));
    assert!(took < Duration::from_secs(3), "closed after {took:?}");
}
