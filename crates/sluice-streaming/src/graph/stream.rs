//! [`DStreamBase`]: a stream as the graph sees it, whatever its element type.

use std::sync::Arc;
use std::time::Duration;

use sluice_core::Result;

use crate::time::Time;

/// The type-erased view of a stream that the graph works with.
pub trait DStreamBase: Send + Sync {
    /// The stream's id within its streaming context.
    fn id(&self) -> usize;
    /// The stream's name (the operation that made it, or the name given with `name`).
    fn name(&self) -> String;
    /// The interval between this stream's RDDs.
    fn slide(&self) -> Duration;
    /// The streams this one reads.
    fn parents(&self) -> Vec<Arc<dyn DStreamBase>>;
    /// How long generated RDDs are kept.
    fn remember(&self) -> Duration;
    /// Raises the remember duration to at least `d`, and the parents' to what this stream
    /// needs of them.
    fn require_remember(&self, d: Duration);
    /// Sets the zero time (the time before the first batch).
    fn set_zero_time(&self, zero: Time);
    /// Drops generated RDDs older than the remember duration at batch `time`.
    fn clear_metadata(&self, time: Time);
    /// Times of the RDDs currently remembered.
    fn remembered_times(&self) -> Vec<Time>;
    /// Whether the program gave the stream a name.
    fn is_named(&self) -> bool;
    /// The checkpoint interval the program asked of this stream
    /// ([`DStream::checkpoint`](crate::DStream::checkpoint)), if any.
    fn checkpoint_interval(&self) -> Option<Duration>;
    /// Computes (and memoises) the stream's RDD for `time` while the batch is generated, so
    /// that its sources fix what they read — and record it — before the batch runs.
    fn prepare(&self, time: Time) -> Result<()>;
}
