//! `cargo bench -p local-api`: the local gateway's Cognito authorizer checking an id token
//! (RS256 signature, `iss`, `aud`, `token_use`, `exp`) with its JWKS already cached.

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{Criterion, criterion_group, criterion_main};
use local_api::authorizer::{Authorizer, AuthorizerConfig, Required};

const JWKS: &str = include_str!("../../../tests/fixtures/test-jwks.json");
const KEY: &[u8] = include_bytes!("../../../tests/fixtures/test-signing-key.pem");
const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool";
const CLIENT: &str = "bench-client";

fn id_token() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "sub": "7d9c2a10-3b4e-4f5a-9c8d-112233445566", "cognito:username": "bench",
        "email": "bench@example.com", "email_verified": true, "aud": CLIENT, "iss": ISSUER,
        "token_use": "id", "iat": now, "auth_time": now, "exp": now + 3600,
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("test-key-1".into());
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(KEY).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

fn verification(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The JWKS on a loopback port, fetched once by the first call.
    let url = rt.block_on(async {
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(|| async { ([("content-type", "application/json")], JWKS) }),
        );
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    });
    let authorizer = Authorizer::new(AuthorizerConfig {
        jwks_url: url,
        issuer: ISSUER.into(),
    })
    .unwrap();
    let header = format!("Bearer {}", id_token());
    rt.block_on(authorizer.authorize(Some(&header), &Required::IdToken))
        .expect("the token verifies");
    c.bench_function("local_api/authorizer_verify_id_token", |b| {
        b.iter(|| {
            rt.block_on(authorizer.authorize(black_box(Some(&header)), &Required::IdToken))
                .unwrap()
        })
    });
}

criterion_group!(benches, verification);
criterion_main!(benches);
