//! Hive-style partitions: the `col=value/` directories a table's files are laid out in, as
//! Spark writes and reads them (values escaped as Spark's `escapePathName` does; a null or
//! empty value is `__HIVE_DEFAULT_PARTITION__`). The partition columns are not stored in the
//! files: readers take them from the directories.

use std::collections::BTreeMap;

use arrow_array::{Array, RecordBatch, UInt32Array};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;

use crate::error::{Result, TableError};

/// The directory name of a null or empty partition value.
pub const DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\u{01}'
            ..='\u{1F}'
                | '"'
                | '#'
                | '%'
                | '\''
                | '*'
                | '/'
                | ':'
                | '='
                | '?'
                | '\\'
                | '\u{7F}'
                | '{'
                | '['
                | ']'
                | '^'
    )
}

/// A partition value as a path segment, escaped as Spark escapes it.
///
/// ```
/// assert_eq!(sluice_tables::partition::escape("a/b=c"), "a%2Fb%3Dc");
/// ```
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if needs_escape(c) {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// The value of an escaped path segment (`%XX` sequences decoded; others kept as they are).
pub fn unescape(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `(column, value)` pairs of a file's path under the table root (segments `col=value`;
/// others are ignored). `None` values are the default partition.
pub fn parse_dirs(relative_dirs: &[&str]) -> Vec<(String, Option<String>)> {
    relative_dirs
        .iter()
        .filter_map(|seg| {
            let (k, v) = seg.split_once('=')?;
            let v = if v == DEFAULT_PARTITION {
                None
            } else {
                Some(unescape(v))
            };
            Some((unescape(k), v))
        })
        .collect()
}

/// Whether a column of this type can partition a table.
fn partitionable(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Date32
    )
}

/// Splits `batch` by the values of `columns`: for each partition, its directory
/// (`c1=v1/c2=v2`, in the order of `columns`) and its rows without the partition columns, in
/// their order in the batch. Partitions come sorted by directory.
pub fn split(batch: &RecordBatch, columns: &[String]) -> Result<Vec<(String, RecordBatch)>> {
    if columns.is_empty() {
        return Ok(vec![(String::new(), batch.clone())]);
    }
    let schema = batch.schema();
    let mut idx = Vec::with_capacity(columns.len());
    for c in columns {
        let i = schema.index_of(c).map_err(|_| {
            TableError::InvalidArgument(format!(
                "partition column {c:?} is not a column of the records ({})",
                schema
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let t = schema.field(i).data_type();
        if !partitionable(t) {
            return Err(TableError::InvalidArgument(format!(
                "partition column {c:?} has type {t}; partition by strings, integers, booleans or dates"
            )));
        }
        idx.push(i);
    }
    let options = FormatOptions::default();
    let formatters = idx
        .iter()
        .map(|&i| ArrayFormatter::try_new(batch.column(i).as_ref(), &options))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|source| TableError::Arrow {
            what: "formatting partition values".into(),
            source,
        })?;
    let mut groups: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for row in 0..batch.num_rows() {
        let mut dir = String::new();
        for (n, (&i, f)) in idx.iter().zip(&formatters).enumerate() {
            if n > 0 {
                dir.push('/');
            }
            dir.push_str(&escape(&columns[n]));
            dir.push('=');
            let col = batch.column(i);
            let value = if col.is_null(row) {
                String::new()
            } else {
                f.value(row).to_string()
            };
            if value.is_empty() {
                dir.push_str(DEFAULT_PARTITION);
            } else {
                dir.push_str(&escape(&value));
            }
        }
        groups.entry(dir).or_default().push(row as u32);
    }
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|i| !idx.contains(i))
        .collect();
    let data = batch.project(&keep).map_err(|source| TableError::Arrow {
        what: "leaving out the partition columns".into(),
        source,
    })?;
    groups
        .into_iter()
        .map(|(dir, rows)| {
            let rows = if rows.len() == batch.num_rows() {
                data.clone()
            } else {
                arrow_select::take::take_record_batch(&data, &UInt32Array::from(rows)).map_err(
                    |source| TableError::Arrow {
                        what: format!("the rows of partition {dir}"),
                        source,
                    },
                )?
            };
            Ok((dir, rows))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn escaping_round_trips_and_matches_spark() {
        for v in [
            "plain",
            "a/b",
            "x=y",
            "50%",
            "date:2024-01-01",
            "ü ö",
            "[]{}^*?#'\"",
        ] {
            assert_eq!(unescape(&escape(v)), v);
        }
        assert_eq!(escape("a b:c"), "a b%3Ac");
        assert_eq!(escape("%"), "%25");
        assert_eq!(unescape("100%"), "100%");
    }

    #[test]
    fn a_batch_splits_into_its_partitions_without_their_columns() {
        let batch = RecordBatch::try_from_iter(vec![
            (
                "day",
                Arc::new(StringArray::from(vec![
                    Some("d1"),
                    Some("d2"),
                    None,
                    Some("d1"),
                ])) as Arc<dyn Array>,
            ),
            (
                "n",
                Arc::new(Int64Array::from(vec![1, 2, 3, 4])) as Arc<dyn Array>,
            ),
        ])
        .unwrap();
        let parts = split(&batch, &["day".to_string()]).unwrap();
        let dirs: Vec<&str> = parts.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(
            dirs,
            vec!["day=__HIVE_DEFAULT_PARTITION__", "day=d1", "day=d2"]
        );
        let d1 = &parts[1].1;
        assert_eq!(d1.num_columns(), 1);
        let n = d1.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(n.values(), &[1, 4]);
        assert!(split(&batch, &["nope".to_string()]).is_err());
        assert_eq!(
            parse_dirs(&["day=a%2Fb", "x", "k=__HIVE_DEFAULT_PARTITION__"]),
            vec![("day".into(), Some("a/b".into())), ("k".into(), None)]
        );
    }
}
