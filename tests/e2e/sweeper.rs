//! The sweep of accounts nobody confirmed, against the local API over moto: accounts that
//! signed up through `POST /register` and were never confirmed go once older than the limit,
//! as if they had never been; a confirmed account stays. The sweeper's clock runs ahead, so
//! that no test waits a day.

use std::time::{Duration, SystemTime};

use integration_tests::{LocalApi, Moto, PASSWORD, json_of, login, register_and_confirm};
use serde_json::json;

/// The sweeper composed as the stack composes it, over the local API's pool and through its
/// local Cognito, with a one-day limit.
async fn sweeper(api: &LocalApi) -> ::sweeper::State {
    let endpoint = &api.config.cognito_layer.as_ref().unwrap().endpoint;
    let env = (api.config.functions.clone())
        .with(auth::config::ENDPOINT_VAR, endpoint)
        .with("UNCONFIRMED_MAX_AGE_HOURS", "24");
    ::sweeper::app(&env, &api.sdk)
        .await
        .expect("the sweeper starts")
}

/// Almost a day from now: the accounts made now are still younger than the limit.
fn in_23_hours() -> SystemTime {
    SystemTime::now() + Duration::from_secs(23 * 3600)
}

/// Just over a day from now: the accounts made now are older than the limit.
fn in_25_hours() -> SystemTime {
    SystemTime::now() + Duration::from_secs(25 * 3600)
}

/// A scheduled event, as EventBridge sends it.
fn scheduled() -> serde_json::Value {
    json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}})
}

#[tokio::test]
async fn unconfirmed_accounts_older_than_the_limit_go_and_confirmed_ones_stay() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let bots = ["bot-1@example.com", "bot-2@example.com"];
    for bot in bots {
        let (s, b) = json_of(
            api.post("/register", json!({"username": bot, "password": PASSWORD}))
                .await,
        )
        .await;
        assert_eq!(s, 200, "{bot}: {b}");
    }
    let kept = "kept@example.com";
    register_and_confirm(&api, kept).await;
    let (s, unconfirmed) = login(&api, bots[0], PASSWORD).await;
    assert_eq!(
        (s, &unconfirmed["error"]["code"]),
        (403, &json!("user_not_confirmed")),
        "{unconfirmed}"
    );

    // The local Cognito reads the status without regard to case, as Cognito does.
    let filter = json!({"UserPoolId": api.created.pool_id,
                        "Filter": "cognito:user_status = \"unconfirmed\""});
    let (s, listed) = api.cognito_call("ListUsers", filter).await;
    assert_eq!(s, 200, "{listed}");
    assert_eq!(
        listed["Users"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );

    // Younger than the limit: nothing goes.
    let mut state = sweeper(&api).await;
    state.now = in_23_hours;
    let summary = ::sweeper::handle(&state, scheduled()).await.unwrap();
    assert_eq!(
        (summary.listed, summary.deleted, summary.kept_young),
        (2, 0, 2),
        "{summary:?}"
    );
    let (s, b) = login(&api, bots[0], PASSWORD).await;
    assert_eq!(s, 403, "still there: {b}");

    // Older than the limit: both unconfirmed accounts go, paced as deployed.
    state.now = in_25_hours;
    let summary = ::sweeper::handle(&state, scheduled()).await.unwrap();
    assert_eq!(
        (summary.listed, summary.deleted, summary.kept_young),
        (2, 2, 0),
        "{summary:?}"
    );
    assert!(!summary.stopped_at_limit);
    let (s, nobody) = login(&api, "nobody@example.com", PASSWORD).await;
    assert_eq!(s, 401, "{nobody}");
    for bot in bots {
        let (s, b) = login(&api, bot, PASSWORD).await;
        assert_eq!(s, 401, "{bot}: {b}");
        assert_eq!(b["error"], nobody["error"], "{bot}: as for an unknown user");
        let (s, b) = json_of(
            api.post("/register", json!({"username": bot, "password": PASSWORD}))
                .await,
        )
        .await;
        assert_eq!(s, 200, "{bot}: the name is free again: {b}");
    }
    let (s, b) = login(&api, kept, PASSWORD).await;
    assert_eq!(s, 200, "the confirmed account stays: {b}");
}
