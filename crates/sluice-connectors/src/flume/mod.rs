//! Flume: a receiver that Flume's Avro sink pushes events to (Spark's `FlumeUtils.createStream`,
//! the push model), speaking Flume's Avro RPC (`AvroSourceProtocol`: `append`, `appendBatch`)
//! over Avro IPC's Netty framing, written from the protocol's published description.
//!
//! [`flume_stream`] binds a TCP address; each connection is a sink. A call is answered `OK`
//! only once its events are stored — with the receiver write-ahead log on, once they are
//! durable — so a sink that retries what was not acknowledged loses nothing (at-least-once).
//! While the receiver's buffer is full the answer waits, and the sink waits with it. A call
//! that cannot be decoded, or an event body larger than
//! `sluice.streaming.receiver.maxLineBytes`, is counted as a bad record; an undecodable call
//! is answered with an error.
//!
//! | file | holds |
//! |---|---|
//! | [`avro`] | the Avro binary encoding the protocol needs |
//! | [`protocol`] | framing, handshake, calls and answers (pure functions) |
//! | `receiver` | the listening and connection threads |

pub mod avro;
pub mod protocol;
mod receiver;

use std::sync::Arc;

use sluice_core::{Error, Result};
use sluice_streaming::{DStream, StreamingContext};

pub use protocol::FlumeEvent;
use receiver::{Decode, FlumeReceiver};

/// Builds a Flume stream; see [`flume_stream`].
#[derive(Debug, Clone)]
pub struct FlumeStreamBuilder {
    ssc: StreamingContext,
    host: String,
    port: u16,
}

/// Starts building a Flume stream on `ssc`.
///
/// ```no_run
/// use sluice_connectors::flume::flume_stream;
/// use sluice_streaming::{seconds, StreamingContext};
/// # fn main() -> sluice_core::Result<()> {
/// let ssc = StreamingContext::new(&sluice_core::Context::local(2)?, seconds(1))?;
/// // Flume: agent.sinks.k.type = avro, .hostname = 127.0.0.1, .port = 41414
/// let lines = flume_stream(&ssc).bind("127.0.0.1", 41414).build_text()?;
/// lines.count().print(1)?;
/// # Ok(()) }
/// ```
pub fn flume_stream(ssc: &StreamingContext) -> FlumeStreamBuilder {
    FlumeStreamBuilder {
        ssc: ssc.clone(),
        host: String::new(),
        port: 0,
    }
}

impl FlumeStreamBuilder {
    /// The address Flume's Avro sink sends to.
    pub fn bind(mut self, host: impl Into<String>, port: u16) -> Self {
        self.host = host.into();
        self.port = port;
        self
    }

    fn check(&self) -> Result<()> {
        if self.host.is_empty() || self.port == 0 {
            return Err(Error::InvalidArgument(
                "a Flume stream needs an address to listen on (bind(host, port))".into(),
            ));
        }
        Ok(())
    }

    /// Registers the stream of events (written to the receiver write-ahead log when it is on).
    pub fn build(self) -> Result<DStream<FlumeEvent>> {
        self.check()?;
        let decode: Decode<FlumeEvent> = Arc::new(Ok);
        Ok(self
            .ssc
            .receiver_stream_with_log(FlumeReceiver::new(self.host, self.port, decode)))
    }

    /// Registers a stream whose records `decode` makes from the events; an `Err` is a bad
    /// record, counted with its reason (the call is still answered `OK`: the event was
    /// handled).
    pub fn build_with<T>(
        self,
        decode: impl Fn(FlumeEvent) -> std::result::Result<T, String> + Send + Sync + 'static,
    ) -> Result<DStream<T>>
    where
        T: sluice_core::Data + serde::Serialize + serde::de::DeserializeOwned,
    {
        self.check()?;
        let decode: Decode<T> = Arc::new(decode);
        Ok(self
            .ssc
            .receiver_stream_with_log(FlumeReceiver::new(self.host, self.port, decode)))
    }

    /// Registers a stream of the events' bodies as UTF-8 text (a body that is not is a bad
    /// record).
    pub fn build_text(self) -> Result<DStream<String>> {
        self.check()?;
        let decode: Decode<String> = Arc::new(|e: FlumeEvent| {
            String::from_utf8(e.body).map_err(|err| {
                format!(
                    "an event body is not UTF-8 (at byte {})",
                    err.utf8_error().valid_up_to()
                )
            })
        });
        Ok(self
            .ssc
            .receiver_stream_with_log(FlumeReceiver::new(self.host, self.port, decode)))
    }
}
