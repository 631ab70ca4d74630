//! Two-factor sign-in: enrolment with an authenticator app, the sign-in challenge, recovery
//! codes, and turning it off, through the API. moto checks the TOTP codes (its one secret).

use std::collections::BTreeSet;
use std::time::SystemTime;

use aws_sdk_dynamodb::types::AttributeValue;

use integration_tests::{LocalApi, Moto, PASSWORD, json_of, login, next_totp, signed_in, totp};
use serde_json::{Value, json};

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

async fn call(
    api: &LocalApi,
    method: &str,
    path: &str,
    access: &Value,
    body: Option<Value>,
) -> (u16, Value) {
    let bearer = format!("Bearer {}", access.as_str().unwrap());
    let mut headers = vec![("authorization", bearer.as_str())];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    json_of(api.send(method, path, &headers, body).await).await
}

/// Enrols `tokens`' user; returns the secret and the recovery codes.
async fn enrol(api: &LocalApi, user: &str, tokens: &Value) -> (String, Vec<String>) {
    let access = &tokens["access_token"];
    let proof = json!({"password": PASSWORD});
    let (s, setup) = call(api, "POST", "/mfa/totp/setup", access, Some(proof)).await;
    assert_eq!(s, 200, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let uri = setup["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Books:"), "{uri}");
    assert!(
        uri.contains(&format!("secret={secret}")) && uri.contains("issuer=Books"),
        "{uri}"
    );
    assert!(uri.contains(&user.replace('@', "%40")), "{uri}");
    assert!(setup["qr_svg"].as_str().unwrap().contains("<svg"));

    let now = totp(&secret, SystemTime::now());
    let wrong = if now == "000000" { "000001" } else { "000000" };
    let setup_token = &setup["setup_token"];
    let (s, b) = call(
        api,
        "POST",
        "/mfa/totp/verify",
        access,
        Some(json!({"code": wrong, "setup_token": setup_token})),
    )
    .await;
    assert_eq!((s, code(&b)), (401, "invalid_code"), "{b}");
    let body = json!({"code": totp(&secret, SystemTime::now()), "device_name": "phone",
                      "setup_token": setup_token});
    let (s, b) = call(api, "POST", "/mfa/totp/verify", access, Some(body)).await;
    assert_eq!(s, 200, "{b}");
    let codes: Vec<String> = b["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

/// What a dump of the recovery codes table holds for `user`: a salt and ten hashes. Keyed by the
/// salt alone (codes were, before the pepper), no code matches its hash, so no guess can be
/// checked offline; keyed by the pepper in Secrets Manager, every code does.
async fn dumped_codes_cannot_be_checked_without_the_pepper(
    api: &LocalApi,
    user: &str,
    codes: &[String],
) {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    use hmac::{Hmac, KeyInit, Mac};
    let item = aws_sdk_dynamodb::Client::new(&api.sdk)
        .get_item()
        .table_name(&api.created.recovery_table)
        .key("username", AttributeValue::S(user.to_owned()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the user's codes");
    assert_eq!(item["v"], AttributeValue::N("2".into()), "peppered");
    let salt = item["salt"].as_s().unwrap();
    let stored: BTreeSet<Vec<u8>> = item["codes"]
        .as_ss()
        .unwrap()
        .iter()
        .map(|h| B64.decode(h).unwrap())
        .collect();
    let pepper = aws_sdk_secretsmanager::Client::new(&api.sdk)
        .get_secret_value()
        .secret_id(&api.created.recovery_pepper_arn)
        .send()
        .await
        .unwrap()
        .secret_string
        .unwrap();
    let hash = |key: &[u8], message: &[u8]| {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    };
    for code in codes {
        let typed = code.replace('-', "");
        assert!(!stored.contains(&hash(salt.as_bytes(), typed.as_bytes())));
        let message = [salt.as_bytes(), &[0], typed.as_bytes()].concat();
        assert!(
            stored.contains(&hash(pepper.as_bytes(), &message)),
            "{code}"
        );
    }
}

async fn status(api: &LocalApi, access: &Value) -> Value {
    let (s, b) = call(api, "GET", "/mfa", access, None).await;
    assert_eq!(s, 200, "{b}");
    b
}

async fn recover(api: &LocalApi, user: &str, password: &str, recovery: &str) -> (u16, Value) {
    let body = json!({"username": user, "password": password, "recovery_code": recovery});
    json_of(api.post("/login/recover", body).await).await
}

#[tokio::test]
async fn enrol_then_sign_in_with_the_code_and_then_with_a_recovery_code_once() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "totp@example.com";
    let tokens = signed_in(&api, user).await;
    let off = status(&api, &tokens["access_token"]).await;
    assert_eq!(
        off,
        json!({"totp_enabled": false, "recovery_codes_remaining": 0})
    );
    let (secret, codes) = enrol(&api, user, &tokens).await;
    dumped_codes_cannot_be_checked_without_the_pepper(&api, user, &codes).await;
    let on = status(&api, &tokens["access_token"]).await;
    assert_eq!(
        on,
        json!({"totp_enabled": true, "recovery_codes_remaining": 10})
    );

    // The password alone is no longer enough: /login asks for the code.
    let (s, challenge) = login(&api, user, PASSWORD).await;
    assert_eq!(
        (s, challenge["challenge"].as_str()),
        (200, Some("SOFTWARE_TOKEN_MFA"))
    );
    let answer = json!({"username": challenge["username"], "session": challenge["session"],
                        "challenge": "SOFTWARE_TOKEN_MFA", "code": next_totp(&api, &secret)});
    let (s, b) = json_of(api.post("/login/challenge", answer).await).await;
    assert_eq!(s, 200, "{b}");

    // A recovery code instead: a wrong password uses nothing, a wrong code is refused.
    let (s, b) = recover(&api, user, "Wrong-Horse-9!", &codes[0]).await;
    assert_eq!((s, code(&b)), (401, "invalid_credentials"), "{b}");
    assert_eq!(
        status(&api, &tokens["access_token"]).await["recovery_codes_remaining"],
        10
    );
    let (s, b) = recover(&api, user, PASSWORD, "aaaaa-aaaaa").await;
    assert_eq!((s, code(&b)), (401, "invalid_code"), "{b}");
    // Typed in capitals with a space for the dash, it is the same code.
    let typed = codes[0].to_uppercase().replace('-', " ");
    let (s, b) = recover(&api, user, PASSWORD, &typed).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["id_token"].is_string(), "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("turn it on again"),
        "{b}"
    );
    let after = status(&api, &b["access_token"]).await;
    assert_eq!(
        after,
        json!({"totp_enabled": false, "recovery_codes_remaining": 0})
    );
    let (s, b) = recover(&api, user, PASSWORD, &codes[0]).await;
    assert_eq!(
        (s, code(&b)),
        (401, "invalid_code"),
        "a code works once: {b}"
    );
    let (s, b) = login(&api, user, PASSWORD).await;
    assert!(
        s == 200 && b["id_token"].is_string(),
        "signed in without a code now: {b}"
    );
}

#[tokio::test]
async fn turning_it_off_takes_the_password_and_a_second_factor_never_the_token_alone() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "careful@example.com";
    let tokens = signed_in(&api, user).await;
    let access = &tokens["access_token"];
    let (secret, codes) = enrol(&api, user, &tokens).await;

    for (body, status, expected) in [
        (json!({}), 400, "missing_field"),
        (json!({"password": PASSWORD}), 400, "missing_field"),
        (
            json!({"password": PASSWORD, "code": "1", "recovery_code": "2"}),
            400,
            "invalid_field",
        ),
        (
            json!({"password": "Wrong-Horse-9!", "code": "123456"}),
            401,
            "invalid_credentials",
        ),
        (
            json!({"password": PASSWORD, "recovery_code": "aaaaa-aaaaa"}),
            401,
            "invalid_code",
        ),
    ] {
        let (s, b) = call(
            &api,
            "POST",
            "/mfa/totp/disable",
            access,
            Some(body.clone()),
        )
        .await;
        assert_eq!((s, code(&b)), (status, expected), "{body}: {b}");
    }
    assert_eq!(status_of(&api, access).await, (true, 10));
    let body = json!({"password": PASSWORD, "code": next_totp(&api, &secret)});
    let (s, b) = call(&api, "POST", "/mfa/totp/disable", access, Some(body)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(status_of(&api, access).await, (false, 0));
    let body = json!({"password": PASSWORD, "recovery_code": codes[1]});
    let (s, b) = call(&api, "POST", "/mfa/totp/disable", access, Some(body)).await;
    assert_eq!((s, code(&b)), (409, "mfa_not_enabled"), "{b}");
}

async fn status_of(api: &LocalApi, access: &Value) -> (bool, u64) {
    let b = status(api, access).await;
    (
        b["totp_enabled"].as_bool().unwrap(),
        b["recovery_codes_remaining"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn guessing_recovery_codes_is_locked_out_after_five() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "guessed@example.com";
    let tokens = signed_in(&api, user).await;
    let (_, codes) = enrol(&api, user, &tokens).await;
    for n in 0..tables::limits::SECOND_FACTOR.max {
        let (s, b) = recover(&api, user, PASSWORD, &format!("aaaaa-aaaa{n}")).await;
        assert_eq!((s, code(&b)), (401, "invalid_code"), "{b}");
    }
    let res = api
        .post(
            "/login/recover",
            json!({"username": user, "password": PASSWORD, "recovery_code": codes[0]}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 429);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        wait > 60 && wait <= tables::limits::SECOND_FACTOR.window.as_secs(),
        "{wait}"
    );
}

/// A pool whose MFA is ON (`Mfa=ON`): a user without an authenticator sets one up inside the
/// sign-in (MFA_SETUP), and gets the tokens and recovery codes at the end of it.
#[tokio::test]
async fn with_mfa_on_a_user_sets_up_the_authenticator_inside_the_sign_in() {
    let moto = Moto::start();
    let api = LocalApi::start_with(&moto, &[("Mfa", "ON")], |_| {}).await;
    let user = "compelled@example.com";
    integration_tests::register_and_confirm(&api, user).await;

    let (s, challenge) = login(&api, user, PASSWORD).await;
    assert_eq!(
        (s, challenge["challenge"].as_str()),
        (200, Some("MFA_SETUP")),
        "{challenge}"
    );
    assert!(challenge.get("id_token").is_none());
    let step = |session: &Value, code: Option<String>| {
        let mut b = json!({"username": challenge["username"], "session": session, "challenge": "MFA_SETUP"});
        if let Some(code) = code {
            b["code"] = code.into();
        }
        b
    };
    let (s, setup) = json_of(
        api.post("/login/challenge", step(&challenge["session"], None))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_owned();
    assert!(setup["otpauth_uri"].as_str().unwrap().contains(&secret));
    assert!(setup["qr_svg"].as_str().unwrap().contains("<svg"));
    assert!(setup.get("id_token").is_none(), "no tokens before the code");

    let now = totp(&secret, SystemTime::now());
    let wrong = if now == "000000" { "000001" } else { "000000" };
    let (s, b) = json_of(
        api.post(
            "/login/challenge",
            step(&setup["session"], Some(wrong.into())),
        )
        .await,
    )
    .await;
    assert_eq!((s, code(&b)), (401, "invalid_code"), "{b}");
    let code_now = totp(&secret, SystemTime::now());
    let (s, done) = json_of(
        api.post("/login/challenge", step(&setup["session"], Some(code_now)))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{done}");
    assert!(done["id_token"].is_string(), "{done}");
    assert_eq!(
        done["recovery_codes"].as_array().map(Vec::len),
        Some(10),
        "{done}"
    );
    assert_eq!(
        status(&api, &done["access_token"]).await,
        json!({"totp_enabled": true, "recovery_codes_remaining": 10})
    );

    // From now on, the sign-in asks for the code.
    let (s, next) = login(&api, user, PASSWORD).await;
    assert_eq!(
        (s, next["challenge"].as_str()),
        (200, Some("SOFTWARE_TOKEN_MFA")),
        "{next}"
    );
}

/// Every user has a secret of their own (moto has one for all; the local Cognito does not), so
/// one user's authenticator is no use for another's account.
#[tokio::test]
async fn each_user_has_a_secret_of_their_own() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let ann = signed_in(&api, "ann@example.com").await;
    let bob = signed_in(&api, "bob@example.com").await;
    let (ann_secret, _) = enrol(&api, "ann@example.com", &ann).await;
    let (bob_secret, _) = enrol(&api, "bob@example.com", &bob).await;
    assert_ne!(ann_secret, bob_secret);
    let (_, challenge) = login(&api, "ann@example.com", PASSWORD).await;
    let ann_code = next_totp(&api, &ann_secret);
    let bob_code = totp(&bob_secret, api.cognito().now());
    let answer = |code: &str| {
        json!({"username": challenge["username"], "session": challenge["session"],
               "challenge": "SOFTWARE_TOKEN_MFA", "code": code})
    };
    if ann_code != bob_code {
        let (s, b) = json_of(api.post("/login/challenge", answer(&bob_code)).await).await;
        assert_eq!((s, code(&b)), (401, "invalid_code"), "{b}");
    }
    let (s, b) = json_of(api.post("/login/challenge", answer(&ann_code)).await).await;
    assert_eq!(s, 200, "{b}");
}
