//! Request bodies: from the Lambda event's body to a JSON object with typed, checked fields.
//! Every malformed input becomes a 4xx [`ApiError`] naming the problem.

use lambda_http::{Body, Request};
use serde_json::{Map, Value};

use crate::ApiError;

/// The largest request body any route accepts.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A request body that parsed as a JSON object.
#[derive(Debug, Clone)]
pub struct JsonObject(Map<String, Value>);

impl JsonObject {
    /// The body of `req`, which must be declared `application/json` (a `charset` other than
    /// UTF-8 is refused too): a form or text post is 415 `unsupported_media_type`, never guessed
    /// at.
    pub fn from_request(req: &Request) -> Result<Self, ApiError> {
        let body: &[u8] = req.body();
        if body.len() <= MAX_BODY_BYTES && !body.trim_ascii().is_empty() {
            check_content_type(req.headers().get(http::header::CONTENT_TYPE))?;
        }
        Self::from_body(req.body())
    }

    /// The body of `req` if it has one: an absent or blank body is `None`, anything else as
    /// [`JsonObject::from_request`] reads it.
    pub fn from_optional_request(req: &Request) -> Result<Option<Self>, ApiError> {
        let body: &[u8] = req.body();
        if body.trim_ascii().is_empty() {
            return Ok(None);
        }
        Self::from_request(req).map(Some)
    }

    /// Checks size, encoding and syntax, in that order. Bodies that API Gateway passed base64
    /// encoded arrive here already decoded, as bytes.
    pub fn from_body(body: &Body) -> Result<Self, ApiError> {
        let bytes: &[u8] = body;
        if bytes.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        if bytes.trim_ascii().is_empty() {
            return Err(ApiError::MissingBody);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| ApiError::InvalidEncoding)?;
        match serde_json::from_str(text) {
            Ok(Value::Object(_)) => {}
            Ok(_) => return Err(ApiError::NotAnObject),
            // serde_json's message names the line and column, never the content.
            Err(e) => return Err(ApiError::InvalidJson(e.to_string())),
        }
        // serde_json keeps the last of two equal keys; another parser may keep the first. A
        // body that means different things to different readers is refused.
        serde_json::from_str::<UniqueKeys>(text)
            .map(|UniqueKeys(map)| Self(map))
            .map_err(|_| ApiError::DuplicateField(duplicate_key(text)))
    }

    /// A required string field. Absent or `null` is `missing_field`; another JSON type is
    /// `invalid_type`; empty or only white space is `empty_field`.
    pub fn string(&self, field: &'static str) -> Result<&str, ApiError> {
        self.optional_string(field)?
            .ok_or(ApiError::MissingField(field))
    }

    /// An optional string field: absent or `null` is `None`.
    pub fn optional_string(&self, field: &'static str) -> Result<Option<&str>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Err(ApiError::EmptyField(field)),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::InvalidType {
                field,
                expected: "a string",
            }),
        }
    }

    /// An optional boolean field: absent or `null` is `None`; another JSON type is
    /// `invalid_type`.
    pub fn optional_bool(&self, field: &'static str) -> Result<Option<bool>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::InvalidType {
                field,
                expected: "true or false",
            }),
        }
    }

    /// A required field that clients may also send under an older name (`confirmation_code`,
    /// or `code`). An error names `field`, the preferred name. Both are checked, so that a
    /// malformed alias is refused rather than ignored.
    pub fn string_or_alias(
        &self,
        field: &'static str,
        alias: &'static str,
    ) -> Result<&str, ApiError> {
        let preferred = self.optional_string(field)?;
        let older = self.optional_string(alias)?;
        preferred.or(older).ok_or(ApiError::MissingField(field))
    }

    /// Rejects fields outside `allowed`, for routes whose clients must not send extras.
    pub fn deny_unknown_fields(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(unknown) => Err(ApiError::UnknownField(truncate(unknown, 64))),
            None => Ok(()),
        }
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field)
    }
}

