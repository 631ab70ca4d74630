//! Test helpers shared by the function crates: API Gateway REST proxy events from `events/`,
//! turned into requests by lambda_http's own conversion, and response assertions.

use std::path::PathBuf;

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

/// The workspace's `events/` folder.
pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

/// The event `events/<name>.json` as JSON.
pub fn event_json(name: &str) -> Value {
    let path = events_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Converts an event the way the Lambda runtime does.
pub fn to_request(event: &Value) -> Request {
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway REST event")
}

/// The event `events/<name>.json` as the handler sees it.
pub fn request(name: &str) -> Request {
    to_request(&event_json(name))
}

/// The event `events/<name>.json` with its body replaced by `body` (`None`: no body at all).
pub fn request_with_body(name: &str, body: Option<&str>) -> Request {
    let mut event = event_json(name);
    event["body"] = body.map_or(Value::Null, |b| Value::String(b.to_owned()));
    event["isBase64Encoded"] = Value::Bool(false);
    to_request(&event)
}

/// The event `events/<name>.json` with its body replaced by `json`.
pub fn request_with_json(name: &str, json: Value) -> Request {
    request_with_body(name, Some(&json.to_string()))
}

/// The event `events/<name>.json` with a base64-encoded body, as API Gateway sends binary media.
pub fn request_with_base64_body(name: &str, base64_body: &str) -> Request {
    let mut event = event_json(name);
    event["body"] = Value::String(base64_body.to_owned());
    event["isBase64Encoded"] = Value::Bool(true);
    to_request(&event)
}

/// The response body as JSON.
pub fn body_json(res: &Response<Body>) -> Value {
    serde_json::from_slice(res.body())
        .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {:?}", res.body()))
}

/// Asserts the headers every answer of ours carries: JSON content-type and CORS.
pub fn assert_json_with_cors(res: &Response<Body>) {
    let h = res.headers();
    assert_eq!(
        h.get("content-type").map(|v| v.to_str().unwrap()),
        Some("application/json"),
        "content-type"
    );
    assert!(
        h.contains_key("access-control-allow-origin"),
        "CORS origin header missing"
    );
    assert!(
        h.contains_key("access-control-allow-headers"),
        "CORS headers header missing"
    );
    assert!(
        h.contains_key("access-control-allow-methods"),
        "CORS methods header missing"
    );
}

/// Asserts our error shape with `status` and `code`, JSON and CORS, and returns the body.
pub fn assert_error(res: &Response<Body>, status: u16, code: &str) -> Value {
    let body = body_json(res);
    assert_eq!(
        res.status(),
        StatusCode::from_u16(status).unwrap(),
        "status; body: {body}"
    );
    assert_json_with_cors(res);
    assert_eq!(body["error"]["code"], code, "error code; body: {body}");
    assert!(
        body["error"]["message"].is_string(),
        "error message; body: {body}"
    );
    assert!(body["request_id"].is_string(), "request id; body: {body}");
    body
}

/// Builds a fake unsigned JWT with `claims` as its payload, shaped as Cognito's tokens are.
pub fn fake_jwt(claims: &Value) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    format!(
        "{}.{}.{}",
        B64.encode(br#"{"alg":"RS256","kid":"test"}"#),
        B64.encode(claims.to_string()),
        B64.encode(b"signature")
    )
}
