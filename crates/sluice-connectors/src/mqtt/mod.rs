//! MQTT: a receiver subscribed to topic filters on an MQTT 3.1.1 broker (Mosquitto, EMQX,
//! HiveMQ, ...), for sensors and devices.
//!
//! [`mqtt_stream`] builds the stream: the broker, the filters with their QoS (0 or 1), the
//! client id and whether the broker keeps the session. Each message becomes an
//! [`MqttMessage`] (topic, payload, QoS, retain flag), or, with
//! [`MqttStreamBuilder::build_text`], its payload as UTF-8 text.
//!
//! Delivery:
//!
//! - A message is acknowledged (QoS 1) only after `store` returned: with the receiver
//!   write-ahead log on (`sluice.streaming.receiver.writeAheadLog.enable`), once it is durable
//!   in the log, so a crash of the job loses nothing the broker considers delivered — with a
//!   persistent session (`clean_session(false)`, a fixed client id) the broker redelivers what
//!   was not acknowledged, so a message may arrive twice (at-least-once). Without the log, an
//!   acknowledged message may be lost in a crash; QoS 0 messages are never acknowledged and
//!   may be lost (at-most-once).
//! - Messages of one connection arrive in the order the broker sent them.
//! - The receiver's buffer is bounded: while it is full the receiver stops reading, the TCP
//!   window closes, and the broker holds (QoS 1, up to its queue limit) or drops (QoS 0)
//!   further messages: memory stays bounded.
//! - A lost connection is reported to listeners and retried with backoff (100 ms doubling to
//!   5 s); the filters are subscribed again when the broker did not keep the session.
//! - A message that cannot be decoded, or larger than `sluice.streaming.receiver.maxLineBytes`,
//!   is acknowledged, counted as a bad record and reported — never stored, never a crash.
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | the message type and the builder |
//! | `receiver` | the receiving thread: connection, subscriptions, acknowledgements |

mod receiver;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sluice_core::{Error, Result};
use sluice_streaming::{DStream, StreamingContext};

use receiver::{Decode, MqttReceiver, Settings};

/// Quality of service of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Qos {
    /// At most once: the broker sends each message once, unacknowledged.
    AtMostOnce,
    /// At least once: the broker resends until the receiver acknowledges.
    AtLeastOnce,
}

/// One message received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MqttMessage {
    /// The topic it was published to.
    pub topic: String,
    /// Its payload.
    pub payload: Vec<u8>,
    /// The QoS it was delivered with.
    pub qos: Qos,
    /// Whether the broker sent it as the topic's retained message.
    pub retain: bool,
}

/// Builds an MQTT stream; see [`mqtt_stream`].
#[derive(Debug, Clone)]
pub struct MqttStreamBuilder {
    ssc: StreamingContext,
    settings: Settings,
}

/// Starts building an MQTT stream on `ssc`.
///
/// ```no_run
/// use sluice_connectors::mqtt::{mqtt_stream, Qos};
/// use sluice_streaming::{seconds, StreamingContext};
/// # fn main() -> sluice_core::Result<()> {
/// let ssc = StreamingContext::new(&sluice_core::Context::local(2)?, seconds(1))?;
/// let readings = mqtt_stream(&ssc)
///     .broker("127.0.0.1", 1883)
///     .subscribe("sensors/+/temperature", Qos::AtLeastOnce)
///     .client_id("substation-monitor")
///     .clean_session(false)
///     .build_text()?;
/// readings.count().print(1)?;
/// # Ok(()) }
/// ```
pub fn mqtt_stream(ssc: &StreamingContext) -> MqttStreamBuilder {
    MqttStreamBuilder {
        ssc: ssc.clone(),
        settings: Settings {
            host: String::new(),
            port: 1883,
            filters: Vec::new(),
            client_id: None,
            clean_session: true,
            keep_alive: Duration::from_secs(30),
        },
    }
}

