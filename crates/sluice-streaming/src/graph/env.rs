//! [`StreamEnv`]: what every node of a streaming program shares.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};
use sluice_core::{Context, Error, Result};

use super::{CheckpointedOperator, DStreamBase, Graph, InputStream, OutputStream, WatermarkReport};
use crate::clock::Clock;
use crate::conf::StreamingSettings;
use crate::listener::{ListenerBus, StreamingEvent};
use crate::time::Time;

/// The engine context, the batch interval, the clock, the settings, the listener bus and the
/// graph of one streaming program. Streams and sources hold an `Arc` of it; the streaming
/// context owns the lifecycle around it.
pub(crate) struct StreamEnv {
    pub ctx: Context,
    pub batch_interval: Duration,
    pub clock: Arc<dyn Clock>,
    pub settings: StreamingSettings,
    pub bus: Arc<ListenerBus>,
    graph: Mutex<Graph>,
    /// Set by `start`: the graph takes no new nodes.
    sealed: AtomicBool,
    /// The first batch time (set by `start`).
    start_time: Mutex<Option<Time>>,
    /// The checkpoint directory, when checkpointing (receivers keep their logs under it).
    checkpoint_path: Mutex<Option<PathBuf>>,
    next_stream: AtomicUsize,
    next_output: AtomicUsize,
}

impl StreamEnv {
    pub(crate) fn new(
        ctx: Context,
        batch_interval: Duration,
        clock: Arc<dyn Clock>,
        settings: StreamingSettings,
    ) -> StreamEnv {
        StreamEnv {
            ctx,
            batch_interval,
            clock,
            settings,
            bus: Arc::new(ListenerBus::new()),
            graph: Mutex::new(Graph::default()),
            sealed: AtomicBool::new(false),
            start_time: Mutex::new(None),
            checkpoint_path: Mutex::new(None),
            next_stream: AtomicUsize::new(0),
            next_output: AtomicUsize::new(0),
        }
    }

    pub(crate) fn next_stream_id(&self) -> usize {
        self.next_stream.fetch_add(1, Ordering::Relaxed)
    }
    pub(crate) fn next_output_id(&self) -> usize {
        self.next_output.fetch_add(1, Ordering::Relaxed)
    }
    pub(crate) fn register_stream(&self, s: Arc<dyn DStreamBase>) {
        self.graph.lock().streams.push(s);
    }
    pub(crate) fn register_input(&self, s: Arc<dyn InputStream>) {
        self.graph.lock().inputs.push(s);
    }
    pub(crate) fn register_output(&self, o: Arc<dyn OutputStream>) {
        self.graph.lock().outputs.push(o);
    }
    pub(crate) fn register_operator(&self, o: Arc<dyn CheckpointedOperator>) {
        self.graph.lock().operators.push(o);
    }
    pub(crate) fn register_watermark(&self, w: Arc<dyn WatermarkReport>) {
        self.graph.lock().watermarks.push(w);
    }

    /// The graph, locked (hold it briefly: never across a call into a node).
    pub(crate) fn graph(&self) -> MutexGuard<'_, Graph> {
        self.graph.lock()
    }
    /// A copy of the graph's node lists, to call into the nodes without the lock.
    pub(crate) fn snapshot(&self) -> Graph {
        self.graph.lock().clone()
    }
    /// Forgets every node (breaks the cycle nodes → env → graph → nodes).
    pub(crate) fn clear(&self) {
        *self.graph.lock() = Graph::default();
    }

    /// Refuses new nodes from now on.
    pub(crate) fn seal(&self) {
        self.sealed.store(true, Ordering::Release);
    }
    /// Checks that the graph still takes new nodes (the context has not started).
    pub(crate) fn check_can_add(&self) -> Result<()> {
        if self.sealed.load(Ordering::Acquire) {
            return Err(Error::IllegalState(
                "adding new inputs, transformations and output operations after starting a \
                 streaming context is not supported"
                    .into(),
            ));
        }
        Ok(())
    }

    pub(crate) fn set_start_time(&self, start: Time) {
        *self.start_time.lock() = Some(start);
    }
    /// The first batch time (set by `start`).
    pub(crate) fn start_time(&self) -> Option<Time> {
        *self.start_time.lock()
    }
    /// The time before the first batch (set by `start`).
    pub(crate) fn zero_time(&self) -> Option<Time> {
        self.start_time().map(|s| s - self.batch_interval)
    }

    pub(crate) fn set_checkpoint_path(&self, path: PathBuf) {
        *self.checkpoint_path.lock() = Some(path);
    }
    /// The checkpoint directory, when checkpointing.
    pub(crate) fn checkpoint_path(&self) -> Option<PathBuf> {
        self.checkpoint_path.lock().clone()
    }

    pub(crate) fn post(&self, e: StreamingEvent) {
        self.bus.post(e);
    }
}
