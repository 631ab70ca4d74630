//! Passkeys end to end, with the tests' software authenticator against the local Cognito:
//! register (after the proof) → sign in → list → delete → sign in refused, and the hostile
//! cases: forged, replayed, wrong-origin, wrong-challenge, wrong relying party, unverified and
//! cloned (counter) assertions; a registration with the access token alone, or finished in
//! another session; another user's passkey.

use integration_tests::authenticator::{Authenticator, Made, UP};
use integration_tests::{LocalApi, Moto, PASSWORD, error_code, json_of, login, signed_in};
use serde_json::{Value, json};

/// The page's origin in local runs, and the relying party.
const ORIGIN: &str = "http://localhost:8080";
const RP: &str = "localhost";

fn made() -> Made {
    Made::by(ORIGIN, RP)
}

/// Registers a passkey of `authenticator` for the signed-in `tokens`: the finish's answer.
async fn register(api: &LocalApi, tokens: &Value, authenticator: &mut Authenticator) -> Value {
    let access = &tokens["access_token"];
    let (s, started) = api
        .call(
            "POST",
            "/passkeys/register/start",
            access,
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(s, 200, "{started}");
    let options = &started["credential_creation_options"];
    assert_eq!(options["rp"]["id"], RP, "{options}");
    let credential = authenticator.register(options, &made());
    let body =
        json!({"credential": credential, "registration_token": started["registration_token"]});
    let (s, added) = api
        .call("POST", "/passkeys/register/finish", access, Some(body))
        .await;
    assert_eq!(s, 201, "{added}");
    added
}

/// `/login/start` with the passkey: the WEB_AUTHN challenge.
async fn passkey_challenge(api: &LocalApi, user: &str) -> Value {
    let body = json!({"username": user, "method": "passkey"});
    let (s, b) = json_of(api.post("/login/start", body).await).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["challenge"], "WEB_AUTHN", "{b}");
    b
}

async fn answer(api: &LocalApi, challenge: &Value, credential: Value) -> (u16, Value) {
    let body = json!({"username": challenge["username"], "session": challenge["session"],
                      "challenge": "WEB_AUTHN", "credential": credential});
    json_of(api.post("/login/challenge", body).await).await
}

#[tokio::test]
async fn a_passkey_is_registered_signs_in_is_listed_and_once_deleted_signs_in_no_more() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "passkey@example.com";
    let tokens = signed_in(&api, user).await;
    let mut key = Authenticator::new();
    let added = register(&api, &tokens, &mut key).await;
    assert_eq!(added["passkey"]["id"], key.id(), "{added}");
    assert_eq!(added["passkey"]["authenticator_attachment"], "platform");
    assert_eq!(added["passkey"]["transports"], json!(["internal"]));

    let challenge = passkey_challenge(&api, user).await;
    let options = &challenge["credential_request_options"];
    assert_eq!(options["rpId"], RP, "{options}");
    assert_eq!(options["allowCredentials"][0]["id"], key.id(), "{options}");
    assert_eq!(options["userVerification"], "required");
    let (s, signed) = answer(&api, &challenge, key.assert(options, &made())).await;
    assert_eq!(s, 200, "{signed}");
    let access = &signed["access_token"];
    let (s, me) = api.call("GET", "/me", &signed["id_token"], None).await;
    assert_eq!((s, me["email"].as_str()), (200, Some(user)), "{me}");

    let (s, list) = api.call("GET", "/passkeys", access, None).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["passkeys"].as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list["passkeys"][0]["id"], key.id());
    assert!(
        list["passkeys"][0]["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(
        list["methods"],
        json!(["password", "email_otp", "passkey"]),
        "{list}"
    );

    // Without a method, the choice includes the passkey.
    let (_, select) = json_of(api.post("/login/start", json!({"username": user})).await).await;
    assert_eq!(
        select["methods"],
        json!(["password", "email_otp", "passkey"]),
        "{select}"
    );

    let path = format!("/passkeys/{}", key.id());
    let (s, b) = api.call("DELETE", &path, access, None).await;
    assert_eq!(s, 200, "{b}");
    let told = api.cognito().mailbox().alerts(Some(user));
    assert!(
        told.iter()
            .any(|m| m.subject.as_deref() == Some("A passkey was removed from your account")),
        "{told:?}"
    );
    let (s, b) = api.call("DELETE", &path, access, None).await;
    assert_eq!((s, error_code(&b)), (404, "not_found"), "{b}");
    let (s, list) = api.call("GET", "/passkeys", access, None).await;
    assert_eq!((s, list["passkeys"].clone()), (200, json!([])), "{list}");
    // Deleted: no passkey challenge, only the choice without it.
    let body = json!({"username": user, "method": "passkey"});
    let (s, b) = json_of(api.post("/login/start", body).await).await;
    assert_eq!(
        (s, b["challenge"].as_str()),
        (200, Some("SELECT_CHALLENGE")),
        "{b}"
    );
    assert_eq!(b["methods"], json!(["password", "email_otp"]), "{b}");
}

