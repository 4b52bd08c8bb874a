//! Decoding record keys and values: [`KafkaDeserialize`] and its
//! implementations (Kafka's `Deserializer`s, chosen by type).

use serde::de::DeserializeOwned;

/// Why a key or value could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DeserializeError(pub String);

impl DeserializeError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        DeserializeError(message.into())
    }
}

/// A type a record key or value decodes into: the role of Kafka's
/// `key.deserializer` / `value.deserializer` classes, chosen here by the
/// stream's type parameters.
///
/// | type | bytes | null (absent) |
/// |---|---|---|
/// | `String` | UTF-8 text (invalid UTF-8 is an error) | error |
/// | `Vec<u8>` | the bytes as they are | error |
/// | `i32`, `i64`, `f64` | big-endian, as Kafka's `IntegerDeserializer`, `LongDeserializer`, `DoubleDeserializer` write them | error |
/// | [`Json<T>`] | a JSON document decoded with serde | error |
/// | `()` | ignored | `()` |
/// | `Option<T>` | `Some` of `T`'s decoding | `None` |
///
/// A record whose key or value does not decode is counted and reported, or
/// fails the batch, as the stream is configured
/// ([`DirectStreamConfig::fail_on_undecodable`](super::DirectStreamConfig::fail_on_undecodable)).
pub trait KafkaDeserialize: Sized {
    /// Decodes present bytes.
    fn deserialize(data: &[u8]) -> Result<Self, DeserializeError>;

    /// Decodes an absent (null) payload; an error unless the type has a
    /// null value.
    fn deserialize_null() -> Result<Self, DeserializeError> {
        Err(DeserializeError::new("null payload"))
    }
}

impl KafkaDeserialize for String {
    fn deserialize(data: &[u8]) -> Result<Self, DeserializeError> {
        std::str::from_utf8(data)
            .map(str::to_owned)
            .map_err(|e| DeserializeError::new(format!("invalid UTF-8: {e}")))
    }
}

impl KafkaDeserialize for Vec<u8> {
    fn deserialize(data: &[u8]) -> Result<Self, DeserializeError> {
        Ok(data.to_vec())
    }
}

impl KafkaDeserialize for () {
    fn deserialize(_: &[u8]) -> Result<Self, DeserializeError> {
        Ok(())
    }

    fn deserialize_null() -> Result<Self, DeserializeError> {
        Ok(())
    }
}

impl<T: KafkaDeserialize> KafkaDeserialize for Option<T> {
    fn deserialize(data: &[u8]) -> Result<Self, DeserializeError> {
        T::deserialize(data).map(Some)
    }

    fn deserialize_null() -> Result<Self, DeserializeError> {
        Ok(None)
    }
}

macro_rules! big_endian {
    ($($t:ty),*) => {$(
        impl KafkaDeserialize for $t {
            fn deserialize(data: &[u8]) -> Result<Self, DeserializeError> {
                let bytes: [u8; std::mem::size_of::<$t>()] = data.try_into().map_err(|_| {
                    DeserializeError::new(format!(
                        "expected {} bytes for {}, got {}",
                        std::mem::size_of::<$t>(),
                        stringify!($t),
                        data.len()
                    ))
                })?;
                Ok(<$t>::from_be_bytes(bytes))
            }
        }
    )*};
}

big_endian!(i32, i64, f64);

/// A value decoded from JSON with serde: `ConsumerRecord<String, Json<Event>>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The decoded value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned> KafkaDeserialize for Json<T> {
    fn deserialize(data: &[u8]) -> Result<Self, DeserializeError> {
        serde_json::from_slice(data)
            .map(Json)
            .map_err(|e| DeserializeError::new(format!("invalid JSON: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_bytes_and_numbers() {
        assert_eq!(String::deserialize(b"hello").unwrap(), "hello");
        let e = String::deserialize(&[0xff, 0xfe]).unwrap_err();
        assert!(e.0.contains("invalid UTF-8"), "{e}");
        assert!(String::deserialize_null().is_err());
        assert_eq!(Vec::<u8>::deserialize(&[1, 2]).unwrap(), vec![1, 2]);
        assert_eq!(i64::deserialize(&42i64.to_be_bytes()).unwrap(), 42);
        assert_eq!(i32::deserialize(&(-7i32).to_be_bytes()).unwrap(), -7);
        assert_eq!(f64::deserialize(&1.5f64.to_be_bytes()).unwrap(), 1.5);
        let e = i64::deserialize(&[1, 2, 3]).unwrap_err();
        assert_eq!(e.0, "expected 8 bytes for i64, got 3");
    }

    #[test]
    fn options_accept_null() {
        assert_eq!(Option::<String>::deserialize_null().unwrap(), None);
        assert_eq!(
            Option::<String>::deserialize(b"x").unwrap(),
            Some("x".to_string())
        );
        assert_eq!(<()>::deserialize_null(), Ok(()));
    }

    #[test]
    fn json_values() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Event {
            id: u32,
            name: String,
        }
        let Json(e) = Json::<Event>::deserialize(br#"{"id":7,"name":"click"}"#).unwrap();
        assert_eq!(
            e,
            Event {
                id: 7,
                name: "click".into()
            }
        );
        let err = Json::<Event>::deserialize(b"{not json").unwrap_err();
        assert!(err.0.starts_with("invalid JSON"), "{err}");
    }
}
