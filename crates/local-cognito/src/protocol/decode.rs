//! Typed requests read out of a call's JSON as Cognito reads them: a required member that is
//! missing is Cognito's `InvalidParameterException`, a member of the wrong type its
//! `SerializationException`.
//!
//! serde_json reports both as one kind of error, told apart only by its message. Deserializing
//! through [`Json`], whose error type is [`DecodeError`], lets serde's derive say which it was:
//! it calls [`serde::de::Error::missing_field`] for a missing member, and this crate's error
//! keeps that apart.

use std::fmt;

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde_json::Value;

/// Why a request could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// A required member is not there (serde's name for it, as the request spells it).
    Missing(&'static str),
    /// A member is of the wrong type, or the request is no JSON object.
    Invalid(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Missing(field) => write!(f, "missing member {field}"),
            DecodeError::Invalid(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DecodeError::Invalid(msg.to_string())
    }

    fn missing_field(field: &'static str) -> Self {
        DecodeError::Missing(field)
    }
}

/// `T` read out of `value`.
pub fn decode<T: DeserializeOwned>(value: &Value) -> Result<T, DecodeError> {
    T::deserialize(Json(value))
}

/// A JSON value as a serde deserializer whose error is [`DecodeError`].
struct Json<'a>(&'a Value);

impl<'de> de::Deserializer<'de> for Json<'_> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (_, Some(i), _) => visitor.visit_i64(i),
                (_, _, Some(f)) => visitor.visit_f64(f),
                _ => Err(de::Error::custom("a number out of range")),
            },
            Value::String(s) => visitor.visit_str(s),
            Value::Array(items) => visitor.visit_seq(SeqDeserializer::new(items.iter().map(Json))),
            Value::Object(members) => visitor.visit_map(MapDeserializer::new(
                members.iter().map(|(k, v)| (k.as_str(), Json(v))),
            )),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    /// A request, and every structure in it, is a JSON object; never an array read by position.
    /// A member that is `null` is absent, as Cognito reads it: a required one is missing.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_map(visitor)
    }

    /// A map (and a request with a flattened part, which serde reads as one), its `null`
    /// members absent.
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0 {
            Value::Object(members) => visitor.visit_map(MapDeserializer::new(
                members
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.as_str(), Json(v))),
            )),
            other => Err(de::Error::invalid_type(unexpected(other), &"a JSON object")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct enum identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, DecodeError> for Json<'_> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("a number"),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Request {
        client_id: String,
        secret_hash: Option<String>,
        #[serde(default)]
        user_attributes: Vec<HashMap<String, String>>,
        #[serde(default)]
        limit: u32,
    }

    #[test]
    fn a_missing_required_member_is_named_and_optional_ones_may_be_missing() {
        assert_eq!(
            decode::<Request>(&json!({"SecretHash": "h"})),
            Err(DecodeError::Missing("ClientId"))
        );
        let req: Request = decode(&json!({"ClientId": "c", "Limit": 3})).unwrap();
        assert_eq!(req.client_id, "c");
        assert_eq!(req.secret_hash, None);
        assert_eq!(req.limit, 3);
        let req: Request = decode(&json!({"ClientId": "c", "SecretHash": null})).unwrap();
        assert_eq!(req.secret_hash, None, "null is absent");
        assert_eq!(
            decode::<Request>(&json!({"ClientId": null})),
            Err(DecodeError::Missing("ClientId")),
            "a required member that is null is missing"
        );
    }

    #[test]
    fn a_member_of_the_wrong_type_or_a_body_that_is_no_object_is_invalid() {
        for body in [
            json!({"ClientId": 5}),
            json!({"ClientId": "c", "UserAttributes": {"Name": "email"}}),
            json!(["c"]),
            json!("c"),
        ] {
            assert!(
                matches!(decode::<Request>(&body), Err(DecodeError::Invalid(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn nested_arrays_and_maps_are_read() {
        let req: Request = decode(&json!({"ClientId": "c",
            "UserAttributes": [{"Name": "email", "Value": "a@example.com"}]}))
        .unwrap();
        assert_eq!(req.user_attributes[0]["Value"], "a@example.com");
    }
}
