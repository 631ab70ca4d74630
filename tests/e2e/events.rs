//! The audit log's stream, as the stack runs it: every auth fact reaches the events function
//! (here read from the emulator's stream, as Lambda reads it), which puts it on the event bus
//! and mails the user what they must hear of. Locally the delivered events are listed at
//! `GET /_local/events`, and the alerts land in the mailbox.

use std::time::{Duration, Instant};

use integration_tests::{LocalApi, Moto, PASSWORD, json_of, signed_in};
use serde_json::{Value, json};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const NEW_PASSWORD: &str = "Battery-Staple-Horse-7";

/// The events delivered for `user`, newest first, once `wanted` of them are there.
async fn delivered(api: &LocalApi, user: &str, wanted: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (s, events) = json_of(api.get(&format!("/_local/events?username={user}")).await).await;
        assert_eq!(s, 200, "{events}");
        let events = events.as_array().unwrap().clone();
        if events.len() >= wanted || Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn every_fact_reaches_the_stream_in_order_and_the_user_hears_of_what_matters() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "heeded@example.com";
    let first = signed_in(&api, user).await;
    // A second device, then a new password.
    let body = json!({"username": user, "password": PASSWORD}).to_string();
    let headers = [
        ("content-type", "application/json"),
        ("user-agent", FIREFOX),
    ];
    let (s, _) = json_of(
        api.send("POST", "/login", &headers, body.into_bytes())
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let change = json!({"previous_password": PASSWORD, "proposed_password": NEW_PASSWORD, "keep_other_sessions": true});
    let access = format!("Bearer {}", first["access_token"].as_str().unwrap());
    let (s, b) = json_of(api.post_auth("/change_password", change, &access).await).await;
    assert_eq!(s, 200, "{b}");

    let events = delivered(&api, user, 5).await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "password_changed",
            "sign_in",
            "sign_in",
            "sign_up_confirmed",
            "sign_up"
        ],
        "{events:#?}"
    );
    let ids: std::collections::BTreeSet<&str> =
        events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 5, "each once");
    // Another user's events are not listed under this one.
    let (_, others) = json_of(api.get("/_local/events?username=nobody@example.com").await).await;
    assert_eq!(others, json!([]));

    // The alerts the stream sent: the new device and the new password; the account's first
    // sign-in and its sign-up none.
    let deadline = Instant::now() + Duration::from_secs(20);
    let alerts = loop {
        let alerts = api.cognito().mailbox().alerts(Some(user));
        if alerts.len() >= 2 || Instant::now() > deadline {
            break alerts;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let subjects: Vec<&str> = alerts.iter().filter_map(|m| m.subject.as_deref()).collect();
    assert_eq!(
        subjects,
        ["Your password was changed", "A sign-in from a new device"],
        "{alerts:#?}"
    );
    for alert in &alerts {
        let body = alert.body.as_deref().unwrap_or_default();
        assert!(body.contains("If this wasn't you"), "{body}");
        assert!(!body.contains(PASSWORD) && !body.contains(NEW_PASSWORD));
    }
    let new_device = alerts[1].body.as_deref().unwrap();
    assert!(new_device.contains("Firefox on Linux"), "{new_device}");
}
