//! `queue_stream`: each batch takes RDDs from a queue the program fills (Spark's
//! `queueStream`). Not replayable: after a crash the queue's contents are gone, so this source
//! is for tests and demos.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use sluice_core::{Data, Rdd, Result};

use crate::context::StreamingContext;
use crate::dstream::{DStream, StreamCompute};
use crate::listener::StreamInputInfo;
use crate::source::InputStream;
use crate::time::Time;

/// A shared queue of RDDs feeding a queue stream. Clone it to push from anywhere.
pub struct RddQueue<T: Data> {
    inner: Arc<Mutex<VecDeque<Rdd<T>>>>,
}

impl<T: Data> Clone for RddQueue<T> {
    fn clone(&self) -> Self {
        RddQueue {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: Data> Default for RddQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Data> RddQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        RddQueue {
            inner: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    /// Appends an RDD.
    pub fn push(&self, rdd: Rdd<T>) {
        self.inner.lock().push_back(rdd);
    }

    /// RDDs waiting.
    pub fn len(&self) -> usize {
        self.inner.lock().len()
    }

    /// Whether no RDD is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

struct QueueCompute<T: Data> {
    queue: RddQueue<T>,
    one_at_a_time: bool,
    /// Given to batches that find the queue empty.
    default: Rdd<T>,
}

impl<T: Data> StreamCompute<T> for QueueCompute<T> {
    fn compute(&self, _time: Time) -> Result<Option<Rdd<T>>> {
        let mut q = self.queue.inner.lock();
        let taken: Vec<Rdd<T>> = if self.one_at_a_time {
            q.pop_front().into_iter().collect()
        } else {
            q.drain(..).collect()
        };
        drop(q);
        Ok(Some(match taken.as_slice() {
            [] => self.default.clone(),
            [one] => one.clone(),
            many => self.default.context().union(many),
        }))
    }
}

struct QueueInput {
    id: usize,
}

impl InputStream for QueueInput {
    fn id(&self) -> usize {
        self.id
    }
    fn input_info(&self, _time: Time) -> Option<StreamInputInfo> {
        None
    }
}

impl StreamingContext {
    /// A stream fed from a queue of RDDs: each batch takes one RDD (`one_at_a_time`) or all
    /// queued RDDs (their union); when the queue is empty, the batch gets `default` or an
    /// empty RDD.
    pub fn queue_stream<T: Data>(
        &self,
        queue: &RddQueue<T>,
        one_at_a_time: bool,
        default: Option<Rdd<T>>,
    ) -> DStream<T> {
        let default = default.unwrap_or_else(|| self.context().empty());
        let stream = DStream::new_node(
            self.env(),
            "queue_stream",
            self.batch_interval(),
            vec![],
            std::time::Duration::ZERO,
            QueueCompute {
                queue: queue.clone(),
                one_at_a_time,
                default,
            },
        );
        self.env()
            .register_input(Arc::new(QueueInput { id: stream.id() }));
        stream
    }
}
