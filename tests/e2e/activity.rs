//! Auth events as a user reads them: `GET /me/activity` lists the caller's own, newest first,
//! paged, with the device and address each came from. Tried as an attacker would: a refused
//! sign-in is there (its reason, never the password tried), a forged User-Agent is never
//! stored as sent, another user's cursor reads nothing, and no event holds a secret.

use integration_tests::{LocalApi, Moto, PASSWORD, json_of, login, signed_in};
use serde_json::{Value, json};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const NEW_PASSWORD: &str = "Battery-Staple-Horse-7";

fn access(tokens: &Value) -> String {
    format!("Bearer {}", tokens["access_token"].as_str().unwrap())
}

async fn activity(api: &LocalApi, tokens: &Value, query: &str) -> (u16, Value) {
    json_of(
        api.get_auth(&format!("/me/activity{query}"), &access(tokens))
            .await,
    )
    .await
}

fn types(page: &Value) -> Vec<&str> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_callers_events_are_listed_newest_first_paged_and_hold_no_secret() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "watcher@example.com";
    let first = signed_in(&api, user).await;
    // A refused sign-in, then one from Firefox.
    let (s, _) = login(&api, user, "Wrong-Horse-Battery-1").await;
    assert_eq!(s, 401);
    let body = json!({"username": user, "password": PASSWORD}).to_string();
    let headers = [
        ("content-type", "application/json"),
        ("user-agent", FIREFOX),
    ];
    let (s, firefox) = json_of(
        api.send("POST", "/login", &headers, body.into_bytes())
            .await,
    )
    .await;
    assert_eq!(s, 200, "{firefox}");
    let (s, b) = json_of(
        api.post_auth(
            "/change_password",
            json!({"previous_password": PASSWORD, "proposed_password": NEW_PASSWORD, "keep_other_sessions": true}),
            &access(&first),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{b}");

    let (s, page) = activity(&api, &firefox, "").await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(
        types(&page),
        [
            "password_changed",
            "sign_in",
            "sign_in_failed",
            "sign_in",
            "sign_up_confirmed",
            "sign_up"
        ],
        "{page:#}"
    );
    let events = page["events"].as_array().unwrap();
    let sub = events[0]["user"]["sub"].as_str().unwrap();
    assert!(
        events
            .iter()
            .all(|e| e["user"]["sub"] == sub && e["schema_version"] == 1)
    );
    let failed = &events[2];
    assert_eq!(failed["outcome"], "failure");
    assert_eq!(failed["detail"]["reason"], "invalid_credentials");
    let from_firefox = &events[1];
    assert_eq!(from_firefox["device"], "Firefox on Linux");
    assert_eq!(from_firefox["detail"]["method"], "password");
    assert_eq!(from_firefox["detail"]["new_device"], true);
    assert!(from_firefox["ip"].as_str().is_some_and(|ip| !ip.is_empty()));
    assert!(from_firefox["session"].as_str().is_some());
    let text = page.to_string();
    for secret in [PASSWORD, NEW_PASSWORD, "Wrong-Horse-Battery-1"] {
        assert!(!text.contains(secret), "a password in the activity: {text}");
    }
    for token in ["access_token", "refresh_token", "id_token"] {
        let value = firefox[token].as_str().unwrap();
        assert!(!text.contains(value), "a token in the activity");
    }

    // Two at a time: three pages of two, then none.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let (s, page) = activity(&api, &firefox, &query).await;
        assert_eq!(s, 200, "{page}");
        assert!(page["events"].as_array().unwrap().len() <= 2);
        seen.extend(types(&page).into_iter().map(str::to_owned));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => break,
        }
        assert!(seen.len() <= 6, "{seen:?}");
    }
    assert_eq!(seen, types(&activity(&api, &firefox, "").await.1));

    // A bad limit or cursor is a 400.
    for query in [
        "?limit=0",
        "?limit=101",
        "?limit=two",
        "?cursor=not-a-cursor!",
    ] {
        let (s, b) = activity(&api, &firefox, query).await;
        assert_eq!(s, 400, "{query}: {b}");
    }
}

#[tokio::test]
async fn another_users_cursor_reads_nothing_and_a_forged_user_agent_is_not_stored_as_sent() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let alice = signed_in(&api, "alice@example.com").await;
    let mallory = signed_in(&api, "mallory@example.com").await;
    // A User-Agent made to look like a field of the event, or markup.
    let forged = r#"Mozilla/5.0", "type": "account_deleted", "x": "<script>alert(1)</script>"#;
    let body = json!({"username": "alice@example.com", "password": PASSWORD}).to_string();
    let headers = [("content-type", "application/json"), ("user-agent", forged)];
    let (s, _) = json_of(
        api.send("POST", "/login", &headers, body.into_bytes())
            .await,
    )
    .await;
    assert_eq!(s, 200);

    let (s, page) = activity(&api, &alice, "?limit=1").await;
    assert_eq!(s, 200, "{page}");
    let text = page.to_string();
    assert!(!text.contains("<script>"), "{text}");
    assert!(!text.contains("account_deleted"), "{text}");
    assert_eq!(types(&page), ["sign_in"]);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();

    // Mallory's own activity holds none of Alice's events, and Alice's cursor reads nothing.
    let (s, theirs) = activity(&api, &mallory, "").await;
    assert_eq!(s, 200);
    assert!(
        !theirs.to_string().contains("alice@example.com"),
        "{theirs}"
    );
    let (s, b) = activity(&api, &mallory, &format!("?cursor={cursor}")).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["error"]["code"], "invalid_query");
}
