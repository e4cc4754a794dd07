//! Checkpoints: the state of every stateful operator and what each source read, written so
//! that a job restarted from them continues exactly where it left off.
//!
//! - [`format`](mod@format): the framing every checkpoint file uses (magic, version, length, CRC-32) and
//!   atomic writes (temporary file, fsync, rename).
//! - [`manifest`]: what a checkpoint holds, and the pure planning of incremental checkpoints
//!   (which key groups get a full snapshot or a delta, which files can be deleted).
//! - [`names`]: the names of a checkpoint directory's files, built and parsed in one place.
//! - [`lock`]: the exclusive lock that keeps a second process out of a directory in use.
//! - [`files`]: where a checkpoint's files live — a locked local directory, or object storage
//!   (`s3://...`, with the `object-store` feature) — behind one small trait.
//! - [`store`]: reading and writing a checkpoint directory.
//! - `operator`: the checkpointed operator behind a key-group store.
//! - [`protocol`]: the protocol's decisions as pure functions (when a checkpoint is due,
//!   whether a stopping job needs one, whether a checkpoint fits the job).
//! - `checkpointer`: the protocol of one job — record a batch's input before it runs,
//!   checkpoint after it when due, at a graceful stop, and restore — doing the I/O around
//!   the decisions of [`protocol`].
//! - [`wal`]: the receivers' write-ahead log: group commit, the replay and cleaning
//!   decisions, torn tails.
//!
//! State is matched to operators by their names (`.set_name("counts")`), not by serialised code, so
//! a job whose code changed can restore its state; a checkpoint that cannot be restored fails
//! with a message saying which operator and what differs.

pub(crate) mod checkpointer;
pub mod files;
pub mod format;
pub mod lock;
pub mod manifest;
pub mod names;
#[cfg(feature = "object-store")]
pub mod object_files;
pub(crate) mod operator;
pub mod protocol;
pub mod store;
pub mod wal;
