//! Delta Lake output (feature `delta`): [`DeltaStreamExt::save_as_delta`] writes each batch's
//! records as Parquet files (the same writer as the Parquet sink: Hive partitions, codec,
//! target size) and adds them to a Delta table in one commit per batch, carrying an
//! application transaction (`txn`: app id = the sink's name, version = the batch time). A batch
//! replayed after a crash finds its version committed and is skipped, so every batch is in the
//! table exactly once. The table is created on the first batch's registration when missing,
//! with the records' schema and the partition columns; an existing table whose schema differs
//! from the records' is refused before the first batch.
//!
//! The commit goes through the `deltalake` crate (without DataFusion): its log store writes
//! `_delta_log/<version>.json` with a put that fails if the version exists, so two writers
//! never both commit one version. On S3 that put is conditional, as for the file-sink log.

use std::collections::HashMap;
use std::future::IntoFuture;
use std::sync::{Arc, Once};

use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add, StructType, Transaction};
use deltalake::logstore::{
    default_logstore, logstore_factories, LogStoreFactory, LogStoreRef, ObjectStoreRef,
    StorageConfig,
};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::Data;
use sluice_streaming::DStream;
use url::Url;

use crate::error::TableError;
use crate::partition;
use crate::runtime::block_on;
use crate::sink::{write_batch, ParquetOptions};
use crate::spark_log::SinkFileStatus;
use sluice_storage::Location;

/// Delta output of a stream.
pub trait DeltaStreamExt<T> {
    /// Writes each batch's records to the Delta table at `url` (a path, `file://` or `s3://`)
    /// in one commit per batch, exactly once (see the module). `name` is the sink's application
    /// id in the table's transactions: keep it when the job restarts. The files are laid out as
    /// `options` says (partition columns, codec, target size).
    fn save_as_delta(
        &self,
        url: &str,
        name: &str,
        options: ParquetOptions,
    ) -> sluice_core::Result<()>;
}

impl<T: Data + Serialize + DeserializeOwned> DeltaStreamExt<T> for DStream<T> {
    fn save_as_delta(
        &self,
        url: &str,
        name: &str,
        options: ParquetOptions,
    ) -> sluice_core::Result<()> {
        if name.is_empty() {
            return Err(TableError::InvalidArgument("a Delta sink needs a name".into()).into());
        }
        let layout = Arc::new(options.layout::<T>(url)?);
        let table = open_or_create(&layout.loc, layout.schema.arrow(), &layout.partition_by)?;
        let sink = Arc::new(Sink {
            table: parking_lot::Mutex::new(table),
            txn: parking_lot::Mutex::new(None),
            loc: layout.loc.clone(),
            app_id: name.to_string(),
            partition_by: layout.partition_by.clone(),
        });
        self.foreach_rdd(move |rdd, time| {
            let t = time.millis();
            if sink.committed(t)? {
                return Ok(());
            }
            let files = write_batch(&layout, &rdd, t)?;
            sink.commit(t, &files)?;
            Ok(())
        })
    }
}

struct Sink {
    table: parking_lot::Mutex<DeltaTable>,
    /// The sink's transaction version in the table, read once (the first batch after the job
    /// starts) and then kept up to date by the sink's own commits.
    txn: parking_lot::Mutex<Option<Option<i64>>>,
    loc: Location,
    app_id: String,
    partition_by: Vec<String>,
}

fn delta_err(url: &str, e: DeltaTableError) -> TableError {
    TableError::Delta {
        url: url.to_string(),
        source: Box::new(e),
    }
}

impl Sink {
    /// Whether the batch at `t` is committed already: the sink's transaction version in the
    /// table is at or after it. The table is read for it once; later batches know it from
    /// their own commits (a concurrent writer with the same app id is not supported).
    fn committed(&self, t: i64) -> Result<bool, TableError> {
        let mut txn = self.txn.lock();
        let version = match *txn {
            Some(v) => v,
            None => {
                let url = self.loc.as_str();
                let mut table = self.table.lock();
                let v = block_on(async {
                    table.update_incremental(None).await?;
                    let log = table.log_store();
                    table
                        .snapshot()?
                        .transaction_version(log.as_ref(), &self.app_id)
                        .await
                })?
                .map_err(|e| delta_err(url, e))?;
                *txn.insert(v)
            }
        };
        Ok(version.is_some_and(|v| v >= t))
    }

