//! The hostile-input corpus: for every route of template.yaml, at least 40 malformed requests,
//! each of which must get a 4xx JSON answer with the CORS headers, never a 5xx or a 2xx.
//!
//! Requests go over HTTP through the local API (moto behind it, a signed-in user's id token on
//! protected routes), and, for what only a Lambda event can carry (an `isBase64Encoded` body
//! that is not base64), straight into each function's Lambda entry point.
//!
//! To add a route: give it a row in [`body_spec`] (routes with a JSON body) or [`path_ids`] /
//! [`query_cases`]; a route of template.yaml the corpus does not know fails the test.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use integration_tests::{LocalApi, Moto, signed_in, template};
use lambda_http::request::LambdaRequest;
use lambda_http::{Context, LambdaEvent};
use local_api::template::{Route, RouteAuth};
use serde_json::{Value, json};

/// The minimum the issue asks for, per route.
const MIN_CASES_PER_ROUTE: usize = 40;

/// One malformed request.
struct Case {
    name: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// What a route with a JSON body takes: its required string fields, a valid body, and whether
/// `username` is one of them.
struct BodySpec {
    required: &'static [&'static str],
    /// Optional string fields: present, they are held to their type too.
    optional: &'static [&'static str],
    valid: Value,
}

/// The JSON-body routes. A new one gets a row here.
fn body_spec(method: &str, path: &str) -> Option<BodySpec> {
    let book = json!({"name": "Solaris", "author": "Stanisław Lem", "price": "10.00"});
    Some(match (method, path) {
        ("POST", "/register") => BodySpec {
            required: &["username", "password"],
            optional: &["email"],
            valid: json!({"username": "corpus@example.com", "password": "Correct-Horse-9!"}),
        },
        ("POST", "/confirm_user") => BodySpec {
            required: &["username", "confirmation_code"],
            // The older name of the code: schemathesis found a malformed one ignored.
            optional: &["code"],
            valid: json!({"username": "corpus@example.com", "confirmation_code": "123456"}),
        },
        ("POST", "/login") => BodySpec {
            required: &["username", "password"],
            optional: &[],
            valid: json!({"username": "corpus@example.com", "password": "Correct-Horse-9!"}),
        },
        // An e-mailed code for an account that does not exist: nothing is mailed.
        ("POST", "/login/start") => BodySpec {
            required: &["username"],
            optional: &["method", "password"],
            valid: json!({"username": "corpus-nobody@example.com", "method": "email_otp"}),
        },
        // Never the owner's password: no case may start a registration.
        ("POST", "/passkeys/register/start") => BodySpec {
            required: &["password"],
            optional: &["code", "recovery_code", "email_code", "proof_session"],
            valid: json!({"password": "Not-The-Password-1!"}),
        },
        // A token no start answered: no case may add a passkey.
        ("POST", "/passkeys/register/finish") => BodySpec {
            required: &["credential", "registration_token"],
            optional: &[],
            valid: json!({
                "credential": {"id": "AAEC", "rawId": "AAEC", "type": "public-key",
                               "response": {"clientDataJSON": "e30", "attestationObject": "oA"}},
                "registration_token": "not-a-token-any-start-answered",
            }),
        },
        ("POST", "/login/challenge") => BodySpec {
            required: &["username", "session", "challenge", "code"],
            optional: &[],
            valid: json!({"username": "corpus@example.com", "session": "not-a-session",
                          "challenge": "SOFTWARE_TOKEN_MFA", "code": "123456"}),
        },
        ("POST", "/login/recover") => BodySpec {
            required: &["username", "password", "recovery_code"],
            optional: &[],
            valid: json!({"username": "corpus@example.com", "password": "Not-The-Password-1!",
                          "recovery_code": "abcde-fghjk"}),
        },
        ("POST", "/mfa/totp/verify") => BodySpec {
            required: &["code", "setup_token"],
            optional: &["device_name"],
            valid: json!({"code": "123456", "device_name": "phone",
                          "setup_token": "not-a-token-any-set-up-answered"}),
        },
        // Never the owner's password: no case may set up an authenticator.
        ("POST", "/mfa/totp/setup") => BodySpec {
            required: &["password"],
            optional: &["code", "recovery_code"],
            valid: json!({"password": "Not-The-Password-1!"}),
        },
        // Never the owner's password: no case may turn anything off.
        ("POST", "/mfa/totp/disable") => BodySpec {
            required: &["password"],
            optional: &["code", "recovery_code"],
            valid: json!({"password": "Not-The-Password-1!", "code": "123456"}),
        },
        // `username` is no longer needed, and still held to its rule when sent.
        ("POST", "/refresh") => BodySpec {
            required: &["refresh_token"],
            optional: &["username"],
            valid: json!({"username": "corpus@example.com", "refresh_token": "eyJjdHkiOiJKV1QifQ.x.y"}),
        },
        ("POST", "/resend_code") | ("POST", "/forgot_password") => BodySpec {
            required: &["username"],
            optional: &[],
            valid: json!({"username": "corpus@example.com"}),
        },
        ("POST", "/reset_password") => BodySpec {
            required: &["username", "confirmation_code", "new_password"],
            optional: &[],
            valid: json!({"username": "corpus@example.com", "confirmation_code": "123456", "new_password": "Correct-Horse-9!"}),
        },
        ("POST", "/change_password") => BodySpec {
            required: &["previous_password", "proposed_password"],
            optional: &[],
            valid: json!({"previous_password": "Correct-Horse-9!", "proposed_password": "Correct-Horse-9!"}),
        },
        // The body is optional: without one, /logout signs out everywhere (see cases_for).
        ("POST", "/logout") => BodySpec {
            required: &[],
            optional: &["refresh_token"],
            valid: json!({"refresh_token": "not-a-refresh-token"}),
        },
        // A new address with a wrong password: no case may change the account.
        ("PATCH", "/me") => BodySpec {
            required: &[],
            optional: &["email", "name", "password", "code", "recovery_code"],
            valid: json!({"email": "corpus-moved@example.com", "password": "Not-The-Password-1!"}),
        },
        // Never the owner's password: no case may delete the account the others run as.
        ("DELETE", "/me") => BodySpec {
            required: &["password"],
            optional: &["code", "recovery_code"],
            valid: json!({"password": "Not-The-Password-1!"}),
        },
        ("POST", "/me/verify_email") => BodySpec {
            required: &["code"],
            optional: &[],
            valid: json!({"code": "123456"}),
        },
        ("POST", "/books") | ("PUT", "/books/{id}") => BodySpec {
            required: &["name", "author"],
            optional: &["id", "category", "description", "image"],
            valid: book,
        },
        _ => return None,
    })
}

