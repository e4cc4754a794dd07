//! The MQTT receiving thread: one connection (rumqttc's synchronous client), subscriptions
//! renewed when the broker did not keep the session, messages stored in groups and
//! acknowledged once stored.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{
    Client, Connection, Event, MqttOptions, Packet, Publish, QoS, RecvTimeoutError,
    SubscribeFilter, SubscribeReasonCode, TryRecvError,
};
use sluice_core::Data;
use sluice_streaming::{Receiver, ReceiverContext};

use super::{MqttMessage, Qos};
use crate::receiver_thread::{pause, ReceiverThread};

/// Turns a message into a record, or says why it cannot be one.
pub(super) type Decode<T> = Arc<dyn Fn(MqttMessage) -> Result<T, String> + Send + Sync>;

/// Where and what to subscribe.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) filters: Vec<(String, Qos)>,
    pub(super) client_id: Option<String>,
    pub(super) clean_session: bool,
    pub(super) keep_alive: Duration,
}

/// Messages stored together at most (one write-ahead-log commit covers them).
const MAX_GROUP: usize = 512;
/// The largest packet the client accepts: MQTT's own limit. Smaller limits apply per message
/// after it is read (a packet over the client's limit would drop the connection, and the
/// broker would send it again on every reconnect).
const MAX_PACKET: usize = 268_435_455;

/// The receiver behind [`super::mqtt_stream`].
pub(super) struct MqttReceiver<T> {
    settings: Settings,
    decode: Decode<T>,
    thread: ReceiverThread,
}

impl<T> MqttReceiver<T> {
    pub(super) fn new(settings: Settings, decode: Decode<T>) -> Self {
        MqttReceiver {
            settings,
            decode,
            thread: ReceiverThread::default(),
        }
    }
}

impl<T: Data> Receiver<T> for MqttReceiver<T> {
    fn on_start(&self, ctx: ReceiverContext<T>) {
        let (settings, decode) = (self.settings.clone(), Arc::clone(&self.decode));
        let c = ctx.clone();
        self.thread.start("sluice-mqtt", &ctx, move |stop| {
            receive(settings, decode, stop, c)
        });
    }

    fn on_stop(&self) {
        self.thread.stop();
    }

    fn name(&self) -> String {
        let filters: Vec<&str> = self
            .settings
            .filters
            .iter()
            .map(|(f, _)| f.as_str())
            .collect();
        format!(
            "mqtt:{}:{}/{}",
            self.settings.host,
            self.settings.port,
            filters.join(",")
        )
    }
}

fn qos_of(q: Qos) -> QoS {
    match q {
        Qos::AtMostOnce => QoS::AtMostOnce,
        Qos::AtLeastOnce => QoS::AtLeastOnce,
    }
}

/// A client id for a receiver without one: unique per process and start.
fn fresh_client_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("sluice-{}-{:x}", std::process::id(), nanos & 0xffff_ffff)
}

/// Messages read but not yet stored and acknowledged.
struct Pending<T> {
    records: Vec<T>,
    to_ack: Vec<Publish>,
}

impl<T: Data> Pending<T> {
    /// Decodes `p` into the group (or counts it as a bad record).
    fn add(&mut self, p: Publish, decode: &Decode<T>, ctx: &ReceiverContext<T>, max: usize) {
        if p.payload.len() > max {
            ctx.report_bad_records(
                1,
                &format!(
                    "a message of {} bytes on {:?} is longer than {max} bytes \
                     (sluice.streaming.receiver.maxLineBytes); skipped",
                    p.payload.len(),
                    p.topic
                ),
            );
        } else {
            let message = MqttMessage {
                topic: p.topic.clone(),
                payload: p.payload.to_vec(),
                qos: match p.qos {
                    QoS::AtMostOnce => Qos::AtMostOnce,
                    _ => Qos::AtLeastOnce,
                },
                retain: p.retain,
            };
            match decode(message) {
                Ok(r) => self.records.push(r),
                Err(why) => ctx.report_bad_records(1, &why),
            }
        }
        if p.qos != QoS::AtMostOnce {
            self.to_ack.push(p);
        }
    }

    /// Stores the group, then acknowledges it. `false` once the receiver is stopped.
    fn flush(&mut self, ctx: &ReceiverContext<T>, client: &Client) -> bool {
        if !self.records.is_empty() && ctx.store_batch(std::mem::take(&mut self.records)).is_err() {
            return false;
        }
        self.send_acks(ctx, client);
        true
    }

