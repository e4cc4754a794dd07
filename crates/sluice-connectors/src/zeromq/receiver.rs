//! The ZeroMQ receiving thread: a SUB or PULL socket on a single-threaded tokio runtime,
//! connected to every endpoint (retried with backoff until each answers), its messages
//! stored in groups, its connection events reported. A SUB socket reconnects to a lost peer
//! by itself; for PULL the receiver connects again to the endpoint the lost peer came from.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sluice_core::Data;
use sluice_streaming::{Receiver, ReceiverContext};
use zeromq::util::PeerIdentity;
use zeromq::{PullSocket, Socket, SocketEvent, SocketRecv, SubSocket, ZmqMessage};

use super::ZmqKind;
use crate::receiver_thread::ReceiverThread;

/// Turns a message's frames into records, or says why it cannot.
pub(super) type Decode<T> = Arc<dyn Fn(&[&[u8]]) -> Result<Vec<T>, String> + Send + Sync>;

/// Where to connect, and how.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) endpoints: Vec<String>,
    pub(super) kind: ZmqKind,
}

/// Messages stored together at most.
const MAX_GROUP: usize = 512;

/// The receiver behind [`super::zeromq_stream`].
pub(super) struct ZmqReceiver<T> {
    settings: Settings,
    decode: Decode<T>,
    thread: ReceiverThread,
}

impl<T> ZmqReceiver<T> {
    pub(super) fn new(settings: Settings, decode: Decode<T>) -> Self {
        ZmqReceiver {
            settings,
            decode,
            thread: ReceiverThread::default(),
        }
    }
}

impl<T: Data> Receiver<T> for ZmqReceiver<T> {
    fn on_start(&self, ctx: ReceiverContext<T>) {
        let (settings, decode) = (self.settings.clone(), Arc::clone(&self.decode));
        let c = ctx.clone();
        self.thread.start("sluice-zeromq", &ctx, move |stop| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match runtime {
                Ok(rt) => rt.block_on(receive(settings, decode, stop, c)),
                Err(e) => c.report_error(&format!("cannot start the ZeroMQ runtime: {e}")),
            }
        });
    }

    fn on_stop(&self) {
        self.thread.stop();
    }

    fn name(&self) -> String {
        let kind = match &self.settings.kind {
            ZmqKind::Sub(topics) => format!("sub[{}]", topics.join(",")),
            ZmqKind::Pull => "pull".to_string(),
        };
        format!("zeromq:{kind}:{}", self.settings.endpoints.join(","))
    }
}

/// Either socket kind, read the same way.
enum Sock {
    Sub(SubSocket),
    Pull(PullSocket),
}

impl Sock {
    async fn recv(&mut self) -> zeromq::ZmqResult<ZmqMessage> {
        match self {
            Sock::Sub(s) => s.recv().await,
            Sock::Pull(s) => s.recv().await,
        }
    }

    async fn connect(&mut self, endpoint: &str) -> zeromq::ZmqResult<()> {
        match self {
            Sock::Sub(s) => s.connect(endpoint).await,
            Sock::Pull(s) => s.connect(endpoint).await,
        }
    }

    fn monitor(&mut self) -> futures::channel::mpsc::Receiver<SocketEvent> {
        match self {
            Sock::Sub(s) => s.monitor(),
            Sock::Pull(s) => s.monitor(),
        }
    }
}

/// Sleeps up to `d`, waking early when `stop` is set.
async fn pause(d: Duration, stop: &AtomicBool) {
    let step = Duration::from_millis(10);
    let mut waited = Duration::ZERO;
    while waited < d && !stop.load(Ordering::Acquire) {
        tokio::time::sleep(step).await;
        waited += step;
    }
}