    /// One commit: the files as `add` actions, and the sink's transaction at version `t`.
    fn commit(&self, t: i64, files: &[SinkFileStatus]) -> Result<(), TableError> {
        let url = self.loc.as_str();
        let mut actions = Vec::with_capacity(files.len());
        for f in files {
            let path = self
                .loc
                .path_of_url(&f.path)
                .and_then(|p| {
                    self.loc.relative(&p).map(|parts| {
                        parts
                            .iter()
                            .map(|s| s.as_ref().to_string())
                            .collect::<Vec<_>>()
                    })
                })
                .ok_or_else(|| {
                    TableError::InvalidArgument(format!("{} is outside the table", f.path))
                })?;
            let dirs: Vec<&str> = path[..path.len().saturating_sub(1)]
                .iter()
                .map(String::as_str)
                .collect();
            let partition_values: HashMap<String, Option<String>> =
                partition::parse_dirs(&dirs).into_iter().collect();
            actions.push(Action::Add(Add {
                path: path
                    .iter()
                    .map(|s| encode_path_segment(s))
                    .collect::<Vec<_>>()
                    .join("/"),
                partition_values,
                size: f.size as i64,
                modification_time: f.modification_time,
                data_change: true,
                stats: None,
                tags: None,
                deletion_vector: None,
                base_row_id: None,
                default_row_commit_version: None,
                clustering_provider: None,
            }));
        }
        let operation = DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: (!self.partition_by.is_empty()).then(|| self.partition_by.clone()),
            predicate: None,
        };
        let mut table = self.table.lock();
        let committed = block_on(async {
            let snapshot = table.snapshot()?;
            let log = table.log_store();
            CommitBuilder::from(
                CommitProperties::default()
                    .with_application_transaction(Transaction::new(&self.app_id, t)),
            )
            .with_actions(actions)
            .build(Some(snapshot), log, operation)
            .await?;
            table.update_incremental(None).await
        });
        drop(table);
        committed?.map_err(|e| delta_err(url, e))?;
        *self.txn.lock() = Some(Some(t));
        Ok(())
    }
}

/// A path segment as a relative URI's segment, as Delta's `add.path` holds it: characters
/// outside `[A-Za-z0-9-_.~=]` percent-encoded (a Hive escape `%2F` on disk is `%252F` here).
fn encode_path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'=') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The log store of S3 tables: Delta's default one (its commits are puts that fail if the
/// version exists: conditional puts on S3).
#[derive(Debug)]
struct S3LogStores;

impl LogStoreFactory for S3LogStores {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> deltalake::DeltaResult<LogStoreRef> {
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

fn register_s3() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for scheme in ["s3://", "s3a://"] {
            if let Ok(u) = Url::parse(scheme) {
                if logstore_factories().get(&u).is_none() {
                    logstore_factories().insert(u, Arc::new(S3LogStores));
                }
            }
        }
    });
}

/// The table at `loc`, created with `schema` and `partition_by` if it does not exist; an
/// error if it exists with another schema or other partition columns.
fn open_or_create(
    loc: &Location,
    schema: &arrow_schema::SchemaRef,
    partition_by: &[String],
) -> Result<DeltaTable, TableError> {
    register_s3();
    let url_text = loc.as_str();
    let url = loc.table_url()?;
    let wanted: StructType =
        schema
            .as_ref()
            .try_into_kernel()
            .map_err(|source| TableError::Arrow {
                what: "the records' schema as a Delta schema".into(),
                source,
            })?;
    let mut table = DeltaTableBuilder::from_url(url.clone())
        .and_then(|b| {
            b.with_storage_backend(loc.root_store(), url.clone())
                .build()
        })
        .map_err(|e| delta_err(url_text, e))?;
    let loaded = block_on(table.load())?;
    match loaded {
        Ok(()) => {
            let snapshot = table.snapshot().map_err(|e| delta_err(url_text, e))?;
            let have = snapshot.schema();
            check_schema(url_text, &have, &wanted)?;
            let parts = snapshot.metadata().partition_columns().to_vec();
            if parts != partition_by {
                return Err(TableError::Location {
                    url: url_text.to_string(),
                    reason: format!(
                        "the Delta table is partitioned by {parts:?}, the sink by {partition_by:?}"
                    ),
                });
            }
            Ok(table)
        }
        Err(DeltaTableError::NotATable(_)) => block_on(
            table
                .create()
                .with_columns(wanted.fields().cloned())
                .with_partition_columns(partition_by.to_vec())
                .with_save_mode(SaveMode::Ignore)
                .into_future(),
        )?
        .map_err(|e| delta_err(url_text, e)),
        Err(e) => Err(delta_err(url_text, e)),
    }
}

/// An error naming the first column that differs between the table's schema and the records'.
fn check_schema(url: &str, have: &StructType, wanted: &StructType) -> Result<(), TableError> {
    let names = |s: &StructType| s.fields().map(|f| f.name().clone()).collect::<Vec<_>>();
    let mismatch = |reason: String| TableError::Location {
        url: url.to_string(),
        reason: format!("the Delta table's schema does not match the records': {reason}"),
    };
    for f in wanted.fields() {
        match have.field(f.name()) {
            None => {
                return Err(mismatch(format!(
                    "no column {:?} in the table (its columns: {})",
                    f.name(),
                    names(have).join(", ")
                )))
            }
            Some(h) if h.data_type() != f.data_type() => {
                return Err(mismatch(format!(
                    "column {:?} is {} in the table, {} in the records",
                    f.name(),
                    h.data_type(),
                    f.data_type()
                )))
            }
            Some(h) if !h.is_nullable() && f.is_nullable() => {
                return Err(mismatch(format!(
                    "column {:?} is not nullable in the table, nullable in the records",
                    f.name()
                )))
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = have.fields().find(|h| wanted.field(h.name()).is_none()) {
        return Err(mismatch(format!(
            "the table has column {:?}, the records do not",
            extra.name()
        )));
    }
    Ok(())
}
