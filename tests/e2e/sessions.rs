//! The session centre, as a client uses it: every sign-in is a session the user can list and
//! end; refresh tokens rotate, and one presented again after the grace period ends its whole
//! session; an idle session ends at its next refresh; sensitive changes need a recent sign-in;
//! a password or second-factor change ends the other sessions. Tried as an attacker would: a
//! stolen refresh token used by the thief first, another user's session id, an ended session's
//! tokens, a re-used old token.

use std::time::Duration;

use integration_tests::{LocalApi, Moto, PASSWORD, error_code, json_of, signed_in};
use serde_json::{Value, json};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/// Signs `user` in from a browser that says `user_agent`.
async fn login_from(api: &LocalApi, user: &str, user_agent: &str) -> Value {
    login_with(api, user, PASSWORD, user_agent).await
}

async fn login_with(api: &LocalApi, user: &str, password: &str, user_agent: &str) -> Value {
    let body = json!({"username": user, "password": password}).to_string();
    let headers = [
        ("content-type", "application/json"),
        ("user-agent", user_agent),
    ];
    let (s, b) = json_of(
        api.send("POST", "/login", &headers, body.into_bytes())
            .await,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    b
}

async fn refresh(api: &LocalApi, refresh_token: &Value) -> (u16, Value) {
    json_of(
        api.post("/refresh", json!({"refresh_token": refresh_token}))
            .await,
    )
    .await
}

async fn sessions(api: &LocalApi, tokens: &Value) -> Vec<Value> {
    let (s, b) = api
        .call("GET", "/me/sessions", &tokens["access_token"], None)
        .await;
    assert_eq!(s, 200, "{b}");
    b["sessions"].as_array().unwrap().clone()
}

/// The id of the session `tokens` belong to, as its own list marks it.
async fn own_id(api: &LocalApi, tokens: &Value) -> String {
    let list = sessions(api, tokens).await;
    let current: Vec<&Value> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "exactly one current session: {list:?}");
    current[0]["id"].as_str().unwrap().to_owned()
}

/// Cognito's GetUser with `tokens`' access token, straight at the local Cognito: 200 while
/// Cognito takes the token.
async fn cognito_knows(api: &LocalApi, tokens: &Value) -> u16 {
    let body = json!({"AccessToken": tokens["access_token"]});
    api.cognito_call("GetUser", body).await.0
}

/// `GET /me` with `tokens`' id token: 200 while the session lives.
async fn me(api: &LocalApi, tokens: &Value) -> (u16, Value) {
    api.call("GET", "/me", &tokens["id_token"], None).await
}

#[tokio::test]
async fn every_sign_in_is_a_session_listed_newest_first_with_its_device_and_the_current_one_marked()
{
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "devices@example.com";
    signed_in(&api, user).await;
    let laptop = login_from(&api, user, FIREFOX).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let phone = login_from(&api, user, IPHONE).await;

    let list = sessions(&api, &phone).await;
    assert_eq!(list.len(), 3, "{list:?}");
    assert_eq!(
        list[0]["device"], "Safari on iPhone",
        "newest first: {list:?}"
    );
    assert_eq!(list[0]["current"], true);
    let firefox: Vec<&Value> = list
        .iter()
        .filter(|s| s["device"] == "Firefox on Linux")
        .collect();
    assert_eq!(firefox.len(), 1, "{list:?}");
    assert_eq!(firefox[0]["current"], false);
    assert!(list.iter().skip(1).all(|s| s["current"] == false));
    for session in &list {
        assert_eq!(session["method"], "password");
        assert_eq!(session["ip"], "127.0.0.1");
        assert!(
            session["started_at"].as_u64().unwrap()
                <= session["last_refreshed_at"].as_u64().unwrap()
        );
        let text = session.to_string();
        for token in ["id_token", "access_token", "refresh_token"] {
            assert!(!text.contains(phone[token].as_str().unwrap()));
            assert!(!text.contains(laptop[token].as_str().unwrap()));
        }
    }
    // The route takes the access token: the authorizer refuses an id token.
    let (s, _) = api
        .call("GET", "/me/sessions", &phone["id_token"], None)
        .await;
    assert_eq!(s, 401);
    // Another user sees only their own.
    let other = signed_in(&api, "someone-else@example.com").await;
    assert_eq!(sessions(&api, &other).await.len(), 1);
}

