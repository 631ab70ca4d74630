//! register → confirm → login → refresh against a real moto server, through the same handler
//! functions the Lambdas run.

use auth::{AppClient, CognitoState, Cors};
use aws_sdk_cognitoidentityprovider as cognito;
use integration_tests::{Moto, create_pool};
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use test_support::{assert_error, assert_json_with_cors, body_json, request_with_json};

async fn call<F, Fut>(handler: F, event: &str, body: Value) -> Response<Body>
where
    F: FnOnce(lambda_http::Request) -> Fut,
    Fut: std::future::Future<Output = Result<Response<Body>, lambda_http::Error>>,
{
    handler(request_with_json(event, body))
        .await
        .expect("a handler never returns Err for an expected failure")
}

#[tokio::test]
async fn register_confirm_login_refresh_against_moto() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let client = cognito::Client::new(&sdk);
    let pool = create_pool(&client, "auth-flow").await;
    let state = CognitoState::new(
        client.clone(),
        AppClient::new(&pool.client_id, Some(pool.client_secret.clone())),
        Cors::default(),
    );
    let user = json!({"username": "Alice@Example.com", "password": "Correct-Horse-9!"});

    // Register, then register again.
    let res = call(|r| register::handle(&state, r), "register", user.clone()).await;
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_json_with_cors(&res);
    let body = body_json(&res);
    assert_eq!(body["username"], "alice@example.com");
    assert_eq!(body["user_confirmed"], false);
    let res = call(|r| register::handle(&state, r), "register", user.clone()).await;
    assert_error(&res, 409, "username_exists");

    // Not confirmed yet.
    let res = call(|r| login::handle(&state, r), "login", user.clone()).await;
    assert_error(&res, 403, "user_not_confirmed");

    // Confirm (moto accepts any code), with the older `code` field.
    let res = call(
        |r| confirm::handle(&state, r),
        "confirm_user",
        json!({"username": "alice@example.com", "code": "000000"}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", body_json(&res));

    // A wrong password and an unknown user get the same answer.
    let wrong = call(
        |r| login::handle(&state, r),
        "login",
        json!({"username": "alice@example.com", "password": "Wrong-Horse-9!"}),
    )
    .await;
    let unknown = call(
        |r| login::handle(&state, r),
        "login",
        json!({"username": "nobody@example.com", "password": "Wrong-Horse-9!"}),
    )
    .await;
    let wrong = assert_error(&wrong, 401, "invalid_credentials");
    let unknown = assert_error(&unknown, 401, "invalid_credentials");
    assert_eq!(wrong["error"], unknown["error"]);

    // Sign in; the user name is case-insensitive.
    let res = call(
        |r| login::handle(&state, r),
        "login",
        json!({"username": "ALICE@example.com", "password": "Correct-Horse-9!"}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    let tokens = body_json(&res);
    for field in [
        "id_token",
        "access_token",
        "refresh_token",
        "token_type",
        "username",
    ] {
        assert!(tokens[field].is_string(), "{field} in {tokens}");
    }
    assert!(tokens["expires_in"].as_i64().unwrap() > 0);
    let username = tokens["username"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();

    // Refresh with the user name /login returned.
    let res = call(
        |r| refresh::handle(&state, r),
        "refresh",
        json!({"username": username, "refresh_token": refresh_token}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    let fresh = body_json(&res);
    assert!(fresh["id_token"].is_string());
    assert!(fresh["access_token"].is_string());
    assert_ne!(fresh["access_token"], tokens["access_token"]);

    // Refresh with another user name: the SECRET_HASH no longer matches, and moto checks it.
    let res = call(
        |r| refresh::handle(&state, r),
        "refresh",
        json!({"username": "mallory", "refresh_token": refresh_token}),
    )
    .await;
    assert_error(&res, 401, "invalid_refresh_token");

    // A made-up refresh token.
    let res = call(
        |r| refresh::handle(&state, r),
        "refresh",
        json!({"username": username, "refresh_token": "not-a-real-token"}),
    )
    .await;
    assert_error(&res, 401, "invalid_refresh_token");
}

#[tokio::test]
async fn an_unreachable_cognito_is_an_opaque_503_with_cors() {
    // A port that was free a moment ago: nothing listens there.
    let port = integration_tests::free_port();
    let sdk = auth::sdk::loader()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(cognito::config::Credentials::new("t", "t", None, None, "t"))
        .load()
        .await;
    let state = CognitoState::new(
        cognito::Client::new(&sdk),
        AppClient::new("client", Some("secret".into())),
        Cors::default(),
    );
    let res = call(
        |r| login::handle(&state, r),
        "login",
        json!({"username": "alice", "password": "pw-123456"}),
    )
    .await;
    let body = assert_error(&res, 503, "service_unavailable");
    assert!(!body.to_string().contains("127.0.0.1"));
}
