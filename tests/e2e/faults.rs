//! Fault injection: every route of the local API, its functions pointed at a dead port, at a
//! port that accepts and never answers, and at a fake Cognito/DynamoDB answering throttling
//! errors or 500s. Each answer is our JSON error with CORS: 503, 504 (well inside the Lambda
//! timeout of 10 s), 429 with `Retry-After`, 503. The SDK's timeouts and retries are those of
//! `platform::sdk`, the one place they are set.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use integration_tests::{TestJwks, free_port, serve_gateway};
use serde_json::{Value, json};

/// The Lambda timeout of the functions (template.yaml); a 504 must come well before it.
const DEADLINE: Duration = Duration::from_secs(9);

/// How the fake AWS answers.
#[derive(Clone, Copy, Debug)]
enum Fault {
    Throttle,
    ServerError,
}

type Calls = Arc<Mutex<BTreeMap<String, usize>>>;

/// A fake Cognito + DynamoDB on a free loopback port, answering every call with `fault`, and
/// counting the calls by operation (`x-amz-target`).
async fn fake_aws(fault: Fault) -> (String, Calls) {
    let calls: Calls = Arc::default();
    let seen = calls.clone();
    let app = axum::Router::new().fallback(move |headers: http::HeaderMap, body: String| {
        let seen = seen.clone();
        async move {
            let target = headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("?")
                .to_owned();
            let dynamodb = target.starts_with("DynamoDB");
            let op = target.rsplit('.').next().unwrap_or("?").to_owned();
            // The sessions table finds the caller's session live, and /refresh's token current,
            // so that the route's own call is the one that meets the fault.
            let table = serde_json::from_str::<Value>(&body).ok();
            if op == "GetItem" && table.is_some_and(|b| b["TableName"] == "sessions") {
                *seen
                    .lock()
                    .unwrap()
                    .entry("GetItem (sessions)".into())
                    .or_default() += 1;
                let live = json!({"Item": {
                    "pk": {"S": "live"}, "sk": {"S": "live"}, "started_at": {"N": "1"},
                    "sub": {"S": "fault-sub"}, "session": {"S": "fault-session"},
                    "issued_at": {"N": "1"},
                }});
                return (
                    http::StatusCode::OK,
                    [
                        ("content-type", "application/x-amz-json-1.0"),
                        ("x-amzn-errortype", ""),
                    ],
                    live.to_string(),
                );
            }
            *seen.lock().unwrap().entry(op).or_default() += 1;
            let (status, error_type) = match (fault, dynamodb) {
                (Fault::Throttle, false) => (400, "TooManyRequestsException"),
                (Fault::Throttle, true) => (
                    400,
                    "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                ),
                (Fault::ServerError, false) => (500, "InternalErrorException"),
                (Fault::ServerError, true) => {
                    (500, "com.amazonaws.dynamodb.v20120810#InternalServerError")
                }
            };
            (
                http::StatusCode::from_u16(status).unwrap(),
                [
                    ("content-type", "application/x-amz-json-1.1"),
                    ("x-amzn-errortype", error_type),
                ],
                json!({"__type": error_type, "message": "injected fault"}).to_string(),
            )
        }
    });
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (endpoint, calls)
}

/// A port that accepts connections and never answers on them.
async fn black_hole() -> String {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    endpoint
}

/// The local API with every function calling `endpoint`; the authorizer uses `jwks`.
async fn api_calling(
    endpoint: &str,
    jwks: &TestJwks,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let sdk = integration_tests::sdk_config_for(endpoint).await;
    let config = integration_tests::local_config(&[
        ("COGNITO_USER_POOL_ID", "us-east-1_Faults"),
        ("COGNITO_CLIENT_ID", "fault-client"),
        ("COGNITO_CLIENT_SECRET", "fault-secret"),
        ("BOOKS_TABLE", "books"),
        ("SESSIONS_TABLE", "sessions"),
        ("RECOVERY_CODES_TABLE", "recovery-codes"),
        // The recovery codes' key, given as it is: these runs have no Secrets Manager to read it from.
        (
            "RECOVERY_CODE_PEPPER",
            "a-test-pepper-of-at-least-thirty-two-bytes",
        ),
        ("LIMITS_TABLE", "limits"),
        ("AUDIT_TABLE", "audit"),
        ("JWKS_URL", &jwks.url),
        ("TOKEN_ISSUER", &jwks.issuer),
    ]);
    serve_gateway(local_api::gateway(&config, &sdk).await.unwrap()).await
}

/// One well-formed request per route of the template, each of which calls Cognito or DynamoDB.
/// The last item: whether the route needs the id token.
fn requests() -> Vec<(&'static str, &'static str, Option<Value>, bool)> {
    let book = json!({"name": "Solaris", "author": "Stanisław Lem"});
    vec![
        (
            "POST",
            "/register",
            Some(json!({"username": "fault@example.com", "password": "Correct-Horse-9!"})),
            false,
        ),
        (
            "POST",
            "/confirm_user",
            Some(json!({"username": "fault@example.com", "confirmation_code": "123456"})),
            false,
        ),
        (
            "POST",
            "/login",
            Some(json!({"username": "fault@example.com", "password": "Correct-Horse-9!"})),
            false,
        ),
        (
            "POST",
            "/refresh",
            Some(json!({"username": "fault@example.com", "refresh_token": "opaque"})),
            false,
        ),
        ("GET", "/books", None, false),
        ("POST", "/books", Some(book.clone()), true),
        ("GET", "/books/b1", None, false),
        ("PUT", "/books/b1", Some(book), true),
        ("DELETE", "/books/b1", None, true),
    ]
}

/// Sends every route's request at once; checks each answer is `status` with `code`, our JSON
/// error with CORS, within the deadline. Returns how many faults were injected.
async fn expect_everywhere(endpoint: &str, status: u16, code: &str) -> usize {
    let jwks = TestJwks::start().await;
    let (base, _stop) = api_calling(endpoint, &jwks).await;
    let token = jwks.sign_id_token("fault-client", 3600);
    let http = reqwest::Client::new();
    let calls = requests().into_iter().map(|(method, path, body, auth)| {
        let mut req = http.request(method.parse().unwrap(), format!("{base}{path}"));
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        if auth {
            req = req.header("authorization", &token);
        }
        async move {
            let started = Instant::now();
            let res = req.send().await.unwrap();
            (method, path, started.elapsed(), res)
        }
    });
    let answers = futures::future::join_all(calls).await;
    let n = answers.len();
    for (method, path, elapsed, res) in answers {
        let case = format!("{method} {path}");
        assert!(elapsed < DEADLINE, "{case}: answered after {elapsed:?}");
        assert_eq!(res.headers()["access-control-allow-origin"], "*", "{case}");
        assert_eq!(res.headers()["content-type"], "application/json", "{case}");
        let retry_after = res.headers().get("retry-after").cloned();
        let got = res.status().as_u16();
        let body: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{case}: {body}"
        );
        assert!(body["request_id"].is_string(), "{case}");
        assert!(
            !body.to_string().contains("injected"),
            "{case}: the cause leaked into the body"
        );
        if status == 429 {
            let secs: u32 = retry_after
                .unwrap_or_else(|| panic!("{case}: no Retry-After"))
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(secs >= 1, "{case}");
        }
    }
    n
}

