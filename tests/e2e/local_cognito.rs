//! The local Cognito in front of moto answers as Cognito does: through the functions (codes,
//! mailbox, the API's answers) and, for what no route calls yet, on its own protocol (the
//! SECRET_HASH per operation, RevokeToken, DeleteUser, attribute verification).

use std::time::Duration;

use integration_tests::{
    LocalApi, Moto, PASSWORD, json_of, login, register_and_confirm, signed_in,
};
use local_cognito::{MAX_WRONG_CODES, RESET_CODE_LIFETIME, SIGN_UP_CODE_LIFETIME};
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "Another-Horse-7!";

async fn register(api: &LocalApi, user: &str) {
    let body = json!({"username": user, "password": PASSWORD});
    let (s, b) = json_of(api.post("/register", body).await).await;
    assert_eq!(s, 200, "{b}");
}

async fn confirm(api: &LocalApi, user: &str, code: &str) -> (u16, Value) {
    let body = json!({"username": user, "confirmation_code": code});
    json_of(api.post("/confirm_user", body).await).await
}

async fn reset(api: &LocalApi, user: &str, code: &str) -> (u16, Value) {
    let body = json!({"username": user, "confirmation_code": code, "new_password": NEW_PASSWORD});
    json_of(api.post("/reset_password", body).await).await
}

// The API answers code_mismatch for every refused code (openapi.yaml): codes.rs's tests tell them.
fn wrong(code: &str) -> String {
    if code == "000000" { "000001" } else { "000000" }.to_owned()
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

fn hash(api: &LocalApi, username: &str) -> String {
    let c = &api.created;
    auth::secret_hash(username, &c.client_id, c.client_secret.as_deref().unwrap())
}

#[tokio::test]
async fn sign_up_codes_are_six_digits_in_the_mailbox_and_wrong_expired_superseded_and_reused_ones_fail()
 {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;

    // Wrong, then right, then again: an account confirmed already answers like a wrong code.
    let user = "codes@example.com";
    register(&api, user).await;
    let mail = api.cognito().mailbox().messages(Some(user));
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].kind, "sign_up");
    assert_eq!(mail[0].to, user);
    let code = mail[0].code.clone();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    let (s, b) = confirm(&api, user, &wrong(&code)).await;
    assert_eq!((s, error_code(&b)), (400, "code_mismatch"), "{b}");
    assert_eq!(confirm(&api, user, &code).await.0, 200);
    let (s, b) = confirm(&api, user, &code).await;
    assert_eq!((s, error_code(&b)), (400, "code_mismatch"), "reused: {b}");

    // Superseded by a resent code.
    let user = "resent@example.com";
    register(&api, user).await;
    let first = api.code_for(user);
    let (s, b) = json_of(api.post("/resend_code", json!({"username": user})).await).await;
    assert_eq!(s, 200, "{b}");
    let second = api.code_for(user);
    assert_eq!(
        api.cognito().mailbox().messages(Some(user))[0].kind,
        "resend_code"
    );
    if first != second {
        let (s, b) = confirm(&api, user, &first).await;
        assert_eq!(
            (s, error_code(&b)),
            (400, "code_mismatch"),
            "superseded: {b}"
        );
    }
    assert_eq!(confirm(&api, user, &second).await.0, 200);

    // Expired: 24 hours on.
    let user = "late@example.com";
    register(&api, user).await;
    let code = api.code_for(user);
    api.cognito()
        .advance_clock(SIGN_UP_CODE_LIFETIME + Duration::from_secs(1));
    let (s, b) = confirm(&api, user, &code).await;
    assert_eq!((s, error_code(&b)), (400, "code_mismatch"), "expired: {b}");
    let (s, _) = json_of(api.post("/resend_code", json!({"username": user})).await).await;
    assert_eq!(s, 200);
    assert_eq!(confirm(&api, user, &api.code_for(user)).await.0, 200);

    // Attempts are limited: after five wrong codes even the right one is refused.
    let user = "guesser@example.com";
    register(&api, user).await;
    let code = api.code_for(user);
    for _ in 0..MAX_WRONG_CODES {
        assert_eq!(
            error_code(&confirm(&api, user, &wrong(&code)).await.1),
            "code_mismatch"
        );
    }
    let (s, b) = confirm(&api, user, &code).await;
    assert_eq!((s, error_code(&b)), (400, "code_mismatch"), "{b}");
    let body = json!({"ClientId": api.created.client_id, "Username": user,
                      "ConfirmationCode": code, "SecretHash": hash(&api, user)});
    let (s, b) = api.cognito_call("ConfirmSignUp", body).await;
    assert_eq!(
        (s, b["__type"].as_str()),
        (400, Some("LimitExceededException"))
    );
}

