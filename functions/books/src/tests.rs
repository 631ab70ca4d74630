use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::{DeleteItemError, DeleteItemOutput};
use aws_sdk_dynamodb::operation::get_item::{GetItemError, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::query::{QueryError, QueryOutput};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::error::{
    ConditionalCheckFailedException, InternalServerError, ProvisionedThroughputExceededException,
    RequestLimitExceeded, ResourceNotFoundException,
};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_smithy_mocks::{Rule, mock};
use lambda_http::{Body, Request, Response};
use platform::Api;
use serde_json::{Value, json};
use test_support::*;

use tables::books::{Book, PageKey, Price};
use tables::{Books, Sessions};

use super::{ROUTES, State};

const TABLE: &str = "books-test";
/// The caller of the authorized fixtures.
const ALICE: &str = "0f3a9c52-7d4e-4b8a-9e61-2c5b8d1f4a70";
const MALLORY: &str = "99999999-8888-4777-8666-555555555555";
/// The book of the `/books/{id}` fixtures.
const BOOK_ID: &str = "3f0c8d8e-5a53-4c1e-9d0b-0d7b2f1f9a11";

fn state(rules: &[&Rule]) -> Api<State> {
    let dynamodb = dynamodb_client(rules);
    let state = State {
        books: Books::new(dynamodb.clone(), TABLE),
        sessions: Sessions::new(dynamodb, "sessions".to_owned()),
    };
    api(state, ROUTES)
}

async fn call(api: &Api<State>, req: Request) -> Response<Body> {
    api.serve(req).await
}

/// The fixture `name`, changed by `edit`.
fn edited(name: &str, edit: impl FnOnce(&mut Value)) -> Request {
    let mut event = event_json(name);
    edit(&mut event);
    to_request(&event)
}

fn book(id: &str, owner: &str, created_at: &str) -> Book {
    Book {
        id: id.into(),
        name: format!("Book {id}"),
        author: "Frank Herbert".into(),
        category: Some("science-fiction".into()),
        price: Some(Price::from_cents(999)),
        description: None,
        image: None,
        created_by: owner.into(),
        created_at: created_at.into(),
        updated_at: created_at.into(),
    }
}

fn stored(owner: &str) -> HashMap<String, AttributeValue> {
    book(BOOK_ID, owner, "2026-11-21T10:15:30.000Z").to_item()
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.into())
}

// --- GET /books ---

