//! Sign-in challenges: a user with an authenticator app (TOTP) gets `SOFTWARE_TOKEN_MFA` from
//! `/login` and answers it at `/login/challenge`; an account an administrator created gets
//! `NEW_PASSWORD_REQUIRED`. moto checks the TOTP codes; the local Cognito times the sessions.

use std::time::Duration;

use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType};
use integration_tests::{
    LocalApi, Moto, PASSWORD, enrol_totp, json_of, login, next_totp, signed_in, totp,
};
use serde_json::{Value, json};

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

async fn answer(api: &LocalApi, body: Value) -> (u16, Value) {
    json_of(api.post("/login/challenge", body).await).await
}

#[tokio::test]
async fn an_authenticator_code_answers_the_mfa_challenge_once_and_within_the_session() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "two-factor@example.com";
    let tokens = signed_in(&api, user).await;
    let secret = enrol_totp(&api, &tokens["access_token"]).await;

    let (s, challenge) = login(&api, user, PASSWORD).await;
    assert_eq!(s, 200, "{challenge}");
    assert_eq!(challenge["challenge"], "SOFTWARE_TOKEN_MFA");
    assert_eq!(challenge["username"], user, "the internal user name");
    assert!(challenge["session"].is_string());
    assert!(
        challenge.get("id_token").is_none(),
        "no tokens before the code"
    );

    let body = |code: &str| {
        json!({"username": challenge["username"], "session": challenge["session"],
               "challenge": "SOFTWARE_TOKEN_MFA", "code": code})
    };
    let now = next_totp(&api, &secret);
    let wrong = if now == "000000" { "000001" } else { "000000" };
    let (s, b) = answer(&api, body(wrong)).await;
    assert_eq!((s, code(&b)), (401, "invalid_code"), "{b}");
    let (s, b) = answer(&api, body(&now)).await;
    assert_eq!(s, 200, "{b}");
    assert!(
        b["id_token"].is_string() && b["refresh_token"].is_string(),
        "{b}"
    );
    assert_eq!(b["username"], user);
    let (s, b) = answer(&api, body(&now)).await;
    assert_eq!(
        (s, code(&b)),
        (401, "session_expired"),
        "a session is answered once: {b}"
    );

    // A session left longer than the client's AuthSessionValidity (3 minutes).
    let (_, late) = login(&api, user, PASSWORD).await;
    api.cognito().advance_clock(Duration::from_secs(181));
    let body = json!({"username": late["username"], "session": late["session"],
                      "challenge": "SOFTWARE_TOKEN_MFA",
                      "code": totp(&secret, api.cognito().now())});
    let (s, b) = answer(&api, body).await;
    assert_eq!((s, code(&b)), (401, "session_expired"), "{b}");
}

#[tokio::test]
async fn an_account_an_administrator_created_sets_its_password_through_the_challenge() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "invited@example.com";
    let admin = aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk_config().await);
    let email = |name: &str, value: &str| {
        AttributeType::builder()
            .name(name)
            .value(value)
            .build()
            .unwrap()
    };
    admin
        .admin_create_user()
        .user_pool_id(&api.created.pool_id)
        .username(user)
        .temporary_password("Temporary-Pass-1!")
        .message_action(MessageActionType::Suppress)
        .user_attributes(email("email", user))
        .user_attributes(email("email_verified", "true"))
        .send()
        .await
        .unwrap();

    let (s, challenge) = login(&api, user, "Temporary-Pass-1!").await;
    assert_eq!(
        (s, challenge["challenge"].as_str()),
        (200, Some("NEW_PASSWORD_REQUIRED")),
        "{challenge}"
    );
    let body = |password: &str| {
        json!({"username": challenge["username"], "session": challenge["session"],
               "challenge": "NEW_PASSWORD_REQUIRED", "new_password": password})
    };
    let (s, b) = answer(&api, body("weak")).await;
    assert_eq!((s, code(&b)), (400, "invalid_password"), "{b}");
    let (s, b) = answer(&api, body(PASSWORD)).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["id_token"].is_string(), "{b}");
    assert_eq!(login(&api, user, PASSWORD).await.0, 200);
}

#[tokio::test]
async fn a_malformed_answer_is_a_400_and_calls_nothing() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let base = json!({"username": "someone@example.com", "session": "s", "challenge": "SOFTWARE_TOKEN_MFA", "code": "123456"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    for (body, expected) in [
        (with("challenge", json!("SMS_MFA")), "invalid_field"),
        (with("challenge", json!("")), "empty_field"),
        (without("session"), "missing_field"),
        (without("code"), "missing_field"),
        (with("extra", json!(1)), "unknown_field"),
        (with("session", json!("s".repeat(5000))), "invalid_field"),
    ] {
        let (s, b) = answer(&api, body.clone()).await;
        assert_eq!((s, code(&b)), (400, expected), "{body}: {b}");
    }
}

/// Found by schemathesis: an MFA_SETUP answer with a session that is no challenge's is a
/// `session_expired`, never a 500, and an over-long field is refused whatever the challenge.
#[tokio::test]
async fn an_unknown_setup_session_is_session_expired_and_every_field_is_checked() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    for (challenge, field, value) in [
        ("MFA_SETUP", None, ""),
        ("MFA_SETUP", Some("code"), "123456"),
        ("SOFTWARE_TOKEN_MFA", Some("code"), "123456"),
        ("NEW_PASSWORD_REQUIRED", Some("new_password"), PASSWORD),
    ] {
        let mut body = json!({"username": "x@example.com", "session": "no-such-session", "challenge": challenge});
        if let Some(field) = field {
            body[field] = value.into();
        }
        let (s, b) = answer(&api, body).await;
        assert_eq!((s, code(&b)), (401, "session_expired"), "{challenge}: {b}");
    }
    let body = json!({"username": "x@example.com", "session": "s", "challenge": "MFA_SETUP",
                      "code": "0", "new_password": "p".repeat(300)});
    let (s, b) = answer(&api, body).await;
    assert_eq!(s, 400, "{b}");
}
