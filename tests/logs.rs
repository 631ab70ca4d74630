//! No secret reaches a log. Every log line of a full flow and of every error path, at TRACE
//! level for every crate (the AWS SDK's own request logging and its Debug output of inputs
//! included), is captured and searched for the passwords, confirmation code, tokens, client
//! secret and secret hashes of the run, e-mailed sign-in codes, passkey credentials and
//! assertions, raw and encoded. (A WebAuthn challenge is a public nonce, not among them: the SDK's
//! TRACE logs show Cognito's options, and no one can answer them without the authenticator.)

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use integration_tests::{LocalApi, Moto, PASSWORD};
use serde_json::{Value, json};
use tracing_subscriber::EnvFilter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const CODE: &str = "918273645";
const WRONG_PASSWORD: &str = "Wrong-Horse-7?";
const USER: &str = "secretive@example.com";
const PASSKEY_USER: &str = "passkey-secretive@example.com";

async fn call(
    api: &LocalApi,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let body = body.to_string().into_bytes();
    let mut headers = vec![("content-type", "application/json")];
    if let Some(t) = token {
        headers.push(("authorization", t));
    }
    let res = api.send(method, path, &headers, body).await;
    let status = res.status().as_u16();
    (
        status,
        serde_json::from_str(&res.text().await.unwrap()).unwrap_or(Value::Null),
    )
}

/// Whether `line` shows `secret`. A code of six digits counts only as a token of its own: inside
/// a request id, a token id or a timestamp's fraction, six digits in a row turn up by chance.
fn leaks(line: &str, secret: &str) -> bool {
    if !secret.bytes().all(|b| b.is_ascii_digit()) {
        return line.contains(secret);
    }
    let bytes = line.as_bytes();
    line.match_indices(secret).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + secret.len()).copied();
        !before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'.')
            && !after.is_some_and(|b| b.is_ascii_alphanumeric())
    })
}