/// Values of the wrong type, missing or empty, for a required string field.
fn wrong_values() -> Vec<(&'static str, Option<Value>)> {
    vec![
        ("missing", None),
        ("null", Some(Value::Null)),
        ("empty", Some(json!(""))),
        ("blank", Some(json!("  \t "))),
        ("a number", Some(json!(42))),
        ("a float", Some(json!(4.5))),
        ("true", Some(json!(true))),
        ("an array", Some(json!(["x"]))),
        ("an object", Some(json!({"$ne": ""}))),
        ("a 1 MB string", Some(json!("x".repeat(1 << 20)))),
    ]
}

/// User names no account may have: control characters, invisible and bidirectional
/// characters, white space of every kind, and the length limit.
fn bad_usernames() -> Vec<(&'static str, String)> {
    vec![
        ("NUL", "a\u{0}b".into()),
        ("bell", "a\u{7}b".into()),
        ("escape", "\u{1b}[31mred".into()),
        ("DEL", "a\u{7f}b".into()),
        ("C1 control", "a\u{85}b".into()),
        ("tab", "a\tb".into()),
        ("newline", "alice\nadmin".into()),
        ("inner space", "al ice".into()),
        ("no-break space", "a\u{a0}b".into()),
        ("line separator", "a\u{2028}b".into()),
        ("zero-width space", "ad\u{200b}min".into()),
        ("zero-width joiner", "a\u{200d}b".into()),
        ("right-to-left override", "\u{202e}nimda".into()),
        ("byte-order mark", "\u{feff}admin".into()),
        ("soft hyphen", "ad\u{ad}min".into()),
        ("129 characters", "a".repeat(129)),
        ("129 emoji", "😀".repeat(129)),
    ]
}

