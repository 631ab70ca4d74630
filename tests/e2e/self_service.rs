//! The account's owner changes it and ends it, and sign-outs take effect at once: every
//! protected route refuses an ended session's tokens with 401 `token_revoked`, while the
//! user's other sessions keep working.

use std::time::Duration;

use integration_tests::{LocalApi, Moto, PASSWORD, json_of, login, signed_in};
use serde_json::{Value, json};

async fn call(
    api: &LocalApi,
    method: &str,
    path: &str,
    token: &Value,
    body: Option<Value>,
) -> (u16, Value) {
    let bearer = format!("Bearer {}", token.as_str().unwrap());
    let mut headers = vec![("authorization", bearer.as_str())];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    json_of(api.send(method, path, &headers, body).await).await
}

async fn add_book(api: &LocalApi, tokens: &Value, name: &str) -> (u16, Value) {
    let book = json!({"name": name, "author": "Ursula K. Le Guin"});
    call(api, "POST", "/books", &tokens["id_token"], Some(book)).await
}

async fn refresh(api: &LocalApi, tokens: &Value) -> (u16, Value) {
    let body = json!({"username": tokens["username"], "refresh_token": tokens["refresh_token"]});
    json_of(api.post("/refresh", body).await).await
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

/// Sign-in times are whole seconds: a sign-in in the second of a sign-out everywhere counts as
/// before it.
async fn next_second() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

#[tokio::test]
async fn signing_out_everywhere_refuses_every_token_issued_before_at_once() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "everywhere@example.com";
    let laptop = signed_in(&api, user).await;
    let (_, phone) = login(&api, user, PASSWORD).await;
    assert_eq!(add_book(&api, &phone, "before").await.0, 201);

    let (s, b) = call(&api, "POST", "/logout", &laptop["access_token"], None).await;
    assert_eq!(s, 200, "{b}");
    for tokens in [&laptop, &phone] {
        let (s, b) = add_book(&api, tokens, "after").await;
        assert_eq!((s, code(&b)), (401, "token_revoked"), "{b}");
        let (s, b) = call(&api, "GET", "/me", &tokens["id_token"], None).await;
        assert_eq!((s, code(&b)), (401, "token_revoked"), "{b}");
        let (s, b) = call(
            &api,
            "POST",
            "/change_password",
            &tokens["access_token"],
            Some(json!({"previous_password": PASSWORD, "proposed_password": "Another-Horse-7!"})),
        )
        .await;
        assert_eq!((s, code(&b)), (401, "token_revoked"), "{b}");
        let (s, b) = refresh(&api, tokens).await;
        assert_eq!((s, code(&b)), (401, "invalid_refresh_token"), "{b}");
    }
    // Public routes read nothing of it, and a new sign-in works.
    assert_eq!(api.get("/books").await.status(), 200);
    next_second().await;
    let (s, again) = login(&api, user, PASSWORD).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(add_book(&api, &again, "again").await.0, 201);
}

#[tokio::test]
async fn signing_out_one_session_leaves_the_others_signed_in() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "one-device@example.com";
    let laptop = signed_in(&api, user).await;
    let (_, phone) = login(&api, user, PASSWORD).await;

    let body = json!({"refresh_token": laptop["refresh_token"]});
    let (s, b) = call(&api, "POST", "/logout", &laptop["access_token"], Some(body)).await;
    assert_eq!(s, 200, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("this session"),
        "{b}"
    );

    let (s, b) = add_book(&api, &laptop, "laptop").await;
    assert_eq!((s, code(&b)), (401, "token_revoked"), "{b}");
    let (s, b) = call(&api, "GET", "/me", &laptop["id_token"], None).await;
    assert_eq!((s, code(&b)), (401, "token_revoked"), "{b}");
    let (s, b) = refresh(&api, &laptop).await;
    assert_eq!((s, code(&b)), (401, "invalid_refresh_token"), "{b}");

    assert_eq!(add_book(&api, &phone, "phone").await.0, 201);
    let (s, b) = refresh(&api, &phone).await;
    assert_eq!(s, 200, "the other session stays: {b}");
    let refreshed = json!({"id_token": b["id_token"]});
    assert_eq!(add_book(&api, &refreshed, "phone, refreshed").await.0, 201);
}

