//! The admin API as an operator uses it, and as a hostile client tries it: a non-admin on every
//! admin route, an administrator acting on themselves, an administrator's token after the
//! demotion, a disabled user's tokens and sign-ins.

use integration_tests::{LocalApi, Moto, PASSWORD, error_code, login, signed_in};
use serde_json::{Value, json};

const ADMIN: &str = "root@example.com";
const USER: &str = "bob@example.com";

/// Every admin route, with its path for `user`.
fn routes(user: &str) -> Vec<(&'static str, String)> {
    vec![
        ("GET", "/admin/users".into()),
        ("GET", format!("/admin/users/{user}")),
        ("DELETE", format!("/admin/users/{user}")),
        ("POST", format!("/admin/users/{user}/disable")),
        ("POST", format!("/admin/users/{user}/enable")),
        ("POST", format!("/admin/users/{user}/sign_out")),
        ("POST", format!("/admin/users/{user}/reset_mfa")),
        ("PUT", format!("/admin/users/{user}/groups/admin")),
        ("DELETE", format!("/admin/users/{user}/groups/admin")),
        ("GET", "/admin/audit?type=sign_in".into()),
    ]
}

/// `user` put in the admin group straight against the pool, as the first one is.
async fn make_admin(api: &LocalApi, user: &str) {
    let (s, b) = api
        .cognito_call(
            "AdminAddUserToGroup",
            json!({"UserPoolId": api.created.pool_id, "Username": user, "GroupName": "admin"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn only_a_member_of_the_admin_group_now_reaches_the_admin_api() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = signed_in(&api, USER).await;
    signed_in(&api, ADMIN).await;
    make_admin(&api, ADMIN).await;

    // A user of no group, on every route: refused before anything is done.
    for (method, path) in routes(ADMIN) {
        let (s, b) = api.call(method, &path, &user["access_token"], None).await;
        assert_eq!(
            (s, error_code(&b)),
            (403, "forbidden"),
            "{method} {path}: {b}"
        );
    }
    // Nor without a token, nor with the id token (the routes take the access token).
    for (method, path) in routes(USER) {
        let res = api.send(method, &path, &[], Vec::new()).await;
        assert_eq!(res.status(), 401, "{method} {path}");
        let (s, _) = api.call(method, &path, &user["id_token"], None).await;
        assert_eq!(s, 401, "{method} {path} with the id token");
    }
    let (s, _) = login(&api, USER, PASSWORD).await;
    assert_eq!(s, 200, "the user is untouched");

    // The admin, signed in after joining the group.
    let (s, admin) = login(&api, ADMIN, PASSWORD).await;
    assert_eq!(s, 200);
    let token = &admin["access_token"];
    let (s, found) = api.call("GET", "/admin/users?email=bob", token, None).await;
    assert_eq!(s, 200, "{found}");
    let names: Vec<&str> = found["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, [USER], "{found}");
    // Promoted, then demoted: the token that still says admin is refused at once.
    let (s, b) = api
        .call(
            "PUT",
            &format!("/admin/users/{USER}/groups/admin"),
            token,
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, promoted) = login(&api, USER, PASSWORD).await;
    assert_eq!(s, 200);
    let (s, b) = api
        .call("GET", "/admin/users", &promoted["access_token"], None)
        .await;
    assert_eq!(s, 200, "a new admin: {b}");
    let (s, b) = api
        .call(
            "DELETE",
            &format!("/admin/users/{USER}/groups/admin"),
            token,
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // Its three: the first sign-in, the one above, and the one that carries the group.
    assert_eq!(b["sessions_ended"], 3, "{b}");
    // The demoted admin's token is refused at once: its session has ended, so that no route
    // that reads the group from the token (an admin's book powers) takes it.
    let (s, b) = api
        .call("GET", "/admin/users", &promoted["access_token"], None)
        .await;
    assert_eq!(
        (s, error_code(&b)),
        (401, "token_revoked"),
        "a demoted admin's token: {b}"
    );
    let (s, b) = api
        .call("DELETE", "/books/any", &promoted["id_token"], None)
        .await;
    assert_eq!(
        (s, error_code(&b)),
        (401, "token_revoked"),
        "a demoted admin's book powers: {b}"
    );
    // Signed in again, without the group: the membership is read from the pool too.
    let (s, demoted) = login(&api, USER, PASSWORD).await;
    assert_eq!(s, 200);
    let (s, b) = api
        .call("GET", "/admin/users", &demoted["access_token"], None)
        .await;
    assert_eq!((s, error_code(&b)), (403, "forbidden"), "{b}");

    // An administrator cannot lock themselves out.
    for (method, path) in [
        ("POST", format!("/admin/users/{ADMIN}/disable")),
        ("DELETE", format!("/admin/users/{ADMIN}")),
        ("DELETE", format!("/admin/users/{ADMIN}/groups/admin")),
        ("POST", format!("/admin/users/{ADMIN}/sign_out")),
        ("POST", format!("/admin/users/{ADMIN}/reset_mfa")),
    ] {
        let (s, b) = api.call(method, &path, token, None).await;
        assert_eq!(
            (s, error_code(&b)),
            (409, "cannot_act_on_self"),
            "{method} {path}: {b}"
        );
    }
    // An unknown user, or a name no user can have, is 404.
    for path in [
        "/admin/users/nobody@example.com",
        "/admin/users/%00",
        "/admin/users/a%2",
    ] {
        let (s, b) = api.call("GET", path, token, None).await;
        assert_eq!((s, error_code(&b)), (404, "not_found"), "{path}: {b}");
    }
}

#[tokio::test]
async fn a_disabled_users_tokens_are_refused_at_once_and_every_action_is_an_admin_event() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let laptop = signed_in(&api, USER).await;
    let (_, phone) = login(&api, USER, PASSWORD).await;
    signed_in(&api, ADMIN).await;
    make_admin(&api, ADMIN).await;
    let (_, admin) = login(&api, ADMIN, PASSWORD).await;
    let token = &admin["access_token"];

    let (s, detail) = api
        .call("GET", &format!("/admin/users/{USER}"), token, None)
        .await;
    assert_eq!(s, 200, "{detail}");
    assert_eq!(detail["enabled"], true);
    assert_eq!(detail["groups"], json!([]));
    assert_eq!(detail["sessions"].as_array().unwrap().len(), 2, "{detail}");
    assert!(detail.get("password").is_none() && !detail.to_string().contains(PASSWORD));

    // The user's name percent-encoded, as a browser may send it.
    let (s, b) = api
        .call(
            "POST",
            "/admin/users/bob%40example.com/disable",
            token,
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["sessions_ended"], 2);
    for tokens in [&laptop, &phone] {
        let (s, b) = api.call("GET", "/me", &tokens["id_token"], None).await;
        assert_eq!((s, error_code(&b)), (401, "token_revoked"), "{b}");
        let refresh = json!({"refresh_token": tokens["refresh_token"]});
        let (s, b) = integration_tests::json_of(api.post("/refresh", refresh).await).await;
        assert_eq!(s, 401, "{b}");
    }
    let (s, _) = login(&api, USER, PASSWORD).await;
    assert_eq!(s, 401, "a disabled user signs in no more");

    let (s, b) = api
        .call("POST", &format!("/admin/users/{USER}/enable"), token, None)
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, again) = login(&api, USER, PASSWORD).await;
    assert_eq!(s, 200, "enabled again");
    // The user sees what was done to their account, not who did it nor from where.
    let (s, mine) = api
        .call("GET", "/me/activity", &again["access_token"], None)
        .await;
    assert_eq!(s, 200, "{mine}");
    let disabled = mine["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "account_disabled")
        .expect("the disabling is in the user's activity")
        .clone();
    assert_eq!(disabled["actor"], json!({"kind": "admin"}), "{disabled}");
    assert!(
        disabled.get("ip").is_none() && disabled.get("device").is_none(),
        "{disabled}"
    );
    let (s, b) = api
        .call(
            "POST",
            &format!("/admin/users/{USER}/sign_out"),
            token,
            None,
        )
        .await;
    assert_eq!((s, b["sessions_ended"].as_u64()), (200, Some(1)), "{b}");
    let (s, _) = api.call("GET", "/me", &again["id_token"], None).await;
    assert_eq!(s, 401);
    let (s, b) = api
        .call(
            "POST",
            &format!("/admin/users/{USER}/reset_mfa"),
            token,
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");

    // The audit: the user's events, the admin's actions by the admin.
    let (s, page) = api
        .call(
            "GET",
            &format!("/admin/audit?username={USER}&limit=100"),
            token,
            None,
        )
        .await;
    assert_eq!(s, 200, "{page}");
    let events = page["events"].as_array().unwrap();
    let by_admin: Vec<&str> = events
        .iter()
        .filter(|e| e["actor"]["kind"] == "admin")
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        by_admin,
        [
            "mfa_reset",
            "sign_out",
            "account_enabled",
            "account_disabled"
        ],
        "{page:#}"
    );
    assert!(
        events
            .iter()
            .filter(|e| e["actor"]["kind"] == "admin")
            .all(|e| e["actor"]["username"] == ADMIN)
    );
    let (s, page) = api
        .call("GET", "/admin/audit?type=account_disabled", token, None)
        .await;
    assert_eq!(
        (s, page["events"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{page}"
    );
    let (s, page) = api
        .call(
            "GET",
            "/admin/audit?type=sign_in&from=2000-01-01&to=2000-01-02",
            token,
            None,
        )
        .await;
    assert_eq!(
        (s, page["events"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{page}"
    );

    // Deleted: everything DELETE /me removes, and the user signs in no more.
    let (s, b) = api
        .call("DELETE", &format!("/admin/users/{USER}"), token, None)
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, _) = login(&api, USER, PASSWORD).await;
    assert_eq!(s, 401);
    let (s, b) = api
        .call("GET", &format!("/admin/users/{USER}"), token, None)
        .await;
    assert_eq!((s, error_code(&b)), (404, "not_found"), "{b}");
    let _: Value = page;
}
