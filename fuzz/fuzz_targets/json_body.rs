//! Any bytes as a request body: size, encoding, JSON syntax, duplicate keys, then every field
//! check the functions make. Nothing may panic.
#![no_main]

use auth::{Code, Email, Password, RefreshToken, Username};
use lambda_http::Body;
use libfuzzer_sys::fuzz_target;
use platform::JsonObject;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = JsonObject::from_body(&Body::Binary(data.to_vec())) else {
        return;
    };
    for field in ["username", "password", "refresh_token", "email"] {
        if let Ok(Some(value)) = body.optional_string(field) {
            let _ = Username::parse(value);
            let _ = Email::parse(value);
        }
    }
    let _ = Password::from_body(&body, "password");
    let _ = Code::from_body(&body);
    let _ = Code::optional(&body, "recovery_code");
    let _ = RefreshToken::optional(&body);
    let _ = books::input::parse(&body, data);
});
