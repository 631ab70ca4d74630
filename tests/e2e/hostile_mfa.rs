//! The hostile-client review's findings on two-factor sign-in, each written as the attack it
//! stops: an account deleted with the password alone, TOTP guessed through `/mfa/totp/disable`,
//! recovery codes guessed in parallel, and a recovery that locked the user out of a pool whose
//! MFA is ON.

use futures::future::join_all;
use integration_tests::{
    LocalApi, Moto, PASSWORD, error_code, json_of, login, next_totp, register_and_confirm,
    signed_in, totp,
};
use serde_json::{Value, json};

/// Turns TOTP on through the API; returns the secret and the recovery codes.
async fn enrol(api: &LocalApi, tokens: &Value) -> (String, Vec<String>) {
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
    let code = totp(&secret, api.cognito().now());
    let body = json!({"code": code, "setup_token": setup["setup_token"]});
    let (s, b) = api
        .call("POST", "/mfa/totp/verify", access, Some(body))
        .await;
    assert_eq!(s, 200, "{b}");
    let codes = b["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes)
}

fn wrong_code(secret: &str, api: &LocalApi) -> &'static str {
    if totp(secret, api.cognito().now()) == "000000" {
        "000001"
    } else {
        "000000"
    }
}

#[tokio::test]
async fn deleting_an_account_with_totp_on_takes_the_second_factor_too() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let tokens = signed_in(&api, "guarded@example.com").await;
    let access = &tokens["access_token"];
    let (secret, _) = enrol(&api, &tokens).await;
    let (s, b) = api
        .call("DELETE", "/me", access, Some(json!({"password": PASSWORD})))
        .await;
    assert_eq!((s, error_code(&b)), (403, "second_factor_required"), "{b}");
    let wrong = json!({"password": PASSWORD, "code": wrong_code(&secret, &api)});
    let (s, b) = api.call("DELETE", "/me", access, Some(wrong)).await;
    assert_eq!((s, error_code(&b)), (401, "invalid_code"), "{b}");
    let (s, _) = api.call("GET", "/me", &tokens["id_token"], None).await;
    assert_eq!(s, 200, "the account is still there");
    let right = json!({"password": PASSWORD, "code": next_totp(&api, &secret)});
    let (s, b) = api.call("DELETE", "/me", access, Some(right)).await;
    assert_eq!(s, 204, "{b}");
}

#[tokio::test]
async fn guessing_the_authenticator_through_disable_is_locked_out_after_five() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let tokens = signed_in(&api, "guessed-totp@example.com").await;
    let access = &tokens["access_token"];
    let (secret, _) = enrol(&api, &tokens).await;
    for n in 0..tables::limits::SECOND_FACTOR.max {
        let body = json!({"password": PASSWORD, "code": wrong_code(&secret, &api)});
        let (s, b) = api
            .call("POST", "/mfa/totp/disable", access, Some(body))
            .await;
        assert_eq!((s, error_code(&b)), (401, "invalid_code"), "guess {n}: {b}");
    }
    let body = json!({"password": PASSWORD, "code": next_totp(&api, &secret)});
    let (s, b) = api
        .call("POST", "/mfa/totp/disable", access, Some(body))
        .await;
    assert_eq!((s, error_code(&b)), (429, "too_many_requests"), "{b}");
    let (_, status) = api.call("GET", "/mfa", access, None).await;
    assert_eq!(
        status["totp_enabled"], true,
        "the right code after the guesses did nothing"
    );
    // A wrong password is no guess at the code: it costs no attempt, and changes nothing.
    let body = json!({"password": "Wrong-Horse-9!", "code": "123456"});
    let (s, b) = api
        .call("POST", "/mfa/totp/disable", access, Some(body))
        .await;
    assert_eq!((s, error_code(&b)), (401, "invalid_credentials"), "{b}");
}

