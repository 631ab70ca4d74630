//! The books API against a real moto DynamoDB, through the same handler the Lambda runs:
//! create, get, list across pages, update, delete, ownership, and concurrent creates.

use std::time::Duration;

use books::State;
use integration_tests::{Moto, create_books_table};
use lambda_http::{Body, Request, Response};
use platform::Api;
use serde_json::{Value, json};
use test_support::{
    assert_error, assert_json_with_cors, body_json, event_json, set_caller, set_path_id, set_query,
    to_request,
};

const TABLE: &str = "books";
const SESSIONS: &str = "sessions";
const ALICE: &str = "0f3a9c52-7d4e-4b8a-9e61-2c5b8d1f4a70";
const BOB: &str = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
const ADMIN: &str = "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e";

/// The books function as its Lambda composes it, over `sdk`.
async fn books_app(sdk: &aws_config::SdkConfig) -> Api<State> {
    let env = platform::Env::from_pairs([
        ("BOOKS_TABLE", TABLE),
        ("SESSIONS_TABLE", SESSIONS),
        // The app client the fixtures' tokens were issued to.
        ("COGNITO_CLIENT_ID", test_support::EVENTS_CLIENT_ID),
    ]);
    books::app(&env, sdk).await.unwrap()
}

async fn moto_state(moto: &Moto) -> Api<State> {
    let sdk = moto.sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    create_books_table(&client, TABLE).await;
    let template = integration_tests::template();
    local_api::bootstrap::create_table(
        &template,
        &client,
        local_api::bootstrap::SESSIONS_TABLE,
        SESSIONS,
    )
    .await
    .unwrap();
    // The fixtures' callers, signed in: their session is the fixtures' `origin_jti`.
    let claims = &event_json("books_create")["requestContext"]["authorizer"]["claims"];
    let session = claims["origin_jti"].as_str().unwrap().to_owned();
    for sub in [ALICE, BOB, ADMIN] {
        let refresh = format!("refresh-of-{sub}");
        integration_tests::record_session(&sdk, SESSIONS, sub, &session, &refresh).await;
    }
    books_app(&sdk).await
}

async fn call(api: &Api<State>, req: Request) -> Response<Body> {
    api.serve(req).await
}

/// `fixture` as `caller` (with `groups`), on book `id` (for `/books/{id}` routes), with `body`.
fn req(
    fixture: &str,
    caller: &str,
    groups: Option<&str>,
    id: Option<&str>,
    body: Option<Value>,
) -> Request {
    let mut event = event_json(fixture);
    if event["requestContext"]["authorizer"]["claims"].is_object() {
        set_caller(&mut event, caller, groups);
    }
    if let Some(id) = id {
        set_path_id(&mut event, id);
    }
    if let Some(body) = body {
        event["body"] = Value::String(body.to_string());
    }
    to_request(&event)
}

fn list(query: &[(&str, &str)]) -> Request {
    let mut event = event_json("books_list");
    set_query(&mut event, query);
    to_request(&event)
}