#[tokio::test]
async fn a_refresh_rotates_the_token_and_keeps_the_session() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let tokens = signed_in(&api, "rotate@example.com").await;
    let id = own_id(&api, &tokens).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let (s, fresh) = refresh(&api, &tokens["refresh_token"]).await;
    assert_eq!(s, 200, "{fresh}");
    let rotated = fresh["refresh_token"]
        .as_str()
        .expect("a new refresh token");
    assert_ne!(rotated, tokens["refresh_token"].as_str().unwrap());
    assert_eq!(me(&api, &fresh).await.0, 200);
    // The same session, refreshed.
    let list = sessions(&api, &fresh).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["current"], true);
    assert!(list[0]["last_refreshed_at"].as_u64() > list[0]["started_at"].as_u64());
    // The new one refreshes in turn; `username` is still taken from older clients.
    let (s, again) = json_of(
        api.post(
            "/refresh",
            json!({"username": tokens["username"], "refresh_token": rotated}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{again}");

    // The table holds no refresh token in plain form.
    let dynamodb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let table = api
        .config
        .functions
        .get("SESSIONS_TABLE")
        .unwrap()
        .to_owned();
    let items = dynamodb.scan().table_name(table).send().await.unwrap();
    let stored = format!("{:?}", items.items());
    for token in [
        &tokens["refresh_token"],
        &fresh["refresh_token"],
        &again["refresh_token"],
    ] {
        assert!(!stored.contains(token.as_str().unwrap()));
    }
}

/// RFC 9700's reuse detection: a thief who exchanged a stolen refresh token first leaves the
/// owner holding a spent one; when either presents a spent token after the grace period, the
/// whole session ends, the thief's fresh tokens with it.
#[tokio::test]
async fn a_spent_refresh_token_presented_after_the_grace_period_ends_the_whole_session() {
    let moto = Moto::start();
    let api = LocalApi::start_with(&moto, &[("RefreshTokenGracePeriod", "1")], |_| {}).await;
    let user = "stolen@example.com";
    let victim = signed_in(&api, user).await;
    let elsewhere = login_from(&api, user, FIREFOX).await;

    // The thief exchanges the stolen token first.
    let (s, thief) = refresh(&api, &victim["refresh_token"]).await;
    assert_eq!(s, 200, "{thief}");
    // Within the grace period a retry of the same token still works (a client's retry).
    let (s, retried) = refresh(&api, &victim["refresh_token"]).await;
    assert_eq!(s, 200, "{retried}");
    tokio::time::sleep(Duration::from_millis(2500)).await;

    // The owner's app refreshes with the token it holds: spent long enough ago to be a reuse.
    let (s, b) = refresh(&api, &victim["refresh_token"]).await;
    assert_eq!((s, error_code(&b)), (401, "refresh_token_reused"), "{b}");
    // The whole session has ended: every token of it, the thief's newest included.
    for tokens in [&victim, &thief, &retried] {
        let (s, b) = me(&api, tokens).await;
        assert_eq!((s, error_code(&b)), (401, "token_revoked"), "{b}");
    }
    for newest in [&thief["refresh_token"], &retried["refresh_token"]] {
        let (s, b) = refresh(&api, newest).await;
        assert_eq!(s, 401, "{b}");
    }
    // Cognito's own API refuses the thief's newest access token as well.
    assert_eq!(cognito_knows(&api, &retried).await, 400);
    // The user's other session is untouched.
    assert_eq!(me(&api, &elsewhere).await.0, 200);
    assert_eq!(sessions(&api, &elsewhere).await.len(), 1);
}

#[tokio::test]
async fn ending_a_session_refuses_its_tokens_at_once_and_leaves_the_others() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "ender@example.com";
    let phone = signed_in(&api, user).await;
    let laptop = login_from(&api, user, FIREFOX).await;
    let laptop_id = own_id(&api, &laptop).await;

    let path = format!("/me/sessions/{laptop_id}");
    let (s, b) = api
        .call("DELETE", &path, &phone["access_token"], None)
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = me(&api, &laptop).await;
    assert_eq!((s, error_code(&b)), (401, "token_revoked"), "{b}");
    let (s, b) = refresh(&api, &laptop["refresh_token"]).await;
    assert_eq!((s, error_code(&b)), (401, "invalid_refresh_token"), "{b}");
    assert_eq!(me(&api, &phone).await.0, 200);
    // Ended at Cognito too: its access token is no good for Cognito's own API either.
    assert_eq!(cognito_knows(&api, &laptop).await, 400);
    assert_eq!(cognito_knows(&api, &phone).await, 200);
    // Ended already, unknown, malformed, or another user's: one answer, 404.
    let stranger = signed_in(&api, "stranger@example.com").await;
    let stranger_id = own_id(&api, &stranger).await;
    for id in [
        laptop_id.as_str(),
        "AAAAAAAAAAAAAAAAAAAAAA",
        stranger_id.as_str(),
        "..%2F..%2Fx",
    ] {
        let (s, b) = api
            .call(
                "DELETE",
                &format!("/me/sessions/{id}"),
                &phone["access_token"],
                None,
            )
            .await;
        assert_eq!((s, error_code(&b)), (404, "not_found"), "{id}: {b}");
    }
    assert_eq!(
        me(&api, &stranger).await.0,
        200,
        "the stranger's session lives"
    );
    // An id token does not end sessions (the route takes the access token).
    let (s, _) = api
        .call(
            "DELETE",
            &format!("/me/sessions/{stranger_id}"),
            &stranger["id_token"],
            None,
        )
        .await;
    assert_eq!(s, 401);
    // Ending one's own session signs this device out.
    let phone_id = own_id(&api, &phone).await;
    let (s, _) = api
        .call(
            "DELETE",
            &format!("/me/sessions/{phone_id}"),
            &phone["access_token"],
            None,
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(me(&api, &phone).await.0, 401);
}

#[tokio::test]
async fn ending_every_other_session_keeps_the_callers() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "others@example.com";
    let here = signed_in(&api, user).await;
    let a = login_from(&api, user, FIREFOX).await;
    let b = login_from(&api, user, IPHONE).await;
    let (s, body) = api
        .call("DELETE", "/me/sessions", &here["access_token"], None)
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["ended"], 2);
    for tokens in [&a, &b] {
        assert_eq!(me(&api, tokens).await.0, 401);
    }
    assert_eq!(me(&api, &here).await.0, 200);
    assert_eq!(sessions(&api, &here).await.len(), 1);
}

