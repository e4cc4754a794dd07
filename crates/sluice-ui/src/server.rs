//! The HTTP server: the web UI's pages and assets (all compiled into the binary), the REST
//! API, and `/metrics`. It runs on its own thread with a single-threaded async runtime and
//! holds only a weak handle on the streaming context.
//!
//! Connections have time limits ([`UiConfig::header_read_timeout`],
//! [`UiConfig::idle_timeout`]), and stopping the server waits for open connections at most
//! [`UiConfig::shutdown_timeout`] (2 s by default) before dropping them, so a slow or
//! half-open client never keeps the program from exiting.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use parking_lot::RwLock;
use sluice_analytics::monitor::ModelMonitor;
use sluice_core::{Error, Result};
use sluice_streaming::{StreamingContext, WeakStreamingContext};

use crate::metrics;
use crate::model::{Model, ModelListener, ReceiverSummary, WatermarkSummary};
use crate::serve::{self, Limits};

/// The default of [`UiConfig::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The default of [`UiConfig::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// The default of [`UiConfig::shutdown_timeout`].
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// Settings of the UI server.
#[derive(Debug, Clone)]
pub struct UiConfig {
    /// Whether to start it at all.
    pub enabled: bool,
    /// The first port to try (Spark's 4040); the next ones are tried when it is taken.
    pub port: u16,
    /// How many ports to try.
    pub port_attempts: u16,
    /// The address to bind (loopback by default: the UI is not reachable from elsewhere).
    pub bind: IpAddr,
    /// Completed batches kept for the UI and the API.
    pub retained_batches: usize,
    /// The longest a request head (request line and headers) may take to arrive, counted from
    /// when the server starts waiting for it: on a new connection, or after the previous
    /// response on a kept-alive one. A slower client's connection is closed. Default
    /// [`DEFAULT_HEADER_READ_TIMEOUT`] (10 s); must not be zero.
    pub header_read_timeout: Duration,
    /// A connection on which nothing is received or sent for this long while none of its
    /// requests is being handled is closed: a kept-alive connection waiting for its next
    /// request, or a client that stopped in the middle of a request or stopped reading its
    /// response. Default [`DEFAULT_IDLE_TIMEOUT`] (5 s; the page polls every second); must
    /// not be zero.
    pub idle_timeout: Duration,
    /// When the server stops, the longest it waits for open connections to finish their
    /// responses before it drops them. Default [`DEFAULT_SHUTDOWN_TIMEOUT`] (2 s).
    pub shutdown_timeout: Duration,
}

impl UiConfig {
    /// Reads `sluice.ui.enabled` (`true`), `sluice.ui.port` (`4040`), `sluice.ui.bind`
    /// (`127.0.0.1`) and `sluice.ui.retainedBatches` (`1000`) from a configuration.
    pub fn from_conf(conf: &sluice_core::Conf) -> Result<UiConfig> {
        let mut c = UiConfig::default();
        let bad = |k: &str, v: &str, why: &str| Error::config(k, v, why);
        for (k, v) in conf.iter() {
            match k {
                "sluice.ui.enabled" => {
                    c.enabled = v.parse().map_err(|_| bad(k, v, "expected true or false"))?
                }
                "sluice.ui.port" => {
                    c.port = v.parse().map_err(|_| bad(k, v, "expected a port number"))?
                }
                "sluice.ui.bind" => {
                    c.bind = v.parse().map_err(|_| bad(k, v, "expected an IP address"))?
                }
                "sluice.ui.retainedBatches" => {
                    c.retained_batches = v
                        .parse()
                        .ok()
                        .filter(|n: &usize| *n > 0)
                        .ok_or_else(|| bad(k, v, "expected a positive integer"))?
                }
                _ if k.starts_with("sluice.ui.") => {
                    return Err(bad(k, v, "unknown configuration key"))
                }
                _ => {}
            }
        }
        Ok(c)
    }
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            enabled: true,
            port: 4040,
            port_attempts: 16,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            retained_batches: 1000,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

/// A running UI server. [`stop`](UiServer::stop) or dropping it stops the server, waiting at
/// most [`UiConfig::shutdown_timeout`] for open connections.
pub struct UiServer {
    addr: SocketAddr,
    model: Arc<Model>,
    models: Models,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// The running models shown on the model pages.
type Models = Arc<RwLock<Vec<Arc<ModelMonitor>>>>;

#[derive(Clone)]
struct AppState {
    model: Arc<Model>,
    ssc: WeakStreamingContext,
    models: Models,
}

impl AppState {
    fn receivers(&self) -> Vec<sluice_streaming::ReceiverInfo> {
        self.ssc
            .upgrade()
            .map(|s| s.receivers())
            .unwrap_or_default()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

const INDEX: &str = include_str!("assets/index.html");
const BATCH: &str = include_str!("assets/batch.html");
const MODELS: &str = include_str!("assets/models.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/style.css");

fn asset(ctype: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, ctype)], body).into_response()
}

async fn statistics(State(s): State<AppState>) -> impl IntoResponse {
    Json(s.model.statistics(&s.receivers(), now_ms()))
}

async fn batches(State(s): State<AppState>) -> impl IntoResponse {
    Json(s.model.batches())
}

async fn batch(State(s): State<AppState>, Path(time): Path<String>) -> Response {
    match time.parse::<i64>().ok().and_then(|t| s.model.batch(t)) {
        Some(b) => Json(b).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            format!("no retained batch at {time}\n"),
        )
            .into_response(),
    }
}

async fn receivers(State(s): State<AppState>) -> impl IntoResponse {
    let r: Vec<ReceiverSummary> = s.receivers().iter().map(ReceiverSummary::from).collect();
    Json(r)
}

