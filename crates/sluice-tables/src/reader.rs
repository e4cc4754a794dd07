//! Reading Parquet tables back as RDDs of typed records: [`ParquetContextExt::read_parquet`].
//!
//! A directory with Spark's file-sink log (`_spark_metadata/`) is read through the log, as
//! Spark reads it: exactly the committed files. Otherwise every `.parquet` file under the
//! directory is read, leaving out names starting with `_` or `.`. Hive-style partition
//! directories (`col=value/`) give their columns back to the records, cast to the type the
//! record's field has.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::ObjectStoreExt;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::de::DeserializeOwned;
use sluice_core::{Context, Data, Rdd};

use crate::error::{Result, TableError};
use crate::partition;
use crate::records::TableSchema;
use crate::runtime::block_on;
use crate::spark_log::SinkLog;
use sluice_storage::Location;

/// Reading Parquet tables.
pub trait ParquetContextExt {
    /// The records of the Parquet table at `url` (a path, `file://` or `s3://`), one partition
    /// per file.
    fn read_parquet<T: Data + DeserializeOwned>(&self, url: &str) -> sluice_core::Result<Rdd<T>>;
}

impl ParquetContextExt for Context {
    fn read_parquet<T: Data + DeserializeOwned>(&self, url: &str) -> sluice_core::Result<Rdd<T>> {
        let loc = Location::existing(url).map_err(TableError::from)?;
        let schema = TableSchema::of::<T>()?;
        let files = table_files(&loc)?;
        if files.is_empty()
            && loc.is_object_store()
            && SinkLog::new(loc.clone()).latest()?.is_none()
        {
            // An object store has no directories: nothing under the prefix is a missing table.
            return Err(TableError::Location {
                url: url.to_string(),
                reason: "no Parquet files under this prefix".into(),
            }
            .into());
        }
        Ok(files_rdd(self, &loc, &schema, files))
    }
}

/// The records of the given files of the table at `loc`, one partition per file.
pub(crate) fn files_rdd<T: Data + DeserializeOwned>(
    ctx: &Context,
    loc: &Location,
    schema: &TableSchema,
    files: Vec<Path>,
) -> Rdd<T> {
    let n = files.len().max(1);
    let (l2, s2) = (loc.clone(), schema.clone());
    ctx.parallelize(files, n)
        .try_map_partitions_with_index(false, move |_, paths: Vec<Path>| {
            let mut out = Vec::new();
            for p in paths {
                out.extend(read_file::<T>(&l2, &s2, &p)?);
            }
            Ok(out)
        })
}

/// The data files of the table at `loc`, sorted.
pub(crate) fn table_files(loc: &Location) -> Result<Vec<Path>> {
    let log = SinkLog::new(loc.clone());
    if log.latest()?.is_some() {
        let mut out = Vec::new();
        for f in log.all_files()? {
            match loc.path_of_url(&f.path) {
                Some(p) => out.push(p),
                None => {
                    return Err(TableError::Log {
                        url: loc.as_str().to_string(),
                        reason: format!("entry {} is not a file of this table's store", f.path),
                    })
                }
            }
        }
        out.sort();
        return Ok(out);
    }
    let store = loc.store().clone();
    let root = loc.root().clone();
    let listed: Vec<object_store::ObjectMeta> = block_on(async {
        store.list(Some(&root)).try_collect().await
    })?
    .map_err(|source| TableError::Storage {
        action: "listing",
        url: loc.as_str().to_string(),
        source,
    })?;
    let mut out: Vec<Path> = listed
        .into_iter()
        .map(|m| m.location)
        .filter(|p| {
            let parts = loc.relative(p).unwrap_or_default();
            !parts.is_empty()
                && parts.iter().all(|s| {
                    let s = s.as_ref();
                    !s.starts_with('_') && !s.starts_with('.')
                })
                && parts
                    .last()
                    .is_some_and(|s| s.as_ref().ends_with(".parquet"))
        })
        .collect();
    out.sort();
    Ok(out)
}

fn read_file<T: DeserializeOwned>(
    loc: &Location,
    schema: &TableSchema,
    path: &Path,
) -> Result<Vec<T>> {
    let url = loc.url_of(path);
    let store = loc.store().clone();
    let bytes = block_on(async { store.get(path).await?.bytes().await })?.map_err(|source| {
        TableError::Storage {
            action: "reading",
            url: url.clone(),
            source,
        }
    })?;
    let parquet_err = |source| TableError::Parquet {
        url: url.clone(),
        source,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(parquet_err)?
        .build()
        .map_err(parquet_err)?;
    let parts = loc.relative(path).unwrap_or_default();
    let dirs: Vec<&str> = parts
        .iter()
        .take(parts.len().saturating_sub(1))
        .map(|p| p.as_ref())
        .collect();
    let partition_values = partition::parse_dirs(&dirs);
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|source| TableError::Arrow {
            what: format!("reading {url}"),
            source,
        })?;
        let batch = with_partition_columns(batch, &partition_values, schema, &url)?;
        out.extend(
            serde_arrow::from_record_batch::<Vec<T>>(&batch).map_err(|source| {
                TableError::Schema {
                    context: Some(url.clone()),
                    source,
                }
            })?,
        );
    }
    Ok(out)
}

/// `batch` with the partition columns of its file's directories added, each cast to its type
/// in `schema` (a string where the schema does not have it).
fn with_partition_columns(
    batch: RecordBatch,
    values: &[(String, Option<String>)],
    schema: &TableSchema,
    url: &str,
) -> Result<RecordBatch> {
    if values.is_empty() {
        return Ok(batch);
    }
    let mut fields: Vec<Arc<Field>> = batch.schema().fields().iter().cloned().collect();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for (name, value) in values {
        if fields.iter().any(|f| f.name() == name) {
            continue;
        }
        let target = schema
            .arrow()
            .field_with_name(name)
            .map(|f| f.data_type().clone())
            .unwrap_or(DataType::Utf8);
        let text: ArrayRef = Arc::new(StringArray::from(vec![value.as_deref(); batch.num_rows()]));
        let col = arrow_cast::cast(&text, &target).map_err(|source| TableError::Arrow {
            what: format!("partition value {name}={value:?} of {url} as {target}"),
            source,
        })?;
        fields.push(Arc::new(Field::new(
            name,
            target,
            col.null_count() > 0 || value.is_none(),
        )));
        columns.push(col);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|source| {
        TableError::Arrow {
            what: format!("the partition columns of {url}"),
            source,
        }
    })
}
