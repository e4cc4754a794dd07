//! Tables for Sluice: typed records as Arrow record batches ([`TableSchema`]), Parquet files
//! with Hive-style partitions written by streams and RDDs ([`ParquetStreamExt`],
//! [`ParquetRddExt`]) and read back ([`ParquetContextExt`]), committed batch by batch in
//! Spark's file-sink log ([`spark_log`]) so that Spark reading the directory sees each batch
//! exactly once; Delta Lake tables with one commit per batch (feature `delta`,
//! [`DeltaStreamExt`]); on local disks and, with the `s3` feature, S3-compatible object storage
//! ([`Location`]).

mod error;
mod reader;
mod records;
mod runtime;
mod sink;
pub mod stream;
mod writer;

#[cfg(feature = "delta")]
mod delta;
pub mod partition;
pub mod spark_log;

#[cfg(feature = "delta")]
pub use delta::DeltaStreamExt;
pub use error::{Result, TableError};
pub use reader::ParquetContextExt;
pub use records::TableSchema;
pub use sink::{ParquetOptions, ParquetRddExt, ParquetStreamExt};
pub use sluice_storage::Location;
pub use stream::ParquetSourceExt;
pub use writer::Codec;
