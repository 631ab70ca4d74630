//! Choice-based sign-in (`POST /login/start`, then `/login/challenge`) with a code mailed to the
//! user, against the local Cognito: right, wrong, expired, reused, too many tries; the choice
//! itself (SELECT_CHALLENGE); and a user with TOTP on, who is offered the password alone.

use integration_tests::{
    LocalApi, Moto, PASSWORD, error_code, json_of, next_totp, register_and_confirm, signed_in, totp,
};
use serde_json::{Value, json};

/// The newest sign-in code mailed to `user`.
fn sign_in_code(api: &LocalApi, user: &str) -> String {
    api.cognito()
        .mailbox()
        .messages(Some(user))
        .into_iter()
        .find(|m| m.kind == "sign_in")
        .map(|m| m.code)
        .unwrap_or_else(|| panic!("no sign-in code for {user}"))
}

async fn start(api: &LocalApi, body: Value) -> (u16, Value) {
    json_of(api.post("/login/start", body).await).await
}

async fn answer(api: &LocalApi, body: Value) -> (u16, Value) {
    json_of(api.post("/login/challenge", body).await).await
}

/// `/login/start` with the e-mail code: the challenge's answer.
async fn email_challenge(api: &LocalApi, user: &str) -> Value {
    let (s, b) = start(api, json!({"username": user, "method": "email_otp"})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["challenge"], "EMAIL_OTP", "{b}");
    b
}

fn reply(challenge: &Value, code: &str) -> Value {
    json!({
        "username": challenge["username"],
        "session": challenge["session"],
        "challenge": "EMAIL_OTP",
        "code": code,
    })
}

#[tokio::test]
async fn an_emailed_code_signs_in_once_and_the_tokens_work() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "otp-right@example.com";
    register_and_confirm(&api, user).await;
    let challenge = email_challenge(&api, user).await;
    assert_eq!(challenge["destination"], "o***@e***", "{challenge}");
    assert!(challenge.get("credential_request_options").is_none());
    let code = sign_in_code(&api, user);
    assert_eq!(code.len(), local_cognito::EMAIL_OTP_DIGITS);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));

    let (s, tokens) = answer(&api, reply(&challenge, &code)).await;
    assert_eq!(s, 200, "{tokens}");
    assert!(tokens["refresh_token"].is_string() && tokens["id_token"].is_string());
    let (s, me) = api.call("GET", "/me", &tokens["id_token"], None).await;
    assert_eq!((s, me["email"].as_str()), (200, Some(user)), "{me}");

    // The same code and session again: the session is spent.
    let (s, b) = answer(&api, reply(&challenge, &code)).await;
    assert_eq!((s, error_code(&b)), (401, "session_expired"), "{b}");
}

#[tokio::test]
async fn a_wrong_code_is_refused_and_the_third_wrong_one_ends_the_session() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "otp-wrong@example.com";
    register_and_confirm(&api, user).await;
    let challenge = email_challenge(&api, user).await;
    let code = sign_in_code(&api, user);
    let wrong = if code == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    for _ in 0..local_cognito::MAX_WRONG_MFA_CODES {
        let (s, b) = answer(&api, reply(&challenge, wrong)).await;
        assert_eq!((s, error_code(&b)), (401, "invalid_code"), "{b}");
    }
    // Too many tries: even the right code no longer signs in with this session.
    let (s, b) = answer(&api, reply(&challenge, &code)).await;
    assert_eq!((s, error_code(&b)), (401, "session_expired"), "{b}");

    // A code of one session is no answer in another.
    let first = email_challenge(&api, user).await;
    let first_code = sign_in_code(&api, user);
    let second = email_challenge(&api, user).await;
    let (s, b) = answer(&api, reply(&second, &first_code)).await;
    assert_eq!((s, error_code(&b)), (401, "invalid_code"), "{b}");
    let (s, b) = answer(&api, reply(&first, &first_code)).await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn a_code_answered_after_the_session_expired_is_refused() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "otp-late@example.com";
    register_and_confirm(&api, user).await;
    let challenge = email_challenge(&api, user).await;
    let code = sign_in_code(&api, user);
    // The app client's AuthSessionValidity is 3 minutes.
    api.cognito()
        .advance_clock(std::time::Duration::from_secs(181));
    let (s, b) = answer(&api, reply(&challenge, &code)).await;
    assert_eq!((s, error_code(&b)), (401, "session_expired"), "{b}");
}

