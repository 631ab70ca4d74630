//! The account routes over the local API with moto behind it: forgot and reset password,
//! change password, logout (every refresh token revoked), `/me`, and which token kind each
//! route's authorizer takes. moto lacks ResendConfirmationCode, so `/resend_code` is covered by
//! the handler's mocked tests only.

use integration_tests::{
    LocalApi, Moto, PASSWORD, TestJwks, json_of, login, register_and_confirm, signed_in,
};
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "Another-Horse-7!";

/// The API Gateway authorizer's own refusal, not a handler's.
async fn assert_gateway_unauthorized(res: reqwest::Response, case: &str) {
    let (status, body) = json_of(res).await;
    assert_eq!(status, 401, "{case}: {body}");
    assert_eq!(body, json!({"message": "Unauthorized"}), "{case}");
}

fn bearer(tokens: &Value, kind: &str) -> String {
    format!("Bearer {}", tokens[kind].as_str().unwrap())
}

#[tokio::test]
async fn forgot_password_answers_alike_for_any_user_and_reset_password_sets_the_new_one() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "forgetful@example.com";
    register_and_confirm(&api, user).await;

    let known = api
        .post("/forgot_password", json!({"username": user}))
        .await;
    assert!(
        known
            .headers()
            .get("x-moto-forgot-password-confirmation-code")
            .is_none(),
        "the code never reaches the caller"
    );
    let known = json_of(known).await;
    let unknown = json_of(
        api.post(
            "/forgot_password",
            json!({"username": "nobody@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(known.0, 200, "{}", known.1);
    assert_eq!(known, unknown, "no user enumeration");

    // A wrong code is refused; the one in the mailbox resets the password.
    let code = api.code_for(user);
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let (s, b) = json_of(
        api.post(
            "/reset_password",
            json!({"username": user, "confirmation_code": wrong, "new_password": NEW_PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["error"]["code"], "code_mismatch");

    let (s, b) = json_of(
        api.post(
            "/reset_password",
            json!({"username": user, "confirmation_code": code, "new_password": NEW_PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(login(&api, user, NEW_PASSWORD).await.0, 200);
    let (s, b) = login(&api, user, PASSWORD).await;
    assert_eq!(s, 401, "{b}");
    assert_eq!(b["error"]["code"], "invalid_credentials");
}

#[tokio::test]
async fn change_password_with_the_access_token_replaces_the_password() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "changer@example.com";
    let tokens = signed_in(&api, user).await;
    let access = bearer(&tokens, "access_token");

    let (s, b) = json_of(
        api.post_auth(
            "/change_password",
            json!({"previous_password": "Wrong-Horse-9!", "proposed_password": NEW_PASSWORD}),
            &access,
        )
        .await,
    )
    .await;
    assert_eq!(s, 401, "{b}");
    assert_eq!(b["error"]["code"], "not_authorized");

    let (s, b) = json_of(
        api.post_auth(
            "/change_password",
            json!({"previous_password": PASSWORD, "proposed_password": "short"}),
            &access,
        )
        .await,
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["error"]["code"], "invalid_password");

    let (s, b) = json_of(
        api.post_auth(
            "/change_password",
            json!({"previous_password": PASSWORD, "proposed_password": NEW_PASSWORD}),
            &access,
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(login(&api, user, NEW_PASSWORD).await.0, 200);
    assert_eq!(login(&api, user, PASSWORD).await.0, 401);
}

#[tokio::test]
async fn logout_revokes_every_refresh_token_of_the_user() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "leaver@example.com";
    let laptop = signed_in(&api, user).await;
    let (s, phone) = login(&api, user, PASSWORD).await;
    assert_eq!(s, 200);

    let refresh = |tokens: &Value| json!({"username": tokens["username"], "refresh_token": tokens["refresh_token"]});
    assert_eq!(
        json_of(api.post("/refresh", refresh(&phone)).await).await.0,
        200
    );

    let (s, b) = json_of(
        api.post_auth("/logout", json!({}), &bearer(&laptop, "access_token"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{b}");

    for tokens in [&laptop, &phone] {
        let (s, b) = json_of(api.post("/refresh", refresh(tokens)).await).await;
        assert_eq!(s, 401, "{b}");
        assert_eq!(b["error"]["code"], "invalid_refresh_token");
    }
}

#[tokio::test]
async fn scoped_routes_take_only_access_tokens_and_me_only_id_tokens() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let tokens = signed_in(&api, "Two.Kinds@Example.com").await;
    let id = bearer(&tokens, "id_token");
    let access = bearer(&tokens, "access_token");

    // The id token: refused where an access token is required, accepted on /me.
    for path in ["/logout", "/change_password"] {
        let body = json!({"previous_password": PASSWORD, "proposed_password": NEW_PASSWORD});
        let res = api.post_auth(path, body, &id).await;
        assert_gateway_unauthorized(res, &format!("id token on {path}")).await;
    }
    let (s, me) = json_of(api.get_auth("/me", &id).await).await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["username"], "two.kinds@example.com");
    assert_eq!(me["groups"], json!([]));
    assert!(me["sub"].as_str().is_some_and(|s| !s.is_empty()), "{me}");

    // The access token: refused on /me, accepted on /logout.
    assert_gateway_unauthorized(api.get_auth("/me", &access).await, "access token on /me").await;
    let (s, b) = json_of(api.post_auth("/logout", json!({}), &access).await).await;
    assert_eq!(s, 200, "{b}");

    // No token at all.
    assert_gateway_unauthorized(api.get("/me").await, "no token on /me").await;
}

#[tokio::test]
async fn an_access_token_without_the_scope_or_for_another_client_is_refused_on_scoped_routes() {
    let moto = Moto::start();
    let jwks = TestJwks::start().await;
    let api = LocalApi::start(&moto, |c| jwks.trusted_by(c)).await;
    api.record_test_session().await;
    let client_id = api.created.client_id.clone();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let access = |client: &str, scope: &str| {
        let claims = json!({
            "sub": integration_tests::TEST_SUB, "username": "tester", "client_id": client,
            "scope": scope, "token_use": "access", "iss": jwks.issuer,
            "iat": now - 60, "auth_time": now - 60, "exp": now + 600, "origin_jti": "test-session",
        });
        format!("Bearer {}", jwks.sign(&claims, "test-key-1"))
    };

    let token = access(&client_id, "openid email");
    assert_gateway_unauthorized(
        api.post_auth("/logout", json!({}), &token).await,
        "no scope",
    )
    .await;
    // API Gateway takes a token of any app client of the pool; the function's boundary does not.
    let token = access("some-other-client", "aws.cognito.signin.user.admin");
    let (s, b) = json_of(api.post_auth("/logout", json!({}), &token).await).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (401, Some("unauthorized")),
        "{b}"
    );

    // The right kind passes the authorizer and reaches the handler, whose Cognito call then
    // refuses a token Cognito never issued: our own 401, not the gateway's.
    let token = access(&client_id, "openid aws.cognito.signin.user.admin");
    let (s, b) = json_of(api.post_auth("/logout", json!({}), &token).await).await;
    assert_eq!(s, 401, "{b}");
    assert_eq!(b["error"]["code"], "not_authorized");
}