/// Malformed bodies every JSON route refuses, whatever its fields.
fn generic_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let deep_arrays = format!("{{\"a\":{}{}}}", "[".repeat(5_000), "]".repeat(5_000));
    let deep_objects = format!("{}1{}", "{\"a\":".repeat(3_000), "}".repeat(3_000));
    vec![
        ("empty body", vec![]),
        ("blank body", b" \r\n\t".to_vec()),
        ("truncated JSON", b"{\"username\":".to_vec()),
        ("missing value", b"{\"username\":}".to_vec()),
        ("single quotes", b"{'username':'a'}".to_vec()),
        ("trailing comma", b"{\"a\":1,}".to_vec()),
        ("trailing garbage", b"{} x".to_vec()),
        ("two objects", b"{}{}".to_vec()),
        ("JSON null", b"null".to_vec()),
        ("JSON array", b"[]".to_vec()),
        (
            "JSON array of an object",
            b"[{\"username\":\"a\"}]".to_vec(),
        ),
        ("JSON string", b"\"text\"".to_vec()),
        ("JSON number", b"42".to_vec()),
        ("JSON true", b"true".to_vec()),
        ("empty object", b"{}".to_vec()),
        ("NaN", b"{\"a\":NaN}".to_vec()),
        ("lone surrogate", b"{\"username\":\"\\ud800\"}".to_vec()),
        ("deeply nested arrays", deep_arrays.into_bytes()),
        ("deeply nested objects", deep_objects.into_bytes()),
        (
            "1 MB body",
            format!("{{\"a\":\"{}\"}}", "x".repeat(1 << 20)).into_bytes(),
        ),
        ("invalid UTF-8", b"{\"username\":\"\xff\xfe\"}".to_vec()),
        ("overlong UTF-8", b"{\"username\":\"\xc0\xaf\"}".to_vec()),
        (
            "UTF-16",
            "{\"a\":1}"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect(),
        ),
        ("UTF-8 byte-order mark", b"\xef\xbb\xbf{}".to_vec()),
        ("NUL bytes", b"\0\0\0\0".to_vec()),
        ("form encoded", b"username=a&password=b".to_vec()),
    ]
}

/// Content types that are not JSON in UTF-8, each with an otherwise valid body.
fn bad_content_types() -> Vec<Option<&'static str>> {
    vec![
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/xml"),
        Some("application/json; charset=iso-8859-1"),
        Some("application/jsonp"),
    ]
}

/// `{id}` values no book can have, or that no book has.
fn path_ids() -> Vec<(&'static str, String)> {
    let mut ids: Vec<(&'static str, String)> = vec![
        ("65 characters", "a".repeat(65)),
        ("1000 characters", "b".repeat(1000)),
        ("a dot", "a.b".into()),
        ("dot dot", "..".into()),
        ("encoded dot dot", "%2e%2e".into()),
        ("encoded slash", "a%2Fb".into()),
        ("encoded backslash", "a%5Cb".into()),
        ("space", "a%20b".into()),
        ("plus", "a+b".into()),
        ("NUL", "a%00b".into()),
        ("newline", "a%0Ab".into()),
        ("not UTF-8", "%ff%fe".into()),
        ("non-ASCII", "%C3%A9".into()),
        ("emoji", "%F0%9F%98%80".into()),
        ("right-to-left override", "%E2%80%AEx".into()),
        ("quote", "a'b".into()),
        ("double quote", "a%22b".into()),
        ("angle brackets", "%3Cscript%3E".into()),
        ("dollar operator", "$ne".into()),
        ("star", "*".into()),
        ("semicolon", "a;b".into()),
        ("colon", "a:b".into()),
        ("at", "a@b".into()),
        ("comma", "a,b".into()),
        ("percent", "100%25".into()),
        ("braces", "%7Bid%7D".into()),
        ("JSON", "%7B%22S%22%3A%221%22%7D".into()),
        (
            "unknown uuid",
            "00000000-0000-0000-0000-000000000000".into(),
        ),
        ("unknown short id", "x".into()),
        ("dash", "-".into()),
        ("underscore", "_".into()),
        ("64 characters, unknown", "c".repeat(64)),
        ("extra segment", "a/b".into()),
        ("empty segment then id", "/a".into()),
        ("trailing segments", "a/b/c".into()),
    ];
    for n in ["0", "-1", "99999999999999999999", "1e9", "NaN"] {
        ids.push(("number-like", n.into()));
    }
    ids
}

