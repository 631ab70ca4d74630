//! Any bytes as the Lambda event a function receives: through `platform::lambda` (the entry
//! point every main.rs runs: the raw-event check, lambda_http's conversion, the route table)
//! into a handler that runs every request-parsing step of the functions. Nothing may panic; an
//! event that is not an API Gateway event is an error, which is fine.
#![no_main]

use auth::{Code, Username};
use lambda_http::RequestExt;
use libfuzzer_sys::fuzz_target;
use platform::{Api, ApiError, Caller, ClientContext, Cors, JsonObject, Reply, Request, Route, route};
use tables::books::{Limit, PageKey, is_valid_id};

async fn parse_everything(_: &(), req: &Request) -> Result<Reply, ApiError> {
    let query = req.query_string_parameters_ref();
    let _ = Limit::parse(query.and_then(|q| q.first("limit")));
    if let Some(token) = query.and_then(|q| q.first("next_token")) {
        let _ = PageKey::decode(token);
    }
    if let Some(id) = req.path_parameters_ref().and_then(|p| p.first("id")) {
        let _ = is_valid_id(id);
    }
    let _ = Caller::parse(req);
    let _ = ClientContext::of(req);
    if let Ok(body) = JsonObject::from_request(req) {
        let _ = Username::from_body(&body, "username");
        let _ = Code::from_body(&body);
        let _ = books::input::parse(&body, req.body());
    }
    Ok(Reply::no_content())
}

/// Every method on every resource the functions serve reaches the parser.
static ROUTES: &[Route<()>] = &[
    route!(GET "/{any+}" => parse_everything),
    route!(POST "/{any+}" => parse_everything),
    route!(PUT "/{any+}" => parse_everything),
    route!(DELETE "/{any+}" => parse_everything),
];

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let api = Api::new(Cors::default(), (), ROUTES);
    let _ = runtime.block_on(platform::lambda::invoke_json(&api, data));
});
