//! The thread a receiver of this crate runs on (MQTT, ZeroMQ, Flume): started by the
//! receiver's `on_start`, told to stop and joined by its `on_stop`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sluice_core::Data;
use sluice_streaming::ReceiverContext;

/// A receiving thread and its stop flag.
#[derive(Default)]
pub(crate) struct ReceiverThread {
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl ReceiverThread {
    /// Runs `run(stop)` on a thread named `name`; a thread that cannot be started is reported
    /// to `ctx`.
    pub(crate) fn start<T: Data>(
        &self,
        name: &str,
        ctx: &ReceiverContext<T>,
        run: impl FnOnce(Arc<AtomicBool>) + Send + 'static,
    ) {
        self.stop.store(false, Ordering::Release);
        let stop = Arc::clone(&self.stop);
        match std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || run(stop))
        {
            Ok(handle) => *self.thread.lock() = Some(handle),
            Err(e) => ctx.report_error(&format!("cannot start the receiving thread: {e}")),
        }
    }

    /// Tells the thread to stop and waits for it.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

/// Sleeps up to `d`, waking early when `stop` is set.
#[cfg_attr(not(feature = "mqtt"), allow(dead_code))]
pub(crate) fn pause(d: Duration, stop: &AtomicBool) {
    let deadline = Instant::now() + d;
    while Instant::now() < deadline && !stop.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(10));
    }
}