async fn receive<T: Data>(
    settings: Settings,
    decode: Decode<T>,
    stop: Arc<AtomicBool>,
    ctx: ReceiverContext<T>,
) {
    let mut socket = match &settings.kind {
        ZmqKind::Sub(topics) => {
            let mut s = SubSocket::new();
            for t in topics {
                if let Err(e) = s.subscribe(t).await {
                    ctx.report_error(&format!("subscribing to {t:?}: {e}"));
                }
            }
            Sock::Sub(s)
        }
        ZmqKind::Pull => Sock::Pull(PullSocket::new()),
    };
    let mut events = socket.monitor();
    for endpoint in &settings.endpoints {
        if !connect(&mut socket, endpoint, &stop, &ctx).await {
            return;
        }
    }
    let pull = matches!(settings.kind, ZmqKind::Pull);
    // Which endpoint each peer came from: a PULL socket does not reconnect by itself.
    let mut peers: HashMap<PeerIdentity, String> = HashMap::new();
    let max = ctx.max_line_bytes();
    let mut records: Vec<T> = Vec::new();
    while !stop.load(Ordering::Acquire) && !ctx.is_stopped() {
        tokio::select! {
            message = socket.recv() => match message {
                Ok(m) => {
                    take(m, &decode, &ctx, max, &mut records);
                    // What else has arrived goes into the same group.
                    let mut n = 1;
                    while n < MAX_GROUP {
                        match tokio::time::timeout(Duration::ZERO, socket.recv()).await {
                            Ok(Ok(m)) => take(m, &decode, &ctx, max, &mut records),
                            Ok(Err(e)) => {
                                ctx.report_error(&format!("receiving: {e}"));
                                break;
                            }
                            Err(_) => break,
                        }
                        n += 1;
                    }
                    if !records.is_empty()
                        && ctx.store_batch(std::mem::take(&mut records)).is_err()
                    {
                        return;
                    }
                }
                Err(e) => {
                    ctx.report_error(&format!("receiving: {e}"));
                    pause(Duration::from_millis(100), &stop).await;
                }
            },
            event = futures::StreamExt::next(&mut events) => match event {
                Some(SocketEvent::Connected(endpoint, peer)) => {
                    peers.insert(peer, endpoint.to_string());
                }
                Some(SocketEvent::Disconnected(peer)) => {
                    ctx.report_error(&format!("peer {peer:?} disconnected; reconnecting"));
                    if let (true, Some(endpoint)) = (pull, peers.remove(&peer)) {
                        if !connect(&mut socket, &endpoint, &stop, &ctx).await {
                            return;
                        }
                    }
                }
                Some(other) => report_event(&ctx, other),
                None => {}
            },
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

/// Decodes one message into `records`, or counts it as a bad record.
fn take<T: Data>(
    m: ZmqMessage,
    decode: &Decode<T>,
    ctx: &ReceiverContext<T>,
    max: usize,
    records: &mut Vec<T>,
) {
    let frames: Vec<&[u8]> = m.iter().map(|b| b.as_ref()).collect();
    let size: usize = frames.iter().map(|f| f.len()).sum();
    if size > max {
        ctx.report_bad_records(
            1,
            &format!(
                "a message of {size} bytes is longer than {max} bytes \
                 (sluice.streaming.receiver.maxLineBytes); skipped"
            ),
        );
        return;
    }
    match decode(&frames) {
        Ok(rs) => records.extend(rs),
        Err(why) => ctx.report_bad_records(1, &why),
    }
}

/// Connects to `endpoint`, retrying with backoff (reported) until it answers; `false` when
/// the receiver was stopped first.
async fn connect<T: Data>(
    socket: &mut Sock,
    endpoint: &str,
    stop: &AtomicBool,
    ctx: &ReceiverContext<T>,
) -> bool {
    let mut backoff = Duration::from_millis(100);
    loop {
        if stop.load(Ordering::Acquire) || ctx.is_stopped() {
            return false;
        }
        let attempt = tokio::time::timeout(Duration::from_secs(5), socket.connect(endpoint));
        match attempt.await {
            Ok(Ok(())) => return true,
            Ok(Err(e)) => ctx.report_error(&format!(
                "cannot connect to {endpoint}: {e}; retrying in {backoff:?}"
            )),
            Err(_) => ctx.report_error(&format!(
                "no answer from {endpoint} in 5 s; retrying in {backoff:?}"
            )),
        }
        pause(backoff, stop).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

fn report_event<T: Data>(ctx: &ReceiverContext<T>, event: SocketEvent) {
    match event {
        SocketEvent::ConnectRetried => ctx.report_error("reconnecting to a peer"),
        SocketEvent::CloseFailed => ctx.report_error("closing the socket failed"),
        _ => {}
    }
}
