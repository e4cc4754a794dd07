//! Input sources. Each input stream is a [`DStream`] whose RDD for a batch comes
//! from outside the graph:
//!
//! - [`queue`]: a queue of RDDs pushed by the program (tests, demos; not replayable);
//! - [`rate`]: a generator of records at a fixed rate (the embedded default source; replayable);
//! - [`file`](mod@file): new files in a directory, by Spark's modification-time rules;
//! - [`receiver`]: the custom-receiver contract, with blocks and bounded buffers;
//! - [`socket`]: lines from a TCP server, a receiver;
//! - [`lines`]: cutting bytes into lines of bounded length.
//!
//! The contract every source meets is [`InputStream`] (with [`Replay`] for sources that
//! re-read their batches after a crash), defined with the graph; sources from other crates
//! implement [`InputSource`] and count what they skip with [`BadRecords`].

pub mod file;
pub mod lines;
#[cfg(feature = "object-store")]
mod object_listing;
pub mod queue;
pub mod rate;
pub mod receiver;
pub mod socket;

use std::sync::{Arc, OnceLock};

use sluice_core::{Data, Rdd};

pub use crate::bad_records::{BadRecordReport, BadRecords};
use crate::context::StreamingContext;
use crate::dstream::{DStream, StreamCompute};
pub use crate::graph::{BatchOutcome, InputStream, Replay, ReplayHooks};
use crate::listener::{InputErrorInfo, ListenerBus, StreamingEvent};
use crate::time::Time;

/// What a source defined outside this crate is told when it joins a graph: its stream id, and
/// a way to report errors it gets past to the listeners
/// ([`StreamingListener::on_input_error`](crate::StreamingListener::on_input_error)).
#[derive(Clone)]
pub struct InputBinding {
    id: usize,
    name: Arc<OnceLock<String>>,
    bus: Arc<ListenerBus>,
}

impl InputBinding {
    /// The stream's id.
    pub fn id(&self) -> usize {
        self.id
    }

    /// Reports an error the source got past (the `count`-th of its kind) to the listeners.
    pub fn report_error(&self, message: impl Into<String>, count: u64) {
        self.bus.post(StreamingEvent::InputError(InputErrorInfo {
            stream_id: self.id,
            name: self.name.get().cloned().unwrap_or_default(),
            message: message.into(),
            count,
        }));
    }
}

/// A source defined outside this crate (connectors): the input bookkeeping of
/// [`InputStream`] plus the computation of each batch's RDD.
///
/// Register one with [`StreamingContext::input_stream`]; the engine then calls
/// [`InputSource::bind`] once with the stream's id, [`InputStream::allocate`] when a batch is
/// generated and [`InputSource::compute`] for the batch's RDD.
pub trait InputSource<T: Data>: InputStream {
    /// Tells the source its stream id (returned by [`InputStream::id`] from then on) and how
    /// to report errors.
    fn bind(&self, binding: InputBinding);
    /// The RDD of batch `time` (`None`: the stream has no RDD for that time).
    fn compute(&self, time: Time) -> sluice_core::Result<Option<Rdd<T>>>;
}

struct SourceCompute<S>(Arc<S>);

impl<T: Data, S: InputSource<T> + 'static> StreamCompute<T> for SourceCompute<S> {
    fn compute(&self, time: Time) -> sluice_core::Result<Option<Rdd<T>>> {
        self.0.compute(time)
    }
}

impl StreamingContext {
    /// A stream whose batches come from `source` (see [`InputSource`]); `name` is the
    /// operation's name shown in the UI.
    pub fn input_stream<T: Data, S: InputSource<T> + 'static>(
        &self,
        name: &str,
        source: Arc<S>,
    ) -> sluice_core::Result<DStream<T>> {
        self.env().check_can_add()?;
        let stream = DStream::new_node(
            self.env(),
            name,
            self.batch_interval(),
            vec![],
            std::time::Duration::ZERO,
            SourceCompute(Arc::clone(&source)),
        );
        let name = Arc::new(OnceLock::new());
        source.bind(InputBinding {
            id: stream.id(),
            name: Arc::clone(&name),
            bus: Arc::clone(&self.env().bus),
        });
        let _ = name.set(source.name());
        self.env().register_input(source);
        Ok(stream)
    }
}