#[tokio::test]
async fn a_dead_port_behind_every_route_is_503_with_cors() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let n = expect_everywhere(&dead, 503, "service_unavailable").await;
    eprintln!("faults injected (dead port): {n}");
}

#[tokio::test]
async fn a_port_that_never_answers_is_504_well_inside_the_lambda_timeout() {
    let hole = black_hole().await;
    let n = expect_everywhere(&hole, 504, "timeout").await;
    eprintln!("faults injected (no answer): {n}");
}

#[tokio::test]
async fn throttling_from_cognito_or_dynamodb_is_429_with_retry_after() {
    let (fake, calls) = fake_aws(Fault::Throttle).await;
    let n = expect_everywhere(&fake, 429, "too_many_requests").await;
    eprintln!("faults injected (throttling): {n}");
    let calls = calls.lock().unwrap().clone();
    eprintln!("calls the fake saw: {calls:?}");
    // Non-idempotent calls are made once, whatever the answer: a retry of a SignUp whose answer
    // was lost would turn its success into username_exists.
    assert_eq!(calls.get("SignUp"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("PutItem"), Some(&1), "{calls:?}");
    // Idempotent ones are retried, up to platform::sdk::MAX_ATTEMPTS.
    let max = platform::sdk::MAX_ATTEMPTS as usize;
    assert!(
        calls.get("GetItem").is_some_and(|n| (2..=max).contains(n)),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_500_from_cognito_or_dynamodb_is_an_opaque_503() {
    let (fake, calls) = fake_aws(Fault::ServerError).await;
    let n = expect_everywhere(&fake, 503, "service_unavailable").await;
    eprintln!("faults injected (500s): {n}");
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.get("SignUp"), Some(&1), "{calls:?}");
}
