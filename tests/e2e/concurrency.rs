//! Concurrency through the local API with moto behind it: nothing lost, nothing duplicated,
//! exactly one winner. Its own test binary, and one test at a time: moto is one Python process
//! on a 2-core machine, and the answers must be judged under the load they are about, not under
//! other tests' load.

use std::collections::BTreeSet;

use integration_tests::{LocalApi, Moto, PASSWORD, TestJwks};
use serde_json::{Value, json};

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn book(id: &str) -> Value {
    json!({"id": id, "name": "The Dispossessed", "author": "Ursula K. Le Guin", "price": "9.99"})
}

#[tokio::test]
async fn two_hundred_concurrent_registrations_make_two_hundred_users_none_lost_none_twice() {
    let _serial = ONE_AT_A_TIME.lock().await;
    const N: usize = 200;
    let moto = Moto::start();
    // Without the audit stream's reader: the emulator is one Python process, and the load
    // judged here is the registrations' own (each still writes its event).
    let api = LocalApi::start(&moto, |c| {
        c.functions = c.functions.clone().with("EVENT_BUS_NAME", "");
    })
    .await;
    let names: Vec<String> = (0..N).map(|i| format!("user{i:03}@example.com")).collect();
    let answers = futures_join(
        names
            .iter()
            .map(|name| api.post("/register", json!({"username": name, "password": PASSWORD}))),
    )
    .await;
    let ok = answers.iter().filter(|s| **s == 200).count();
    assert_eq!(ok, N, "statuses: {answers:?}");

    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk_config().await);
    let mut listed = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = cognito
            .list_users()
            .user_pool_id(&api.created.pool_id)
            .limit(60)
            .set_pagination_token(token)
            .send()
            .await
            .unwrap();
        for user in page.users() {
            let email = user
                .attributes()
                .iter()
                .find(|a| a.name() == "email")
                .and_then(|a| a.value())
                .unwrap_or_else(|| user.username().unwrap());
            listed.push(email.to_owned());
        }
        token = page.pagination_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let unique: BTreeSet<&String> = listed.iter().collect();
    let expected: BTreeSet<&String> = names.iter().collect();
    let lost = expected.difference(&unique).count();
    let duplicated = listed.len() - unique.len();
    eprintln!(
        "registrations: {N}, users in the pool: {}, lost: {lost}, duplicated: {duplicated}",
        listed.len()
    );
    assert_eq!((listed.len(), lost, duplicated), (N, 0, 0));
    assert_eq!(unique, expected);
}

#[tokio::test]
async fn fifty_concurrent_creates_of_one_book_id_through_the_api_give_exactly_one_201() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let moto = Moto::start();
    let jwks = TestJwks::start().await;
    let api = LocalApi::start(&moto, |c| jwks.trusted_by(c)).await;
    api.record_test_session().await;
    let token = jwks.sign_id_token(&api.created.client_id, 3600);
    let statuses =
        futures_join((0..50).map(|_| api.post_auth("/books", book("contested"), &token))).await;
    let created = statuses.iter().filter(|s| **s == 201).count();
    let conflicts = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((created, conflicts), (1, 49), "{statuses:?}");
}

/// Runs the requests concurrently and returns their statuses, in order.
async fn futures_join<F>(requests: impl Iterator<Item = F>) -> Vec<u16>
where
    F: std::future::Future<Output = reqwest::Response>,
{
    futures::future::join_all(requests)
        .await
        .iter()
        .map(|res| res.status().as_u16())
        .collect()
}