#[tokio::test]
async fn the_list_fixture_reads_its_category_newest_first_and_hands_out_a_next_token() {
    let items: Vec<_> = (0..11)
        .map(|i| {
            book(
                &format!("b{i:02}"),
                ALICE,
                &format!("2026-11-21T10:00:{:02}.000Z", 59 - i),
            )
            .to_item()
        })
        .collect();
    let rule = mock!(Client::query)
        .match_requests(|q| {
            q.table_name() == Some(TABLE)
                && q.index_name() == Some("by_category")
                && q.scan_index_forward() == Some(false)
                // One more than the fixture's limit=10, to know whether there is more.
                && q.limit() == Some(11)
                && q.expression_attribute_values().and_then(|v| v.get(":p"))
                    == Some(&s("science-fiction"))
                && q.exclusive_start_key().is_none()
        })
        .then_output(move || {
            QueryOutput::builder()
                .set_items(Some(items.clone()))
                .build()
        });
    let state = state(&[&rule]);

    let res = call(&state, request("books_list")).await;

    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_json_with_cors(&res);
    let body = body_json(&res);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    assert_eq!(items[0]["id"], "b00");
    assert_eq!(items[0]["price"], "9.99", "prices are exact strings");
    let token = body["next_token"].as_str().expect("there is a next page");
    assert_eq!(
        PageKey::decode(token).unwrap(),
        PageKey {
            id: "b09".into(),
            created_at: "2026-11-21T10:00:50.000Z".into()
        }
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_next_token_resumes_after_its_book_and_the_last_page_has_none() {
    let token = PageKey {
        id: "b09".into(),
        created_at: "2026-11-21T10:00:50.000Z".into(),
    }
    .encode()
    .unwrap();
    let rule = mock!(Client::query)
        .match_requests(|q| {
            let start = q.exclusive_start_key().unwrap();
            q.index_name() == Some("by_created")
                && q.limit() == Some(21)
                && start.get("id") == Some(&s("b09"))
                && start.get("created_at") == Some(&s("2026-11-21T10:00:50.000Z"))
                && start.get("catalog") == Some(&s("books"))
                && start.len() == 3
        })
        .then_output(|| {
            QueryOutput::builder()
                .items(book("b10", ALICE, "2026-11-21T10:00:49.000Z").to_item())
                .build()
        });
    let state = state(&[&rule]);
    let req = edited("books_list", |e| set_query(e, &[("next_token", &token)]));

    let res = call(&state, req).await;

    assert_eq!(res.status(), 200, "{}", body_json(&res));
    let body = body_json(&res);
    assert_eq!(body["items"][0]["id"], "b10");
    assert!(body.get("next_token").is_none(), "{body}");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_bad_limit_next_token_or_category_is_400_before_dynamodb_is_called() {
    let rule = mock!(Client::query).then_output(|| QueryOutput::builder().build());
    let state = state(&[&rule]);
    let long_category = "c".repeat(101);
    for (param, value) in [
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "ten"),
        ("limit", "-5"),
        ("next_token", "not a token"),
        ("next_token", "eyJpZCI6MX0"),
        ("category", "  "),
        ("category", long_category.as_str()),
    ] {
        let req = edited("books_list", |e| set_query(e, &[(param, value)]));
        let res = call(&state, req).await;
        let body = assert_error(&res, 400, "invalid_query");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(param),
            "{body}"
        );
    }
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn throttling_is_429_with_retry_after_and_a_service_failure_an_opaque_503() {
    let throttled = mock!(Client::query)
        .sequence()
        .error(|| QueryError::RequestLimitExceeded(RequestLimitExceeded::builder().build()))
        .repeatedly()
        .build();
    let res = call(&state(&[&throttled]), request("books_list")).await;
    assert_error(&res, 429, "too_many_requests");
    assert_eq!(res.headers()["retry-after"], "1");

    let failing = mock!(Client::get_item)
        .sequence()
        .error(|| {
            GetItemError::InternalServerError(
                InternalServerError::builder()
                    .message("InternalServerError: partition 7 on fire")
                    .build(),
            )
        })
        .repeatedly()
        .build();
    let res = call(&state(&[&failing]), request("books_get")).await;
    let body = assert_error(&res, 503, "service_unavailable");
    assert!(!body.to_string().contains("partition"), "{body}");
    assert!(!body.to_string().contains("Exception"), "{body}");
    assert!(!res.headers().contains_key("retry-after"));

    let throttled = mock!(Client::get_item)
        .sequence()
        .error(|| {
            GetItemError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder().build(),
            )
        })
        .repeatedly()
        .build();
    let res = call(&state(&[&throttled]), request("books_get")).await;
    assert_error(&res, 429, "too_many_requests");
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn a_missing_table_is_an_opaque_500() {
    let rule = mock!(Client::get_item).then_error(|| {
        GetItemError::ResourceNotFoundException(ResourceNotFoundException::builder().build())
    });
    let res = call(&state(&[&rule]), request("books_get")).await;
    assert_error(&res, 500, "internal_error");
}

// --- GET /books/{id} ---

#[tokio::test]
async fn the_get_fixture_answers_the_stored_book() {
    let rule = mock!(Client::get_item)
        .match_requests(|r| {
            r.table_name() == Some(TABLE) && r.key().and_then(|k| k.get("id")) == Some(&s(BOOK_ID))
        })
        .then_output(|| {
            GetItemOutput::builder()
                .set_item(Some(stored(ALICE)))
                .build()
        });
    let res = call(&state(&[&rule]), request("books_get")).await;
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_json_with_cors(&res);
    let body = body_json(&res);
    assert_eq!(body["id"], BOOK_ID);
    assert_eq!(body["created_by"], ALICE);
    assert_eq!(body["price"], "9.99");
    assert!(
        body.get("catalog").is_none(),
        "index keys stay internal: {body}"
    );
}

#[tokio::test]
async fn a_missing_book_is_404_and_an_impossible_id_is_404_without_a_call() {
    let rule = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
    let state = state(&[&rule]);
    assert_error(&call(&state, request("books_get")).await, 404, "not_found");
    let res = call(&state, edited("books_get", |e| set_path_id(e, "a%20b"))).await;
    assert_error(&res, 404, "not_found");
    assert_eq!(rule.num_calls(), 1);
}

// --- POST /books ---

#[tokio::test]
async fn the_create_fixture_stores_the_book_conditionally_and_answers_201() {
    let rule = mock!(Client::put_item)
        .match_requests(|r| {
            let item = r.item().unwrap();
            r.table_name() == Some(TABLE)
                && r.condition_expression() == Some("attribute_not_exists(id)")
                && item.get("id") == Some(&s(BOOK_ID))
                && item.get("created_by") == Some(&s(ALICE))
                && item.get("price") == Some(&AttributeValue::N("9.99".into()))
                && item.get("catalog") == Some(&s("books"))
                && item.get("category") == Some(&s("science-fiction"))
        })
        .then_output(|| PutItemOutput::builder().build());
    let res = call(&state(&[&rule]), request("books_create")).await;

    assert_eq!(res.status(), 201, "{}", body_json(&res));
    assert_json_with_cors(&res);
    let body = body_json(&res);
    assert_eq!(body["id"], BOOK_ID);
    assert_eq!(body["name"], "Dune");
    assert_eq!(body["created_by"], ALICE);
    assert_eq!(body["price"], "9.99");
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["created_at"], body["updated_at"]);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_book_without_an_id_gets_a_uuid() {
    let rule = mock!(Client::put_item).then_output(|| PutItemOutput::builder().build());
    let req = request_with_json(
        "books_create",
        json!({"name": "Emma", "author": "Jane Austen"}),
    );
    let res = call(&state(&[&rule]), req).await;
    assert_eq!(res.status(), 201, "{}", body_json(&res));
    let id = body_json(&res)["id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert!(body_json(&res).get("price").is_none());
}

#[tokio::test]
async fn creating_an_existing_id_is_409_never_an_overwrite() {
    let rule = mock!(Client::put_item).then_error(|| {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder().build(),
        )
    });
    let res = call(&state(&[&rule]), request("books_create")).await;
    assert_error(&res, 409, "book_exists");
    assert_eq!(rule.num_calls(), 1, "a conditional create is never retried");
}

#[tokio::test]
async fn writes_without_authorizer_claims_are_401_and_reach_no_table() {
    let put = mock!(Client::put_item).then_output(|| PutItemOutput::builder().build());
    let update = mock!(Client::update_item).then_output(|| UpdateItemOutput::builder().build());
    let delete = mock!(Client::delete_item).then_output(|| DeleteItemOutput::builder().build());
    let state = state(&[&put, &update, &delete]);
    for fixture in ["books_create", "books_update", "books_delete"] {
        let res = call(&state, edited(fixture, remove_authorizer)).await;
        assert_error(&res, 401, "unauthorized");
        let res = call(
            &state,
            edited(fixture, |e| {
                e["requestContext"]["authorizer"]["claims"]
                    .as_object_mut()
                    .unwrap()
                    .remove("sub");
            }),
        )
        .await;
        assert_error(&res, 401, "unauthorized");
    }
    assert_eq!(put.num_calls() + update.num_calls() + delete.num_calls(), 0);
}

#[tokio::test]
async fn malformed_and_invalid_bodies_are_rejected_before_dynamodb_is_called() {
    let rule = mock!(Client::put_item).then_output(|| PutItemOutput::builder().build());
    let state = state(&[&rule]);
    let cases: Vec<(Option<String>, u16, &str)> = vec![
        (None, 400, "missing_body"),
        (Some("{\"name\":".into()), 400, "invalid_json"),
        (Some("[]".into()), 400, "body_not_object"),
        (Some("{}".into()), 400, "missing_field"),
        (
            Some(r#"{"name":"N","author":"  "}"#.into()),
            400,
            "empty_field",
        ),
        (
            Some(r#"{"name":"N","author":["A"]}"#.into()),
            400,
            "invalid_type",
        ),
        (
            Some(r#"{"name":"N","author":"A","stock":3}"#.into()),
            400,
            "unknown_field",
        ),
        (
            Some(r#"{"name":"N","author":"A","price":"-1"}"#.into()),
            400,
            "invalid_field",
        ),
        (
            Some(r#"{"name":"N","author":"A","price":1.005}"#.into()),
            400,
            "invalid_field",
        ),
        (
            Some(r#"{"name":"N","author":"A","image":"file:///etc/passwd"}"#.into()),
            400,
            "invalid_field",
        ),
        (
            Some(format!(r#"{{"name":"{}","author":"A"}}"#, "n".repeat(201))),
            400,
            "invalid_field",
        ),
        (
            Some(format!(
                r#"{{"name":"N","author":"A","description":"{}"}}"#,
                "d".repeat(17 * 1024)
            )),
            413,
            "payload_too_large",
        ),
    ];
    for (body, status, code) in cases {
        let res = call(&state, request_with_body("books_create", body.as_deref())).await;
        assert_error(&res, status, code);
    }
    let res = call(&state, request_with_base64_body("books_create", "/w==")).await;
    assert_error(&res, 400, "invalid_encoding");
    assert_eq!(rule.num_calls(), 0);
}

// --- PUT /books/{id} ---

fn updated_output() -> UpdateItemOutput {
    let mut item = stored(ALICE);
    item.insert("price".into(), AttributeValue::N("12.5".into()));
    item.insert("updated_at".into(), s("2026-11-21T11:00:00.000Z"));
    UpdateItemOutput::builder()
        .set_attributes(Some(item))
        .build()
}

#[tokio::test]
async fn the_owner_updates_a_book_under_an_owner_condition() {
    let rule = mock!(Client::update_item)
        .match_requests(|r| {
            let values = r.expression_attribute_values().unwrap();
            r.key().and_then(|k| k.get("id")) == Some(&s(BOOK_ID))
                && r.condition_expression() == Some("attribute_exists(id) AND created_by = :caller")
                && values.get(":caller") == Some(&s(ALICE))
                // The fixture sends the price as the JSON number 12.5.
                && values.get(":price") == Some(&AttributeValue::N("12.50".into()))
                && r.return_values_on_condition_check_failure()
                    == Some(&ReturnValuesOnConditionCheckFailure::AllOld)
        })
        .then_output(updated_output);
    let res = call(&state(&[&rule]), request("books_update")).await;
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_json_with_cors(&res);
    let body = body_json(&res);
    assert_eq!(body["price"], "12.50");
    assert_eq!(body["created_by"], ALICE, "the owner never changes");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn an_admin_updates_anyones_book() {
    let rule = mock!(Client::update_item)
        .match_requests(|r| {
            r.condition_expression() == Some("attribute_exists(id)")
                && !r
                    .expression_attribute_values()
                    .unwrap()
                    .contains_key(":caller")
        })
        .then_output(updated_output);
    let res = call(&state(&[&rule]), request("books_update_admin")).await;
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_eq!(body_json(&res)["created_by"], ALICE);
}

#[tokio::test]
async fn an_update_removes_the_optional_fields_left_out() {
    let rule = mock!(Client::update_item)
        .match_requests(|r| {
            let expr = r.update_expression().unwrap();
            expr.contains("REMOVE category, price, description, image")
                && r.expression_attribute_names().unwrap().get("#name") == Some(&"name".to_owned())
        })
        .then_output(updated_output);
    let req = request_with_json(
        "books_update",
        json!({"name": "Dune", "author": "F. Herbert"}),
    );
    let res = call(&state(&[&rule]), req).await;
    assert_eq!(res.status(), 200, "{}", body_json(&res));
}

#[tokio::test]
async fn another_users_update_is_403_and_a_missing_book_404() {
    let exists = mock!(Client::update_item).then_error(|| {
        UpdateItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .set_item(Some(stored(ALICE)))
                .build(),
        )
    });
    let missing = mock!(Client::update_item).then_error(|| {
        UpdateItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder().build(),
        )
    });
    let state = state(&[&exists, &missing]);
    let as_mallory = || edited("books_update", |e| set_caller(e, MALLORY, Some("editors")));
    assert_error(&call(&state, as_mallory()).await, 403, "forbidden");
    assert_error(&call(&state, as_mallory()).await, 404, "not_found");
}

#[tokio::test]
async fn an_id_in_the_body_must_match_the_path() {
    let rule = mock!(Client::update_item).then_output(updated_output);
    let state = state(&[&rule]);
    let req = request_with_json(
        "books_update",
        json!({"id": "other-book", "name": "N", "author": "A"}),
    );
    assert_error(&call(&state, req).await, 400, "invalid_field");
    let req = request_with_json(
        "books_update",
        json!({"id": BOOK_ID, "name": "N", "author": "A"}),
    );
    assert_eq!(call(&state, req).await.status(), 200);
}

// --- DELETE /books/{id} ---

#[tokio::test]
async fn the_owner_deletes_a_book_and_gets_204_with_cors() {
    let rule = mock!(Client::delete_item)
        .match_requests(|r| {
            r.key().and_then(|k| k.get("id")) == Some(&s(BOOK_ID))
                && r.condition_expression() == Some("attribute_exists(id) AND created_by = :caller")
                && r.expression_attribute_values()
                    .and_then(|v| v.get(":caller"))
                    == Some(&s(ALICE))
        })
        .then_output(|| DeleteItemOutput::builder().build());
    let res = call(&state(&[&rule]), request("books_delete")).await;
    assert_eq!(res.status(), 204);
    assert!(res.body().is_empty());
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn an_admin_deletes_anyones_book_and_another_user_is_refused() {
    let admin_rule = mock!(Client::delete_item)
        .match_requests(|r| {
            r.condition_expression() == Some("attribute_exists(id)")
                && r.expression_attribute_values().is_none()
        })
        .then_output(|| DeleteItemOutput::builder().build());
    let refused = mock!(Client::delete_item).then_error(|| {
        DeleteItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .set_item(Some(stored(ALICE)))
                .build(),
        )
    });
    let missing = mock!(Client::delete_item).then_error(|| {
        DeleteItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder().build(),
        )
    });
    let state = state(&[&admin_rule, &refused, &missing]);
    // Groups arrive in every shape API Gateway passes them.
    let as_admin = edited("books_delete", |e| {
        set_caller(e, MALLORY, Some("[editors admin]"))
    });
    assert_eq!(call(&state, as_admin).await.status(), 204);
    let as_mallory = || edited("books_delete", |e| set_caller(e, MALLORY, None));
    assert_error(&call(&state, as_mallory()).await, 403, "forbidden");
    assert_error(&call(&state, as_mallory()).await, 404, "not_found");
}

// --- routing ---

#[tokio::test]
async fn an_unsupported_method_is_405_and_an_unknown_resource_404() {
    let state = state(&[]);
    let res = call(
        &state,
        edited("books_get", |e| e["httpMethod"] = json!("PATCH")),
    )
    .await;
    assert_error(&res, 405, "method_not_allowed");
    let res = call(
        &state,
        edited("books_list", |e| e["httpMethod"] = json!("DELETE")),
    )
    .await;
    assert_error(&res, 405, "method_not_allowed");
    let res = call(
        &state,
        edited("books_list", |e| {
            e["resource"] = json!("/authors");
            e["path"] = json!("/authors");
            e["requestContext"]["resourcePath"] = json!("/authors");
        }),
    )
    .await;
    assert_error(&res, 404, "not_found");
}

#[tokio::test]
async fn a_request_without_resource_path_is_routed_by_its_path() {
    let rule = mock!(Client::get_item).then_output(|| {
        GetItemOutput::builder()
            .set_item(Some(stored(ALICE)))
            .build()
    });
    let req = edited("books_get", |e| {
        e["requestContext"]
            .as_object_mut()
            .unwrap()
            .remove("resourcePath");
    });
    let res = call(&state(&[&rule]), req).await;
    assert_eq!(res.status(), 200, "{}", body_json(&res));
}

#[test]
fn every_books_fixture_names_its_method_and_resource_consistently() {
    for (name, method, resource) in [
        ("books_list", "GET", "/books"),
        ("books_get", "GET", "/books/{id}"),
        ("books_create", "POST", "/books"),
        ("books_update", "PUT", "/books/{id}"),
        ("books_update_admin", "PUT", "/books/{id}"),
        ("books_delete", "DELETE", "/books/{id}"),
    ] {
        let e = event_json(name);
        assert_eq!(e["httpMethod"], method, "{name}");
        assert_eq!(e["resource"], resource, "{name}");
        assert_eq!(e["requestContext"]["httpMethod"], method, "{name}");
        assert_eq!(e["requestContext"]["resourcePath"], resource, "{name}");
        let writes = method != "GET";
        let claims = &e["requestContext"]["authorizer"]["claims"];
        assert_eq!(claims["sub"].is_string(), writes, "{name}");
        if writes {
            for claim in [
                "cognito:username",
                "email",
                "email_verified",
                "token_use",
                "aud",
                "iss",
                "exp",
                "iat",
                "auth_time",
            ] {
                assert!(claims[claim].is_string(), "{name}: {claim} as a string");
            }
        }
    }
}