/// Sign-outs end sessions by id: a sign-in in the same second as a sign-out everywhere is a new
/// session, which it does not touch.
#[tokio::test]
async fn a_sign_in_right_after_a_sign_out_everywhere_is_not_ended_by_it() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "again@example.com";
    let old = signed_in(&api, user).await;
    let (s, b) = api
        .call("POST", "/logout", &old["access_token"], None)
        .await;
    assert_eq!(s, 200, "{b}");
    let fresh = login_from(&api, user, FIREFOX).await;
    assert_eq!(me(&api, &old).await.0, 401);
    assert_eq!(me(&api, &fresh).await.0, 200);
    let (s, b) = api
        .call(
            "DELETE",
            "/me",
            &fresh["access_token"],
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(s, 204, "the account can be deleted at once: {b}");
}

#[tokio::test]
async fn a_session_idle_for_longer_than_the_timeout_ends_at_its_refresh() {
    let moto = Moto::start();
    let api = LocalApi::start_with(&moto, &[("SessionIdleTimeout", "1")], |_| {}).await;
    let tokens = signed_in(&api, "idle@example.com").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (s, b) = refresh(&api, &tokens["refresh_token"]).await;
    assert_eq!((s, error_code(&b)), (401, "session_timed_out"), "{b}");
    let (s, b) = me(&api, &tokens).await;
    assert_eq!((s, error_code(&b)), (401, "token_revoked"), "{b}");
    // A session refreshed in time lives on.
    let busy = signed_in(&api, "busy@example.com").await;
    let (s, b) = refresh(&api, &busy["refresh_token"]).await;
    assert_eq!(s, 200, "{b}");
}