#[test]
fn a_code_counts_as_leaked_only_as_a_token_of_its_own() {
    assert!(leaks(r#"{"code":"390289"}"#, "390289"));
    assert!(leaks("code=390289 next", "390289"));
    assert!(!leaks("request_id=6f3a390289bc", "390289"));
    assert!(!leaks("2026-12-01T15:31:12.390289Z", "390289"));
    assert!(!leaks("latency_ms=0.390289", "390289"));
    assert!(leaks("secret-token-abc", "token-abc"));
}

/// Every form a secret could be written in.
fn forms(secret: &str) -> Vec<String> {
    let mut forms = vec![
        secret.to_owned(),
        STANDARD.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
        form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        format!("{secret:?}"),
    ];
    // The payload and signature of a JWT each give it away on their own.
    if secret.matches('.').count() == 2 {
        forms.extend(secret.split('.').skip(1).map(str::to_owned));
    }
    forms
}

#[tokio::test]
async fn no_password_code_token_client_secret_or_secret_hash_is_ever_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("trace"))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let moto = Moto::start();
    // No grace for a spent refresh token: its reuse is tried at once below.
    let api = LocalApi::start_with(&moto, &[("RefreshTokenGracePeriod", "0")], |_| {}).await;

    // The full flow.
    let credentials = json!({"username": USER, "password": PASSWORD});
    assert_eq!(
        call(&api, "POST", "/register", None, credentials.clone())
            .await
            .0,
        200
    );
    let sign_up_code = api.code_for(USER);
    let (s, _) = call(
        &api,
        "POST",
        "/confirm_user",
        None,
        json!({"username": USER, "confirmation_code": sign_up_code}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, login) = call(&api, "POST", "/login", None, credentials.clone()).await;
    assert_eq!(s, 200);
    let id_token = login["id_token"].as_str().unwrap().to_owned();
    let internal_name = login["username"].as_str().unwrap().to_owned();
    let refresh_body = json!({"username": internal_name, "refresh_token": login["refresh_token"]});
    let (s, refreshed) = call(&api, "POST", "/refresh", None, refresh_body.clone()).await;
    assert_eq!(s, 200);
    // The rotated token refreshes in turn; the session's list shows it.
    let rotated = json!({"refresh_token": refreshed["refresh_token"]});
    let (s, rerotated) = call(&api, "POST", "/refresh", None, rotated).await;
    assert_eq!(s, 200, "{rerotated}");
    let access = login["access_token"].as_str().unwrap().to_owned();
    let (s, _) = call(&api, "GET", "/me/sessions", Some(&access), Value::Null).await;
    assert_eq!(s, 200);
    let book = json!({"id": "logged", "name": "Solaris", "author": "Stanisław Lem"});
    assert_eq!(
        call(&api, "POST", "/books", Some(&id_token), book.clone())
            .await
            .0,
        201
    );
    assert_eq!(
        call(&api, "PUT", "/books/logged", Some(&id_token), book.clone())
            .await
            .0,
        200
    );
    assert_eq!(
        call(
            &api,
            "DELETE",
            "/books/logged",
            Some(&id_token),
            Value::Null
        )
        .await
        .0,
        204
    );

    // The account's own routes: a new e-mail address and its code, a sign-out of one session,
    // and the account deleted with its password.
    let moved = json!({"email": "moved@example.com", "name": "Ged", "password": PASSWORD});
    assert_eq!(
        call(&api, "PATCH", "/me", Some(&access), moved).await.0,
        200
    );
    let email_code = api.code_for(USER);
    let verify = json!({"code": email_code});
    assert_eq!(
        call(&api, "POST", "/me/verify_email", Some(&access), verify)
            .await
            .0,
        200
    );
    let (s, second) = call(&api, "POST", "/login", None, credentials.clone()).await;
    assert_eq!(s, 200);
    let second_access = second["access_token"].as_str().unwrap().to_owned();
    let one = json!({"refresh_token": second["refresh_token"]});
    assert_eq!(
        call(&api, "POST", "/logout", Some(&second_access), one)
            .await
            .0,
        200
    );
    // A third session, ended from the list; then a spent refresh token presented again ends the
    // first session (its reuse), after which nothing of it works.
    let (s, third) = call(&api, "POST", "/login", None, credentials.clone()).await;
    assert_eq!(s, 200);
    let third_access = third["access_token"].as_str().unwrap().to_owned();
    let (_, listed) = call(
        &api,
        "GET",
        "/me/sessions",
        Some(&third_access),
        Value::Null,
    )
    .await;
    // Its own, marked current: three sign-ins within one second tie on their start, so the
    // newest-first order alone cannot tell them apart.
    let theirs = (listed["sessions"].as_array().unwrap().iter())
        .find(|s| s["current"] == true)
        .expect("the caller's session is marked current")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let end = format!("/me/sessions/{theirs}");
    assert_eq!(
        call(&api, "DELETE", &end, Some(&third_access), Value::Null)
            .await
            .0,
        204
    );
    let wrong = json!({"password": WRONG_PASSWORD});
    assert_eq!(
        call(&api, "DELETE", "/me", Some(&access), wrong).await.0,
        401
    );

    // Every error path that carries a secret.
    let error_paths = [
        ("POST", "/register", None, credentials.clone(), 409),
        (
            "POST",
            "/register",
            None,
            json!({"username": "weak@example.com", "password": "short"}),
            400,
        ),
        (
            "POST",
            "/register",
            None,
            json!({"username": "bad name", "password": PASSWORD}),
            400,
        ),
        (
            "POST",
            "/confirm_user",
            None,
            json!({"username": "ghost@example.com", "confirmation_code": CODE}),
            400,
        ),
        (
            "POST",
            "/login",
            None,
            json!({"username": USER, "password": WRONG_PASSWORD}),
            401,
        ),
        (
            "POST",
            "/login",
            None,
            json!({"username": "ghost@example.com", "password": PASSWORD}),
            401,
        ),
        (
            "POST",
            "/login",
            None,
            json!({"username": USER, "password": PASSWORD, "password2": "x".repeat(20_000)}),
            413,
        ),
        (
            "POST",
            "/refresh",
            None,
            json!({"username": internal_name, "refresh_token": "not-a-refresh-token"}),
            401,
        ),
        (
            "POST",
            "/books",
            Some(format!("{id_token}x")),
            book.clone(),
            401,
        ),
        (
            "POST",
            "/books",
            Some(login["access_token"].as_str().unwrap().to_owned()),
            book.clone(),
            401,
        ),
        (
            "POST",
            "/books",
            Some(id_token.clone()),
            json!({"name": PASSWORD}),
            400,
        ),
    ];
    for (method, path, token, body, expected) in error_paths {
        let (status, answer) = call(&api, method, path, token.as_deref(), body).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
    }
    let res = api
        .send(
            "POST",
            "/login",
            &[("content-type", "text/plain")],
            credentials.to_string().into_bytes(),
        )
        .await;
    assert_eq!(res.status().as_u16(), 415);

    // A dependency that fails: the SDK's dispatch-failure logs.
    let dead = integration_tests::sdk_config_for(&format!(
        "http://127.0.0.1:{}",
        integration_tests::free_port()
    ))
    .await;
    // Its client secret in plain: Secrets Manager is unreachable too.
    let created = &api.created;
    let dead_config = integration_tests::local_config(&[
        ("AWS_ENDPOINT_URL", &moto.endpoint),
        ("COGNITO_USER_POOL_ID", &created.pool_id),
        ("COGNITO_CLIENT_ID", &created.client_id),
        (
            "COGNITO_CLIENT_SECRET",
            created.client_secret.as_deref().unwrap(),
        ),
        ("BOOKS_TABLE", &created.table),
        ("SESSIONS_TABLE", &created.sessions_table),
        ("RECOVERY_CODES_TABLE", &created.recovery_table),
        // The recovery codes' key, given as it is: these runs have no Secrets Manager to read it from.
        (
            "RECOVERY_CODE_PEPPER",
            "a-test-pepper-of-at-least-thirty-two-bytes",
        ),
        ("LIMITS_TABLE", &created.limits_table),
        ("AUDIT_TABLE", &created.audit_table),
    ]);
    let dead_api = local_api::gateway(&dead_config, &dead).await.unwrap();
    let (base, _stop) = integration_tests::serve_gateway(dead_api).await;
    let res = reqwest::Client::new()
        .post(format!("{base}/login"))
        .header("content-type", "application/json")
        .body(credentials.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 503);

    // Two-factor sign-in: the secret, its codes, the challenge's session, a recovery code.
    let access_token = access.clone();
    let (s, setup) = call(
        &api,
        "POST",
        "/mfa/totp/setup",
        Some(&access_token),
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200, "{setup}");
    let totp_secret = setup["secret"].as_str().unwrap().to_owned();
    let first_code = integration_tests::totp(&totp_secret, std::time::SystemTime::now());
    let setup_token = setup["setup_token"].as_str().unwrap().to_owned();
    let verify = json!({"code": first_code, "device_name": "phone", "setup_token": setup_token});
    let (s, enabled) = call(
        &api,
        "POST",
        "/mfa/totp/verify",
        Some(&access_token),
        verify,
    )
    .await;
    assert_eq!(s, 200, "{enabled}");
    let recovery_codes: Vec<String> = enabled["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let (s, challenge) = call(&api, "POST", "/login", None, credentials.clone()).await;
    assert_eq!(s, 200, "{challenge}");
    let mfa_session = challenge["session"].as_str().unwrap().to_owned();
    // A code is good once: the sign-in takes the next step's.
    let second_code = integration_tests::next_totp(&api, &totp_secret);
    let answer = json!({"username": challenge["username"], "session": mfa_session,
                        "challenge": "SOFTWARE_TOKEN_MFA", "code": second_code});
    assert_eq!(
        call(&api, "POST", "/login/challenge", None, answer).await.0,
        200
    );
    // The first session is still wanted below: kept.
    let recover = json!({"username": USER, "password": PASSWORD,
                         "recovery_code": recovery_codes[0], "keep_other_sessions": true});
    assert_eq!(
        call(&api, "POST", "/login/recover", None, recover).await.0,
        200
    );
    let wrong = json!({"username": USER, "password": PASSWORD, "recovery_code": recovery_codes[1]});
    assert_eq!(
        call(&api, "POST", "/login/recover", None, wrong).await.0,
        401
    );

    // Passwordless, for an account of its own (TOTP above leaves USER without it): a code by
    // e-mail, a passkey added with the password and signed in with, a forged assertion.
    use integration_tests::authenticator::{Authenticator, Made};
    let other = json!({"username": PASSKEY_USER, "password": PASSWORD});
    assert_eq!(
        call(&api, "POST", "/register", None, other.clone()).await.0,
        200
    );
    let other_code = api.code_for(PASSKEY_USER);
    let confirm = json!({"username": PASSKEY_USER, "confirmation_code": other_code});
    assert_eq!(
        call(&api, "POST", "/confirm_user", None, confirm).await.0,
        200
    );
    let start = json!({"username": PASSKEY_USER, "method": "email_otp"});
    let (s, otp) = call(&api, "POST", "/login/start", None, start.clone()).await;
    assert_eq!(s, 200, "{otp}");
    let otp_code = api.code_for(PASSKEY_USER);
    let otp_session = otp["session"].as_str().unwrap().to_owned();
    let wrong_otp = json!({"username": otp["username"], "session": otp_session,
                           "challenge": "EMAIL_OTP", "code": "00000000"});
    assert_eq!(
        call(&api, "POST", "/login/challenge", None, wrong_otp)
            .await
            .0,
        401
    );
    let answer = json!({"username": otp["username"], "session": otp_session,
                        "challenge": "EMAIL_OTP", "code": otp_code});
    let (s, by_code) = call(&api, "POST", "/login/challenge", None, answer).await;
    assert_eq!(s, 200, "{by_code}");
    let passkey_access = by_code["access_token"].as_str().unwrap().to_owned();
    let (s, started) = call(
        &api,
        "POST",
        "/passkeys/register/start",
        Some(&passkey_access),
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200, "{started}");
    let registration_token = started["registration_token"].as_str().unwrap().to_owned();
    let made = Made::by("http://localhost:8080", "localhost");
    let mut key = Authenticator::new();
    let registration = key.register(&started["credential_creation_options"], &made);
    let finish = json!({"credential": registration, "registration_token": registration_token});
    let (s, added) = call(
        &api,
        "POST",
        "/passkeys/register/finish",
        Some(&passkey_access),
        finish,
    )
    .await;
    assert_eq!(s, 201, "{added}");
    let start = json!({"username": PASSKEY_USER, "method": "passkey"});
    let (s, webauthn) = call(&api, "POST", "/login/start", None, start.clone()).await;
    assert_eq!(s, 200, "{webauthn}");
    let forged =
        Authenticator::forger_of(&key).assert(&webauthn["credential_request_options"], &made);
    let refused = json!({"username": webauthn["username"], "session": webauthn["session"],
                         "challenge": "WEB_AUTHN", "credential": forged});
    assert_eq!(
        call(&api, "POST", "/login/challenge", None, refused)
            .await
            .0,
        400
    );
    let (_, webauthn) = call(&api, "POST", "/login/start", None, start).await;
    let assertion = key.assert(&webauthn["credential_request_options"], &made);
    let answer = json!({"username": webauthn["username"], "session": webauthn["session"],
                        "challenge": "WEB_AUTHN", "credential": assertion});
    let (s, by_passkey) = call(&api, "POST", "/login/challenge", None, answer).await;
    assert_eq!(s, 200, "{by_passkey}");
    let mut credential_parts: Vec<String> = Vec::new();
    for credential in [&registration, &forged, &assertion] {
        credential_parts.push(credential.to_string());
        for part in [
            "clientDataJSON",
            "attestationObject",
            "authenticatorData",
            "signature",
        ] {
            if let Some(text) = credential["response"][part].as_str() {
                credential_parts.push(text.to_owned());
            }
        }
    }

    // Last: the account goes, with its password.
    let gone = json!({"password": PASSWORD});
    assert_eq!(
        call(&api, "DELETE", "/me", Some(&access), gone).await.0,
        204
    );
    // The first session's spent refresh token, presented again after the (zero) grace period.
    let (s, reused) = call(&api, "POST", "/refresh", None, refresh_body).await;
    assert_eq!(s, 401, "{reused}");

    let client_secret = api.created.client_secret.clone().unwrap();
    let client_id = &api.created.client_id;
    let mut secrets: Vec<(&str, String)> = vec![
        ("password", PASSWORD.into()),
        ("wrong password", WRONG_PASSWORD.into()),
        ("confirmation code", sign_up_code.clone()),
        ("wrong confirmation code", CODE.into()),
        ("e-mail verification code", email_code.clone()),
        ("TOTP secret", totp_secret.clone()),
        ("set-up token", setup_token.clone()),
        ("TOTP code", first_code.clone()),
        ("second TOTP code", second_code.clone()),
        ("MFA challenge session", mfa_session.clone()),
        ("second session's access token", second_access.clone()),
        (
            "second session's refresh token",
            second["refresh_token"].as_str().unwrap().into(),
        ),
        ("client secret", client_secret.clone()),
        ("id token", id_token.clone()),
        (
            "access token",
            login["access_token"].as_str().unwrap().into(),
        ),
        (
            "refresh token",
            login["refresh_token"].as_str().unwrap().into(),
        ),
        (
            "refreshed id token",
            refreshed["id_token"].as_str().unwrap().into(),
        ),
        (
            "refreshed access token",
            refreshed["access_token"].as_str().unwrap().into(),
        ),
        (
            "rotated refresh token",
            refreshed["refresh_token"].as_str().unwrap().into(),
        ),
        (
            "twice rotated refresh token",
            rerotated["refresh_token"].as_str().unwrap().into(),
        ),
        ("third session's access token", third_access.clone()),
        (
            "third session's refresh token",
            third["refresh_token"].as_str().unwrap().into(),
        ),
    ];
    for code in &recovery_codes {
        secrets.push(("recovery code", code.clone()));
    }
    secrets.extend([
        ("e-mailed sign-in code", otp_code.clone()),
        ("passwordless session", otp_session.clone()),
        ("passkey registration token", registration_token.clone()),
        ("passkey sign-in's access token", passkey_access.clone()),
        (
            "passkey sign-in's refresh token",
            by_passkey["refresh_token"].as_str().unwrap().into(),
        ),
    ]);
    for part in credential_parts {
        secrets.push(("passkey credential or assertion", part));
    }
    for name in [
        USER,
        internal_name.as_str(),
        "weak@example.com",
        "ghost@example.com",
    ] {
        secrets.push((
            "secret hash",
            auth::secret_hash(name, client_id, &client_secret),
        ));
    }

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    let lines = logs.lines().count();
    assert!(lines > 100, "the capture works: {lines} lines");
    assert!(
        logs.contains("request refused"),
        "handler logs are captured"
    );
    assert!(
        logs.contains("aws_smithy_runtime"),
        "the SDK's own logs are captured"
    );
    for (what, secret) in &secrets {
        for form in forms(secret) {
            let line = logs.lines().find(|l| leaks(l, &form));
            assert!(
                line.is_none(),
                "a {what} is in the logs (as {form:?}): {}",
                line.unwrap_or_default()
            );
        }
    }
    eprintln!("log lines searched: {lines}, secrets: {}", secrets.len());

    // The auth events of all of it, as the audit stream delivered them (and as the bus and
    // GET /me/activity carry them), hold none of the secrets either.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let events = loop {
        let res = reqwest::get(format!("{}/_local/events", api.base))
            .await
            .unwrap();
        let events: Vec<serde_json::Value> =
            serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
        let changed = events.iter().any(|e| e["type"] == "recovery_code_used");
        if changed || std::time::Instant::now() > deadline {
            break events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(
        events.len() > 10,
        "the events were delivered: {}",
        events.len()
    );
    for event in &events {
        let text = event.to_string();
        for (what, secret) in &secrets {
            for form in forms(secret) {
                assert!(!leaks(&text, &form), "a {what} is in an event: {text}");
            }
        }
    }
    eprintln!("events searched: {}", events.len());
}