impl MqttStreamBuilder {
    /// The broker's address (default port 1883).
    pub fn broker(mut self, host: impl Into<String>, port: u16) -> Self {
        self.settings.host = host.into();
        self.settings.port = port;
        self
    }

    /// Subscribes to a topic filter (`+` and `#` wildcards) at `qos`.
    pub fn subscribe(mut self, filter: impl Into<String>, qos: Qos) -> Self {
        self.settings.filters.push((filter.into(), qos));
        self
    }

    /// The client id (default: `sluice-` and a random suffix). A persistent session needs a
    /// fixed one.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.settings.client_id = Some(id.into());
        self
    }

    /// Whether the broker forgets the session on disconnect (default `true`). With `false`
    /// it keeps the subscriptions and the QoS 1 messages not yet acknowledged, and sends them
    /// when the receiver reconnects (after a restart of the job, too).
    pub fn clean_session(mut self, clean: bool) -> Self {
        self.settings.clean_session = clean;
        self
    }

    /// The keep-alive interval (default 30 s, at least 5 s).
    pub fn keep_alive(mut self, interval: Duration) -> Self {
        self.settings.keep_alive = interval;
        self
    }

    fn check(&self) -> Result<()> {
        if self.settings.host.is_empty() {
            return Err(Error::InvalidArgument(
                "an MQTT stream needs a broker (broker(host, port))".into(),
            ));
        }
        if self.settings.port == 0 {
            return Err(Error::InvalidArgument("the MQTT broker's port is 0".into()));
        }
        if self.settings.filters.is_empty() {
            return Err(Error::InvalidArgument(
                "an MQTT stream needs at least one topic filter (subscribe)".into(),
            ));
        }
        if let Some((f, _)) = self.settings.filters.iter().find(|(f, _)| !valid_filter(f)) {
            return Err(Error::InvalidArgument(format!(
                "{f:?} is not an MQTT topic filter ('#' only last and alone in its level, '+' \
                 alone in its level, not empty)"
            )));
        }
        if self.settings.keep_alive < Duration::from_secs(5) {
            return Err(Error::InvalidArgument(format!(
                "the MQTT keep-alive must be at least 5 s, got {:?}",
                self.settings.keep_alive
            )));
        }
        Ok(())
    }

    /// Registers the stream of messages (written to the receiver write-ahead log when it is
    /// on).
    pub fn build(self) -> Result<DStream<MqttMessage>> {
        self.check()?;
        let decode: Decode<MqttMessage> = Arc::new(Ok);
        Ok(self
            .ssc
            .receiver_stream_with_log(MqttReceiver::new(self.settings, decode)))
    }

    /// Registers a stream of the payloads as UTF-8 text; a payload that is not is a bad
    /// record.
    pub fn build_text(self) -> Result<DStream<String>> {
        self.check()?;
        let decode: Decode<String> = Arc::new(|m: MqttMessage| {
            String::from_utf8(m.payload).map_err(|e| {
                format!(
                    "a payload on {:?} is not UTF-8 (at byte {})",
                    m.topic,
                    e.utf8_error().valid_up_to()
                )
            })
        });
        Ok(self
            .ssc
            .receiver_stream_with_log(MqttReceiver::new(self.settings, decode)))
    }
}

/// Whether `f` is a valid MQTT topic filter.
///
/// ```
/// use sluice_connectors::mqtt::valid_filter;
/// assert!(valid_filter("sensors/+/temp") && valid_filter("#") && valid_filter("a/#"));
/// assert!(!valid_filter("") && !valid_filter("a/#/b") && !valid_filter("a+/b"));
/// ```
pub fn valid_filter(f: &str) -> bool {
    if f.is_empty() || f.contains('\0') {
        return false;
    }
    let levels: Vec<&str> = f.split('/').collect();
    levels.iter().enumerate().all(|(i, level)| {
        let hash_ok = !level.contains('#') || (*level == "#" && i == levels.len() - 1);
        let plus_ok = !level.contains('+') || *level == "+";
        hash_ok && plus_ok
    })
}