#[tokio::test]
async fn forged_replayed_and_misdirected_assertions_are_refused() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "target@example.com";
    let tokens = signed_in(&api, user).await;
    let mut key = Authenticator::new();
    register(&api, &tokens, &mut key).await;

    // Each forgery against a fresh challenge; each is refused and spends the challenge.
    let mut forger = Authenticator::forger_of(&key);
    let challenge = passkey_challenge(&api, user).await;
    let forged = forger.assert(&challenge["credential_request_options"], &made());
    let (s, b) = answer(&api, &challenge, forged).await;
    assert_eq!(
        (s, error_code(&b)),
        (400, "invalid_credential"),
        "forged: {b}"
    );

    let other_challenge = passkey_challenge(&api, user).await;
    let cases: Vec<(&str, Made)> = vec![
        ("wrong origin", Made::by("https://evil.example", RP)),
        ("wrong relying party", Made::by(ORIGIN, "evil.example")),
        (
            "user not verified",
            Made {
                flags: UP,
                ..made()
            },
        ),
        (
            "another session's challenge",
            Made {
                challenge: other_challenge["credential_request_options"]["challenge"]
                    .as_str()
                    .map(str::to_owned),
                ..made()
            },
        ),
    ];
    for (case, made) in cases {
        let challenge = passkey_challenge(&api, user).await;
        let credential = key.assert(&challenge["credential_request_options"], &made);
        let (s, b) = answer(&api, &challenge, credential).await;
        assert_eq!(
            (s, error_code(&b)),
            (400, "invalid_credential"),
            "{case}: {b}"
        );
        assert!(b.get("access_token").is_none(), "{case}: {b}");
    }

    // A right answer, replayed to its own session (spent) and to a new one (another challenge).
    let challenge = passkey_challenge(&api, user).await;
    let right = key.assert(&challenge["credential_request_options"], &made());
    let (s, b) = answer(&api, &challenge, right.clone()).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = answer(&api, &challenge, right.clone()).await;
    assert_eq!(
        (s, error_code(&b)),
        (400, "invalid_credential"),
        "replayed: {b}"
    );
    let fresh = passkey_challenge(&api, user).await;
    let (s, b) = answer(&api, &fresh, right).await;
    assert_eq!(
        (s, error_code(&b)),
        (400, "invalid_credential"),
        "replayed anew: {b}"
    );

    // A cloned authenticator: its counter does not grow past the one last seen.
    let challenge = passkey_challenge(&api, user).await;
    key.counter -= 2;
    let cloned = key.assert(&challenge["credential_request_options"], &made());
    let (s, b) = answer(&api, &challenge, cloned).await;
    assert_eq!(
        (s, error_code(&b)),
        (400, "invalid_credential"),
        "cloned: {b}"
    );

    // Nothing above signed in; the real key, counting on, still does.
    key.counter += 5;
    let challenge = passkey_challenge(&api, user).await;
    let (s, b) = answer(
        &api,
        &challenge,
        key.assert(&challenge["credential_request_options"], &made()),
    )
    .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn a_passkey_is_never_added_with_the_access_token_alone_nor_finished_in_another_session() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "owner@example.com";
    let tokens = signed_in(&api, user).await;
    let access = &tokens["access_token"];
    let start = "/passkeys/register/start";

    let (s, b) = api.call("POST", start, access, Some(json!({}))).await;
    assert_eq!((s, error_code(&b)), (400, "missing_field"), "{b}");
    let wrong = json!({"password": "Not-the-password-1!"});
    let (s, b) = api.call("POST", start, access, Some(wrong)).await;
    assert_eq!((s, error_code(&b)), (401, "invalid_credentials"), "{b}");

    // A finish with no start, with a made-up token, or with the token of another session.
    let mut key = Authenticator::new();
    let (s, started) = api
        .call("POST", start, access, Some(json!({"password": PASSWORD})))
        .await;
    assert_eq!(s, 200, "{started}");
    let credential = key.register(&started["credential_creation_options"], &made());
    let (_, other) = login(&api, user, PASSWORD).await;
    for (token, session) in [
        (json!("x".repeat(43)), access),
        (
            started["registration_token"].clone(),
            &other["access_token"],
        ),
    ] {
        let body = json!({"credential": credential, "registration_token": token});
        let (s, b) = api
            .call("POST", "/passkeys/register/finish", session, Some(body))
            .await;
        assert_eq!((s, error_code(&b)), (403, "registration_required"), "{b}");
    }
    // Made on another origin: refused by the relying party's check.
    let (_, started) = api
        .call("POST", start, access, Some(json!({"password": PASSWORD})))
        .await;
    let credential = key.register(
        &started["credential_creation_options"],
        &Made::by("https://evil.example", RP),
    );
    let body =
        json!({"credential": credential, "registration_token": started["registration_token"]});
    let (s, b) = api
        .call(
            "POST",
            "/passkeys/register/finish",
            access,
            Some(body.clone()),
        )
        .await;
    assert_eq!(
        (s, error_code(&b)),
        (400, "passkey_origin_not_allowed"),
        "{b}"
    );
    // The registration token is good once.
    let (s, b) = api
        .call("POST", "/passkeys/register/finish", access, Some(body))
        .await;
    assert_eq!((s, error_code(&b)), (403, "registration_required"), "{b}");
    let (_, list) = api.call("GET", "/passkeys", access, None).await;
    assert_eq!(list["passkeys"], json!([]), "{list}");
}

