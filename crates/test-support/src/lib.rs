//! Test helpers shared by the function crates, the end-to-end tests and the bench: API Gateway
//! REST proxy events from `events/`, turned into requests by lambda_http's own conversion,
//! response assertions, mocked SDK clients, a moto server on a free loopback port, and a software
//! passkey authenticator ([`authenticator`]).

pub mod authenticator;
mod moto;

use std::convert::Infallible;
use std::path::PathBuf;

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use platform::{Api, Cors, Route};
use serde_json::Value;

pub use moto::{Moto, free_port, patient, sdk_config_for, workspace_root};

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

/// The caller's address in every fixture of `events/` (`requestContext.identity.sourceIp`).
pub const CALLER_IP: &str = "203.0.113.7";

/// The app client the Cognito handler tests call as.
pub const CLIENT_ID: &str = "test-client-id";
/// Its secret: tests check the SECRET_HASH sent with every call.
pub const CLIENT_SECRET: &str = "test-client-secret";

/// The deployed retry policy (3 attempts), with a negligible back-off, for mocked clients.
pub fn deployed_retries() -> aws_sdk_dynamodb::config::retry::RetryConfig {
    aws_sdk_dynamodb::config::retry::RetryConfig::standard()
        .with_max_attempts(platform::sdk::MAX_ATTEMPTS)
        .with_initial_backoff(std::time::Duration::from_millis(1))
}

/// The app client the tokens of every fixture of `events/` were issued to (`aud`, `client_id`).
pub const EVENTS_CLIENT_ID: &str = "1example23456789abcdefghij";

/// No sign-out has ended any token.
struct NoneRevoked;

impl platform::Revocations for NoneRevoked {
    fn check<'a>(
        &'a self,
        _: &'a platform::Caller,
    ) -> platform::BoxFuture<'a, Result<platform::LiveSession, platform::ApiError>> {
        Box::pin(async { Ok(platform::LiveSession::default()) })
    }
}

/// A function with `state` and `routes`, answering with any origin allowed, taking the tokens
/// of the fixtures' app client ([`EVENTS_CLIENT_ID`]) with no revocation.
pub fn api<S: Sync + 'static>(state: S, routes: &'static [Route<S>]) -> Api<S> {
    Api::new(Cors::default(), state, routes)
        .protected(EVENTS_CLIENT_ID, std::sync::Arc::new(NoneRevoked))
}

/// Serves `req` through the function's request boundary, as Lambda and the local API do. The
/// `Result` is for the shape of the tests' calls: the boundary never fails.
pub async fn handle<S: Sync + 'static>(
    api: &Api<S>,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    Ok(api.serve(req).await)
}

/// A Cognito client that answers from `rules`, in order, for the test app client (with a
/// secret). It retries as the deployed one does (3 attempts), with a negligible back-off.
pub fn cognito(rules: &[&aws_smithy_mocks::Rule]) -> auth::Cognito {
    let client = aws_smithy_mocks::mock_client!(
        aws_sdk_cognitoidentityprovider,
        aws_smithy_mocks::RuleMode::Sequential,
        rules,
        |conf| conf.retry_config(deployed_retries())
    );
    let app = auth::AppClient {
        client_id: CLIENT_ID.to_owned(),
        client_secret: Some(CLIENT_SECRET.into()),
    };
    auth::Cognito::with_client(client, app).expect("the test app client's configuration is valid")
}

/// The SECRET_HASH the test app client must send for `username`.
pub fn expected_hash(username: &str) -> String {
    auth::secret_hash(username, CLIENT_ID, CLIENT_SECRET)
}