/// ASVS 7.5.1: changing the e-mail address, turning TOTP on or off, adding or deleting a
/// passkey and deleting the account need a recent sign-in; a refresh does not make one.
#[tokio::test]
async fn sensitive_changes_need_a_sign_in_within_the_window() {
    let moto = Moto::start();
    let api = LocalApi::start_with(&moto, &[("ReauthWindow", "2")], |_| {}).await;
    let user = "window@example.com";
    let tokens = signed_in(&api, user).await;
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let (s, fresh) = refresh(&api, &tokens["refresh_token"]).await;
    assert_eq!(s, 200, "{fresh}");
    let proof = json!({"password": PASSWORD});
    let email = json!({"email": "new@example.com", "password": PASSWORD});
    let mut checked = Vec::new();
    for (method, path, body) in [
        ("PATCH", "/me", Some(email.clone())),
        ("POST", "/mfa/totp/setup", Some(proof.clone())),
        (
            "POST",
            "/mfa/totp/disable",
            Some(json!({"password": PASSWORD, "code": "123456"})),
        ),
        ("POST", "/passkeys/register/start", Some(proof.clone())),
        ("DELETE", "/passkeys/AAAAAAAAAAAAAAAAAAAAAA", None),
        ("DELETE", "/me", Some(proof.clone())),
    ] {
        let (s, b) = api.call(method, path, &fresh["access_token"], body).await;
        assert_eq!(
            (s, error_code(&b)),
            (403, "reauthentication_required"),
            "{path}: {b}"
        );
        assert_eq!(b["error"]["window_seconds"], 2, "{b}");
        checked.push(path);
    }
    // The name is not sensitive; the account is still there.
    let (s, b) = api
        .call(
            "PATCH",
            "/me",
            &fresh["access_token"],
            Some(json!({"name": "Window"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // A new sign-in opens the window again.
    let (_, again) = integration_tests::login(&api, user, PASSWORD).await;
    let (s, b) = api
        .call("PATCH", "/me", &again["access_token"], Some(email))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(checked.len(), 6);
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_unless_kept() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "changer@example.com";
    let here = signed_in(&api, user).await;
    let thief = login_from(&api, user, FIREFOX).await;
    let change = |from: &str, to: &str, keep: Option<bool>| {
        let mut body = json!({"previous_password": from, "proposed_password": to});
        if let Some(keep) = keep {
            body["keep_other_sessions"] = json!(keep);
        }
        body
    };
    let next = "Another-Horse-8!";
    let (s, b) = api
        .call(
            "POST",
            "/change_password",
            &here["access_token"],
            Some(change(PASSWORD, next, None)),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["other_sessions_ended"], 1);
    let (s, b) = me(&api, &thief).await;
    assert_eq!((s, error_code(&b)), (401, "token_revoked"), "{b}");
    let (s, _) = refresh(&api, &thief["refresh_token"]).await;
    assert_eq!(s, 401);
    assert_eq!(
        me(&api, &here).await.0,
        200,
        "the caller's own session stays"
    );

    // Kept when asked.
    let tablet = login_with(&api, user, next, IPHONE).await;
    let body = change(next, PASSWORD, Some(true));
    let (s, b) = api
        .call(
            "POST",
            "/change_password",
            &here["access_token"],
            Some(body),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["other_sessions_ended"], 0);
    assert_eq!(me(&api, &tablet).await.0, 200);
    let (s, b) = api
        .call(
            "POST",
            "/change_password",
            &here["access_token"],
            Some(json!({"previous_password": PASSWORD, "proposed_password": next, "keep_other_sessions": "yes"})),
        )
        .await;
    assert_eq!((s, error_code(&b)), (400, "invalid_type"), "{b}");
}

/// ASVS 7.4.3: turning TOTP on, and a sign-in with a recovery code (the authenticator lost,
/// perhaps to a thief), end the user's other sessions; the session that made the change stays.
#[tokio::test]
async fn turning_totp_on_and_a_recovery_code_sign_in_end_the_other_sessions() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "second-factor@example.com";
    let here = signed_in(&api, user).await;
    let elsewhere = login_from(&api, user, FIREFOX).await;
    let proof = json!({"password": PASSWORD});
    let (s, setup) = api
        .call(
            "POST",
            "/mfa/totp/setup",
            &here["access_token"],
            Some(proof),
        )
        .await;
    assert_eq!(s, 200, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let verify = json!({"code": integration_tests::next_totp(&api, &secret),
                        "setup_token": setup["setup_token"]});
    let (s, on) = api
        .call(
            "POST",
            "/mfa/totp/verify",
            &here["access_token"],
            Some(verify),
        )
        .await;
    assert_eq!(s, 200, "{on}");
    assert_eq!(on["other_sessions_ended"], 1);
    assert_eq!(me(&api, &elsewhere).await.0, 401);
    assert_eq!(me(&api, &here).await.0, 200);

    // A recovery-code sign-in: the sessions before it end, its own lives.
    let recovery = on["recovery_codes"][0].as_str().unwrap();
    let body = json!({"username": user, "password": PASSWORD, "recovery_code": recovery});
    let (s, recovered) = json_of(api.post("/login/recover", body).await).await;
    assert_eq!(s, 200, "{recovered}");
    assert_eq!(recovered["other_sessions_ended"], 1);
    assert_eq!(me(&api, &here).await.0, 401);
    assert_eq!(me(&api, &recovered).await.0, 200);
    let list = sessions(&api, &recovered).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["method"], "recovery_code");
}
