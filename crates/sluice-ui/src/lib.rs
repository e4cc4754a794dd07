//! # sluice-ui
//!
//! The Streaming UI of a Sluice job, after Spark's Streaming tab, served by the job itself:
//!
//! - a web page (`/`) with the batch interval, uptime, completed batches and records; timelines
//!   and histograms of input rate, scheduling delay, processing time (with the batch interval
//!   drawn as a reference line) and total delay over the retained batches; tables of active
//!   and completed batches; receivers with their status and last error. It updates itself
//!   every second, without a reload, and needs nothing from the internet: every asset is
//!   compiled into the binary, and the charts are plain SVG drawn by a few lines of script.
//! - a batch page (`/batch?time=…`) with each output operation's duration, status and error;
//! - a REST API following Spark's streaming status API: `/api/v1/streaming/statistics`,
//!   `/batches`, `/batches/{time}`, `/receivers`;
//! - `/metrics` in Prometheus' text format.
//!
//! ```no_run
//! use sluice_streaming::{StreamingContext, time::seconds};
//! use sluice_ui::{UiConfig, UiServer};
//! let ctx = sluice_core::Context::local(2).unwrap();
//! let ssc = StreamingContext::new(&ctx, seconds(1)).unwrap();
//! // ... build the job ...
//! let ui = UiServer::start(&ssc, &UiConfig::default()).unwrap();
//! println!("UI at {}", ui.url());
//! ```
//!
//! Memory stays flat on long runs: the model keeps the last `retained_batches` (1000) batches
//! and fixed-size histograms.

#![warn(unreachable_pub)]

pub mod metrics;
pub mod model;
mod serve;
pub mod server;

pub use server::{UiConfig, UiServer};
