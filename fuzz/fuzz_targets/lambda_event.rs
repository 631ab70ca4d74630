//! Any bytes as the Lambda event a function receives: through `auth::lambda` (the entry point
//! every main.rs runs: the raw-event check, then lambda_http's conversion) into a handler that
//! runs every request-parsing step of the functions. Nothing may panic; an event that is not
//! an API Gateway event is an error, which is fine.
#![no_main]

use auth::{Cors, JsonObject, normalize_username};
use books::book::BookInput;
use books::paging::{PageKey, parse_limit};
use lambda_http::{Body, Request, RequestExt, Response};
use libfuzzer_sys::fuzz_target;

async fn parse_everything(req: Request) -> Result<Response<Body>, auth::Error> {
    let query = req.query_string_parameters_ref();
    let _ = parse_limit(query.and_then(|q| q.first("limit")));
    if let Some(token) = query.and_then(|q| q.first("next_token")) {
        let _ = PageKey::decode(token);
    }
    if let Some(id) = req.path_parameters_ref().and_then(|p| p.first("id")) {
        let _ = books::book::is_valid_id(id);
    }
    if let Ok(body) = JsonObject::from_request(&req) {
        if let Ok(name) = body.string("username") {
            let _ = normalize_username(name);
        }
        let _ = body.string_by_any_name(&["confirmation_code", "code"]);
        let _ = BookInput::parse(&body, req.body());
    }
    Ok(Cors::default().no_content())
}

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let _ = runtime.block_on(auth::lambda::invoke_json(
        &Cors::default(),
        parse_everything,
        data,
    ));
});