#[tokio::test]
async fn reset_codes_last_an_hour_work_once_and_an_unknown_user_answers_like_a_wrong_code() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "forgetful@example.com";
    register_and_confirm(&api, user).await;

    let forgot = |user: &'static str| api.post("/forgot_password", json!({"username": user}));
    assert_eq!(forgot(user).await.status(), 200);
    let mail = &api.cognito().mailbox().messages(Some(user))[0];
    assert_eq!(mail.kind, "forgot_password");
    let code = mail.code.clone();

    let (s, b) = reset(&api, user, &wrong(&code)).await;
    assert_eq!((s, error_code(&b)), (400, "code_mismatch"), "{b}");
    // A password the pool refuses leaves the code good.
    let weak = json!({"username": user, "confirmation_code": code, "new_password": "weak"});
    let (s, b) = json_of(api.post("/reset_password", weak).await).await;
    assert_eq!((s, error_code(&b)), (400, "invalid_password"), "{b}");
    assert_eq!(reset(&api, user, &code).await.0, 200);
    let (s, b) = reset(&api, user, &code).await;
    assert_eq!((s, error_code(&b)), (400, "code_mismatch"), "reused: {b}");
    assert_eq!(login(&api, user, NEW_PASSWORD).await.0, 200);

    assert_eq!(forgot(user).await.status(), 200);
    let code = api.code_for(user);
    (api.cognito()).advance_clock(RESET_CODE_LIFETIME + Duration::from_secs(1));
    let (s, b) = reset(&api, user, &code).await;
    assert_eq!((s, error_code(&b)), (400, "code_mismatch"), "an hour: {b}");

    // No such user: as a wrong code (PreventUserExistenceErrors), never a 500.
    let (s, b) = reset(&api, "nobody@example.com", "123456").await;
    assert_eq!((s, error_code(&b)), (400, "code_mismatch"), "{b}");
    assert_eq!(forgot("nobody@example.com").await.status(), 200);
    assert!(
        api.cognito()
            .mailbox()
            .messages(Some("nobody@example.com"))
            .is_empty()
    );
}

#[tokio::test]
async fn the_mailbox_is_served_newest_first_filtered_by_user_with_cors_and_is_no_route_of_the_stack()
 {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |c| c.allow_origin("https://app.example.com")).await;
    register(&api, "one@example.com").await;
    register(&api, "two@example.com").await;
    let res = api.get("/_local/mailbox").await;
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let (s, all) = json_of(res).await;
    assert_eq!(s, 200);
    let users: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].as_str().unwrap())
        .collect();
    assert_eq!(
        users,
        ["two@example.com", "one@example.com"],
        "newest first"
    );
    for m in all.as_array().unwrap() {
        for field in ["to", "username", "kind", "code", "sent_at"] {
            assert!(m[field].is_string(), "{field} in {m}");
        }
        assert!(m["sent_at"].as_str().unwrap().ends_with('Z'), "{m}");
    }
    let (_, one) = json_of(api.get("/_local/mailbox?username=one@example.com").await).await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert!(
        integration_tests::template()
            .routes
            .iter()
            .all(|r| !r.path.starts_with("/_local")),
        "the deployed stack has no mailbox"
    );
}

#[tokio::test]
async fn the_id_token_carries_the_email_verified_on_confirmation() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "verified@example.com";
    let tokens = signed_in(&api, user).await;
    let id = format!("Bearer {}", tokens["id_token"].as_str().unwrap());
    let (s, me) = json_of(api.get_auth("/me", &id).await).await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["email"], user);
    assert_eq!(me["email_verified"], true);
}

