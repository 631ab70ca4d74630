//! register → confirm → login against a real moto server, through the same handler functions
//! the Lambdas run. (Refreshing takes GetTokensFromRefreshToken, which moto lacks: the local
//! Cognito's tests and tests/e2e/sessions.rs hold it.)

use aws_config::SdkConfig;
use integration_tests::{Moto, create_pool};
use lambda_http::{Body, Response};
use platform::Api;
use serde_json::{Value, json};
use test_support::{assert_error, assert_json_with_cors, body_json, request_with_json};

async fn call<F, Fut>(handler: F, event: &str, body: Value) -> Response<Body>
where
    F: FnOnce(lambda_http::Request) -> Fut,
    Fut: std::future::Future<Output = Response<Body>>,
{
    handler(request_with_json(event, body)).await
}

/// The three functions, each composed by its own `app` as its Lambda is.
struct Functions {
    register: Api<register::State>,
    confirm: Api<confirm::State>,
    login: Api<login::State>,
}

/// `secret` is the variable that gives the client secret, and its value.
async fn functions(sdk: &SdkConfig, client_id: &str, secret: (&str, &str)) -> Functions {
    // The limits table is login's for the codes it mails; no test here mails one. The
    // sessions table records each sign-in.
    let env = platform::Env::from_pairs([
        ("COGNITO_CLIENT_ID", client_id),
        ("LIMITS_TABLE", "limits-unused"),
        ("AUDIT_TABLE", "audit-unused"),
        ("COGNITO_USER_POOL_ID", "us-east-1_unused"),
        ("SESSIONS_TABLE", SESSIONS),
        secret,
    ]);
    Functions {
        register: register::app(&env, sdk).await.unwrap(),
        confirm: confirm::app(&env, sdk).await.unwrap(),
        login: login::app(&env, sdk).await.unwrap(),
    }
}

const SESSIONS: &str = "auth-flow-sessions";

async fn create_sessions_table(sdk: &SdkConfig) {
    let template = integration_tests::template();
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    local_api::bootstrap::create_table(&template, &dynamodb, "SessionsTable", SESSIONS)
        .await
        .unwrap();
}

#[tokio::test]
async fn register_confirm_login_refresh_against_moto() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let pool = create_pool(&sdk, "auth-flow").await;
    create_sessions_table(&sdk).await;
    // The secret, as deployed: read from Secrets Manager by its ARN.
    let secret = ("COGNITO_CLIENT_SECRET_ARN", pool.client_secret_arn.as_str());
    let state = functions(&sdk, &pool.client_id, secret).await;
    let user = json!({"username": "Alice@Example.com", "password": "Correct-Horse-9!"});

    // Register, then register again.
    let res = call(|r| state.register.serve(r), "register", user.clone()).await;
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_json_with_cors(&res);
    let body = body_json(&res);
    assert_eq!(body["username"], "alice@example.com");
    assert_eq!(body["user_confirmed"], false);
    let res = call(|r| state.register.serve(r), "register", user.clone()).await;
    assert_error(&res, 409, "username_exists");

    // Not confirmed yet.
    let res = call(|r| state.login.serve(r), "login", user.clone()).await;
    assert_error(&res, 403, "user_not_confirmed");

    // Confirm (moto accepts any code), with the older `code` field.
    let res = call(
        |r| state.confirm.serve(r),
        "confirm_user",
        json!({"username": "alice@example.com", "code": "000000"}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", body_json(&res));

    // A wrong password and an unknown user get the same answer.
    let wrong = call(
        |r| state.login.serve(r),
        "login",
        json!({"username": "alice@example.com", "password": "Wrong-Horse-9!"}),
    )
    .await;
    let unknown = call(
        |r| state.login.serve(r),
        "login",
        json!({"username": "nobody@example.com", "password": "Wrong-Horse-9!"}),
    )
    .await;
    let wrong = assert_error(&wrong, 401, "invalid_credentials");
    let unknown = assert_error(&unknown, 401, "invalid_credentials");
    assert_eq!(wrong["error"], unknown["error"]);

    // Sign in; the user name is case-insensitive.
    let res = call(
        |r| state.login.serve(r),
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
    // The sign-in's session is recorded, its refresh token hashed.
    let items = aws_sdk_dynamodb::Client::new(&sdk)
        .scan()
        .table_name(SESSIONS)
        .send()
        .await
        .unwrap();
    let stored = format!("{:?}", items.items());
    assert_eq!(
        items.count(),
        2,
        "the session and its refresh token: {stored}"
    );
    assert!(stored.contains("\"password\""), "{stored}");
    assert!(!stored.contains(tokens["refresh_token"].as_str().unwrap()));
}

#[tokio::test]
async fn an_unreachable_cognito_is_an_opaque_503_with_cors() {
    // A port that was free a moment ago: nothing listens there.
    let port = integration_tests::free_port();
    let sdk = integration_tests::sdk_config_for(&format!("http://127.0.0.1:{port}")).await;
    let state = functions(&sdk, "client", ("COGNITO_CLIENT_SECRET", "secret")).await;
    let res = call(
        |r| state.login.serve(r),
        "login",
        json!({"username": "alice", "password": "pw-123456"}),
    )
    .await;
    let body = assert_error(&res, 503, "service_unavailable");
    assert!(!body.to_string().contains("127.0.0.1"));
}

/// Secrets Manager out of reach at start-up (here: the secret is not there yet) stops nothing:
/// each request that needs the SECRET_HASH answers 503 with CORS, and the first one after the
/// secret can be read goes through.
#[tokio::test]
async fn a_secret_unreadable_at_start_up_is_a_503_until_it_can_be_read() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let pool = create_pool(&sdk, "late-secret").await;
    // GetSecretValue takes a secret's name as well as its ARN.
    let name = "late-client-secret";
    let secret = ("COGNITO_CLIENT_SECRET_ARN", name);
    let state = functions(&sdk, &pool.client_id, secret).await;
    let user = json!({"username": "late@example.com", "password": "Correct-Horse-9!"});
    for _ in 0..2 {
        let res = call(|r| state.register.serve(r), "register", user.clone()).await;
        let body = assert_error(&res, 503, "service_unavailable");
        assert!(!body.to_string().contains(name), "{body}");
    }
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(name)
        .secret_string(&pool.client_secret)
        .send()
        .await
        .unwrap();
    let res = call(|r| state.register.serve(r), "register", user).await;
    assert_eq!(res.status(), 200, "{}", body_json(&res));
}