/// Query strings `GET /books` refuses.
fn query_cases() -> Vec<(&'static str, String)> {
    let mut cases: Vec<(&'static str, String)> = Vec::new();
    for limit in [
        "0",
        "-1",
        "101",
        "1000",
        "abc",
        "1.5",
        "1e2",
        "",
        "%20",
        "99999999999999999999999",
        "0x10",
        "NaN",
        "%E2%88%9E",
        "%D9%A1",
        "10%200",
        "1%00",
        "null",
        "%5B1%5D",
        "-0",
        "5;1",
    ] {
        cases.push(("limit", format!("limit={limit}")));
    }
    let token = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    for next in [
        String::new(),
        "!!!".into(),
        "%ff".into(),
        "a".repeat(600),
        token("not json"),
        token("[1,2]"),
        token("null"),
        token(r#"{"id":"a","created_at":"b","catalog":"other"}"#),
        token(r#"{"id":"../x","created_at":"b"}"#),
        token(r#"{"id":"a","created_at":""}"#),
        token(r#"{"id":"a"}"#),
        token(r#"{"id":1,"created_at":2}"#),
        token(&format!(
            r#"{{"id":"a","created_at":"{}"}}"#,
            "9".repeat(41)
        )),
    ] {
        cases.push(("next_token", format!("next_token={next}")));
    }
    for category in [
        String::new(),
        "%20%20".into(),
        "c".repeat(101),
        "%F0%9F%98%80".repeat(101),
    ] {
        cases.push(("category", format!("category={category}")));
    }
    cases.push(("limit with a good category", "category=sf&limit=0".into()));
    cases.push(("bad limit and token", "limit=200&next_token=x".into()));
    cases.push(("limit given twice", "limit=0&limit=5".into()));
    cases
}

/// Every malformed request for `route`, `token` being a valid id token for protected routes.
/// `tokens` is the caller's `(id token, access token)`: routes with scopes take the access token.
fn cases_for(route: &Route, tokens: (&str, &str)) -> Vec<Case> {
    let json_ct = ("content-type".to_owned(), "application/json".to_owned());
    let token = match &route.auth {
        RouteAuth::Cognito { scopes } if !scopes.is_empty() => tokens.1,
        _ => tokens.0,
    };
    let auth = match route.auth {
        RouteAuth::Public => vec![],
        RouteAuth::Cognito { .. } => vec![("authorization".to_owned(), token.to_owned())],
    };
    let mut headers = auth.clone();
    headers.push(json_ct.clone());
    let item_path = |id: &str| route.path.replace("{id}", id);
    let base_path = item_path("corpus-missing-book");
    let mut cases = Vec::new();
    let mut push = |name: String, path: String, headers: Vec<(String, String)>, body: Vec<u8>| {
        cases.push(Case {
            name,
            path,
            headers,
            body,
        })
    };

    if let Some(spec) = body_spec(&route.method, &route.path) {
        for (name, body) in generic_bodies() {
            // A /logout without a body, or with `{}`, is no malformed request: it signs the
            // corpus's user out everywhere, and every later case would meet a revoked token.
            if route.path == "/logout" && (body.trim_ascii().is_empty() || name == "empty object") {
                continue;
            }
            push(name.into(), base_path.clone(), headers.clone(), body);
        }
        for field in spec.required {
            for (what, value) in wrong_values() {
                let mut body = spec.valid.clone();
                match value {
                    None => {
                        body.as_object_mut().unwrap().remove(*field);
                    }
                    Some(v) => body[*field] = v,
                }
                push(
                    format!("{field} {what}"),
                    base_path.clone(),
                    headers.clone(),
                    body.to_string().into_bytes(),
                );
            }
            let duplicate = format!("{{\"{field}\":\"first\",{}", &spec.valid.to_string()[1..]);
            push(
                format!("{field} given twice"),
                base_path.clone(),
                headers.clone(),
                duplicate.into_bytes(),
            );
        }
        for field in spec.optional {
            for (what, value) in wrong_values() {
                let Some(value) = value.filter(|v| !v.is_null()) else {
                    continue;
                };
                let mut body = spec.valid.clone();
                body[*field] = value;
                push(
                    format!("optional {field} {what}"),
                    base_path.clone(),
                    headers.clone(),
                    body.to_string().into_bytes(),
                );
            }
        }
        if spec.required.contains(&"username") {
            for (what, name) in bad_usernames() {
                let mut body = spec.valid.clone();
                body["username"] = json!(name);
                push(
                    format!("username with {what}"),
                    base_path.clone(),
                    headers.clone(),
                    body.to_string().into_bytes(),
                );
            }
        } else if spec.required.contains(&"name") {
            for (what, value) in [
                ("a control character in name", json!({"name": "a\u{7}b"})),
                ("an unknown field", json!({"created_by": "someone-else"})),
                ("an id with a slash", json!({"id": "a/b"})),
                ("an id of 65 characters", json!({"id": "d".repeat(65)})),
                ("a negative price", json!({"price": "-1.00"})),
                ("a price with three decimals", json!({"price": 1.234})),
                ("a price in exponent form", json!({"price": "1e3"})),
                ("a price over the maximum", json!({"price": "1000000.01"})),
                ("a price of the wrong type", json!({"price": [1]})),
                (
                    "a javascript: image",
                    json!({"image": "javascript:alert(1)"}),
                ),
                ("an empty category", json!({"category": ""})),
            ] {
                let mut body = spec.valid.clone();
                for (k, v) in value.as_object().unwrap() {
                    body[k] = v.clone();
                }
                push(
                    format!("book with {what}"),
                    base_path.clone(),
                    headers.clone(),
                    body.to_string().into_bytes(),
                );
            }
        }
        for ct in bad_content_types() {
            let mut h = auth.clone();
            if let Some(ct) = ct {
                h.push(("content-type".into(), ct.into()));
            }
            push(
                format!("content-type {ct:?}"),
                base_path.clone(),
                h,
                spec.valid.to_string().into_bytes(),
            );
        }
    }
    if route.path.contains("{id}") {
        let body = body_spec(&route.method, &route.path)
            .map(|s| s.valid.to_string().into_bytes())
            .unwrap_or_default();
        for (what, id) in path_ids() {
            push(
                format!("id: {what}"),
                item_path(&id),
                headers.clone(),
                body.clone(),
            );
        }
    }
    if route.method == "GET" && route.path == "/books" {
        for (what, query) in query_cases() {
            push(
                format!("query {what}: {query}"),
                format!("/books?{query}"),
                headers.clone(),
                vec![],
            );
        }
    }
    if !auth.is_empty() {
        for (what, value) in bad_authorizations(token) {
            let mut h = vec![json_ct.clone()];
            if let Some(v) = value {
                h.push(("authorization".into(), v));
            }
            push(
                format!("authorization: {what}"),
                base_path.clone(),
                h,
                vec![],
            );
        }
    }
    cases
}

/// `Authorization` values the authorizer must refuse, built around the caller's real `token`.
fn bad_authorizations(token: &str) -> Vec<(String, Option<String>)> {
    let (head_payload, sig) = token.rsplit_once('.').unwrap();
    let (head, payload) = head_payload.split_once('.').unwrap();
    let flipped = |s: &str| {
        let first = if s.starts_with('A') { 'B' } else { 'A' };
        format!("{first}{}", &s[1..])
    };
    let mut cases: Vec<(String, Option<String>)> = vec![
        ("no token".into(), None),
        ("an empty Authorization".into(), Some(String::new())),
        ("Bearer alone".into(), Some("Bearer".into())),
        ("Bearer and spaces".into(), Some("Bearer    ".into())),
        (
            "Basic credentials".into(),
            Some("Basic dXNlcjpwYXNz".into()),
        ),
        ("Digest scheme".into(), Some(format!("Digest {token}"))),
        ("the token twice".into(), Some(format!("{token} {token}"))),
        ("the last part cut".into(), Some(head_payload.to_owned())),
        (
            "the signature empty".into(),
            Some(format!("{head_payload}.")),
        ),
        (
            "a flipped signature".into(),
            Some(format!("{head_payload}.{}", flipped(sig))),
        ),
        (
            "a flipped payload".into(),
            Some(format!("{head}.{}.{sig}", flipped(payload))),
        ),
        (
            "a flipped header".into(),
            Some(format!("{}.{payload}.{sig}", flipped(head))),
        ),
        (
            "header and payload swapped".into(),
            Some(format!("{payload}.{head}.{sig}")),
        ),
        ("four parts".into(), Some(format!("{token}.x"))),
        ("one part".into(), Some("abc".into())),
        ("dots only".into(), Some("..".into())),
        ("not base64".into(), Some("%%%.%%%.%%%".into())),
        (
            "JSON instead of a token".into(),
            Some(r#"{"sub":"x"}"#.into()),
        ),
        (
            "alg none header".into(),
            Some(format!("eyJhbGciOiJub25lIn0.{payload}.")),
        ),
        ("a 10 KB token".into(), Some("a".repeat(10_240))),
        ("unicode".into(), Some("Bearer tökén".into())),
        ("a NUL".into(), Some("Bearer a\u{0}b".into())),
        (
            "lower-case bearer and garbage".into(),
            Some("bearer garbage".into()),
        ),
        ("a quoted token".into(), Some(format!("\"{token}\""))),
        (
            "a token with a trailing comma".into(),
            Some(format!("{token},")),
        ),
        (
            "a URL-encoded token".into(),
            Some(token.replace('.', "%2E")),
        ),
        (
            "the token reversed".into(),
            Some(token.chars().rev().collect()),
        ),
        ("an upper-cased token".into(), Some(token.to_uppercase())),
        ("the payload alone".into(), Some(payload.to_owned())),
        ("the signature alone".into(), Some(sig.to_owned())),
        ("Token scheme".into(), Some(format!("Token {token}"))),
        (
            "Bearer Bearer".into(),
            Some(format!("Bearer Bearer {token}")),
        ),
        (
            "a tab after Bearer".into(),
            Some(format!("Bearer\t{token}")),
        ),
        ("a leading dot".into(), Some(format!(".{token}"))),
        (
            "padding in the header".into(),
            Some(format!("{head}==.{payload}.{sig}")),
        ),
        ("Bearer null".into(), Some("Bearer null".into())),
        ("Bearer undefined".into(), Some("Bearer undefined".into())),
        (
            "a JWE-shaped token".into(),
            Some(format!("{head}.{payload}.{sig}.{sig}.{sig}")),
        ),
    ];
    cases.retain(|(_, v)| {
        v.as_deref()
            .is_none_or(|v| http::HeaderValue::from_str(v).is_ok())
    });
    cases
}

/// Requests an administrator may send to the admin route `path` that must all be refused: user
/// names no user has or can have, group names no group can have (on the corpus's real user, who
/// must come through untouched), and malformed searches and audit queries.
fn admin_cases(path: &str) -> Vec<(String, String)> {
    let mut cases = Vec::new();
    let users = |rest: &str| -> Vec<(String, String)> {
        path_ids()
            .into_iter()
            .map(|(what, name)| {
                (
                    format!("user name: {what}"),
                    path.replace("{username}", &name).replace("{group}", rest),
                )
            })
            .collect()
    };
    if path.contains("{group}") {
        cases.extend(users("admin"));
        for (what, group) in path_ids() {
            // `..` is a path segment URL clients resolve before sending: here it would make the
            // request a DELETE of the corpus's user, which this administrator may do.
            if what.contains("dot dot") {
                continue;
            }
            // A valid name of no group: Cognito's answer must be a 4xx too.
            let group = if what == "unknown short id" {
                "no-such-group".to_owned()
            } else {
                group
            };
            cases.push((
                format!("group: {what}"),
                path.replace("{username}", "corpus-owner@example.com")
                    .replace("{group}", &group),
            ));
        }
    } else if path.contains("{username}") {
        cases.extend(users(""));
    } else if path == "/admin/users" {
        for query in [
            "limit=0",
            "limit=-1",
            "limit=61",
            "limit=abc",
            "limit=1.5",
            "limit=99999999999999999999",
            "username=a&email=b",
            "username=a%22b",
            "email=a%5Cb",
            "username=a%00b",
            "username=a%0Ab",
            // Page tokens ListUsers never gave (schemathesis found `cursor=0` a 503).
            "cursor=0",
            "email=0&limit=20&cursor=0",
            "cursor=eyJ0b2tlbiI6IngifQ",
        ] {
            cases.push((format!("search: {query}"), format!("{path}?{query}")));
        }
        cases.push((
            "search: 129 characters".into(),
            format!("{path}?username={}", "a".repeat(129)),
        ));
        cases.push((
            "search: a cursor of 3000 bytes".into(),
            format!("{path}?cursor={}", "c".repeat(3000)),
        ));
    } else if path == "/admin/audit" {
        for query in [
            "",
            "limit=5",
            "type=no_such_type",
            "type=SIGN_IN",
            "type=sign_in&from=yesterday",
            "type=sign_in&to=2026-13-01",
            "type=sign_in&from=2026-12-03T12%3A54%3A5%C3%A9",
            "type=sign_in&from=-1",
            "type=sign_in&limit=0",
            "type=sign_in&limit=101",
            "type=sign_in&cursor=not-a-cursor",
            "type=sign_in&cursor=%00",
            "username=a%00b",
            "username=bob%40example.com&cursor=dXNlciNvdGhlcgoxMjM",
        ] {
            cases.push((format!("audit: {query}"), format!("{path}?{query}")));
        }
        cases.push((
            "audit: a user name of 200 characters".into(),
            format!("{path}?username={}", "u".repeat(200)),
        ));
    }
    cases
}

/// Every answer must be a 4xx, JSON in our error shape or API Gateway's, with CORS.
async fn check(res: reqwest::Response, route: &str, case: &str) -> u16 {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    assert!(
        (400..500).contains(&status),
        "{route} / {case}: status {status}: {}",
        text.chars().take(300).collect::<String>()
    );
    assert!(
        headers
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("application/json")),
        "{route} / {case}: not JSON"
    );
    for h in [
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
    ] {
        assert!(headers.contains_key(h), "{route} / {case}: {h} missing");
    }
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{route} / {case}: body is not JSON ({e})"));
    let ours = body["error"]["code"].is_string() && body["request_id"].is_string();
    let gateway = body["message"].is_string() && body.as_object().unwrap().len() == 1;
    assert!(ours || gateway, "{route} / {case}: unknown shape {body}");
    status
}

#[tokio::test]
async fn every_route_answers_at_least_forty_malformed_requests_with_a_4xx_json_error_and_cors() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let login = signed_in(&api, "corpus-owner@example.com").await;
    let token = login["id_token"].as_str().unwrap().to_owned();
    let access = login["access_token"].as_str().unwrap().to_owned();

    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for route in &template().routes {
        let key = format!("{} {}", route.method, route.path);
        let cases = cases_for(route, (&token, &access));
        for case in &cases {
            let headers: Vec<(&str, &str)> = case
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let res = api
                .send(&route.method, &case.path, &headers, case.body.clone())
                .await;
            check(res, &key, &case.name).await;
        }
        let n = counts.entry(key).or_default();
        *n += cases.len();
    }
    // What only a Lambda event carries: bodies marked isBase64Encoded, straight into each
    // function's entry point (the path its main.rs runs).
    let handlers = local_api::handlers(&api.config, &moto.sdk_config().await)
        .await
        .unwrap();
    for route in &template().routes {
        let key = format!("{} {}", route.method, route.path);
        let handler = &handlers[&route.binary];
        let takes_body = body_spec(&route.method, &route.path).is_some();
        let mut bodies: Vec<(&str, String)> = vec![
            ("invalid base64", "%%%".into()),
            ("JSON marked base64", "{\"username\":\"a\"}".into()),
            ("base64 with a line break", "e30=\ne30=".into()),
            ("URL-safe base64", "-_-_".into()),
            ("base64 missing padding", "e30".into()),
        ];
        if takes_body {
            bodies.extend([
                ("base64 of invalid JSON", B64.encode("{oops")),
                ("base64 of JSON null", B64.encode("null")),
                (
                    "base64 of bytes that are not UTF-8",
                    B64.encode([0xff, 0xfe, 0x00]),
                ),
                ("base64 of an empty object", B64.encode("{}")),
            ]);
        }
        for (case, body) in bodies {
            let event = json!({
                "resource": route.path,
                "path": route.path.replace("{id}", "corpus-missing-book"),
                "httpMethod": route.method,
                "headers": {"content-type": "application/json"},
                "pathParameters": if route.path.contains("{id}") { json!({"id": "corpus-missing-book"}) } else { Value::Null },
                "requestContext": {
                    "resourcePath": route.path, "httpMethod": route.method, "requestId": "corpus",
                    "stage": "Prod", "accountId": "1", "apiId": "a", "identity": {},
                    "authorizer": {"claims": {"sub": "corpus-sub"}},
                },
                "body": body,
                "isBase64Encoded": true,
            });
            let payload: LambdaRequest = serde_json::from_value(event).unwrap();
            let res = handler(LambdaEvent::new(payload, Context::default()))
                .await
                .unwrap_or_else(|e| panic!("{key} / {case}: Err({e}), a 502"));
            assert!(
                (400..500).contains(&res.status_code),
                "{key} / {case}: {}",
                res.status_code
            );
            let acao = res
                .headers
                .get("access-control-allow-origin")
                .or(res.multi_value_headers.get("access-control-allow-origin"));
            assert!(acao.is_some(), "{key} / {case}: no CORS");
            *counts.get_mut(&key).unwrap() += 1;
        }
    }
    // The admin routes as an administrator: the cases above reach them as a user of no group,
    // whom the platform refuses before the handler runs. These reach the handlers.
    let admin_name = "corpus-admin@example.com";
    signed_in(&api, admin_name).await;
    let add = json!({"UserPoolId": api.created.pool_id, "Username": admin_name,
                     "GroupName": "admin"});
    assert_eq!(api.cognito_call("AdminAddUserToGroup", add).await.0, 200);
    let (_, admin) = integration_tests::login(&api, admin_name, integration_tests::PASSWORD).await;
    let admin = admin["access_token"].as_str().unwrap().to_owned();
    let headers = [("authorization", admin.as_str())];
    for route in template().routes.iter().filter(|r| r.binary == "admin") {
        let key = format!("{} {}", route.method, route.path);
        let cases = admin_cases(&route.path);
        for (case, path) in &cases {
            let res = api.send(&route.method, path, &headers, Vec::new()).await;
            check(res, &key, &format!("as an administrator: {case}")).await;
        }
        *counts.get_mut(&key).unwrap() += cases.len();
    }
    // The corpus's user was acted on by none of them.
    let (s, b) = api.call("GET", "/me", &login["id_token"], None).await;
    assert_eq!(s, 200, "{b}");
    eprintln!("malformed requests per route: {counts:#?}");
    for (route, n) in &counts {
        assert!(
            *n >= MIN_CASES_PER_ROUTE,
            "{route}: only {n} cases; give it more in tests/corpus.rs"
        );
    }
}

#[test]
fn every_route_of_the_template_is_known_to_the_corpus() {
    for route in &template().routes {
        let known = body_spec(&route.method, &route.path).is_some()
            || route.path.contains("{id}")
            || (route.method == "GET" && route.path == "/books")
            || route.auth != RouteAuth::Public;
        assert!(
            known,
            "{} {} has no malformed requests: add it to tests/corpus.rs",
            route.method, route.path
        );
    }
}