/// A wrong and a missing SECRET_HASH are Cognito's NotAuthorizedException on every operation
/// that takes one; the right one passes that check.
#[tokio::test]
async fn a_wrong_or_missing_secret_hash_is_refused_on_every_operation_that_takes_one() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "hashed@example.com";
    let client = api.created.client_id.clone();
    signed_in(&api, user).await;
    let attrs = json!([{"Name": "email", "Value": "other@example.com"}]);
    let calls: Vec<(&str, Value, &str)> = vec![
        (
            "SignUp",
            json!({"ClientId": client, "Username": "other@example.com", "Password": PASSWORD, "UserAttributes": attrs}),
            "SecretHash",
        ),
        (
            "ConfirmSignUp",
            json!({"ClientId": client, "Username": user, "ConfirmationCode": "123456"}),
            "SecretHash",
        ),
        (
            "ResendConfirmationCode",
            json!({"ClientId": client, "Username": user}),
            "SecretHash",
        ),
        (
            "ForgotPassword",
            json!({"ClientId": client, "Username": user}),
            "SecretHash",
        ),
        (
            "ConfirmForgotPassword",
            json!({"ClientId": client, "Username": user, "ConfirmationCode": "123456", "Password": NEW_PASSWORD}),
            "SecretHash",
        ),
        (
            "InitiateAuth",
            json!({"ClientId": client, "AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": user, "PASSWORD": PASSWORD}}),
            "AuthParameters",
        ),
        (
            "RespondToAuthChallenge",
            json!({"ClientId": client, "ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": "s", "ChallengeResponses": {"USERNAME": user, "SOFTWARE_TOKEN_MFA_CODE": "123456"}}),
            "ChallengeResponses",
        ),
    ];
    for (op, body, place) in calls {
        let username = body["Username"]
            .as_str()
            .or(body["AuthParameters"]["USERNAME"].as_str())
            .or(body["ChallengeResponses"]["USERNAME"].as_str())
            .unwrap_or(user)
            .to_owned();
        let with = |hash: Option<String>| {
            let mut b = body.clone();
            match (place, hash) {
                (_, None) => {}
                ("SecretHash", Some(h)) => b["SecretHash"] = h.into(),
                (p, Some(h)) => b[p]["SECRET_HASH"] = h.into(),
            }
            b
        };
        let (s, refused) = api.cognito_call(op, with(None)).await;
        assert_eq!(
            (s, refused["__type"].as_str()),
            (400, Some("NotAuthorizedException")),
            "{op} without: {refused}"
        );
        let (s, wrong) = api
            .cognito_call(op, with(Some(hash(&api, "someone-else"))))
            .await;
        assert_eq!(
            (s, wrong["__type"].as_str()),
            (400, Some("NotAuthorizedException")),
            "{op} wrong: {wrong}"
        );
        // With the right hash the call gets past the check: whatever it is answered (some of
        // these calls are refused for other reasons), it is not the answer without one.
        let (_, b) = api
            .cognito_call(op, with(Some(hash(&api, &username))))
            .await;
        assert_ne!(b, refused, "{op} with the right hash");
        assert_ne!(b, wrong, "{op} with the right hash");
    }
}

#[tokio::test]
async fn revoke_token_ends_one_session_and_leaves_the_others() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "sessions@example.com";
    let first = signed_in(&api, user).await;
    let (_, second) = login(&api, user, PASSWORD).await;
    let revoke = |token: &Value, secret: &str| json!({"ClientId": api.created.client_id, "ClientSecret": secret, "Token": token});
    let secret = api.created.client_secret.clone().unwrap();
    let (s, b) = api
        .cognito_call("RevokeToken", revoke(&first["refresh_token"], "wrong"))
        .await;
    assert_eq!(
        (s, b["__type"].as_str()),
        (400, Some("UnauthorizedException")),
        "{b}"
    );
    let (s, b) = api
        .cognito_call("RevokeToken", revoke(&first["refresh_token"], &secret))
        .await;
    assert_eq!(s, 200, "{b}");

    let refresh = |tokens: &Value| {
        api.post(
            "/refresh",
            json!({"username": tokens["username"], "refresh_token": tokens["refresh_token"]}),
        )
    };
    let (s, b) = json_of(refresh(&first).await).await;
    assert_eq!((s, error_code(&b)), (401, "invalid_refresh_token"), "{b}");
    let (s, b) = json_of(refresh(&second).await).await;
    assert_eq!(s, 200, "the other session stays: {b}");
    // The revoked session's access token is refused too.
    let body = json!({"AccessToken": first["access_token"]});
    let (s, b) = api.cognito_call("GetUser", body).await;
    assert_eq!(
        (s, b["__type"].as_str()),
        (400, Some("NotAuthorizedException")),
        "{b}"
    );
}

#[tokio::test]
async fn delete_user_and_e_mail_verification_work_with_the_access_token() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "self-service@example.com";
    let tokens = signed_in(&api, user).await;
    let access = tokens["access_token"].clone();

    let body = json!({"AccessToken": access, "AttributeName": "email"});
    let (s, b) = api
        .cognito_call("GetUserAttributeVerificationCode", body)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["CodeDeliveryDetails"]["Destination"], "s***@e***");
    let mail = &api.cognito().mailbox().messages(Some(user))[0];
    assert_eq!(mail.kind, "verify_email");
    let verify =
        |code: &str| json!({"AccessToken": access, "AttributeName": "email", "Code": code});
    let (s, b) = api
        .cognito_call("VerifyUserAttribute", verify(&wrong(&mail.code)))
        .await;
    assert_eq!(
        (s, b["__type"].as_str()),
        (400, Some("CodeMismatchException")),
        "{b}"
    );
    let (s, b) = api
        .cognito_call("VerifyUserAttribute", verify(&mail.code))
        .await;
    assert_eq!(s, 200, "{b}");

    let (s, b) = api
        .cognito_call("DeleteUser", json!({"AccessToken": access}))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = login(&api, user, PASSWORD).await;
    assert_eq!((s, error_code(&b)), (401, "invalid_credentials"), "{b}");
    let (s, b) = api
        .cognito_call("DeleteUser", json!({"AccessToken": access}))
        .await;
    assert_eq!(
        (s, b["__type"].as_str()),
        (400, Some("NotAuthorizedException")),
        "{b}"
    );
}
