//! The hostile-client review's findings on the account routes, each written as the attack it
//! stops: a thief holding only an access token, a user mailing strangers, a reset that left
//! sessions signed in, another session's refresh token, enumeration through codes, invisible
//! characters in addresses, tokens of another app client, a user deleted behind the API's back.

use integration_tests::{
    LocalApi, Moto, PASSWORD, TestJwks, error_code, json_of, login, register_and_confirm, signed_in,
};
use serde_json::{Value, json};

const THIEF: &str = "thief@example.net";

async fn refresh(api: &LocalApi, tokens: &Value) -> (u16, Value) {
    let body = json!({"username": tokens["username"], "refresh_token": tokens["refresh_token"]});
    json_of(api.post("/refresh", body).await).await
}

#[tokio::test]
async fn a_stolen_access_token_alone_cannot_move_the_account_to_another_address() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "owner@example.com";
    let tokens = signed_in(&api, user).await;
    let stolen = &tokens["access_token"];

    for (body, status, expected) in [
        (json!({"email": THIEF}), 400, "missing_field"),
        (
            json!({"email": THIEF, "password": "Guessed-Horse-1!"}),
            401,
            "invalid_credentials",
        ),
    ] {
        let (s, b) = api.call("PATCH", "/me", stolen, Some(body.clone())).await;
        assert_eq!((s, error_code(&b)), (status, expected), "{body}: {b}");
    }
    // Nor straight against Cognito: the app client may not write `email`.
    let (s, b) = api
        .cognito_call(
            "UpdateUserAttributes",
            json!({"AccessToken": stolen, "UserAttributes": [{"Name": "email", "Value": THIEF}]}),
        )
        .await;
    assert_eq!(
        (s, b["__type"].as_str()),
        (400, Some("NotAuthorizedException")),
        "{b}"
    );
    let mailbox = api.cognito().mailbox();
    assert!(
        mailbox.messages(Some(THIEF)).is_empty(),
        "nothing went to the thief"
    );
    assert!(mailbox.alerts(None).is_empty());

    // The owner, with the password: the change is pending, and the old address is told.
    let body = json!({"email": "new@example.com", "password": PASSWORD});
    let (s, b) = api.call("PATCH", "/me", stolen, Some(body)).await;
    assert_eq!(s, 200, "{b}");
    let alerts = mailbox.alerts(Some(user));
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    // The proof's own sign-in ended at once: the owner's session is the only one left working.
    let (s, _) = refresh(&api, &tokens).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_stolen_access_token_alone_cannot_set_up_an_authenticator_or_replace_recovery_codes() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "enrolled@example.com";
    let tokens = signed_in(&api, user).await;
    let stolen = &tokens["access_token"];
    let (s, b) = api.call("POST", "/mfa/totp/setup", stolen, None).await;
    assert_eq!((s, error_code(&b)), (400, "missing_body"), "{b}");
    let wrong = json!({"password": "Guessed-Horse-1!"});
    let (s, b) = api
        .call("POST", "/mfa/totp/setup", stolen, Some(wrong))
        .await;
    assert_eq!((s, error_code(&b)), (401, "invalid_credentials"), "{b}");
    // Verifying a secret the thief got straight from Cognito: no set-up of this session.
    let verify =
        |code: String, setup_token: &Value| json!({"code": code, "setup_token": setup_token});
    let (s, b) = api
        .cognito_call("AssociateSoftwareToken", json!({"AccessToken": stolen}))
        .await;
    assert_eq!(s, 200, "{b}");
    let thiefs = b["SecretCode"].as_str().unwrap().to_owned();
    let code = integration_tests::totp(&thiefs, api.cognito().now());
    let body = verify(code, &json!("guessed-setup-token"));
    let (s, b) = api
        .call("POST", "/mfa/totp/verify", stolen, Some(body))
        .await;
    assert_eq!((s, error_code(&b)), (403, "setup_required"), "{b}");

    // The owner sets one up in the very session the thief holds a token of. The thief swaps the
    // pending secret straight at Cognito: without the owner's setup_token, the swap reaches
    // neither the recovery codes nor the owner's set-up through the API.
    let proof = json!({"password": PASSWORD});
    let (s, setup) = api
        .call("POST", "/mfa/totp/setup", stolen, Some(proof))
        .await;
    assert_eq!(s, 200, "{setup}");
    let (s, b) = api
        .cognito_call("AssociateSoftwareToken", json!({"AccessToken": stolen}))
        .await;
    assert_eq!(s, 200, "{b}");
    let thiefs = b["SecretCode"].as_str().unwrap().to_owned();
    let code = integration_tests::next_totp(&api, &thiefs);
    for token in [
        json!("guessed-setup-token"),
        json!(setup["setup_token"].as_str().unwrap().to_uppercase()),
    ] {
        let (s, b) = api
            .call(
                "POST",
                "/mfa/totp/verify",
                stolen,
                Some(verify(code.clone(), &token)),
            )
            .await;
        assert_eq!((s, error_code(&b)), (403, "setup_required"), "{b}");
    }
    // A set-up proven in one session is not another session's, even with its token.
    let (_, other) = login(&api, user, PASSWORD).await;
    let (s, setup) = api
        .call(
            "POST",
            "/mfa/totp/setup",
            stolen,
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(s, 200, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let token = &setup["setup_token"];
    let code = integration_tests::next_totp(&api, &secret);
    let (s, b) = api
        .call(
            "POST",
            "/mfa/totp/verify",
            &other["access_token"],
            Some(verify(code.clone(), token)),
        )
        .await;
    assert_eq!((s, error_code(&b)), (403, "setup_required"), "{b}");
    // A mistyped code gives the set-up back; the right one completes it, once.
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let (s, b) = api
        .call(
            "POST",
            "/mfa/totp/verify",
            stolen,
            Some(verify(wrong.into(), token)),
        )
        .await;
    assert_eq!((s, error_code(&b)), (401, "invalid_code"), "{b}");
    let (s, b) = api
        .call(
            "POST",
            "/mfa/totp/verify",
            stolen,
            Some(verify(code, token)),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let again = integration_tests::next_totp(&api, &secret);
    let (s, b) = api
        .call(
            "POST",
            "/mfa/totp/verify",
            stolen,
            Some(verify(again, token)),
        )
        .await;
    assert_eq!((s, error_code(&b)), (403, "setup_required"), "{b}");
}

#[tokio::test]
async fn mail_to_new_addresses_is_limited_per_user_and_resends_never_block_a_change() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let tokens = signed_in(&api, "mailer@example.com").await;
    let access = &tokens["access_token"];
    let change = |to: &str, password: &str| json!({"email": to, "password": password});
    let (s, b) = api
        .call(
            "PATCH",
            "/me",
            access,
            Some(change("first@example.com", PASSWORD)),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // A thief with the access token asks for codes until none is left.
    for n in 0..tables::limits::MAIL.max {
        let (s, b) = api
            .call("POST", "/me/verify_email/resend", access, None)
            .await;
        assert_eq!(s, 200, "resend {n}: {b}");
    }
    let bearer = format!("Bearer {}", access.as_str().unwrap());
    let res = api
        .send(
            "POST",
            "/me/verify_email/resend",
            &[("authorization", &bearer)],
            Vec::new(),
        )
        .await;
    assert_eq!(res.status().as_u16(), 429);
    assert!(res.headers().contains_key("retry-after"));
    // The owner's changes of address are counted apart, and limited too.
    for n in 1..tables::limits::EMAIL_CHANGE.max {
        let to = format!("move-{n}@example.com");
        let (s, b) = api
            .call("PATCH", "/me", access, Some(change(&to, PASSWORD)))
            .await;
        assert_eq!(s, 200, "change {n}: {b}");
    }
    let (s, b) = api
        .call(
            "PATCH",
            "/me",
            access,
            Some(change("stranger@example.org", PASSWORD)),
        )
        .await;
    assert_eq!((s, error_code(&b)), (429, "too_many_requests"), "{b}");
    assert!(
        api.cognito()
            .mailbox()
            .messages(Some("stranger@example.org"))
            .is_empty()
    );
    // Refused before the proof: nothing of the account holder's is spent on it.
    let (s, b) = api
        .call(
            "PATCH",
            "/me",
            access,
            Some(change("stranger@example.org", "Wrong-Horse-1!")),
        )
        .await;
    assert_eq!((s, error_code(&b)), (429, "too_many_requests"), "{b}");
}

#[tokio::test]
async fn a_password_reset_ends_every_older_session_at_once() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "reset@example.com";
    let laptop = signed_in(&api, user).await;
    let (_, phone) = login(&api, user, PASSWORD).await;
    let (s, _) = json_of(
        api.post("/forgot_password", json!({"username": user}))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let code = api.code_for(user);
    let body = json!({"username": user, "confirmation_code": code,
                      "new_password": "Another-Horse-7!"});
    let (s, b) = json_of(api.post("/reset_password", body).await).await;
    assert_eq!(s, 200, "{b}");
    for session in [&laptop, &phone] {
        let (s, b) = refresh(&api, session).await;
        assert_eq!((s, error_code(&b)), (401, "invalid_refresh_token"), "{b}");
        let (s, b) = api.call("GET", "/me", &session["id_token"], None).await;
        assert_eq!((s, error_code(&b)), (401, "token_revoked"), "{b}");
        let (s, b) = api
            .call("POST", "/logout", &session["access_token"], None)
            .await;
        assert_eq!((s, error_code(&b)), (401, "token_revoked"), "{b}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (s, b) = login(&api, user, "Another-Horse-7!").await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = api.call("GET", "/me", &b["id_token"], None).await;
    assert_eq!(s, 200, "a sign-in after the reset works");
}

#[tokio::test]
async fn signing_out_this_session_takes_only_this_sessions_refresh_token() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "sessions@example.com";
    let mine = signed_in(&api, user).await;
    let (_, other_session) = login(&api, user, PASSWORD).await;
    let stranger = signed_in(&api, "stranger@example.com").await;
    for (case, token) in [
        ("another session's", &other_session["refresh_token"]),
        ("another user's", &stranger["refresh_token"]),
        ("no refresh token at all", &json!("not-a-refresh-token")),
    ] {
        let body = json!({"refresh_token": token});
        let (s, b) = api
            .call("POST", "/logout", &mine["access_token"], Some(body))
            .await;
        assert_eq!(
            (s, error_code(&b)),
            (403, "refresh_token_mismatch"),
            "{case}: {b}"
        );
    }
    // Nothing changed: every session still works (and each refresh rotates its token).
    let mut newest = Vec::new();
    for session in [&mine, &other_session, &stranger] {
        let (s, b) = refresh(&api, session).await;
        assert_eq!(s, 200, "{b}");
        let (s, _) = api.call("GET", "/me", &session["id_token"], None).await;
        assert_eq!(s, 200);
        newest.push(b);
    }
    // A spent token of its own session is not the session's to sign out with either.
    let body = json!({"refresh_token": mine["refresh_token"]});
    let (s, b) = api
        .call("POST", "/logout", &mine["access_token"], Some(body))
        .await;
    assert_eq!((s, error_code(&b)), (403, "refresh_token_mismatch"), "{b}");
    let body = json!({"refresh_token": newest[0]["refresh_token"]});
    let (s, b) = api
        .call("POST", "/logout", &mine["access_token"], Some(body))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = refresh(&api, &newest[0]).await;
    assert_eq!(s, 401);
    let (s, _) = refresh(&api, &newest[1]).await;
    assert_eq!(s, 200, "the other session stays signed in");
}

#[tokio::test]
async fn codes_tell_nothing_about_who_exists_even_after_many_wrong_ones() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "exists@example.com";
    register_and_confirm(&api, user).await;
    let pending = "pending@example.com";
    json_of(
        api.post(
            "/register",
            json!({"username": pending, "password": PASSWORD}),
        )
        .await,
    )
    .await;
    let reset = |who: &str| json!({"username": who, "confirmation_code": "000000", "new_password": "Another-Horse-7!"});
    let confirm = |who: &str| json!({"username": who, "confirmation_code": "000000"});
    // No code pending, then a code pending and wrong, several times over.
    let (_, unknown) = json_of(
        api.post("/reset_password", reset("nobody@example.com"))
            .await,
    )
    .await;
    let (_, no_code) = json_of(api.post("/reset_password", reset(user)).await).await;
    assert_eq!(error_code(&unknown), error_code(&no_code));
    json_of(
        api.post("/forgot_password", json!({"username": user}))
            .await,
    )
    .await;
    for _ in 0..8 {
        for (path, body) in [
            ("/reset_password", reset(user)),
            ("/reset_password", reset("nobody@example.com")),
            ("/confirm_user", confirm(pending)),
            ("/confirm_user", confirm("nobody@example.com")),
        ] {
            let (s, b) = json_of(api.post(path, body.clone()).await).await;
            assert_eq!(
                (s, error_code(&b)),
                (400, "code_mismatch"),
                "{path} {body}: {b}"
            );
            assert_eq!(b["error"]["message"], unknown["error"]["message"]);
        }
    }
}

#[tokio::test]
async fn addresses_with_invisible_or_direction_changing_characters_are_refused() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let tokens = signed_in(&api, "typist@example.com").await;
    for hidden in [
        "al\u{200b}ice@example.com",
        "alice@exa\u{202e}moc.elpm",
        "\u{feff}a@b.example",
    ] {
        let body = json!({"email": hidden, "password": PASSWORD});
        let (s, b) = api
            .call("PATCH", "/me", &tokens["access_token"], Some(body))
            .await;
        assert_eq!(
            (s, error_code(&b)),
            (400, "invalid_field"),
            "{hidden:?}: {b}"
        );
    }
    assert!(
        api.cognito()
            .mailbox()
            .messages(None)
            .iter()
            .all(|m| m.kind != "verify_email")
    );
}

#[tokio::test]
async fn tokens_of_another_app_client_or_without_their_session_are_refused_by_the_functions() {
    let moto = Moto::start();
    let jwks = TestJwks::start().await;
    let api = LocalApi::start(&moto, |c| jwks.trusted_by(c)).await;
    api.record_test_session().await;
    let client_id = api.created.client_id.clone();
    let genuine = jwks.sign_id_token(&client_id, 3600);
    let (s, b) = json_of(api.get_auth("/me", &format!("Bearer {genuine}")).await).await;
    assert_eq!(s, 200, "{b}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "sub": integration_tests::TEST_SUB, "cognito:username": "tester", "aud": client_id,
        "iss": jwks.issuer, "token_use": "id", "iat": now - 60, "auth_time": now - 60,
        "exp": now + 600, "origin_jti": "a-session",
    });
    let mut cases = Vec::new();
    let mut other = claims.clone();
    other["aud"] = json!("another-client-of-the-same-pool");
    cases.push(("another app client", other));
    for missing in ["origin_jti", "auth_time"] {
        let mut partial = claims.clone();
        partial.as_object_mut().unwrap().remove(missing);
        cases.push((missing, partial));
    }
    for (case, claims) in cases {
        let token = format!("Bearer {}", jwks.sign(&claims, "test-key-1"));
        let (s, b) = json_of(api.get_auth("/me", &token).await).await;
        assert_eq!(
            (s, error_code(&b)),
            (401, "unauthorized"),
            "{case} on /me: {b}"
        );
        let book = json!({"name": "planted", "author": "nobody"});
        let (s, b) = json_of(api.post_auth("/books", book, &token).await).await;
        assert_eq!(
            (s, error_code(&b)),
            (401, "unauthorized"),
            "{case} on /books: {b}"
        );
    }
}

#[tokio::test]
async fn a_user_deleted_behind_the_apis_back_is_401_at_logout_and_refresh() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "vanished@example.com";
    let tokens = signed_in(&api, user).await;
    let (s, b) = api
        .cognito_call(
            "AdminDeleteUser",
            json!({"UserPoolId": api.created.pool_id, "Username": tokens["username"]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = api
        .call("POST", "/logout", &tokens["access_token"], None)
        .await;
    assert_eq!(s, 401, "{b}");
    let (s, b) = refresh(&api, &tokens).await;
    assert_eq!((s, error_code(&b)), (401, "invalid_refresh_token"), "{b}");
}
