//! Sluice's connectors to external systems.
//!
//! - `kafka` (cargo feature `kafka`): a direct stream with per-batch offset ranges and
//!   exactly-once recovery, rate control and backpressure, and a sink. It builds librdkafka
//!   from source, so it is kept behind a feature to keep a cold build of the engine quick.
//! - `mqtt` (cargo feature `mqtt`): a receiver subscribed to topic filters on an MQTT broker,
//!   acknowledging QoS 1 messages once stored.
//! - `zeromq` (cargo feature `zeromq`): a receiver on SUB or PULL sockets (the pure-Rust
//!   `zeromq` crate).
//! - `flume` (cargo feature `flume`): a receiver Flume's Avro sink pushes events to.

#![warn(unreachable_pub)]

#[cfg(any(feature = "mqtt", feature = "zeromq", feature = "flume"))]
mod receiver_thread;

#[cfg(feature = "kafka")]
pub mod kafka;

#[cfg(feature = "mqtt")]
pub mod mqtt;

#[cfg(feature = "zeromq")]
pub mod zeromq;

#[cfg(feature = "flume")]
pub mod flume;
