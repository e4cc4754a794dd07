//! Typed records to Arrow record batches and back, by their serde form (`serde_arrow`).
//!
//! A [`TableSchema`] is traced from the record type: struct fields become columns, `Option`
//! fields nullable columns, nested structs struct columns, `Vec`s list columns, maps map
//! columns. Types serde cannot tell apart from others — timestamps (serialized as strings or
//! integers) and decimals (as strings) — are given by [`TableSchema::with_type`]:
//!
//! ```
//! use arrow_schema::{DataType, TimeUnit};
//! use serde::{Deserialize, Serialize};
//! use sluice_tables::TableSchema;
//!
//! #[derive(Serialize, Deserialize)]
//! struct Trade {
//!     account: String,
//!     at: i64,             // milliseconds since the epoch
//!     amount: String,      // a decimal, as text
//!     note: Option<String>,
//! }
//!
//! let schema = TableSchema::of::<Trade>()
//!     .unwrap()
//!     .with_type("at", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())))
//!     .unwrap()
//!     .with_type("amount", DataType::Decimal128(12, 2))
//!     .unwrap();
//! let rows = vec![Trade { account: "a".into(), at: 1_000, amount: "12.50".into(), note: None }];
//! let batch = schema.to_batch(&rows).unwrap();
//! assert_eq!(batch.num_rows(), 1);
//! assert!(schema.arrow().field_with_name("note").unwrap().is_nullable());
//! let back: Vec<Trade> = schema.from_batch(&batch).unwrap();
//! assert_eq!(back[0].amount, "12.50");
//! ```

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, FieldRef, Schema, SchemaRef};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_arrow::schema::{SchemaLike, TracingOptions};

use crate::error::{Result, TableError};

/// The Arrow schema of a record type.
#[derive(Clone, Debug)]
pub struct TableSchema {
    fields: Vec<FieldRef>,
    schema: SchemaRef,
}

impl TableSchema {
    /// Traces the schema of `T` from its `Deserialize` implementation: strings as `Utf8`,
    /// sequences as `List`, bytes as `Binary`, unit enums as strings.
    pub fn of<T: DeserializeOwned>() -> Result<TableSchema> {
        let fields = Vec::<FieldRef>::from_type::<T>(
            // Plain (32-bit offset) strings, lists and binaries: the types Spark and most
            // readers expect.
            TracingOptions::default()
                .allow_null_fields(true)
                .enums_without_data_as_strings(true)
                .strings_as_large_utf8(false)
                .sequence_as_large_list(false)
                .bytes_as_large_binary(false),
        )
        .map_err(|source| TableError::Schema {
            context: Some(format!("tracing {}", std::any::type_name::<T>())),
            source,
        })?;
        Ok(Self::from_fields(fields))
    }

    /// A schema of explicit fields (their names must be those of the records' fields).
    pub fn from_fields(fields: Vec<FieldRef>) -> TableSchema {
        let schema = Arc::new(Schema::new(fields.clone()));
        TableSchema { fields, schema }
    }

    /// Sets the type of the top-level column `name` (keeping its nullability): a timestamp, a
    /// decimal, a date, a narrower integer.
    pub fn with_type(self, name: &str, data_type: DataType) -> Result<TableSchema> {
        let mut found = false;
        let fields = self
            .fields
            .iter()
            .map(|f| {
                if f.name() == name {
                    found = true;
                    Arc::new(Field::new(name, data_type.clone(), f.is_nullable()))
                } else {
                    Arc::clone(f)
                }
            })
            .collect();
        if !found {
            return Err(TableError::InvalidArgument(format!(
                "no column {name:?} in the schema ({})",
                self.column_names().join(", ")
            )));
        }
        Ok(Self::from_fields(fields))
    }

    /// The Arrow schema.
    pub fn arrow(&self) -> &SchemaRef {
        &self.schema
    }

    /// The fields.
    pub fn fields(&self) -> &[FieldRef] {
        &self.fields
    }

    /// The top-level column names.
    pub fn column_names(&self) -> Vec<String> {
        self.fields.iter().map(|f| f.name().clone()).collect()
    }

    /// The records as one record batch.
    pub fn to_batch<T: Serialize>(&self, records: &[T]) -> Result<RecordBatch> {
        serde_arrow::to_record_batch(&self.fields, &records).map_err(|source| TableError::Schema {
            context: None,
            source,
        })
    }

    /// A builder that takes records one at a time.
    pub(crate) fn builder(&self) -> Result<serde_arrow::ArrayBuilder> {
        serde_arrow::ArrayBuilder::from_arrow(&self.fields).map_err(|source| TableError::Schema {
            context: None,
            source,
        })
    }

    /// The records of a record batch (whose columns are this schema's, or castable to it).
    pub fn from_batch<T: DeserializeOwned>(&self, batch: &RecordBatch) -> Result<Vec<T>> {
        serde_arrow::from_record_batch(batch).map_err(|source| TableError::Schema {
            context: None,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    struct Inner {
        x: f64,
        tags: Vec<String>,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    struct Row {
        id: u64,
        name: String,
        score: Option<i32>,
        inner: Inner,
        list: Vec<Option<i64>>,
    }

    #[test]
    fn nested_records_round_trip() {
        let schema = TableSchema::of::<Row>().unwrap();
        assert!(schema
            .arrow()
            .field_with_name("score")
            .unwrap()
            .is_nullable());
        assert!(!schema.arrow().field_with_name("id").unwrap().is_nullable());
        assert!(matches!(
            schema.arrow().field_with_name("inner").unwrap().data_type(),
            DataType::Struct(_)
        ));
        let rows = vec![
            Row {
                id: 1,
                name: "a".into(),
                score: None,
                inner: Inner {
                    x: 0.5,
                    tags: vec!["t".into()],
                },
                list: vec![Some(1), None],
            },
            Row {
                id: 2,
                name: "b".into(),
                score: Some(-3),
                inner: Inner {
                    x: 1.5,
                    tags: vec![],
                },
                list: vec![],
            },
        ];
        let batch = schema.to_batch(&rows).unwrap();
        assert_eq!(schema.from_batch::<Row>(&batch).unwrap(), rows);
    }

    #[test]
    fn a_value_that_does_not_fit_is_an_error_naming_the_column() {
        #[derive(Serialize, Deserialize)]
        struct Amount {
            amount: String,
        }
        let schema = TableSchema::of::<Amount>()
            .unwrap()
            .with_type("amount", DataType::Decimal128(5, 2))
            .unwrap();
        assert!(schema
            .to_batch(&[Amount {
                amount: "123.45".into()
            }])
            .is_ok());
        let e = schema
            .to_batch(&[Amount {
                amount: "123456.7".into(),
            }])
            .unwrap_err()
            .to_string();
        assert!(e.contains("amount"), "{e}");
        assert!(TableSchema::of::<Amount>()
            .unwrap()
            .with_type("missing", DataType::Int32)
            .is_err());
    }

    #[test]
    fn a_none_in_a_non_nullable_column_is_an_error() {
        #[derive(Serialize, Deserialize)]
        struct R {
            v: Option<i64>,
        }
        let schema =
            TableSchema::from_fields(vec![Arc::new(Field::new("v", DataType::Int64, false))]);
        let e = schema.to_batch(&[R { v: None }]).unwrap_err().to_string();
        assert!(e.contains('v'), "{e}");
    }
}