/// Every class of malformed body, with the status and code each must get. Shared by all the
/// JSON routes, so each is held to the same rules.
pub fn malformed_bodies() -> Vec<(&'static str, Option<String>, u16, &'static str)> {
    vec![
        ("no body", None, 400, "missing_body"),
        ("blank body", Some(" \r\n".into()), 400, "missing_body"),
        (
            "invalid JSON",
            Some("{\"username\":".into()),
            400,
            "invalid_json",
        ),
        ("trailing garbage", Some("{} x".into()), 400, "invalid_json"),
        ("JSON null", Some("null".into()), 400, "body_not_object"),
        ("JSON array", Some("[]".into()), 400, "body_not_object"),
        (
            "JSON string",
            Some("\"hello\"".into()),
            400,
            "body_not_object",
        ),
        ("empty object", Some("{}".into()), 400, "missing_field"),
        (
            "username of the wrong type",
            Some(r#"{"username":42}"#.into()),
            400,
            "invalid_type",
        ),
        (
            "username null",
            Some(r#"{"username":null}"#.into()),
            400,
            "missing_field",
        ),
        (
            "empty username",
            Some(r#"{"username":""}"#.into()),
            400,
            "empty_field",
        ),
        (
            "blank username",
            Some(r#"{"username":"   "}"#.into()),
            400,
            "empty_field",
        ),
        (
            "username with a space",
            Some(r#"{"username":"a b"}"#.into()),
            400,
            "invalid_field",
        ),
        (
            "username with a NUL",
            Some(r#"{"username":"a\u0000b"}"#.into()),
            400,
            "invalid_field",
        ),
        (
            "username too long",
            Some(format!(r#"{{"username":"{}"}}"#, "a".repeat(129))),
            400,
            "invalid_field",
        ),
        (
            "username as an object",
            Some(r#"{"username":{"$ne":""}}"#.into()),
            400,
            "invalid_type",
        ),
        (
            "body over 16 KiB",
            Some(format!(r#"{{"username":"{}"}}"#, "a".repeat(17 * 1024))),
            413,
            "payload_too_large",
        ),
    ]
}

/// Runs every malformed body of [`malformed_bodies`] through `handler` (on the route of event
/// `event`), plus base64 bodies that are not UTF-8, and checks each answer.
pub async fn assert_rejects_malformed_bodies<F, Fut, E>(event: &str, handler: F)
where
    F: Fn(Request) -> Fut,
    Fut: std::future::Future<Output = Result<Response<Body>, E>>,
    E: std::fmt::Display + std::fmt::Debug,
{
    for (case, body, status, code) in malformed_bodies() {
        let res = handler(request_with_body(event, body.as_deref()))
            .await
            .unwrap_or_else(|e| panic!("{case}: handler returned Err({e}), which is a 502"));
        let got = body_json(&res);
        assert_eq!(res.status().as_u16(), status, "{case}: {got}");
        assert_eq!(got["error"]["code"], code, "{case}: {got}");
        assert_json_with_cors(&res);
    }
    // "/w==" decodes to the single byte 0xFF, which is not UTF-8.
    let res = handler(request_with_base64_body(event, "/w=="))
        .await
        .expect("handler must not return Err");
    assert_error(&res, 400, "invalid_encoding");
}

/// A row of an error-mapping table: the service error, and the status and code it must become.
pub type ErrorCase<E> = (fn() -> E, u16, &'static str);

/// A DynamoDB client that answers from `rules`, in order, and retries as the deployed one does
/// (3 attempts), with a negligible back-off.
pub fn dynamodb_client(rules: &[&aws_smithy_mocks::Rule]) -> aws_sdk_dynamodb::Client {
    aws_smithy_mocks::mock_client!(
        aws_sdk_dynamodb,
        aws_smithy_mocks::RuleMode::Sequential,
        rules,
        |conf| conf.retry_config(deployed_retries())
    )
}

/// A sessions table's DynamoDB client that takes every transaction (the sessions sign-ins
/// record), as many as come, and lists each user's sessions as none (the check of the limit a
/// sign-in makes).
pub fn recording_sessions() -> aws_sdk_dynamodb::Client {
    let recorded = aws_smithy_mocks::mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .output(|| {
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput::builder()
                .build()
        })
        .repeatedly()
        .build();
    let listed = aws_smithy_mocks::mock!(aws_sdk_dynamodb::Client::query)
        .sequence()
        .output(|| aws_sdk_dynamodb::operation::query::QueryOutput::builder().build())
        .repeatedly()
        .build();
    aws_smithy_mocks::mock_client!(
        aws_sdk_dynamodb,
        aws_smithy_mocks::RuleMode::MatchAny,
        [&recorded, &listed]
    )
}

/// [`cognito`] answering `rules` in order, then any number of AdminGetUser look-ups as for a
/// user name no account has: the look-up a refused sign-in makes for its event.
pub fn cognito_then_no_user(rules: &[&aws_smithy_mocks::Rule]) -> auth::Cognito {
    use aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserError;
    use aws_sdk_cognitoidentityprovider::types::error::UserNotFoundException;
    let lookup = aws_smithy_mocks::mock!(aws_sdk_cognitoidentityprovider::Client::admin_get_user)
        .sequence()
        .error(|| {
            AdminGetUserError::UserNotFoundException(UserNotFoundException::builder().build())
        })
        .repeatedly()
        .build();
    let rules: Vec<&aws_smithy_mocks::Rule> = rules.iter().copied().chain([&lookup]).collect();
    cognito(&rules)
}

/// An audit table's DynamoDB client that takes every event put to it, as many as come: the
/// events a handler records, where a test does not look at them.
pub fn audit_client() -> aws_sdk_dynamodb::Client {
    let appended = aws_smithy_mocks::mock!(aws_sdk_dynamodb::Client::put_item)
        .sequence()
        .output(|| aws_sdk_dynamodb::operation::put_item::PutItemOutput::builder().build())
        .repeatedly()
        .build();
    aws_smithy_mocks::mock_client!(
        aws_sdk_dynamodb,
        aws_smithy_mocks::RuleMode::MatchAny,
        [&appended]
    )
}

/// Replaces the caller of an authorized event: its `sub` (also its `cognito:username`) and its
/// `cognito:groups` claim (`None`: in no group), keeping the rest of the claims block.
pub fn set_caller(event: &mut Value, sub: &str, groups: Option<&str>) {
    let claims = event["requestContext"]["authorizer"]["claims"]
        .as_object_mut()
        .expect("the event has an authorizer claims block");
    claims.insert("sub".into(), Value::String(sub.into()));
    claims.insert("cognito:username".into(), Value::String(sub.into()));
    match groups {
        Some(groups) => claims.insert("cognito:groups".into(), Value::String(groups.into())),
        None => claims.remove("cognito:groups"),
    };
}

/// Removes the authorizer block, as a route deployed without its authorizer would send it.
pub fn remove_authorizer(event: &mut Value) {
    if let Some(ctx) = event["requestContext"].as_object_mut() {
        ctx.remove("authorizer");
    }
}

/// Sets the query string, in both the single- and multi-value forms API Gateway sends.
pub fn set_query(event: &mut Value, params: &[(&str, &str)]) {
    let single: serde_json::Map<String, Value> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect();
    let multi: serde_json::Map<String, Value> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::json!([v])))
        .collect();
    let empty = params.is_empty();
    event["queryStringParameters"] = if empty {
        Value::Null
    } else {
        Value::Object(single)
    };
    event["multiValueQueryStringParameters"] = if empty {
        Value::Null
    } else {
        Value::Object(multi)
    };
}

/// Points an event of the `/books/{id}` resource at another id.
pub fn set_path_id(event: &mut Value, id: &str) {
    let parent = event["path"]
        .as_str()
        .and_then(|p| p.rsplit_once('/'))
        .map(|(parent, _)| parent.to_owned())
        .expect("the event has a path with an id");
    event["path"] = Value::String(format!("{parent}/{id}"));
    event["pathParameters"] = serde_json::json!({ "id": id });
    if let Some(stage_path) = event["requestContext"]["path"].as_str() {
        let stage_parent = stage_path.rsplit_once('/').map(|(p, _)| p.to_owned());
        if let Some(stage_parent) = stage_parent {
            event["requestContext"]["path"] = Value::String(format!("{stage_parent}/{id}"));
        }
    }
}

/// A recovery codes' pepper, as a function is composed with one (the stack's is read from
/// Secrets Manager at start-up).
pub fn pepper() -> secrecy::SecretString {
    secrecy::SecretString::from("a-test-pepper-of-at-least-thirty-two-bytes")
}
