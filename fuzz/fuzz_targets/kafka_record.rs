//! The Kafka record decoders: every `Deserializer` of `sluice_connectors::kafka` on a key or
//! value (and on a null), and the serializers' round trips of what they decoded.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use sluice_connectors::kafka::{
    from_fn, BytesDeserializer, BytesSerializer, Deserializer, I64Deserializer, I64Serializer,
    JsonDeserializer, JsonSerializer, Serializer, StringDeserializer, StringSerializer,
};

#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
struct Event {
    user: String,
    count: u64,
    tags: Option<Vec<String>>,
    attrs: BTreeMap<String, serde_json::Value>,
}

fuzz_target!(|data: &[u8]| {
    for d in [Some(data), None] {
        let bytes = BytesDeserializer
            .deserialize(d)
            .expect("bytes always decode");
        assert_eq!(bytes.as_deref(), d);
        if let Some(b) = &bytes {
            assert_eq!(BytesSerializer.serialize(b), data);
        }

        match StringDeserializer.deserialize(d) {
            Ok(Some(s)) => assert_eq!(StringSerializer.serialize(&s), data),
            Ok(None) => assert!(d.is_none()),
            Err(e) => assert!(std::str::from_utf8(data).is_err(), "{e}"),
        }

        match I64Deserializer.deserialize(d) {
            Ok(Some(n)) => assert_eq!(I64Serializer.serialize(&n), data),
            Ok(None) => assert!(d.is_none()),
            Err(e) => assert_ne!(data.len(), 8, "{e}"),
        }

        json::<serde_json::Value>(d);
        json::<(String, u32)>(d);
        json::<Vec<i64>>(d);
        json::<BTreeMap<String, f64>>(d);
        json::<Event>(d);

        let f = from_fn(|b: Option<&[u8]>| b.map(<[u8]>::len).ok_or_else(|| "null".to_string()));
        assert_eq!(f.deserialize(d).ok(), d.map(<[u8]>::len));
    }
});

/// JSON into `T`: a null is refused; what decodes is encoded again and decodes again.
fn json<T>(d: Option<&[u8]>)
where
    T: serde::de::DeserializeOwned + serde::Serialize + Clone + Send + Sync + 'static,
{
    let de = JsonDeserializer::<T>::default();
    match de.deserialize(d) {
        Ok(v) => {
            let b = JsonSerializer.serialize(&v);
            de.deserialize(Some(&b))
                .expect("what the serializer wrote decodes");
        }
        Err(e) => assert!(!e.is_empty()),
    }
    if d.is_none() {
        assert!(de.deserialize(None).is_err());
    }
}
