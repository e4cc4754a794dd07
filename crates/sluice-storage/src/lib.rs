//! Sluice's storage layer: where the engine's files live.
//!
//! A [`Location`] is a local path (`/data/out`, `file:///data/out`) or an object-store URL
//! (`s3://bucket/prefix` with the `s3` feature, `az://container/prefix` with `azure`,
//! `gs://bucket/prefix` with `gcs`), resolved to an `object_store` store and a root
//! inside it. The tables (`sluice-tables`) write their files through it, and the streaming
//! checkpoints (`sluice-streaming` with its `object-store` feature) keep theirs there, so a job's
//! outputs and its checkpoint can both live in object storage. Requests run on one small
//! tokio runtime per process, entered from the engine's synchronous tasks with [`block_on`].

#[cfg(feature = "s3")]
mod aws_files;
mod error;
mod location;
mod runtime;

pub use error::{Result, StorageError};
pub use location::Location;
pub use object_store;
pub use runtime::block_on;
