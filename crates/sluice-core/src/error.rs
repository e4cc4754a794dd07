//! The engine's error type.
//!
//! Every fallible call in Sluice returns [`Result<T>`]. Errors carry enough context to act on
//! them: the configuration key and value that were rejected, the path that could not be read,
//! the RDD, stage and partition of a task that kept failing — and they keep their cause
//! ([`std::error::Error::source`]): a failed batch holds the error of its output operation,
//! a failed job the error of its task's last attempt, an I/O error the `io::Error`.
//!
//! `?` works inside user functions on I/O errors and on any boxed error:
//!
//! ```
//! use sluice_core::{Error, Result};
//! fn read(path: &str) -> Result<String> {
//!     Ok(std::fs::read_to_string(path)?)
//! }
//! let e = read("/no/such/file").unwrap_err();
//! assert!(std::error::Error::source(&e).is_some());
//! fn parse(s: &str) -> Result<i32> {
//!     s.parse::<i32>().map_err(Error::other)
//! }
//! assert!(parse("x").is_err());
//! ```

use std::path::PathBuf;

/// Shorthand for `std::result::Result<T, sluice_core::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Any error, boxed (what [`Error::Other`] holds).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value was rejected.
    #[error("invalid configuration {key} = {value:?}: {reason}")]
    Config {
        /// The configuration key.
        key: String,
        /// The value that was given.
        value: String,
        /// Why it was rejected.
        reason: String,
    },

    /// An argument to an operation was invalid (for example zero partitions).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// An I/O operation on a path failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("reading", "creating directory", ...).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// An input path (file, directory or glob) matched nothing.
    #[error("input path does not exist or matches no file: {0}")]
    InputNotFound(String),

    /// An output path that must not exist already exists.
    #[error("output path already exists: {0}")]
    OutputExists(PathBuf),

    /// A text input was not valid UTF-8.
    #[error("invalid UTF-8 in {path} in the line starting at byte {offset}")]
    InvalidUtf8 {
        /// The file.
        path: PathBuf,
        /// Byte offset of the start of the offending line.
        offset: u64,
    },

    /// Serialising or deserialising a value failed.
    #[error("serialization failed: {0}")]
    Serialization(String),

    /// A task failed on every attempt; the job was aborted.
    #[error(
        "job aborted: task for partition {partition} of stage {stage} ({rdd}) failed {attempts} \
         times; last failure: {message}"
    )]
    TaskFailed {
        /// The RDD the stage computes, as `Name[id]`.
        rdd: String,
        /// The stage id.
        stage: usize,
        /// The partition index.
        partition: usize,
        /// How many attempts were made.
        attempts: usize,
        /// The panic message or error of the last attempt.
        message: String,
        /// The error of the last attempt, when it returned one (not for a panic).
        #[source]
        cause: Option<Box<Error>>,
    },

    /// An operation is not allowed in the current state (for example adding a stream to a
    /// started streaming context).
    #[error("illegal state: {0}")]
    IllegalState(String),

    /// An output operation of a batch failed.
    #[error("batch {batch_time_ms} ms: output operation {output_op} failed: {message}")]
    BatchFailed {
        /// The batch time in milliseconds.
        batch_time_ms: i64,
        /// The output operation's id and name.
        output_op: String,
        /// The failure.
        message: String,
        /// The output operation's error, when it returned one (not for a panic).
        #[source]
        cause: Option<Box<Error>>,
    },

    /// A checkpoint could not be read or does not fit the job.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint file or directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// A user function reported an error.
    #[error("{0}")]
    User(String),

    /// An external system (a message broker, ...) failed or refused a request.
    #[error("{system}: {message}")]
    External {
        /// The system, e.g. `kafka`.
        system: &'static str,
        /// What failed, with the system's own reason.
        message: String,
    },

    /// An internal invariant was violated; this is a bug in Sluice.
    #[error("internal error: {0}")]
    Internal(String),

    /// Any other error, from a user function or a library it calls: what `?` makes of an
    /// `io::Error` or a boxed error.
    #[error("{0}")]
    Other(#[source] BoxError),
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Other(Box::new(e))
    }
}

impl From<BoxError> for Error {
    fn from(e: BoxError) -> Self {
        Error::Other(e)
    }
}

impl Error {
    /// Wraps any error as [`Error::Other`], keeping it as the source.
    pub fn other(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Other(Box::new(e))
    }

    /// Builds an [`Error::Io`] from an `std::io::Error`, the action and the path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Builds an [`Error::Config`].
    pub fn config(key: &str, value: &str, reason: impl Into<String>) -> Self {
        Error::Config {
            key: key.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