#[tokio::test]
async fn twenty_recovery_codes_guessed_at_once_are_five_tried_and_fifteen_refused() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "raced@example.com";
    let tokens = signed_in(&api, user).await;
    let (_, codes) = enrol(&api, &tokens).await;
    let guess = |n: usize| {
        let body = json!({"username": user, "password": PASSWORD,
                          "recovery_code": format!("aaaaa-aa{n:03}")});
        let api = &api;
        async move { json_of(api.post("/login/recover", body).await).await }
    };
    // The first guess opens the user's window alone: moto's conditional writes are atomic
    // only once the item exists (two creations at once can both pass `attribute_not_exists`
    // there, never on DynamoDB). The counting under a race is what the other nineteen show.
    let (s, b) = guess(0).await;
    assert_eq!((s, error_code(&b)), (401, "invalid_code"), "{b}");
    let answers = join_all((1..20).map(guess)).await;
    let count = |status: u16| answers.iter().filter(|(s, _)| *s == status).count();
    // Four more are tried, the rest refused. moto's server answers on threads and checks a
    // condition and writes the item in two steps, so under this race it now and then lets one
    // more through (seen: 5 of 19, in a full run), which DynamoDB's conditional write never
    // does; the unit tests of tables::limits hold the check and the count to one write.
    assert_eq!(count(401) + count(429), 19, "{answers:?}");
    assert!((4..=5).contains(&count(401)), "{answers:?}");
    let body = json!({"username": user, "password": PASSWORD, "recovery_code": codes[0]});
    let (s, b) = json_of(api.post("/login/recover", body).await).await;
    assert_eq!((s, error_code(&b)), (429, "too_many_requests"), "{b}");
}

#[tokio::test]
async fn a_recovery_in_a_pool_whose_mfa_is_on_goes_on_to_set_up_a_new_authenticator() {
    let moto = Moto::start();
    let api = LocalApi::start_with(&moto, &[("Mfa", "ON")], |_| {}).await;
    let user = "lost-phone@example.com";
    register_and_confirm(&api, user).await;
    let (_, first) = login(&api, user, PASSWORD).await;
    assert_eq!(first["challenge"], "MFA_SETUP");
    let setup = |session: &Value, code: Option<String>| {
        let mut b = json!({"username": first["username"], "session": session,
                           "challenge": "MFA_SETUP"});
        if let Some(code) = code {
            b["code"] = code.into();
        }
        b
    };
    let (_, step) = json_of(
        api.post("/login/challenge", setup(&first["session"], None))
            .await,
    )
    .await;
    let secret = step["secret"].as_str().unwrap().to_owned();
    let code = totp(&secret, api.cognito().now());
    let (s, done) = json_of(
        api.post("/login/challenge", setup(&step["session"], Some(code)))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{done}");
    let codes = done["recovery_codes"].as_array().unwrap().clone();

    // The phone is lost: the password and a recovery code lead to a new authenticator.
    let body = json!({"username": user, "password": PASSWORD, "recovery_code": codes[0]});
    let (s, recovered) = json_of(api.post("/login/recover", body).await).await;
    assert_eq!(s, 200, "{recovered}");
    assert_eq!(recovered["challenge"], "MFA_SETUP", "{recovered}");
    assert!(recovered.get("id_token").is_none());
    let (s, step) = json_of(
        api.post("/login/challenge", setup(&recovered["session"], None))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{step}");
    let new_secret = step["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    let code = next_totp(&api, &new_secret);
    let (s, done) = json_of(
        api.post("/login/challenge", setup(&step["session"], Some(code)))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{done}");
    assert!(done["id_token"].is_string());
    assert_eq!(done["recovery_codes"].as_array().map(Vec::len), Some(10));
    // Where the pool requires it, two-factor sign-in does not come off (Cognito would keep it on
    // and answer a success): the recovery codes stay.
    let access = &done["access_token"];
    let proof = json!({"password": PASSWORD, "recovery_code": done["recovery_codes"][0]});
    let (s, b) = api
        .call("POST", "/mfa/totp/disable", access, Some(proof))
        .await;
    assert_eq!((s, error_code(&b)), (409, "mfa_required"), "{b}");
    let (_, status) = api.call("GET", "/mfa", access, None).await;
    assert_eq!(status["recovery_codes_remaining"], 10, "{status}");
    // The old authenticator signs in no more, the new one does.
    let (_, challenge) = login(&api, user, PASSWORD).await;
    assert_eq!(challenge["challenge"], "SOFTWARE_TOKEN_MFA");
    let new = next_totp(&api, &new_secret);
    let old = totp(&secret, api.cognito().now());
    if old != new {
        let answer = json!({"username": challenge["username"], "session": challenge["session"],
                            "challenge": "SOFTWARE_TOKEN_MFA", "code": old});
        let (s, b) = json_of(api.post("/login/challenge", answer).await).await;
        assert_eq!((s, error_code(&b)), (401, "invalid_code"), "{b}");
    }
}
