//! `cargo bench -p auth`: the work every Cognito function does around its one Cognito call.

use std::hint::black_box;

use auth::body::check_len;
use auth::cognito::map_service_error;
use auth::{CognitoOp, Cors, JsonObject, RequestMeta, normalize_username, secret_hash};
use aws_sdk_cognitoidentityprovider::Error as CognitoError;
use aws_sdk_cognitoidentityprovider::types::error::NotAuthorizedException;
use criterion::{Criterion, criterion_group, criterion_main};

const LOGIN_EVENT: &str = include_str!("../../../events/login.json");

fn secret(c: &mut Criterion) {
    c.bench_function("auth/secret_hash", |b| {
        b.iter(|| {
            secret_hash(
                black_box("alice@example.com"),
                black_box("1example23456789abcdefghij"),
                black_box("1q2w3e4r5t6y7u8i9o0p1q2w3e4r5t6y7u8i9o0p1q2w3e4r5t6"),
            )
        })
    });
}

fn parsing(c: &mut Criterion) {
    c.bench_function("auth/apigw_event_to_request", |b| {
        b.iter(|| lambda_http::request::from_str(black_box(LOGIN_EVENT)).unwrap())
    });
    let req = lambda_http::request::from_str(LOGIN_EVENT).unwrap();
    // What /login does before it calls Cognito.
    c.bench_function("auth/login_body_parse_and_validate", |b| {
        b.iter(|| {
            let meta = RequestMeta::of(black_box(&req));
            let body = JsonObject::from_request(&req).unwrap();
            let username = normalize_username(body.string("username").unwrap()).unwrap();
            let password = body.string("password").unwrap();
            check_len("password", password, 256).unwrap();
            (meta, username)
        })
    });
}

fn errors(c: &mut Criterion) {
    let cors = Cors::default();
    // A wrong password: Cognito's typed error, mapped and turned into the JSON + CORS answer.
    c.bench_function("auth/cognito_error_to_response", |b| {
        b.iter(|| {
            let err = CognitoError::NotAuthorizedException(
                NotAuthorizedException::builder()
                    .message("Incorrect username or password.")
                    .build(),
            );
            let api = map_service_error(CognitoOp::Login, black_box(err));
            cors.error(&api, "8a7b6c5d-4e3f-4a1b-8c9d-0e1f2a3b4c5d")
        })
    });
}

criterion_group!(benches, secret, parsing, errors);
criterion_main!(benches);