async fn create(state: &Api<State>, caller: &str, body: Value) -> Value {
    let res = call(state, req("books_create", caller, None, None, Some(body))).await;
    assert_eq!(res.status(), 201, "{}", body_json(&res));
    assert_json_with_cors(&res);
    // created_at has millisecond resolution: keep the books' order unambiguous.
    tokio::time::sleep(Duration::from_millis(3)).await;
    body_json(&res)
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn create_get_list_update_delete_against_moto() {
    let moto = Moto::start();
    let state = moto_state(&moto).await;

    // Create three books; the third gets a server-generated id.
    let dune = create(
        &state,
        ALICE,
        json!({"id": "dune", "name": "Dune", "author": "Frank Herbert", "category": "sf",
               "price": 9.99, "image": "https://images.example.com/dune.jpg"}),
    )
    .await;
    assert_eq!(dune["created_by"], ALICE);
    assert_eq!(dune["price"], "9.99");
    create(
        &state,
        ALICE,
        json!({"id": "emma", "name": "Emma", "author": "Jane Austen", "price": "12.5"}),
    )
    .await;
    let third = create(
        &state,
        BOB,
        json!({"name": "Solaris", "author": "Stanisław Lem", "category": "sf", "price": "0.10"}),
    )
    .await;
    let solaris = third["id"].as_str().unwrap().to_owned();

    // Get: the price comes back exactly, from a DynamoDB Number.
    let res = call(&state, req("books_get", ALICE, None, Some("emma"), None)).await;
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    let emma = body_json(&res);
    assert_eq!(emma["price"], "12.50");
    assert_eq!(emma["author"], "Jane Austen");
    let res = call(&state, req("books_get", ALICE, None, Some("nope"), None)).await;
    assert_error(&res, 404, "not_found");

    // The same id again is a conflict, and the stored book is untouched.
    let res = call(
        &state,
        req(
            "books_create",
            BOB,
            None,
            None,
            Some(json!({"id": "dune", "name": "X", "author": "Y"})),
        ),
    )
    .await;
    assert_error(&res, 409, "book_exists");

    // List, newest first, across two pages.
    let res = call(&state, list(&[("limit", "2")])).await;
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    let first = body_json(&res);
    assert_eq!(ids(&first), vec![solaris.as_str(), "emma"]);
    let token = first["next_token"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let res = call(&state, list(&[("limit", "2"), ("next_token", &token)])).await;
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    let second = body_json(&res);
    assert_eq!(ids(&second), vec!["dune"]);
    assert!(second.get("next_token").is_none(), "{second}");
    assert_eq!(second["items"][0]["name"], "Dune");

    // A category, and a token that is not one of ours.
    let res = call(&state, list(&[("category", "sf")])).await;
    assert_eq!(ids(&body_json(&res)), vec![solaris.as_str(), "dune"]);
    let res = call(&state, list(&[("next_token", "bm9wZQ")])).await;
    assert_error(&res, 400, "invalid_query");

    // Update: Bob may not change Alice's book; Alice may; an admin may.
    let change =
        json!({"name": "Dune", "author": "Frank Herbert", "category": "classics", "price": "11"});
    let res = call(
        &state,
        req(
            "books_update",
            BOB,
            Some("editors"),
            Some("dune"),
            Some(change.clone()),
        ),
    )
    .await;
    assert_error(&res, 403, "forbidden");
    let res = call(
        &state,
        req("books_update", ALICE, None, Some("dune"), Some(change)),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    let updated = body_json(&res);
    assert_eq!(updated["price"], "11.00");
    assert_eq!(updated["category"], "classics");
    assert_eq!(updated["created_by"], ALICE);
    assert_eq!(updated["created_at"], dune["created_at"]);
    assert_ne!(updated["updated_at"], dune["updated_at"]);
    assert!(
        updated.get("image").is_none(),
        "left out, so removed: {updated}"
    );
    let res = call(
        &state,
        req(
            "books_update",
            ADMIN,
            Some("admin"),
            Some("emma"),
            Some(json!({"name": "Emma", "author": "J. Austen"})),
        ),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_eq!(body_json(&res)["created_by"], ALICE);
    let res = call(
        &state,
        req(
            "books_update",
            ADMIN,
            Some("admin"),
            Some("nope"),
            Some(json!({"name": "N", "author": "A"})),
        ),
    )
    .await;
    assert_error(&res, 404, "not_found");
    // The category index follows the update.
    let res = call(&state, list(&[("category", "classics")])).await;
    assert_eq!(ids(&body_json(&res)), vec!["dune"]);

    // Delete: Bob is refused and the book stays; Alice deletes it; then it is gone.
    let res = call(&state, req("books_delete", BOB, None, Some("dune"), None)).await;
    assert_error(&res, 403, "forbidden");
    let res = call(&state, req("books_get", BOB, None, Some("dune"), None)).await;
    assert_eq!(res.status(), 200);
    let res = call(&state, req("books_delete", ALICE, None, Some("dune"), None)).await;
    assert_eq!(res.status(), 204);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let res = call(&state, req("books_get", ALICE, None, Some("dune"), None)).await;
    assert_error(&res, 404, "not_found");
    let res = call(&state, req("books_delete", ALICE, None, Some("dune"), None)).await;
    assert_error(&res, 404, "not_found");

    // An admin deletes someone else's book.
    let res = call(
        &state,
        req("books_delete", ADMIN, Some("[admin]"), Some(&solaris), None),
    )
    .await;
    assert_eq!(res.status(), 204);
    let res = call(&state, list(&[])).await;
    assert_eq!(ids(&body_json(&res)), vec!["emma"]);
}

#[tokio::test]
async fn concurrent_creates_of_one_id_give_exactly_one_201() {
    let moto = Moto::start();
    let state = std::sync::Arc::new(moto_state(&moto).await);
    let tasks: Vec<_> = [ALICE, BOB, ALICE, BOB, ADMIN, BOB]
        .into_iter()
        .map(|caller| {
            let state = state.clone();
            let body = json!({"id": "race", "name": "Race", "author": caller});
            tokio::spawn(async move {
                call(&state, req("books_create", caller, None, None, Some(body))).await
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut conflicts = 0;
    for task in tasks {
        let res = task.await.unwrap();
        match res.status().as_u16() {
            201 => created.push(body_json(&res)),
            _ => {
                assert_error(&res, 409, "book_exists");
                conflicts += 1;
            }
        }
    }
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(conflicts, 5);
    // The one stored is the one that was answered 201.
    let res = call(&state, req("books_get", ALICE, None, Some("race"), None)).await;
    assert_eq!(body_json(&res)["author"], created[0]["author"]);
    assert_eq!(body_json(&res)["created_by"], created[0]["created_by"]);
}

#[tokio::test]
async fn an_unreachable_dynamodb_is_an_opaque_503_with_cors() {
    let port = integration_tests::free_port();
    let sdk = integration_tests::sdk_config_for(&format!("http://127.0.0.1:{port}")).await;
    let state = books_app(&sdk).await;
    let res = call(&state, req("books_get", ALICE, None, None, None)).await;
    let body = assert_error(&res, 503, "service_unavailable");
    assert!(!body.to_string().contains("127.0.0.1"));
}
