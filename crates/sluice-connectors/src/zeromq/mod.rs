//! ZeroMQ: a receiver that subscribes to PUB endpoints with topic filters (SUB) or pulls from
//! PUSH endpoints (PULL), as Spark's ZeroMQ receiver did.
//!
//! [`zeromq_stream`] builds the stream: the endpoints to connect to (`tcp://host:port`), the
//! socket kind ([`ZmqKind::Sub`] with its topic prefixes, or [`ZmqKind::Pull`]), and how a
//! message's frames become records: by default ([`ZmqStreamBuilder::build_text`]) every
//! payload frame is UTF-8 text cut into lines — for SUB, a message of several frames has the
//! topic in its first frame and its payload in the others; a single-frame message is all
//! payload — or a decoder of the caller's ([`ZmqStreamBuilder::build_with`]).
//!
//! The socket is the pure-Rust `zeromq` crate (ZMTP 3 over TCP), not a binding to libzmq: it
//! builds with nothing but Rust, and it reconnects to a peer that went away by itself.
//!
//! Delivery, as ZeroMQ gives it:
//!
//! - SUB is at-most-once: a publisher drops messages for a subscriber that is not connected
//!   yet or too slow (at its high-water mark), and the subscriber cannot see those drops.
//! - PULL applies backpressure: while the receiver's buffer is full it stops reading, and the
//!   PUSH peer blocks at its high-water mark. Messages in flight when the job crashes are
//!   lost (ZeroMQ has no acknowledgements).
//! - Messages of one connection arrive in the order they were sent.
//! - A message that cannot be decoded, or larger than
//!   `sluice.streaming.receiver.maxLineBytes`, is counted as a bad record and reported.
//! - Connection events (a peer gone, a retry) are reported to listeners.

mod receiver;

use std::sync::Arc;

use sluice_core::{Data, Error, Result};
use sluice_streaming::{DStream, StreamingContext};

use receiver::{Decode, Settings, ZmqReceiver};

/// The kind of socket, and for SUB the topic prefixes to subscribe to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZmqKind {
    /// Subscribes to PUB sockets; a message is received when its first frame starts with one
    /// of the prefixes (the empty prefix takes everything).
    Sub(Vec<String>),
    /// Pulls from PUSH sockets.
    Pull,
}

/// Builds a ZeroMQ stream; see [`zeromq_stream`].
#[derive(Debug, Clone)]
pub struct ZmqStreamBuilder {
    ssc: StreamingContext,
    settings: Settings,
}

/// Starts building a ZeroMQ stream on `ssc`.
///
/// ```no_run
/// use sluice_connectors::zeromq::{zeromq_stream, ZmqKind};
/// use sluice_streaming::{seconds, StreamingContext};
/// # fn main() -> sluice_core::Result<()> {
/// let ssc = StreamingContext::new(&sluice_core::Context::local(2)?, seconds(1))?;
/// let lines = zeromq_stream(&ssc)
///     .connect("tcp://127.0.0.1:5556")
///     .kind(ZmqKind::Sub(vec!["traffic".into()]))
///     .build_text()?;
/// lines.count().print(1)?;
/// # Ok(()) }
/// ```
pub fn zeromq_stream(ssc: &StreamingContext) -> ZmqStreamBuilder {
    ZmqStreamBuilder {
        ssc: ssc.clone(),
        settings: Settings {
            endpoints: Vec::new(),
            kind: ZmqKind::Sub(vec![String::new()]),
        },
    }
}

impl ZmqStreamBuilder {
    /// Connects to `endpoint` (`tcp://host:port`); several endpoints may be given.
    pub fn connect(mut self, endpoint: impl Into<String>) -> Self {
        self.settings.endpoints.push(endpoint.into());
        self
    }

    /// The socket kind (default: SUB to every topic).
    pub fn kind(mut self, kind: ZmqKind) -> Self {
        self.settings.kind = kind;
        self
    }

    fn check(&self) -> Result<()> {
        if self.settings.endpoints.is_empty() {
            return Err(Error::InvalidArgument(
                "a ZeroMQ stream needs an endpoint (connect(\"tcp://host:port\"))".into(),
            ));
        }
        for e in &self.settings.endpoints {
            let valid = e
                .strip_prefix("tcp://")
                .and_then(|rest| rest.rsplit_once(':'))
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !valid {
                return Err(Error::InvalidArgument(format!(
                    "{e:?} is not a ZeroMQ TCP endpoint (tcp://host:port)"
                )));
            }
        }
        if matches!(&self.settings.kind, ZmqKind::Sub(topics) if topics.is_empty()) {
            return Err(Error::InvalidArgument(
                "a ZeroMQ SUB stream needs at least one topic prefix (\"\" takes every topic)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Registers a stream whose records `decode` makes from each message's frames; an `Err`
    /// is a bad record, counted with its reason.
    pub fn build_with<T: Data>(
        self,
        decode: impl Fn(&[&[u8]]) -> std::result::Result<Vec<T>, String> + Send + Sync + 'static,
    ) -> Result<DStream<T>> {
        self.check()?;
        let decode: Decode<T> = Arc::new(decode);
        Ok(self
            .ssc
            .receiver_stream(ZmqReceiver::new(self.settings, decode)))
    }

    /// Registers a stream of the lines of the messages' payload frames (see the module docs);
    /// its records go to the receiver write-ahead log when it is on.
    pub fn build_text(self) -> Result<DStream<String>> {
        self.check()?;
        let sub = matches!(self.settings.kind, ZmqKind::Sub(_));
        let decode: Decode<String> = Arc::new(move |frames: &[&[u8]]| text_lines(frames, sub));
        Ok(self
            .ssc
            .receiver_stream_with_log(ZmqReceiver::new(self.settings, decode)))
    }
}

/// The lines of a message's payload frames: for SUB, every frame after the first (the topic)
/// when there are several.
///
/// ```
/// use sluice_connectors::zeromq::text_lines;
/// assert_eq!(text_lines(&[b"topic", b"a\nb"], true).unwrap(), vec!["a", "b"]);
/// assert_eq!(text_lines(&[b"topic a"], true).unwrap(), vec!["topic a"]);
/// assert_eq!(text_lines(&[b"x", b"y\n"], false).unwrap(), vec!["x", "y"]);
/// assert!(text_lines(&[&[0xff]], false).is_err());
/// ```
pub fn text_lines(frames: &[&[u8]], sub: bool) -> std::result::Result<Vec<String>, String> {
    let payload = if sub && frames.len() > 1 {
        &frames[1..]
    } else {
        frames
    };
    let mut out = Vec::new();
    for (i, frame) in payload.iter().enumerate() {
        let text = std::str::from_utf8(frame).map_err(|e| {
            format!(
                "frame {i} of a message is not UTF-8 (at byte {})",
                e.valid_up_to()
            )
        })?;
        out.extend(text.lines().map(str::to_string));
    }
    Ok(out)
}