    /// Hands the acknowledgements of stored messages to the client, as far as its request
    /// queue takes them without waiting (the connection's event loop empties it; the rest
    /// is sent after the next event). Never blocks: the thread that would empty the queue is
    /// this one.
    fn send_acks(&mut self, ctx: &ReceiverContext<T>, client: &Client) {
        let mut sent = 0;
        for p in &self.to_ack {
            match client.try_ack(p) {
                Ok(()) => sent += 1,
                Err(rumqttc::ClientError::TryRequest(_)) => break,
                Err(e) => {
                    ctx.report_error(&format!("acknowledging a message on {:?}: {e}", p.topic));
                    sent += 1;
                }
            }
        }
        self.to_ack.drain(..sent);
    }
}

fn receive<T: Data>(
    settings: Settings,
    decode: Decode<T>,
    stop: Arc<AtomicBool>,
    ctx: ReceiverContext<T>,
) {
    let addr = format!("{}:{}", settings.host, settings.port);
    let id = settings.client_id.clone().unwrap_or_else(fresh_client_id);
    let mut options = MqttOptions::new(id, settings.host.clone(), settings.port);
    options
        .set_keep_alive(settings.keep_alive)
        .set_clean_session(settings.clean_session)
        .set_manual_acks(true)
        .set_max_packet_size(MAX_PACKET, MAX_PACKET);
    let (client, mut connection) = Client::new(options, MAX_GROUP + 64);
    let max = ctx.max_line_bytes();
    let mut backoff = Duration::from_millis(100);
    let mut pending = Pending {
        records: Vec::new(),
        to_ack: Vec::new(),
    };
    while !stop.load(Ordering::Acquire) && !ctx.is_stopped() {
        // Acknowledgements the client's queue could not take yet.
        pending.send_acks(&ctx, &client);
        let event = match connection.recv_timeout(Duration::from_millis(100)) {
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
            Ok(event) => event,
        };
        match event {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                pending.add(p, &decode, &ctx, max);
                // What else has arrived goes into the same group.
                let rest = drain(&mut connection, &mut pending, &decode, &ctx, max);
                if !pending.flush(&ctx, &client) {
                    return;
                }
                if let Some(other) = rest {
                    if !handle(other, &settings, &client, &ctx, &stop, &addr, &mut backoff) {
                        return;
                    }
                }
            }
            other => {
                if !handle(other, &settings, &client, &ctx, &stop, &addr, &mut backoff) {
                    return;
                }
            }
        }
    }
    let _ = client.try_disconnect();
}

/// Takes the publishes that are ready without waiting (up to a group's size); returns the
/// first other event met.
fn drain<T: Data>(
    connection: &mut Connection,
    pending: &mut Pending<T>,
    decode: &Decode<T>,
    ctx: &ReceiverContext<T>,
    max: usize,
) -> Option<Result<Event, rumqttc::ConnectionError>> {
    while pending.records.len() < MAX_GROUP && pending.to_ack.len() < MAX_GROUP {
        match connection.try_recv() {
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => pending.add(p, decode, ctx, max),
            Ok(other) => return Some(other),
            Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => return None,
        }
    }
    None
}

/// Handles an event other than a publish. `false`: stop receiving.
fn handle<T: Data>(
    event: Result<Event, rumqttc::ConnectionError>,
    settings: &Settings,
    client: &Client,
    ctx: &ReceiverContext<T>,
    stop: &AtomicBool,
    addr: &str,
    backoff: &mut Duration,
) -> bool {
    match event {
        Ok(Event::Incoming(Packet::ConnAck(ack))) => {
            *backoff = Duration::from_millis(100);
            if !ack.session_present {
                let filters = settings
                    .filters
                    .iter()
                    .map(|(f, q)| SubscribeFilter::new(f.clone(), qos_of(*q)));
                if let Err(e) = client.try_subscribe_many(filters) {
                    ctx.report_error(&format!("subscribing at {addr}: {e}"));
                }
            }
        }
        Ok(Event::Incoming(Packet::SubAck(ack))) => {
            for (i, code) in ack.return_codes.iter().enumerate() {
                if *code == SubscribeReasonCode::Failure {
                    let filter = settings.filters.get(i).map(|(f, _)| f.as_str());
                    ctx.report_error(&format!(
                        "the broker at {addr} refused the subscription to {filter:?}"
                    ));
                }
            }
        }
        Ok(_) => {}
        Err(e) => {
            ctx.report_error(&format!(
                "MQTT connection to {addr}: {e}; reconnecting in {backoff:?}"
            ));
            pause(*backoff, stop);
            *backoff = (*backoff * 2).min(Duration::from_secs(5));
        }
    }
    !stop.load(Ordering::Acquire)
}
