//! Any bytes as a request body: size, encoding, JSON syntax, duplicate keys, then every field
//! check the functions make. Nothing may panic.
#![no_main]

use auth::normalize_username;
use books::book::BookInput;
use lambda_http::Body;
use libfuzzer_sys::fuzz_target;
use platform::JsonObject;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = JsonObject::from_body(&Body::Binary(data.to_vec())) else {
        return;
    };
    for field in ["username", "password", "refresh_token", "email"] {
        if let Ok(Some(value)) = body.optional_string(field) {
            let _ = normalize_username(value);
        }
    }
    let _ = auth::code(&body);
    let _ = BookInput::parse(&body, data);
});
