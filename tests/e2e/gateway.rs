//! The local API over real HTTP, with moto behind it, as a curl user or a browser uses it:
//! the whole flow, the Cognito authorizer's refusals, CORS preflights, API Gateway's own errors
//! and the stage prefix.

use std::collections::HashMap;

use integration_tests::{LocalApi, Moto, PASSWORD, TestJwks, json_of, signed_in};
use serde_json::{Value, json};

/// Every answer, the gateway's own included, carries the CORS headers.
fn assert_cors(res: &reqwest::Response) {
    for h in [
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
    ] {
        assert!(
            res.headers().contains_key(h),
            "{h} missing on {}",
            res.url()
        );
    }
}

async fn assert_unauthorized(res: reqwest::Response, case: &str) {
    assert_cors(&res);
    let (status, body) = json_of(res).await;
    assert_eq!(status, 401, "{case}: {body}");
    assert_eq!(body, json!({"message": "Unauthorized"}), "{case}");
}

fn book(name: &str) -> Value {
    json!({
        "name": name, "author": "Ursula K. Le Guin", "category": "fiction",
        "price": "12.50", "description": "A classic.", "image": "https://example.com/cover.jpg"
    })
}

#[tokio::test]
async fn the_whole_flow_works_over_http_with_raw_and_bearer_tokens() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;

    // register → confirm → login → refresh
    let tokens = signed_in(&api, "Reader@Example.com").await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let (s, fresh) = json_of(
        api.post(
            "/refresh",
            json!({"username": tokens["username"], "refresh_token": tokens["refresh_token"]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{fresh}");
    assert!(fresh["id_token"].is_string());

    // POST /books with the raw token, then with `Bearer`.
    let res = api
        .post_auth("/books", book("A Wizard of Earthsea"), id_token)
        .await;
    assert_cors(&res);
    let (s, first) = json_of(res).await;
    assert_eq!(s, 201, "{first}");
    let res = api
        .post_auth(
            "/books",
            book("The Dispossessed"),
            &format!("Bearer {}", fresh["id_token"].as_str().unwrap()),
        )
        .await;
    let (s, second) = json_of(res).await;
    assert_eq!(s, 201, "{second}");

    // GET /books lists both, without a token.
    let res = api.get("/books").await;
    assert_cors(&res);
    let (s, list) = json_of(res).await;
    assert_eq!(s, 200, "{list}");
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|b| b["name"].as_str())
        .collect();
    assert!(
        names.contains(&"A Wizard of Earthsea") && names.contains(&"The Dispossessed"),
        "{list}"
    );

    // GET one, DELETE it, and it is gone.
    let id = first["id"].as_str().unwrap();
    let (s, _) = json_of(api.get(&format!("/books/{id}")).await).await;
    assert_eq!(s, 200);
    let res = api.delete_auth(&format!("/books/{id}"), id_token).await;
    assert_cors(&res);
    assert_eq!(res.status(), 204);
    let (s, body) = json_of(api.get(&format!("/books/{id}")).await).await;
    assert_eq!(s, 404, "{body}");
}

#[tokio::test]
async fn the_authorizer_refuses_missing_garbage_tampered_and_access_tokens() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let tokens = signed_in(&api, "mallory@example.com").await;

    let res = api.post("/books", book("x")).await;
    assert_unauthorized(res, "no token").await;
    let res = api.post_auth("/books", book("x"), "garbage").await;
    assert_unauthorized(res, "garbage token").await;
    let res = api.post_auth("/books", book("x"), "Bearer ").await;
    assert_unauthorized(res, "empty bearer").await;

    // Flip one character of the signature.
    let id_token = tokens["id_token"].as_str().unwrap();
    let (rest, sig) = id_token.rsplit_once('.').unwrap();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{rest}.{flipped}{}", &sig[1..]);
    let res = api.post_auth("/books", book("x"), &tampered).await;
    assert_unauthorized(res, "tampered signature").await;

    // An access token where an id token is required.
    let access = tokens["access_token"].as_str().unwrap();
    let res = api.post_auth("/books", book("x"), access).await;
    assert_unauthorized(res, "access token").await;

    // The untouched id token passes: the refusals above are about the token, not the setup.
    let (s, body) = json_of(api.post_auth("/books", book("ok"), id_token).await).await;
    assert_eq!(s, 201, "{body}");
}

#[tokio::test]
async fn an_expired_token_signed_by_the_pools_key_is_refused_and_a_fresh_one_accepted() {
    let moto = Moto::start();
    let jwks = TestJwks::start().await;
    let api = LocalApi::start(&moto, |c| jwks.trusted_by(c)).await;
    api.record_test_session().await;
    let client_id = api.created.client_id.clone();

    let expired = jwks.sign_id_token(&client_id, -60);
    let res = api.post_auth("/books", book("x"), &expired).await;
    assert_unauthorized(res, "expired").await;

    let fresh = jwks.sign_id_token(&client_id, 600);
    let (s, body) = json_of(
        api.post_auth("/books", book("Signed by the test key"), &fresh)
            .await,
    )
    .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["created_by"], integration_tests::TEST_SUB);
}

#[tokio::test]
async fn every_declared_path_answers_the_preflight_with_the_templates_cors_headers() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |c| c.allow_origin("http://app.test:8080")).await;
    let expected = HashMap::from([
        ("access-control-allow-origin", "http://app.test:8080"),
        (
            "access-control-allow-methods",
            "OPTIONS,GET,POST,PUT,PATCH,DELETE",
        ),
        (
            "access-control-allow-headers",
            "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,X-Aws-Waf-Token",
        ),
        ("access-control-max-age", "600"),
    ]);
    let paths: Vec<String> = api
        .paths()
        .into_iter()
        .map(|p| p.replace("{id}", "some-id"))
        .collect();
    assert!(paths.len() >= 6, "{paths:?}");
    for path in paths {
        let res = api.preflight(&path).await;
        assert_eq!(res.status(), 200, "OPTIONS {path}");
        for (name, value) in &expected {
            assert_eq!(
                res.headers().get(*name).and_then(|v| v.to_str().ok()),
                Some(*value),
                "{name} on OPTIONS {path}"
            );
        }
    }
}

#[tokio::test]
async fn unknown_routes_are_403_missing_authentication_token_with_cors() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    for res in [
        api.get("/nope").await,
        api.get("/login").await,
        api.post("/books/1/extra", json!({})).await,
    ] {
        assert_cors(&res);
        let (s, body) = json_of(res).await;
        assert_eq!(s, 403);
        assert_eq!(body, json!({"message": "Missing Authentication Token"}));
    }
}

#[tokio::test]
async fn stage_prefixed_paths_reach_the_same_routes() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let (s, body) = json_of(
        api.post(
            "/Prod/register",
            json!({"username": "stagey@example.com", "password": PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = json_of(
        api.post(
            "/Prod/login",
            json!({"username": "stagey@example.com", "password": PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 403, "not confirmed yet: {body}");
    assert_eq!(body["error"]["code"], "user_not_confirmed");
    let (s, _) = json_of(api.get("/Prod/books").await).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_handler_error_answer_keeps_our_json_and_cors_through_the_gateway() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let res = api.post_text("/login", "{not json").await;
    assert_cors(&res);
    assert_eq!(res.headers()["content-type"], "application/json");
    let (s, body) = json_of(res).await;
    assert_eq!(s, 400);
    assert_eq!(body["error"]["code"], "invalid_json");
    assert!(
        body["request_id"].as_str().is_some_and(|id| id.len() == 36),
        "{body}"
    );
}
