//! The errors of the storage layer.

use thiserror::Error;

/// A location that cannot be used, or a runtime that cannot start.
#[derive(Debug, Error)]
pub enum StorageError {
    /// A location (a path or URL) could not be used.
    #[error("location {url}: {reason}")]
    Location {
        /// The path or URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The storage runtime could not be started.
    #[error("storage runtime: {0}")]
    Runtime(String),
}

/// The storage layer's result.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;