async fn watermarks(State(s): State<AppState>) -> impl IntoResponse {
    let w: Vec<WatermarkSummary> = s
        .ssc
        .upgrade()
        .map(|c| c.watermarks())
        .unwrap_or_default()
        .iter()
        .map(WatermarkSummary::from)
        .collect();
    Json(w)
}

/// A model and its watched keys.
#[derive(serde::Serialize)]
struct ModelSummary {
    name: String,
    keys: Vec<String>,
}

async fn models(State(s): State<AppState>) -> impl IntoResponse {
    let list: Vec<ModelSummary> = s
        .models
        .read()
        .iter()
        .map(|m| ModelSummary {
            name: m.name().to_string(),
            keys: m.keys(),
        })
        .collect();
    Json(list)
}

#[derive(serde::Deserialize)]
struct KeyQuery {
    key: String,
}

async fn model_trace(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<KeyQuery>,
) -> Response {
    let monitor = s.models.read().iter().find(|m| m.name() == name).cloned();
    match monitor.and_then(|m| m.trace(&q.key)) {
        Some(points) => Json(points).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            format!("no model {name:?} watching key {:?}\n", q.key),
        )
            .into_response(),
    }
}

async fn prometheus(State(s): State<AppState>) -> Response {
    let ssc = s.ssc.upgrade();
    let state = ssc.as_ref().map(|c| c.state_sizes()).unwrap_or_default();
    let watermarks = ssc.as_ref().map(|c| c.watermarks()).unwrap_or_default();
    let body = metrics::render(&s.model.totals(), &s.receivers(), &state, &watermarks);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/batch",
            get(|| async { asset("text/html; charset=utf-8", BATCH) }),
        )
        .route(
            "/models",
            get(|| async { asset("text/html; charset=utf-8", MODELS) }),
        )
        .route(
            "/static/app.js",
            get(|| async { asset("text/javascript", APP_JS) }),
        )
        .route(
            "/static/style.css",
            get(|| async { asset("text/css", STYLE) }),
        )
        .route("/api/v1/streaming/statistics", get(statistics))
        .route("/api/v1/streaming/batches", get(batches))
        .route("/api/v1/streaming/batches/{time}", get(batch))
        .route("/api/v1/streaming/receivers", get(receivers))
        .route("/api/v1/streaming/watermarks", get(watermarks))
        .route("/api/v1/models", get(models))
        .route("/api/v1/models/{name}", get(model_trace))
        .route("/metrics", get(prometheus))
        .with_state(state)
}

fn bind(config: &UiConfig) -> Result<TcpListener> {
    let mut last = None;
    for i in 0..config.port_attempts.max(1) {
        let port = config.port.saturating_add(i);
        match TcpListener::bind(SocketAddr::new(config.bind, port)) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some((port, e)),
        }
        if config.port == 0 {
            break;
        }
    }
    let (port, e) = last.ok_or_else(|| Error::Internal("no port tried".into()))?;
    Err(Error::Io {
        action: "binding the UI server to",
        path: format!("{}:{port}", config.bind).into(),
        source: e,
    })
}

impl UiServer {
    /// Starts the UI of `ssc` as its configuration says (`sluice.ui.*`); `None` when the
    /// configuration turns it off.
    pub fn start_from_conf(ssc: &StreamingContext) -> Result<Option<UiServer>> {
        let config = UiConfig::from_conf(ssc.context().conf())?;
        if !config.enabled {
            return Ok(None);
        }
        UiServer::start(ssc, &config).map(Some)
    }

    /// Starts the UI of `ssc` (register it before `ssc.start()` to see every batch).
    pub fn start(ssc: &StreamingContext, config: &UiConfig) -> Result<UiServer> {
        for (name, d) in [
            ("header_read_timeout", config.header_read_timeout),
            ("idle_timeout", config.idle_timeout),
        ] {
            if d.is_zero() {
                return Err(Error::InvalidArgument(format!(
                    "the UI's {name} must be longer than zero"
                )));
            }
        }
        let limits = Limits {
            header_read: config.header_read_timeout,
            idle: config.idle_timeout,
            shutdown: config.shutdown_timeout,
        };
        let model = Arc::new(Model::new(
            config.retained_batches,
            ssc.batch_interval(),
            now_ms(),
        ));
        ssc.add_listener(Arc::new(ModelListener(Arc::clone(&model))));
        let listener = bind(config)?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::Internal(format!("UI socket: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Internal(format!("UI socket: {e}")))?;
        let models: Models = Arc::default();
        let app = router(AppState {
            model: Arc::clone(&model),
            ssc: ssc.downgrade(),
            models: Arc::clone(&models),
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| Error::Internal(format!("UI runtime: {e}")))?;
        let thread = std::thread::Builder::new()
            .name("sluice-ui".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    serve::serve(listener, app, limits, rx).await;
                });
            })
            .map_err(|e| Error::Internal(format!("starting the UI thread: {e}")))?;
        Ok(UiServer {
            addr,
            model,
            models,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The UI's URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The model behind the pages.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// Shows a running lag model on the model pages (`/models`): per watched key, the series
    /// against the model's predictions with the alerts marked, and the coefficients over time.
    pub fn add_model(&self, monitor: Arc<ModelMonitor>) {
        self.models.write().push(monitor);
    }

    /// Stops the server: no new connections; open ones may finish their responses for at most
    /// [`UiConfig::shutdown_timeout`], then they are dropped. Returns once the server's thread
    /// has ended.
    pub fn stop(mut self) -> Result<()> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| Error::Internal("the UI server's thread panicked".into())),
            None => Ok(()),
        }
    }
}

impl Drop for UiServer {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}