#[tokio::test]
async fn deleting_the_account_takes_the_password_and_removes_the_user_their_books_and_every_token()
{
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "leaving@example.com";
    let tokens = signed_in(&api, user).await;
    let (_, other_session) = login(&api, user, PASSWORD).await;
    let stayer = signed_in(&api, "staying@example.com").await;
    let (_, mine) = add_book(&api, &tokens, "mine").await;
    let (_, theirs) = add_book(&api, &stayer, "theirs").await;

    let wrong = json!({"password": "Wrong-Horse-9!"});
    let (s, b) = call(&api, "DELETE", "/me", &tokens["access_token"], Some(wrong)).await;
    assert_eq!((s, code(&b)), (401, "invalid_credentials"), "{b}");
    let (s, _) = json_of(
        api.get(&format!("/books/{}", mine["id"].as_str().unwrap()))
            .await,
    )
    .await;
    assert_eq!(s, 200, "a wrong password deletes nothing");

    let (s, b) = call(
        &api,
        "DELETE",
        "/me",
        &tokens["access_token"],
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(s, 204, "{b}");

    let (s, _) = json_of(
        api.get(&format!("/books/{}", mine["id"].as_str().unwrap()))
            .await,
    )
    .await;
    assert_eq!(s, 404, "their books are gone");
    let (s, _) = json_of(
        api.get(&format!("/books/{}", theirs["id"].as_str().unwrap()))
            .await,
    )
    .await;
    assert_eq!(s, 200, "nobody else's");

    let (s, b) = login(&api, user, PASSWORD).await;
    let (unknown_s, unknown_b) = login(&api, "never-was@example.com", PASSWORD).await;
    assert_eq!(
        (s, code(&b)),
        (unknown_s, code(&unknown_b)),
        "as an unknown user"
    );
    assert_eq!((s, code(&b)), (401, "invalid_credentials"));
    for session in [&tokens, &other_session] {
        let (s, b) = refresh(&api, session).await;
        assert_eq!((s, code(&b)), (401, "invalid_refresh_token"), "{b}");
        let (s, b) = add_book(&api, session, "ghost").await;
        assert_eq!((s, code(&b)), (401, "token_revoked"), "{b}");
        let (s, b) = call(&api, "GET", "/me", &session["id_token"], None).await;
        assert_eq!((s, code(&b)), (401, "token_revoked"), "{b}");
    }
    assert_eq!(add_book(&api, &stayer, "still here").await.0, 201);
}

#[tokio::test]
async fn a_new_e_mail_address_takes_effect_only_once_verified_and_only_writable_attributes_change()
{
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "mover@example.com";
    let tokens = signed_in(&api, user).await;
    let access = &tokens["access_token"];

    let (s, b) = call(&api, "PATCH", "/me", access, Some(json!({"name": "Ged"}))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["pending_verification"], json!([]));

    let change = json!({"email": "New.Home@Example.com", "password": PASSWORD});
    let (s, b) = call(&api, "PATCH", "/me", access, Some(change)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["pending_verification"], json!(["email"]));
    let mails = api.cognito().mailbox().messages(Some(user));
    let mail = mails.iter().find(|m| m.kind == "verify_email").unwrap();
    assert_eq!(mail.to, "new.home@example.com");
    // The old address is told, with the new one named.
    let alerts = api.cognito().mailbox().alerts(Some(user));
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let text = alerts[0].body.as_deref().unwrap_or_default();
    assert!(text.contains("new.home@example.com"), "{text}");

    // Until verified, the old address stays.
    let (_, fresh) = refresh(&api, &tokens).await;
    let (_, me) = call(&api, "GET", "/me", &fresh["id_token"], None).await;
    assert_eq!(
        (me["email"].as_str(), me["email_verified"].as_bool()),
        (Some(user), Some(true))
    );
    assert_eq!(me["name"], "Ged");

    let first = mail.code.clone();
    let (s, b) = call(&api, "POST", "/me/verify_email/resend", access, None).await;
    assert_eq!(s, 200, "{b}");
    let second = api.code_for(user);
    let wrong = if second == "000000" {
        "000001"
    } else {
        "000000"
    };
    let (s, b) = call(
        &api,
        "POST",
        "/me/verify_email",
        access,
        Some(json!({"code": wrong})),
    )
    .await;
    assert_eq!((s, code(&b)), (400, "code_mismatch"), "{b}");
    if first != second {
        let (s, b) = call(
            &api,
            "POST",
            "/me/verify_email",
            access,
            Some(json!({"code": first})),
        )
        .await;
        assert_eq!((s, code(&b)), (400, "expired_code"), "superseded: {b}");
    }
    let (s, b) = call(
        &api,
        "POST",
        "/me/verify_email",
        access,
        Some(json!({"code": second})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (_, fresh) = refresh(&api, &tokens).await;
    let (_, me) = call(&api, "GET", "/me", &fresh["id_token"], None).await;
    assert_eq!(me["email"], "new.home@example.com");
    assert_eq!(me["email_verified"], true);

    for (body, expected) in [
        (json!({"email_verified": "true"}), "unknown_field"),
        (json!({"custom:role": "admin"}), "unknown_field"),
        (json!({}), "missing_field"),
        (
            json!({"email": "not-an-address", "password": PASSWORD}),
            "invalid_field",
        ),
        (json!({"email": "a@example.com"}), "missing_field"),
        (json!({"name": "a\u{0007}b"}), "invalid_field"),
    ] {
        let (s, b) = call(&api, "PATCH", "/me", access, Some(body.clone())).await;
        assert_eq!((s, code(&b)), (400, expected), "{body}: {b}");
    }
    // Only with the access token: an id token is not what these routes take.
    let (s, _) = call(
        &api,
        "PATCH",
        "/me",
        &tokens["id_token"],
        Some(json!({"name": "X"})),
    )
    .await;
    assert_eq!(s, 401);
}