/// A JSON object whose top-level keys are all different.
struct UniqueKeys(Map<String, Value>);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = UniqueKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<UniqueKeys, A::Error> {
                let mut map = Map::new();
                while let Some(key) = access.next_key::<String>()? {
                    let value: Value = access.next_value()?;
                    if map.contains_key(&key) {
                        return Err(serde::de::Error::custom(key));
                    }
                    map.insert(key, value);
                }
                Ok(UniqueKeys(map))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// The first repeated top-level key of `text`, an object that parsed, for the error message.
fn duplicate_key(text: &str) -> String {
    match serde_json::from_str::<UniqueKeys>(text) {
        Err(e) => {
            // The custom error is the key, followed by serde_json's position suffix.
            let msg = e.to_string();
            let key = msg
                .rsplit_once(" at line ")
                .map_or(msg.as_str(), |(k, _)| k);
            truncate(key, 64)
        }
        Ok(_) => String::new(),
    }
}

/// `application/json`, in any case, with parameters; a `charset` must be UTF-8.
fn check_content_type(value: Option<&http::HeaderValue>) -> Result<(), ApiError> {
    let value = value
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::UnsupportedMediaType)?;
    let mut parts = value.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::UnsupportedMediaType);
    }
    for param in parts {
        if let Some((name, charset)) = param.split_once('=')
            && name.trim().eq_ignore_ascii_case("charset")
            && !matches!(
                charset
                    .trim()
                    .trim_matches('"')
                    .to_ascii_lowercase()
                    .as_str(),
                "utf-8" | "utf8"
            )
        {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    Ok(())
}

/// Checks a string's length in characters, for fields the service bounds.
pub fn check_len(field: &'static str, value: &str, max_chars: usize) -> Result<(), ApiError> {
    if value.chars().count() > max_chars {
        return Err(ApiError::InvalidField {
            field,
            reason: format!("must be at most {max_chars} characters"),
        });
    }
    Ok(())
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Body) -> Result<JsonObject, ApiError> {
        JsonObject::from_body(&body)
    }

    #[test]
    fn an_absent_or_blank_body_is_missing_body() {
        assert_eq!(parse(Body::Empty).unwrap_err(), ApiError::MissingBody);
        assert_eq!(parse(Body::from(" \n")).unwrap_err(), ApiError::MissingBody);
    }

    #[test]
    fn a_body_over_16_kib_is_413_before_it_is_parsed() {
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        let err = parse(Body::from(big)).unwrap_err();
        assert_eq!(err.code(), "payload_too_large");
        assert_eq!(err.status().as_u16(), 413);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_invalid_encoding() {
        let err = parse(Body::Binary(vec![b'{', 0xff, 0xfe, b'}'])).unwrap_err();
        assert_eq!(err, ApiError::InvalidEncoding);
    }

    #[test]
    fn decoded_binary_json_is_accepted() {
        let obj = parse(Body::Binary(br#"{"username":"bob"}"#.to_vec())).unwrap();
        assert_eq!(obj.string("username").unwrap(), "bob");
    }

    #[test]
    fn syntax_errors_and_non_objects_are_told_apart() {
        assert_eq!(
            parse(Body::from("{oops")).unwrap_err().code(),
            "invalid_json"
        );
        for not_object in ["null", "[]", "\"text\"", "42", "true"] {
            assert_eq!(
                parse(Body::from(not_object)).unwrap_err(),
                ApiError::NotAnObject,
                "{not_object}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_invalid_json_not_a_crash() {
        // 5,000 levels fit in 16 KiB, and are far beyond the parser's recursion limit.
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(5_000), "]".repeat(5_000));
        assert_eq!(parse(Body::from(deep)).unwrap_err().code(), "invalid_json");
    }

    #[test]
    fn string_fields_are_checked_for_presence_type_and_emptiness() {
        let obj = parse(Body::from(r#"{"a":"x","n":null,"i":3,"e":"  ","o":{}}"#)).unwrap();
        assert_eq!(obj.string("a").unwrap(), "x");
        assert_eq!(
            obj.string("missing").unwrap_err(),
            ApiError::MissingField("missing")
        );
        assert_eq!(obj.string("n").unwrap_err(), ApiError::MissingField("n"));
        assert_eq!(obj.string("i").unwrap_err().code(), "invalid_type");
        assert_eq!(obj.string("o").unwrap_err().code(), "invalid_type");
        assert_eq!(obj.string("e").unwrap_err(), ApiError::EmptyField("e"));
        assert_eq!(obj.optional_string("n").unwrap(), None);
    }

    #[test]
    fn an_alternative_field_name_is_accepted_and_errors_name_the_preferred_one() {
        let obj = parse(Body::from(r#"{"code":"123456"}"#)).unwrap();
        assert_eq!(
            obj.string_or_alias("confirmation_code", "code").unwrap(),
            "123456"
        );
        let obj = parse(Body::from(r#"{}"#)).unwrap();
        assert_eq!(
            obj.string_or_alias("confirmation_code", "code")
                .unwrap_err(),
            ApiError::MissingField("confirmation_code")
        );
        // Found by schemathesis: a malformed alias next to a good preferred name was ignored.
        let obj = parse(Body::from(r#"{"confirmation_code":"1","code":{}}"#)).unwrap();
        assert_eq!(
            obj.string_or_alias("confirmation_code", "code")
                .unwrap_err()
                .code(),
            "invalid_type"
        );
    }

    #[test]
    fn a_key_given_twice_is_duplicate_field_whatever_its_values() {
        for body in [
            r#"{"username":"a","username":"b"}"#,
            r#"{"username":"a","password":"x","username":"a"}"#,
            r#"{"username":null,"username":"b"}"#,
        ] {
            assert_eq!(
                parse(Body::from(body)).unwrap_err(),
                ApiError::DuplicateField("username".into()),
                "{body}"
            );
        }
        // Equal keys in nested objects belong to those values, not to the request's fields.
        assert!(parse(Body::from(r#"{"a":{"b":1},"c":{"b":2}}"#)).is_ok());
    }

    #[test]
    fn unknown_fields_can_be_denied() {
        let obj = parse(Body::from(r#"{"a":1,"b":2}"#)).unwrap();
        assert!(obj.deny_unknown_fields(&["a", "b"]).is_ok());
        assert_eq!(
            obj.deny_unknown_fields(&["a"]).unwrap_err(),
            ApiError::UnknownField("b".into())
        );
    }

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut req = http::Request::builder().method("POST").uri("/login");
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.body(Body::from(body)).unwrap()
    }

    #[test]
    fn a_body_must_be_declared_json_in_utf8() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
        ] {
            assert!(
                JsonObject::from_request(&request(Some(ok), "{}")).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/jsonx"),
            Some("application/json; charset=latin1"),
            Some(""),
        ] {
            let err = JsonObject::from_request(&request(bad, "{}")).unwrap_err();
            assert_eq!(err.code(), "unsupported_media_type", "{bad:?}");
            assert_eq!(err.status().as_u16(), 415);
        }
    }

    #[test]
    fn a_missing_or_oversized_body_is_told_before_its_content_type() {
        let err = JsonObject::from_request(&request(Some("text/plain"), "")).unwrap_err();
        assert_eq!(err, ApiError::MissingBody);
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        let err = JsonObject::from_request(&request(None, &big)).unwrap_err();
        assert_eq!(err.code(), "payload_too_large");
    }

    #[test]
    fn lengths_are_counted_in_characters() {
        assert!(check_len("f", "üüü", 3).is_ok());
        assert_eq!(
            check_len("f", "üüüü", 3).unwrap_err().code(),
            "invalid_field"
        );
    }
}
