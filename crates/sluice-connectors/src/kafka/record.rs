//! Records read from Kafka, and how their keys and values are decoded and encoded.
//!
//! A [`Deserializer`] turns a key or value (absent for a null) into a typed value; a record
//! whose key or value fails to decode is not passed on but counted in the stream's
//! [`BadRecordReport`](super::BadRecordReport). A [`Serializer`] does the reverse for the sink.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// One record of a direct stream, as Spark's `ConsumerRecord`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord<K, V> {
    /// The topic it was read from.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// Its offset in the partition.
    pub offset: i64,
    /// The record's timestamp (ms since the epoch), when it has one.
    pub timestamp: Option<i64>,
    /// The decoded key.
    pub key: K,
    /// The decoded value.
    pub value: V,
    /// The record's headers, in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl<K, V> ConsumerRecord<K, V> {
    /// The value of the first header named `name`.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// Decodes a key or a value (`None` for a null).
pub trait Deserializer: Send + Sync + 'static {
    /// The decoded type.
    type Output: Clone + Send + Sync + 'static;
    /// Decodes `data`; the error says why it cannot be decoded.
    fn deserialize(&self, data: Option<&[u8]>) -> Result<Self::Output, String>;
}

/// Raw bytes, as they are (`None` for a null).
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesDeserializer;

impl Deserializer for BytesDeserializer {
    type Output = Option<Vec<u8>>;
    fn deserialize(&self, data: Option<&[u8]>) -> Result<Self::Output, String> {
        Ok(data.map(<[u8]>::to_vec))
    }
}

/// UTF-8 text (`None` for a null); invalid UTF-8 is a bad record.
///
/// ```
/// use sluice_connectors::kafka::{Deserializer, StringDeserializer};
/// assert_eq!(StringDeserializer.deserialize(Some(b"hi")).unwrap(), Some("hi".to_string()));
/// assert_eq!(StringDeserializer.deserialize(None).unwrap(), None);
/// assert!(StringDeserializer.deserialize(Some(&[0xff])).is_err());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct StringDeserializer;

impl Deserializer for StringDeserializer {
    type Output = Option<String>;
    fn deserialize(&self, data: Option<&[u8]>) -> Result<Self::Output, String> {
        data.map(|d| {
            std::str::from_utf8(d)
                .map(str::to_string)
                .map_err(|e| format!("invalid UTF-8: {e}"))
        })
        .transpose()
    }
}

/// An 8-byte big-endian integer, as Kafka's `LongSerializer` writes it (`None` for a null).
#[derive(Debug, Clone, Copy, Default)]
pub struct I64Deserializer;

impl Deserializer for I64Deserializer {
    type Output = Option<i64>;
    fn deserialize(&self, data: Option<&[u8]>) -> Result<Self::Output, String> {
        data.map(|d| {
            <[u8; 8]>::try_from(d)
                .map(i64::from_be_bytes)
                .map_err(|_| format!("expected 8 bytes for a long, got {}", d.len()))
        })
        .transpose()
    }
}

/// JSON into `T`; a null or malformed JSON is a bad record.
pub struct JsonDeserializer<T>(PhantomData<fn() -> T>);

impl<T> Default for JsonDeserializer<T> {
    fn default() -> Self {
        JsonDeserializer(PhantomData)
    }
}

impl<T: DeserializeOwned + Clone + Send + Sync + 'static> Deserializer for JsonDeserializer<T> {
    type Output = T;
    fn deserialize(&self, data: Option<&[u8]>) -> Result<T, String> {
        let d = data.ok_or("null where JSON was expected")?;
        serde_json::from_slice(d).map_err(|e| format!("malformed JSON: {e}"))
    }
}

/// A deserializer from a function.
///
/// ```
/// use sluice_connectors::kafka::{from_fn, Deserializer};
/// let d = from_fn(|b: Option<&[u8]>| b.map(|b| b.len()).ok_or_else(|| "null".to_string()));
/// assert_eq!(d.deserialize(Some(b"abc")).unwrap(), 3);
/// ```
pub fn from_fn<T, F>(f: F) -> FnDeserializer<F>
where
    T: Clone + Send + Sync + 'static,
    F: Fn(Option<&[u8]>) -> Result<T, String> + Send + Sync + 'static,
{
    FnDeserializer(f)
}

/// See [`from_fn`].
pub struct FnDeserializer<F>(F);

impl<T, F> Deserializer for FnDeserializer<F>
where
    T: Clone + Send + Sync + 'static,
    F: Fn(Option<&[u8]>) -> Result<T, String> + Send + Sync + 'static,
{
    type Output = T;
    fn deserialize(&self, data: Option<&[u8]>) -> Result<T, String> {
        (self.0)(data)
    }
}

/// Encodes a key or value for the sink.
pub trait Serializer<T: ?Sized>: Send + Sync + 'static {
    /// The bytes of `value`.
    fn serialize(&self, value: &T) -> Vec<u8>;
}

/// UTF-8 text.
#[derive(Debug, Clone, Copy, Default)]
pub struct StringSerializer;

impl<T: AsRef<str> + ?Sized> Serializer<T> for StringSerializer {
    fn serialize(&self, value: &T) -> Vec<u8> {
        value.as_ref().as_bytes().to_vec()
    }
}

/// 8-byte big-endian integers (Kafka's `LongSerializer`).
#[derive(Debug, Clone, Copy, Default)]
pub struct I64Serializer;

impl Serializer<i64> for I64Serializer {
    fn serialize(&self, value: &i64) -> Vec<u8> {
        value.to_be_bytes().to_vec()
    }
}

/// Bytes as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesSerializer;

impl<T: AsRef<[u8]> + ?Sized> Serializer<T> for BytesSerializer {
    fn serialize(&self, value: &T) -> Vec<u8> {
        value.as_ref().to_vec()
    }
}

/// JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonSerializer;

impl<T: Serialize + ?Sized> Serializer<T> for JsonSerializer {
    fn serialize(&self, value: &T) -> Vec<u8> {
        // Serializing plain data to a Vec cannot fail; a type whose Serialize impl fails
        // (a map with non-string keys) gets JSON null.
        serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        let b = I64Serializer.serialize(&-42);
        assert_eq!(I64Deserializer.deserialize(Some(&b)).unwrap(), Some(-42));
        assert!(I64Deserializer.deserialize(Some(b"abc")).is_err());
    }

    #[test]
    fn json_round_trip_and_errors() {
        let d = JsonDeserializer::<(String, u32)>::default();
        let b = JsonSerializer.serialize(&("a".to_string(), 3u32));
        assert_eq!(d.deserialize(Some(&b)).unwrap(), ("a".to_string(), 3));
        assert!(d.deserialize(None).unwrap_err().contains("null"));
        assert!(d.deserialize(Some(b"{")).unwrap_err().contains("malformed"));
    }

    #[test]
    fn headers_by_name() {
        let r = ConsumerRecord {
            topic: Arc::from("t"),
            partition: 0,
            offset: 1,
            timestamp: None,
            key: (),
            value: (),
            headers: vec![("a".into(), Some(b"1".to_vec())), ("b".into(), None)],
        };
        assert_eq!(r.header("a"), Some(&b"1"[..]));
        assert_eq!(r.header("b"), None);
        assert_eq!(r.header("c"), None);
    }
}
