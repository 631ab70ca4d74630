//! Security, end to end through the local API with moto behind it: forged tokens, user
//! enumeration, cross-user writes and CORS with one allowed origin. Concurrency is in
//! tests/concurrency.rs.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use integration_tests::{
    LocalApi, Moto, PASSWORD, TEST_SUB, TestJwks, login, signed_in, workspace_root,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

fn assert_cors(res: &reqwest::Response, case: &str) {
    for h in [
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
    ] {
        assert!(res.headers().contains_key(h), "{case}: {h} missing");
    }
}

async fn status_and_json(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (
        status,
        serde_json::from_str(&res.text().await.unwrap()).unwrap_or(Value::Null),
    )
}

fn book(id: &str) -> Value {
    json!({"id": id, "name": "The Dispossessed", "author": "Ursula K. Le Guin", "price": "9.99"})
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(workspace_root().join("tests/fixtures").join(name)).unwrap()
}

fn encode_part(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// The fourteen forged tokens, each differing from a valid id token in one way.
fn forged_tokens(jwks: &TestJwks, client_id: &str) -> Vec<(&'static str, String)> {
    let now = now();
    let claims = json!({
        "sub": TEST_SUB, "cognito:username": "tester", "aud": client_id, "iss": jwks.issuer,
        "token_use": "id", "iat": now - 60, "auth_time": now - 60, "exp": now + 3600,
        "origin_jti": "test-session",
    });
    let with = |patch: Value| {
        let mut c = claims.clone();
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let valid = jwks.sign(&claims, "test-key-1");

    let alg_none = format!(
        "{}.{}.",
        encode_part(&json!({"alg": "none", "typ": "JWT", "kid": "test-key-1"})),
        encode_part(&claims)
    );
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some("test-key-1".into());
    let hs256_public_key = jsonwebtoken::encode(
        &hs_header,
        &claims,
        &EncodingKey::from_secret(&fixture("test-signing-key.pub.pem")),
    )
    .unwrap();
    let mut access = with(
        json!({"token_use": "access", "client_id": client_id, "scope": "aws.cognito.signin.user.admin"}),
    );
    access.as_object_mut().unwrap().remove("aud");
    let truncated = valid[..valid.len() - 12].to_owned();
    let flipped = {
        let (head, sig) = valid.rsplit_once('.').unwrap();
        let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        sig[10] ^= 0x01;
        format!("{head}.{}", URL_SAFE_NO_PAD.encode(sig))
    };
    let mut other_header = Header::new(Algorithm::RS256);
    other_header.kid = Some("test-key-1".into());
    let other_pool = jsonwebtoken::encode(
        &other_header,
        &claims,
        &EncodingKey::from_rsa_pem(&fixture("other-pool-key.pem")).unwrap(),
    )
    .unwrap();
    vec![
        ("alg none", alg_none),
        ("HS256 signed with the public key", hs256_public_key),
        ("a wrong kid", jwks.sign(&claims, "no-such-key")),
        (
            "a wrong issuer",
            jwks.sign(
                &with(
                    json!({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"}),
                ),
                "test-key-1",
            ),
        ),
        (
            "an access token where an id token is expected",
            jwks.sign(&access, "test-key-1"),
        ),
        (
            "expired",
            jwks.sign(&with(json!({"exp": now - 5})), "test-key-1"),
        ),
        (
            "nbf in the future",
            jwks.sign(&with(json!({"nbf": now + 600})), "test-key-1"),
        ),
        ("truncated", truncated),
        ("a flipped signature byte", flipped),
        ("another pool's key", other_pool),
        // Cognito never issues these; the authorizer has no reason to take them.
        (
            "iat in the future",
            jwks.sign(&with(json!({"iat": now + 3600})), "test-key-1"),
        ),
        (
            "iss as a list",
            jwks.sign(&with(json!({"iss": [jwks.issuer]})), "test-key-1"),
        ),
        ("no aud", {
            let mut c = claims.clone();
            c.as_object_mut().unwrap().remove("aud");
            jwks.sign(&c, "test-key-1")
        }),
        ("a claim twice", {
            let text = claims.to_string();
            let twice = format!(r#"{{"sub":"someone-else",{}"#, &text[1..]);
            jwks.sign_raw(&twice, "test-key-1")
        }),
    ]
}

#[tokio::test]
async fn fourteen_forged_tokens_are_each_refused_401_and_the_genuine_one_accepted() {
    let moto = Moto::start();
    let jwks = TestJwks::start().await;
    let api = LocalApi::start(&moto, |c| jwks.trusted_by(c)).await;
    api.record_test_session().await;
    let client_id = api.created.client_id.clone();
    let forged = forged_tokens(&jwks, &client_id);
    assert_eq!(forged.len(), 14);
    let mut refused = 0;
    for (case, token) in &forged {
        for header in [token.clone(), format!("Bearer {token}")] {
            let res = api.post_auth("/books", book("forged"), &header).await;
            assert_cors(&res, case);
            let (status, body) = status_and_json(res).await;
            assert_eq!(status, 401, "{case}: {body}");
            assert_eq!(body, json!({"message": "Unauthorized"}), "{case}");
        }
        let res = api.delete_auth("/books/forged", token).await;
        assert_eq!(res.status().as_u16(), 401, "{case} on DELETE");
        refused += 1;
    }
    eprintln!("forged tokens refused: {refused} of {}", forged.len());
    // The control: the same claims, honestly signed, get through, so the refusals above are
    // about the forgery and nothing else.
    let genuine = jwks.sign_id_token(&client_id, 3600);
    let res = api.post_auth("/books", book("genuine"), &genuine).await;
    assert_eq!(res.status().as_u16(), 201);
}

/// Names that render alike are one account, and a name that only looks like another is refused.
#[tokio::test]
async fn look_alike_user_names_are_one_account_or_refused() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    signed_in(&api, "\u{FF41}dmin@example.com").await; // full-width a
    for same in [
        "admin@example.com",
        "ADMIN@EXAMPLE.COM",
        "\u{FF21}DMIN@example.com",
    ] {
        let (status, body) = login(&api, same, PASSWORD).await;
        assert_eq!(status, 200, "{same:?}: {body}");
        let body = json!({"username": same, "password": PASSWORD});
        let (status, body) = status_and_json(api.post("/register", body).await).await;
        assert_eq!(status, 409, "{same:?}: {body}");
        assert_eq!(body["error"]["code"], "username_exists");
    }
    for look_alike in [
        "\u{0430}dmin@example.com",
        "adm\u{0131}n@example.com",
        "ad\u{200D}min@example.com",
        "admin\u{FE0F}@example.com",
    ] {
        let body = json!({"username": look_alike, "password": PASSWORD});
        let res = api.post("/register", body).await;
        assert_cors(&res, look_alike);
        let (status, body) = status_and_json(res).await;
        assert_eq!(status, 400, "{look_alike:?}: {body}");
        assert_eq!(body["error"]["code"], "invalid_field", "{look_alike:?}");
    }
}

/// The authorizer checks one `Authorization` value; the function must not act on another.
#[tokio::test]
async fn a_request_with_two_authorization_values_is_401_even_when_one_is_valid() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let victim = signed_in(&api, "victim@example.com").await;
    let attacker = signed_in(&api, "attacker@example.com").await;
    let cases = [
        (
            "/change_password",
            attacker["access_token"].as_str().unwrap(),
            victim["access_token"].as_str().unwrap(),
            json!({"previous_password": PASSWORD, "proposed_password": "Taken-Over-9!"}),
        ),
        (
            "/books",
            attacker["id_token"].as_str().unwrap(),
            victim["id_token"].as_str().unwrap(),
            book("smuggled"),
        ),
    ];
    for (path, checked, smuggled, body) in cases {
        let (checked, smuggled) = (format!("Bearer {checked}"), format!("Bearer {smuggled}"));
        let headers = [
            ("content-type", "application/json"),
            ("authorization", checked.as_str()),
            ("authorization", smuggled.as_str()),
        ];
        let res = api
            .send("POST", path, &headers, body.to_string().into_bytes())
            .await;
        assert_cors(&res, path);
        let (status, json) = status_and_json(res).await;
        assert_eq!(status, 401, "{path}: {json}");
        assert_eq!(json["error"]["code"], "unauthorized", "{path}: {json}");
    }
    // The victim's password is unchanged.
    let (status, _) = login(&api, "victim@example.com", PASSWORD).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_unknown_user_and_a_wrong_password_get_the_same_answer_from_login() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    signed_in(&api, "known@example.com").await;
    let answers = [
        json!({"username": "known@example.com", "password": "Wrong-Password-1!"}),
        json!({"username": "nobody@example.com", "password": "Wrong-Password-1!"}),
        json!({"username": "nobody@example.com", "password": PASSWORD}),
    ];
    let mut seen = Vec::new();
    for body in answers {
        let res = api.post("/login", body).await;
        assert_cors(&res, "login");
        let (status, json) = status_and_json(res).await;
        let keys: BTreeSet<String> = json.as_object().unwrap().keys().cloned().collect();
        let error_keys: BTreeSet<String> =
            json["error"].as_object().unwrap().keys().cloned().collect();
        seen.push((
            status,
            keys,
            error_keys,
            json["error"]["code"].clone(),
            json["error"]["message"].clone(),
        ));
    }
    assert_eq!(seen[0].0, 401);
    assert_eq!(seen[0].3, "invalid_credentials");
    assert!(seen.iter().all(|s| s == &seen[0]), "{seen:?}");
}

#[tokio::test]
async fn another_user_cannot_change_or_delete_a_book_and_an_admin_can() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let owner = signed_in(&api, "owner@example.com").await;
    let other = signed_in(&api, "other@example.com").await;

    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk_config().await);
    signed_in(&api, "boss@example.com").await;
    // The pool has the admin group from the template; the boss joins it.
    let boss_sub = cognito
        .admin_get_user()
        .user_pool_id(&api.created.pool_id)
        .username("boss@example.com")
        .send()
        .await
        .unwrap()
        .username()
        .to_owned();
    cognito
        .admin_add_user_to_group()
        .user_pool_id(&api.created.pool_id)
        .username(&boss_sub)
        .group_name("admin")
        .send()
        .await
        .unwrap();
    // The group shows in tokens issued from now on.
    let (_, admin) = status_and_json(
        api.post(
            "/login",
            json!({"username": "boss@example.com", "password": PASSWORD}),
        )
        .await,
    )
    .await;
    let token = |login: &Value| login["id_token"].as_str().unwrap().to_owned();

    let res = api.post_auth("/books", book("owned"), &token(&owner)).await;
    assert_eq!(res.status().as_u16(), 201);

    let mut changed = book("owned");
    changed["name"] = json!("Changed by someone else");
    let res = api
        .send(
            "PUT",
            "/books/owned",
            &[
                ("authorization", &token(&other)),
                ("content-type", "application/json"),
            ],
            changed.to_string().into_bytes(),
        )
        .await;
    assert_cors(&res, "PUT by another user");
    let (status, body) = status_and_json(res).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let res = api.delete_auth("/books/owned", &token(&other)).await;
    let (status, body) = status_and_json(res).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (_, stored) = status_and_json(api.get("/books/owned").await).await;
    assert_eq!(stored["name"], "The Dispossessed", "the book is unchanged");

    let res = api
        .send(
            "PUT",
            "/books/owned",
            &[
                ("authorization", &token(&admin)),
                ("content-type", "application/json"),
            ],
            changed.to_string().into_bytes(),
        )
        .await;
    let (status, body) = status_and_json(res).await;
    assert_eq!(status, 200, "an admin may change it: {body}");
    assert_eq!(body["name"], "Changed by someone else");
    let res = api.delete_auth("/books/owned", &token(&admin)).await;
    assert_eq!(res.status().as_u16(), 204, "an admin may delete it");
    assert_eq!(api.get("/books/owned").await.status().as_u16(), 404);
}

#[tokio::test]
async fn with_one_allowed_origin_no_other_origin_is_ever_echoed() {
    const ALLOWED: &str = "https://app.example.com";
    const EVIL: &str = "https://evil.example.net";
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |c| c.allow_origin(ALLOWED)).await;
    let origin = [("origin", EVIL), ("content-type", "application/json")];
    let preflight = [
        ("origin", EVIL),
        ("access-control-request-method", "POST"),
        (
            "access-control-request-headers",
            "authorization,content-type",
        ),
    ];
    let cases: Vec<(&str, reqwest::Response)> = vec![
        (
            "function success",
            api.send("GET", "/books", &origin, vec![]).await,
        ),
        (
            "function error",
            api.send("POST", "/login", &origin, b"{}".to_vec()).await,
        ),
        (
            "authorizer 401",
            api.send("POST", "/books", &origin, b"{}".to_vec()).await,
        ),
        (
            "unknown route 403",
            api.send("GET", "/nope", &origin, vec![]).await,
        ),
        (
            "preflight",
            api.send("OPTIONS", "/books", &preflight, vec![]).await,
        ),
        (
            "openapi.yaml",
            api.send("GET", "/openapi.yaml", &origin, vec![]).await,
        ),
    ];
    for (case, res) in cases {
        assert_eq!(
            res.headers()["access-control-allow-origin"],
            ALLOWED,
            "{case}"
        );
        for (name, value) in res.headers() {
            assert!(
                !value.to_str().unwrap_or_default().contains("evil"),
                "{case}: {name} echoes the request's origin"
            );
        }
    }
}
