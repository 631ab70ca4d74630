//! `cargo bench -p platform`: the work the boundary does around every handler.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use platform::body::check_len;
use platform::{Api, ApiError, Cors, JsonObject, Reply, Request, RequestMeta, route};

const LOGIN_EVENT: &str = include_str!("../../../events/login.json");

async fn refuse(_: &(), _: &Request) -> Result<Reply, ApiError> {
    Err(ApiError::InvalidCredentials)
}

static ROUTES: &[platform::Route<()>] = &[route!(POST "/login" => refuse)];

fn parsing(c: &mut Criterion) {
    c.bench_function("platform/apigw_event_to_request", |b| {
        b.iter(|| lambda_http::request::from_str(black_box(LOGIN_EVENT)).unwrap())
    });
    let req = lambda_http::request::from_str(LOGIN_EVENT).unwrap();
    // What /login does with its body before it calls Cognito.
    c.bench_function("platform/login_body_parse_and_validate", |b| {
        b.iter(|| {
            let meta = RequestMeta::of(black_box(&req));
            let body = JsonObject::from_request(&req).unwrap();
            let username = body.string("username").unwrap();
            let password = body.string("password").unwrap();
            check_len("password", password, 256).unwrap();
            (meta, username.len())
        })
    });
}

fn boundary(c: &mut Criterion) {
    let api = Api::new(Cors::default(), (), ROUTES);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // Routing, the handler's refusal, and the JSON + CORS error answer.
    c.bench_function("platform/route_and_error_response", |b| {
        b.iter(|| {
            let req = lambda_http::request::from_str(LOGIN_EVENT).unwrap();
            rt.block_on(api.serve(black_box(req)))
        })
    });
}

criterion_group!(benches, parsing, boundary);
criterion_main!(benches);