#[tokio::test]
async fn without_a_method_the_user_chooses_among_the_ways_they_have() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "chooser@example.com";
    register_and_confirm(&api, user).await;
    let (s, select) = start(&api, json!({"username": user})).await;
    assert_eq!(s, 200, "{select}");
    assert_eq!(select["challenge"], "SELECT_CHALLENGE");
    // No passkey yet: the password and an e-mailed code.
    assert_eq!(
        select["methods"],
        json!(["password", "email_otp"]),
        "{select}"
    );
    let base = json!({"username": select["username"], "session": select["session"],
                      "challenge": "SELECT_CHALLENGE"});

    // A way this user does not have is refused.
    let mut passkey = base.clone();
    passkey["method"] = json!("passkey");
    let (s, b) = answer(&api, passkey).await;
    assert_eq!((s, error_code(&b)), (400, "invalid_parameter"), "{b}");

    let (s, select) = start(&api, json!({"username": user})).await;
    assert_eq!(s, 200);
    let mut by_code = json!({"username": select["username"], "session": select["session"],
                             "challenge": "SELECT_CHALLENGE", "method": "email_otp"});
    let (s, challenge) = answer(&api, by_code.clone()).await;
    assert_eq!(
        (s, challenge["challenge"].as_str()),
        (200, Some("EMAIL_OTP")),
        "{challenge}"
    );
    let (s, tokens) = answer(&api, reply(&challenge, &sign_in_code(&api, user))).await;
    assert_eq!(s, 200, "{tokens}");

    // The password, chosen with the password.
    let (_, select) = start(&api, json!({"username": user})).await;
    by_code["session"] = select["session"].clone();
    by_code["method"] = json!("password");
    let (s, b) = answer(&api, by_code.clone()).await;
    assert_eq!((s, error_code(&b)), (400, "missing_field"), "{b}");
    by_code["password"] = json!(PASSWORD);
    let (s, tokens) = answer(&api, by_code).await;
    assert_eq!(s, 200, "{tokens}");
    assert!(tokens["access_token"].is_string());

    // The password at once, and a wrong one.
    let body = json!({"username": user, "method": "password", "password": PASSWORD});
    let (s, tokens) = start(&api, body).await;
    assert_eq!(s, 200, "{tokens}");
    assert!(tokens["access_token"].is_string());
    let body = json!({"username": user, "method": "password", "password": "Wrong-password-1!"});
    let (s, b) = start(&api, body).await;
    assert_eq!((s, error_code(&b)), (401, "invalid_credentials"), "{b}");
}

#[tokio::test]
async fn a_user_with_totp_on_is_offered_the_password_alone_and_no_code_is_mailed() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "two-factor@example.com";
    let tokens = signed_in(&api, user).await;
    let access = &tokens["access_token"];
    let (s, setup) = api
        .call(
            "POST",
            "/mfa/totp/setup",
            access,
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(s, 200, "{setup}");
    let secret = setup["secret"].as_str().unwrap();
    let body = json!({"code": totp(secret, api.cognito().now()),
                      "setup_token": setup["setup_token"]});
    let (s, b) = api
        .call("POST", "/mfa/totp/verify", access, Some(body))
        .await;
    assert_eq!(s, 200, "{b}");

    let mailed = api.cognito().mailbox().messages(Some(user)).len();
    let (s, select) = start(&api, json!({"username": user})).await;
    assert_eq!(s, 200, "{select}");
    assert_eq!(select["methods"], json!(["password"]), "{select}");
    // Asking for a code anyway gets the choice, and no mail.
    let (s, b) = start(&api, json!({"username": user, "method": "email_otp"})).await;
    assert_eq!(
        (s, b["challenge"].as_str()),
        (200, Some("SELECT_CHALLENGE")),
        "{b}"
    );
    assert_eq!(api.cognito().mailbox().messages(Some(user)).len(), mailed);
    // The password leads on to the authenticator's code.
    let body = json!({"username": user, "method": "password", "password": PASSWORD});
    let (s, b) = start(&api, body).await;
    assert_eq!(
        (s, b["challenge"].as_str()),
        (200, Some("SOFTWARE_TOKEN_MFA")),
        "{b}"
    );
}

#[tokio::test]
async fn an_unknown_user_gets_the_same_answers_as_a_real_one_and_no_code_signs_them_in() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    register_and_confirm(&api, "real@example.com").await;
    let (s, real) = start(&api, json!({"username": "real@example.com"})).await;
    let (s2, ghost) = start(&api, json!({"username": "ghost@example.com"})).await;
    assert_eq!((s, s2), (200, 200));
    assert_eq!(real["methods"], ghost["methods"], "{real} {ghost}");
    let (s, ghost) = start(
        &api,
        json!({"username": "ghost@example.com", "method": "email_otp"}),
    )
    .await;
    assert_eq!(
        (s, ghost["challenge"].as_str()),
        (200, Some("EMAIL_OTP")),
        "{ghost}"
    );
    assert!(ghost["destination"].is_string());
    for code in ["00000000", "12345678"] {
        let (s, b) = answer(&api, reply(&ghost, code)).await;
        assert_eq!((s, error_code(&b)), (401, "invalid_code"), "{b}");
    }
}

