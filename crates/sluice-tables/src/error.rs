//! The errors of the tables layer: each names what it was doing (the URL, the column, the
//! batch) and keeps its cause.

use thiserror::Error;

/// A failure of the tables layer.
#[derive(Debug, Error)]
pub enum TableError {
    /// A location (a path or URL) could not be used.
    #[error("location {url}: {reason}")]
    Location {
        /// The path or URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// Object storage failed (after its retries).
    #[error("{action} {url}: {source}")]
    Storage {
        /// What was being done ("writing", "listing", ...).
        action: &'static str,
        /// The object's URL.
        url: String,
        /// The storage's own error.
        #[source]
        source: object_store::Error,
    },
    /// Records did not fit the table's schema (a `None` in a non-nullable column, a value out of
    /// a decimal's range, a type the schema cannot take).
    #[error("records do not fit the schema{}: {source}", context.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Schema {
        /// The batch or file involved, where known.
        context: Option<String>,
        /// The converter's error, which names the field.
        #[source]
        source: serde_arrow::Error,
    },
    /// Parquet encoding or decoding failed.
    #[error("parquet {url}: {source}")]
    Parquet {
        /// The file.
        url: String,
        /// Parquet's own error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Arrow failed on a computation (a partition value that does not cast to its column's type,
    /// ...).
    #[error("{what}: {source}")]
    Arrow {
        /// What was being computed.
        what: String,
        /// Arrow's own error.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// A file of Spark's sink log is not what the log holds (truncated, foreign, another version).
    #[error("file-sink log {url}: {reason}")]
    Log {
        /// The log file.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Delta Lake refused or failed an operation.
    #[cfg(feature = "delta")]
    #[error("delta table {url}: {source}")]
    Delta {
        /// The table.
        url: String,
        /// The deltalake crate's error.
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },
    /// A task's error, shared (a task hands its failure to the driver as a value).
    #[error(transparent)]
    InTask(std::sync::Arc<TableError>),
    /// The storage runtime could not be started.
    #[error("storage runtime: {0}")]
    Runtime(String),
    /// An argument was invalid (an unknown partition column, a zero file size, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl From<TableError> for sluice_core::Error {
    fn from(e: TableError) -> Self {
        sluice_core::Error::other(e)
    }
}

/// The tables layer's result.
pub type Result<T, E = TableError> = std::result::Result<T, E>;

impl From<sluice_storage::StorageError> for TableError {
    fn from(e: sluice_storage::StorageError) -> Self {
        match e {
            sluice_storage::StorageError::Location { url, reason } => {
                TableError::Location { url, reason }
            }
            sluice_storage::StorageError::Runtime(r) => TableError::Runtime(r),
        }
    }
}
