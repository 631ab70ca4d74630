//! `cargo bench -p books`: parsing and validating a book, as POST /books does before its write.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use platform::JsonObject;

const CREATE_EVENT: &str = include_str!("../../../events/books_create.json");

fn parsing(c: &mut Criterion) {
    let req = lambda_http::request::from_str(CREATE_EVENT).unwrap();
    let raw = req.body().to_vec();
    c.bench_function("books/create_body_parse_and_validate", |b| {
        b.iter(|| {
            let body = JsonObject::from_request(black_box(&req)).unwrap();
            books::input::parse(&body, &raw).unwrap()
        })
    });
}

criterion_group!(benches, parsing);
criterion_main!(benches);
