//! Cognito's own admin operations, made outside the API (here straight against the local
//! Cognito, as an operator would from the console or the CLI): the trail's record reaches the
//! operator function, which ends the user's sessions at once and records the action with the
//! operator as its actor. Tried as the issue found it: a user deleted behind the API's back
//! whose id token still read `/me` and created a book.

use std::time::{Duration, Instant};

use integration_tests::{LocalApi, Moto, PASSWORD, error_code, json_of, login, signed_in};
use serde_json::{Value, json};

/// The delivered event of `kind` about `user`, once it is there.
async fn event(api: &LocalApi, user: &str, kind: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (s, events) = json_of(api.get(&format!("/_local/events?username={user}")).await).await;
        assert_eq!(s, 200, "{events}");
        if let Some(found) = events
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == kind)
        {
            return found.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no {kind} event for {user}: {events}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An operator's `operation` on `user`, straight against the pool.
async fn operator(api: &LocalApi, operation: &str, user: &str, extra: Value) {
    let mut body = json!({"UserPoolId": api.created.pool_id, "Username": user});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (s, b) = api.cognito_call(operation, body).await;
    assert_eq!(s, 200, "{operation}: {b}");
}

/// `tokens` are refused everywhere: the id token on `/me` and `/books`, the access token on
/// `/me/sessions`, the refresh token at `/refresh`.
async fn refused(api: &LocalApi, tokens: &Value, case: &str) {
    let (s, b) = api.call("GET", "/me", &tokens["id_token"], None).await;
    assert_eq!(s, 401, "{case}: the id token read /me: {b}");
    let book = json!({"name": "planted", "author": "nobody", "price": "1.00"});
    let (s, b) = api
        .call("POST", "/books", &tokens["id_token"], Some(book))
        .await;
    assert_eq!(s, 401, "{case}: the id token created a book: {b}");
    let (s, b) = api
        .call("GET", "/me/sessions", &tokens["access_token"], None)
        .await;
    assert_eq!(s, 401, "{case}: the access token listed sessions: {b}");
    let refresh = json!({"refresh_token": tokens["refresh_token"]});
    let (s, b) = json_of(api.post("/refresh", refresh).await).await;
    assert_eq!(s, 401, "{case}: the refresh token was exchanged: {b}");
}

#[tokio::test]
async fn each_operators_action_outside_the_api_ends_the_users_sessions_and_is_an_event() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    for (operation, user, kind, extra) in [
        (
            "AdminUserGlobalSignOut",
            "signed-out@example.com",
            "sign_out",
            json!({}),
        ),
        (
            "AdminDisableUser",
            "disabled@example.com",
            "account_disabled",
            json!({}),
        ),
        (
            "AdminResetUserPassword",
            "reset@example.com",
            "password_reset_required",
            json!({}),
        ),
        (
            "AdminRemoveUserFromGroup",
            "demoted@example.com",
            "group_removed",
            json!({"GroupName": "admin"}),
        ),
        (
            "AdminDeleteUser",
            "vanished@example.com",
            "account_deleted",
            json!({}),
        ),
    ] {
        let laptop = signed_in(&api, user).await;
        let (s, phone) = login(&api, user, PASSWORD).await;
        assert_eq!(s, 200, "{phone}");
        if operation == "AdminRemoveUserFromGroup" {
            let add = json!({"UserPoolId": api.created.pool_id, "Username": user,
                             "GroupName": "admin"});
            assert_eq!(api.cognito_call("AdminAddUserToGroup", add).await.0, 200);
        }
        let (s, b) = api.call("GET", "/me", &laptop["id_token"], None).await;
        assert_eq!(s, 200, "{operation}: before: {b}");

        operator(&api, operation, user, extra).await;
        // The event is written once the sessions have ended.
        let event = event(&api, user, kind).await;
        assert_eq!(event["actor"]["kind"], "operator", "{event}");
        assert!(
            event["actor"]["username"]
                .as_str()
                .is_some_and(|arn| arn.starts_with("arn:aws:iam::")),
            "the operator's principal: {event}"
        );
        assert_eq!(event["detail"]["operation"], operation, "{event}");
        assert!(event["user"]["sub"].is_string(), "{event}");
        match operation {
            "AdminUserGlobalSignOut" => {
                assert_eq!(event["detail"]["scope"], "all", "{event}");
                assert_eq!(event["detail"]["sessions_ended"], 2, "{event}");
            }
            "AdminRemoveUserFromGroup" => {
                assert_eq!(event["detail"]["group"], "admin", "{event}");
                assert_eq!(event["detail"]["sessions_ended"], 2, "{event}");
            }
            _ => assert_eq!(event["detail"]["sessions_ended"], 2, "{event}"),
        }
        for tokens in [&laptop, &phone] {
            refused(&api, tokens, operation).await;
        }
    }
}

#[tokio::test]
async fn the_admin_apis_own_calls_are_one_event_and_a_deleted_users_books_go() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let admin_user = "root@example.com";
    let user = "bob@example.com";
    let bob = signed_in(&api, user).await;
    signed_in(&api, admin_user).await;
    let add = json!({"UserPoolId": api.created.pool_id, "Username": admin_user,
                     "GroupName": "admin"});
    assert_eq!(api.cognito_call("AdminAddUserToGroup", add).await.0, 200);
    let (_, admin) = login(&api, admin_user, PASSWORD).await;
    let book = json!({"name": "Bob's", "author": "Bob", "price": "2.00"});
    let (s, b) = api
        .call("POST", "/books", &bob["id_token"], Some(book))
        .await;
    assert_eq!(s, 201, "{b}");

    // The admin API disables bob: its own AdminDisableUser is passed over by the operator
    // function, which sees it in the trail too.
    let (s, b) = api
        .call(
            "POST",
            &format!("/admin/users/{user}/disable"),
            &admin["access_token"],
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // Then an operator deletes bob outside the API: the trail is read in order, so once its
    // event is there, the admin API's record has been handled.
    operator(&api, "AdminDeleteUser", user, json!({})).await;
    event(&api, user, "account_deleted").await;
    let (_, events) = json_of(api.get(&format!("/_local/events?username={user}")).await).await;
    let disabled: Vec<&Value> = (events.as_array().unwrap().iter())
        .filter(|e| e["type"] == "account_disabled")
        .collect();
    assert_eq!(disabled.len(), 1, "one event per action: {events}");
    assert_eq!(disabled[0]["actor"]["kind"], "admin", "{events}");

    // The deleted user's books are gone, as DELETE /me removes them.
    let (s, listed) = json_of(api.get("/books").await).await;
    assert_eq!(s, 200, "{listed}");
    assert!(
        !listed.to_string().contains("Bob's"),
        "a deleted user's book stays: {listed}"
    );
    let (s, b) = api.call("GET", "/me", &bob["id_token"], None).await;
    assert_eq!((s, error_code(&b)), (401, "token_revoked"), "{b}");
}
