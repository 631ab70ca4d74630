//! Cognito's JSON protocol (`application/x-amz-json-1.1`): every call is a POST whose
//! `X-Amz-Target` names the operation, read here once into a [`Target`], with a JSON body read
//! into each operation's typed request; answers are JSON, errors [`Error`].

mod decode;
mod error;

use axum::body::{Body, Bytes};
use axum::response::Response;
use http::HeaderMap;
use serde::de::{DeserializeOwned, IntoDeserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use decode::DecodeError;
pub use error::{Error, ErrorType};

/// Every answer's and error's content type.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";

pub use crate::ops::Target;

impl Target {
    /// The Cognito operation `headers`' `X-Amz-Target` names; `None` for a call that is not
    /// Cognito's (another service's, or none).
    pub fn of(headers: &HeaderMap) -> Option<Target> {
        let target = headers.get("x-amz-target")?.to_str().ok()?;
        let op = target.strip_prefix(TARGET_PREFIX)?;
        let op: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            op.into_deserializer();
        Target::deserialize(op).ok()
    }
}

/// A Cognito call: its operation, its JSON read once, and the headers and body as they came,
/// which is what moto gets when the call is passed on.
#[derive(Debug)]
pub struct Call {
    pub target: Target,
    pub headers: HeaderMap,
    pub body: Bytes,
    json: Value,
}

impl Call {
    /// The call `headers` and `body` make, for `target`; a body that is not JSON is Cognito's
    /// `SerializationException`.
    pub fn new(target: Target, headers: HeaderMap, body: Bytes) -> Result<Self, Error> {
        let json = serde_json::from_slice(&body)
            .map_err(|_| Error::new(ErrorType::Serialization, "the body is not JSON"))?;
        Ok(Self {
            target,
            headers,
            body,
            json,
        })
    }

    /// The operation's typed request. A required member that is missing is
    /// `InvalidParameterException`, as Cognito answers it; a member of the wrong type
    /// `SerializationException`.
    pub fn request<T: DeserializeOwned>(&self) -> Result<T, Error> {
        decode::decode(&self.json).map_err(|err| match err {
            DecodeError::Missing(member) => Error::invalid_parameter(format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: \
                 Member must not be null",
                lower_first(member)
            )),
            DecodeError::Invalid(why) => Error::new(ErrorType::Serialization, why),
        })
    }

    /// The call's JSON body.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// This call with `change` made to its JSON: what moto gets instead of the body as it came.
    pub fn rewritten(&self, change: impl FnOnce(&mut Value)) -> Call {
        let mut json = self.json.clone();
        change(&mut json);
        Call {
            target: self.target,
            headers: self.headers.clone(),
            body: Bytes::from(json.to_string()),
            json,
        }
    }
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// A key that an operation needs in a map member (`AuthParameters`, `ChallengeResponses`), as
/// Cognito asks for it when it is not there.
pub fn required_parameter<T>(name: &str, value: Option<T>) -> Result<T, Error> {
    value.ok_or_else(|| Error::invalid_parameter(format!("Missing required parameter {name}")))
}

/// A successful answer.
pub fn answer(body: &Value) -> Response {
    Response::builder()
        .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

/// A user attribute as requests carry it (`AttributeType`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

/// `CodeDeliveryDetails`: a code sent by e-mail to `email`, masked.
pub fn code_delivery(email: &str) -> Value {
    json!({
        "Destination": mask(email),
        "DeliveryMedium": "EMAIL",
        "AttributeName": "email",
    })
}

/// `a***@e***`, as Cognito masks a destination.
fn mask(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    format!("{}***@{}***", first(local), first(domain))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(target: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-amz-target", HeaderValue::from_str(target).unwrap());
        h
    }

    #[test]
    fn the_target_is_read_from_the_header_once_and_unknown_operations_are_other() {
        let of = |t: &str| Target::of(&headers(t));
        assert_eq!(
            of("AWSCognitoIdentityProviderService.SignUp"),
            Some(Target::SignUp)
        );
        assert_eq!(
            of("AWSCognitoIdentityProviderService.GetUser"),
            Some(Target::Other)
        );
        assert_eq!(of("DynamoDB_20120810.GetItem"), None);
        assert_eq!(Target::of(&HeaderMap::new()), None);
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Confirm {
        #[allow(dead_code)]
        username: String,
    }

    #[test]
    fn a_missing_member_is_invalid_parameter_and_a_wrong_type_serialization() {
        let call = |body: &str| {
            let body = Bytes::copy_from_slice(body.as_bytes());
            Call::new(Target::ConfirmSignUp, HeaderMap::new(), body)
        };
        let missing = call("{}").unwrap().request::<Confirm>().unwrap_err();
        assert_eq!(missing.kind(), Some(&ErrorType::InvalidParameter));
        let wrong = call(r#"{"Username": 1}"#)
            .unwrap()
            .request::<Confirm>()
            .unwrap_err();
        assert_eq!(wrong.kind(), Some(&ErrorType::Serialization));
        let not_json = call("{").unwrap_err();
        assert_eq!(not_json.kind(), Some(&ErrorType::Serialization));
        let missing = required_parameter::<String>("USERNAME", None).unwrap_err();
        assert_eq!(missing.kind(), Some(&ErrorType::InvalidParameter));
    }

    #[test]
    fn a_rewritten_call_carries_the_new_json_as_its_body() {
        let call = Call::new(Target::Other, HeaderMap::new(), r#"{"A":1}"#.into()).unwrap();
        let call = call.rewritten(|j| j["A"] = json!(2));
        assert_eq!(&call.body[..], br#"{"A":2}"#);
    }

    #[test]
    fn destinations_are_masked_as_cognito_masks_them() {
        assert_eq!(mask("alice@example.com"), "a***@e***");
    }
}
