//! `cargo bench -p auth`: the work every Cognito function does around its one Cognito call.

use std::hint::black_box;

use auth::client::Op;
use auth::errors::map_service_error;
use auth::{Username, secret_hash};
use aws_sdk_cognitoidentityprovider::Error as CognitoError;
use aws_sdk_cognitoidentityprovider::types::error::NotAuthorizedException;
use criterion::{Criterion, criterion_group, criterion_main};

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
    c.bench_function("auth/normalize_username", |b| {
        b.iter(|| Username::parse(black_box("  Alice@Example.COM ")))
    });
}

fn errors(c: &mut Criterion) {
    // A wrong password: Cognito's typed error, mapped to the API's.
    c.bench_function("auth/cognito_error_mapping", |b| {
        b.iter(|| {
            let err = CognitoError::NotAuthorizedException(
                NotAuthorizedException::builder()
                    .message("Incorrect username or password.")
                    .build(),
            );
            map_service_error(Op::Login, black_box(err))
        })
    });
}

criterion_group!(benches, secret, errors);
criterion_main!(benches);