#[tokio::test]
async fn a_start_names_a_known_method_and_takes_a_password_only_with_the_password() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    for (body, code) in [
        (
            json!({"username": "x@example.com", "method": "sms"}),
            "invalid_field",
        ),
        (
            json!({"username": "x@example.com", "method": "password"}),
            "missing_field",
        ),
        (
            json!({"username": "x@example.com", "method": "email_otp", "password": PASSWORD}),
            "invalid_field",
        ),
        (
            json!({"username": "x@example.com", "extra": 1}),
            "unknown_field",
        ),
        (json!({"method": "email_otp"}), "missing_field"),
    ] {
        let (s, b) = start(&api, body.clone()).await;
        assert_eq!((s, error_code(&b)), (400, code), "{body}: {b}");
    }
}

#[tokio::test]
async fn on_the_lite_plan_the_passwordless_routes_say_the_feature_is_unavailable() {
    let moto = Moto::start();
    let api = LocalApi::start_with(&moto, &[("UserPoolTier", "LITE")], |_| {}).await;
    let (s, b) = start(&api, json!({"username": "lite@example.com"})).await;
    assert_eq!((s, error_code(&b)), (501, "feature_unavailable"), "{b}");
    let body = json!({"username": "lite@example.com", "session": "s", "challenge": "EMAIL_OTP",
                      "code": "12345678"});
    let (s, b) = answer(&api, body).await;
    assert_eq!((s, error_code(&b)), (501, "feature_unavailable"), "{b}");
    let tokens = signed_in(&api, "lite@example.com").await;
    let (s, b) = api
        .call("GET", "/passkeys", &tokens["access_token"], None)
        .await;
    assert_eq!((s, error_code(&b)), (501, "feature_unavailable"), "{b}");
}

#[tokio::test]
async fn once_totp_is_turned_off_again_a_code_by_email_signs_in_without_the_authenticator() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "was-two-factor@example.com";
    let tokens = signed_in(&api, user).await;
    let access = &tokens["access_token"];
    let (s, setup) = api
        .call(
            "POST",
            "/mfa/totp/setup",
            access,
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(s, 200, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let body = json!({"code": totp(&secret, api.cognito().now()),
                      "setup_token": setup["setup_token"]});
    let (s, b) = api
        .call("POST", "/mfa/totp/verify", access, Some(body))
        .await;
    assert_eq!(s, 200, "{b}");
    let off = json!({"password": PASSWORD, "code": next_totp(&api, &secret)});
    let (s, b) = api
        .call("POST", "/mfa/totp/disable", access, Some(off))
        .await;
    assert_eq!(s, 200, "{b}");

    let challenge = email_challenge(&api, user).await;
    let (s, tokens) = answer(&api, reply(&challenge, &sign_in_code(&api, user))).await;
    assert_eq!(s, 200, "{tokens}");
    assert!(tokens["access_token"].is_string(), "{tokens}");
}

#[tokio::test]
async fn choosing_a_code_with_a_session_that_is_none_uses_up_nothing_of_the_users_codes() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "victim-inbox@example.com";
    register_and_confirm(&api, user).await;
    for _ in 0..8 {
        let junk = json!({"username": user, "session": "not-a-session",
                          "challenge": "SELECT_CHALLENGE", "method": "email_otp"});
        let (s, b) = answer(&api, junk).await;
        assert_eq!((s, error_code(&b)), (401, "session_expired"), "{b}");
    }
    let challenge = email_challenge(&api, user).await;
    let (s, b) = answer(&api, reply(&challenge, &sign_in_code(&api, user))).await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn codes_by_email_are_five_per_user_in_fifteen_minutes_for_real_and_unknown_users_alike() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "inbox@example.com";
    register_and_confirm(&api, user).await;
    for name in [user, "nobody-here@example.com"] {
        for _ in 0..5 {
            let (s, b) = start(&api, json!({"username": name, "method": "email_otp"})).await;
            assert_eq!(
                (s, b["challenge"].as_str()),
                (200, Some("EMAIL_OTP")),
                "{b}"
            );
        }
        let res = api
            .post(
                "/login/start",
                json!({"username": name, "method": "email_otp"}),
            )
            .await;
        let retry_after = res.headers().get("retry-after").cloned();
        let (s, b) = json_of(res).await;
        assert_eq!(
            (s, error_code(&b)),
            (429, "too_many_requests"),
            "{name}: {b}"
        );
        assert!(retry_after.is_some(), "{name}: no Retry-After");
        // Nor through the choice, nor by another spelling of the name.
        let (_, select) = start(&api, json!({"username": name.to_uppercase()})).await;
        let choose = json!({"username": select["username"], "session": select["session"],
                            "challenge": "SELECT_CHALLENGE", "method": "email_otp"});
        let (s, b) = answer(&api, choose).await;
        assert_eq!(
            (s, error_code(&b)),
            (429, "too_many_requests"),
            "{name}: {b}"
        );
    }
    let mailed = api.cognito().mailbox().messages(Some(user));
    assert_eq!(mailed.iter().filter(|m| m.kind == "sign_in").count(), 5);
    // The password still signs in.
    let body = json!({"username": user, "method": "password", "password": PASSWORD});
    let (s, b) = start(&api, body).await;
    assert_eq!(s, 200, "{b}");
}