#[tokio::test]
async fn a_proof_by_emailed_code_adds_a_passkey_and_the_owner_is_told() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "no-password@example.com";
    let tokens = signed_in(&api, user).await;
    let access = &tokens["access_token"];
    let start = "/passkeys/register/start";
    let (s, sent) = api
        .call(
            "POST",
            start,
            access,
            Some(json!({"send_email_code": true})),
        )
        .await;
    assert_eq!(s, 202, "{sent}");
    let code = api
        .cognito()
        .mailbox()
        .messages(Some(user))
        .into_iter()
        .find(|m| m.kind == "sign_in")
        .map(|m| m.code)
        .expect("a sign-in code");
    let wrong = json!({"email_code": "00000000", "proof_session": sent["proof_session"]});
    let (s, b) = api.call("POST", start, access, Some(wrong)).await;
    assert_eq!((s, error_code(&b)), (401, "invalid_code"), "{b}");
    let body = json!({"email_code": code, "proof_session": sent["proof_session"]});
    let (s, started) = api.call("POST", start, access, Some(body)).await;
    assert_eq!(s, 200, "{started}");
    let mut key = Authenticator::new();
    let credential = key.register(&started["credential_creation_options"], &made());
    let body =
        json!({"credential": credential, "registration_token": started["registration_token"]});
    let (s, b) = api
        .call("POST", "/passkeys/register/finish", access, Some(body))
        .await;
    assert_eq!(s, 201, "{b}");
    let alerts = api.cognito().mailbox().alerts(Some(user));
    assert!(
        alerts
            .iter()
            .any(|m| m.subject.as_deref() == Some("A passkey was added to your account")),
        "{alerts:?}"
    );
}

#[tokio::test]
async fn another_users_passkey_cannot_be_deleted_nor_used() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let alice = signed_in(&api, "alice-pk@example.com").await;
    let mallory = signed_in(&api, "mallory-pk@example.com").await;
    let mut key = Authenticator::new();
    register(&api, &alice, &mut key).await;
    let path = format!("/passkeys/{}", key.id());
    let (s, b) = api
        .call("DELETE", &path, &mallory["access_token"], None)
        .await;
    assert_eq!((s, error_code(&b)), (404, "not_found"), "{b}");
    // Alice's passkey answering Mallory's sign-in: Mallory has no passkey to be asked for.
    let body = json!({"username": "mallory-pk@example.com", "method": "passkey"});
    let (s, b) = json_of(api.post("/login/start", body).await).await;
    assert_eq!(
        (s, b["challenge"].as_str()),
        (200, Some("SELECT_CHALLENGE")),
        "{b}"
    );
    let (s, list) = api
        .call("GET", "/passkeys", &alice["access_token"], None)
        .await;
    assert_eq!(
        (s, list["passkeys"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{list}"
    );
}
