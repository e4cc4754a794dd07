//! What event-time operators report about themselves, for the context to list.

/// An operator with a watermark, as the streaming context lists it.
pub(crate) trait WatermarkReport: Send + Sync {
    /// The operator's name (its stream's).
    fn name(&self) -> String;
    /// The watermark the next batch closes windows by, ms.
    fn watermark_ms(&self) -> i64;
    /// Records dropped because they were late.
    fn late_records(&self) -> u64;
    /// Entries held in state.
    fn state_size(&self) -> usize;
}
