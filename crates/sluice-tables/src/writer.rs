//! Writing one task's records as Parquet files: converted to Arrow in chunks, split into their
//! Hive partitions, each partition's rows written to files that roll over at the target size,
//! each file put to the store whole. Returns the files' log entries; nothing is visible to a
//! reader through the log until the batch commits.

use std::collections::BTreeMap;

use bytes::Bytes;
use object_store::ObjectStoreExt;
use object_store::PutPayload;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::Serialize;

use crate::error::{Result, TableError};
use crate::partition;
use crate::records::TableSchema;
use crate::runtime::block_on;
use crate::spark_log::SinkFileStatus;
use sluice_storage::Location;

/// Rows converted to Arrow at a time.
const CHUNK_ROWS: usize = 65_536;
/// Rows written to a file at a time (its size is checked after each).
const SLICE_ROWS: usize = 4_096;

/// A Parquet compression codec.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Codec {
    /// Zstandard (level 3), Spark's choice for new tables since 4.0.
    #[default]
    Zstd,
    /// Snappy, Spark's default before 4.0.
    Snappy,
    /// No compression.
    Uncompressed,
}

impl Codec {
    fn parquet(self) -> Compression {
        match self {
            Codec::Zstd => Compression::ZSTD(ZstdLevel::default()),
            Codec::Snappy => Compression::SNAPPY,
            Codec::Uncompressed => Compression::UNCOMPRESSED,
        }
    }

    /// The codec's part of a file name, as Spark names files (`.zstd.parquet`).
    fn suffix(self) -> &'static str {
        match self {
            Codec::Zstd => ".zstd",
            Codec::Snappy => ".snappy",
            Codec::Uncompressed => "",
        }
    }
}

/// How a task writes its files.
#[derive(Clone, Debug)]
pub(crate) struct FileLayout {
    pub loc: Location,
    pub schema: TableSchema,
    pub partition_by: Vec<String>,
    pub codec: Codec,
    pub target_file_bytes: u64,
}

struct OpenFile {
    writer: ArrowWriter<Vec<u8>>,
    seq: usize,
}

/// A task's files: the open one of each partition, the next sequence number of each, and the
/// finished ones.
struct OpenFiles {
    open: BTreeMap<String, OpenFile>,
    next_seq: BTreeMap<String, usize>,
    done: Vec<SinkFileStatus>,
    props: WriterProperties,
}

impl FileLayout {
    /// Writes `records` as files named `<stem>.cNNN<codec>.parquet` in their partitions'
    /// directories, and returns their log entries. `context` names the batch in errors. The
    /// records are converted to Arrow as they come, [`CHUNK_ROWS`] at a time.
    pub(crate) fn write<T: Serialize>(
        &self,
        records: impl Iterator<Item = T>,
        stem: &str,
        context: &str,
    ) -> Result<Vec<SinkFileStatus>> {
        let mut files = OpenFiles {
            open: BTreeMap::new(),
            next_seq: BTreeMap::new(),
            done: Vec::new(),
            props: WriterProperties::builder()
                .set_compression(self.codec.parquet())
                .build(),
        };
        let mut builder = self.schema.builder()?;
        let mut rows = 0;
        for r in records {
            builder.push(&r).map_err(|source| TableError::Schema {
                context: Some(context.to_string()),
                source,
            })?;
            rows += 1;
            if rows == CHUNK_ROWS {
                self.write_batch(&mut files, &mut builder, stem, context)?;
                rows = 0;
            }
        }
        if rows > 0 {
            self.write_batch(&mut files, &mut builder, stem, context)?;
        }
        for (dir, f) in std::mem::take(&mut files.open) {
            files.done.push(self.put(&dir, stem, f)?);
        }
        Ok(files.done)
    }

    /// Writes the rows in `builder` (and empties it).
    fn write_batch(
        &self,
        files: &mut OpenFiles,
        builder: &mut serde_arrow::ArrayBuilder,
        stem: &str,
        context: &str,
    ) -> Result<()> {
        let batch = builder
            .to_record_batch()
            .map_err(|source| TableError::Schema {
                context: Some(context.to_string()),
                source,
            })?;
        for (dir, rows) in partition::split(&batch, &self.partition_by)? {
            // In slices, so that files roll over close to the target size.
            let mut offset = 0;
            while offset < rows.num_rows() {
                let len = SLICE_ROWS.min(rows.num_rows() - offset);
                let slice = rows.slice(offset, len);
                offset += len;
                let f = match files.open.entry(dir.clone()) {
                    std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::btree_map::Entry::Vacant(v) => {
                        let seq = files.next_seq.entry(dir.clone()).or_insert(0);
                        let writer = ArrowWriter::try_new(
                            Vec::new(),
                            slice.schema(),
                            Some(files.props.clone()),
                        )
                        .map_err(|source| TableError::Parquet {
                            url: self.loc.as_str().to_string(),
                            source,
                        })?;
                        *seq += 1;
                        v.insert(OpenFile {
                            writer,
                            seq: *seq - 1,
                        })
                    }
                };
                f.writer
                    .write(&slice)
                    .map_err(|source| TableError::Parquet {
                        url: self.loc.as_str().to_string(),
                        source,
                    })?;
                let size = f.writer.bytes_written() + f.writer.in_progress_size();
                if size as u64 >= self.target_file_bytes {
                    if let Some(f) = files.open.remove(&dir) {
                        files.done.push(self.put(&dir, stem, f)?);
                    }
                }
            }
        }
        Ok(())
    }

    fn put(&self, dir: &str, stem: &str, f: OpenFile) -> Result<SinkFileStatus> {
        let name = format!("{stem}.c{:03}{}.parquet", f.seq, self.codec.suffix());
        let rel = if dir.is_empty() {
            name
        } else {
            format!("{dir}/{name}")
        };
        let path = self.loc.child(&rel);
        let url = self.loc.url_of(&path);
        let bytes = f
            .writer
            .into_inner()
            .map_err(|source| TableError::Parquet {
                url: url.clone(),
                source,
            })?;
        let size = bytes.len() as u64;
        let store = self.loc.store().clone();
        block_on(store.put(&path, PutPayload::from(Bytes::from(bytes))))?.map_err(|source| {
            TableError::Storage {
                action: "writing",
                url: url.clone(),
                source,
            }
        })?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        Ok(SinkFileStatus::added(url, size, now))
    }
}
