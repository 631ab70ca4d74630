//! The body of POST /books and PUT /books/{id}, validated into a [`BookInput`]: the writable
//! fields only, each bounded, the price read from its text as sent.

use std::collections::HashMap;

use platform::body::check_len;
use platform::{ApiError, JsonObject};
use serde_json::Value;
use serde_json::value::RawValue;
use tables::books::{BookInput, MAX_ID_CHARS, Price, is_valid_id};

/// The fields a client may send on POST and PUT. Anything else is `unknown_field`.
pub const WRITABLE_FIELDS: &[&str] = &[
    "id",
    "name",
    "author",
    "category",
    "price",
    "description",
    "image",
];

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_CATEGORY_CHARS: usize = 100;
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
pub const MAX_IMAGE_CHARS: usize = 2048;
/// Validates `body`; `raw` is the same body's text, from which a JSON-number price is read
/// as written.
pub fn parse(body: &JsonObject, raw: &[u8]) -> Result<BookInput, ApiError> {
    body.deny_unknown_fields(WRITABLE_FIELDS)?;
    let id = body.optional_string("id")?.map(parse_id).transpose()?;
    let name = bounded(body.string("name")?, "name", MAX_NAME_CHARS)?;
    let author = bounded(body.string("author")?, "author", MAX_NAME_CHARS)?;
    let category = body
        .optional_string("category")?
        .map(|c| bounded(c, "category", MAX_CATEGORY_CHARS))
        .transpose()?;
    let description = body
        .optional_string("description")?
        .map(|d| bounded(d, "description", MAX_DESCRIPTION_CHARS))
        .transpose()?;
    let image = body
        .optional_string("image")?
        .map(parse_image)
        .transpose()?;
    let price = parse_price(body, raw)?;
    Ok(BookInput {
        id,
        name,
        author,
        category,
        price,
        description,
        image,
    })
}

/// Trims and bounds a text field. Blank values were already refused as `empty_field`.
fn bounded(value: &str, field: &'static str, max_chars: usize) -> Result<String, ApiError> {
    let value = value.trim();
    check_len(field, value, max_chars)?;
    if value.chars().any(char::is_control) && field != "description" {
        return Err(ApiError::InvalidField {
            field,
            reason: "must not contain control characters".into(),
        });
    }
    Ok(value.to_owned())
}

fn parse_id(id: &str) -> Result<String, ApiError> {
    if !is_valid_id(id) {
        return Err(ApiError::InvalidField {
            field: "id",
            reason: format!("must be 1-{MAX_ID_CHARS} ASCII letters, digits, '-' or '_'"),
        });
    }
    Ok(id.to_owned())
}

fn parse_image(url: &str) -> Result<String, ApiError> {
    let invalid = |reason: &str| ApiError::InvalidField {
        field: "image",
        reason: reason.to_owned(),
    };
    let url = url.trim();
    check_len("image", url, MAX_IMAGE_CHARS)?;
    let lower = url.to_ascii_lowercase();
    let rest = ["https://", "http://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme))
        .ok_or_else(|| invalid("must be an http or https URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("must be an http or https URL"));
    }
    Ok(url.to_owned())
}

fn parse_price(body: &JsonObject, raw: &[u8]) -> Result<Option<Price>, ApiError> {
    let invalid = || ApiError::InvalidField {
        field: "price",
        reason: "must be a non-negative decimal with at most 2 decimals, at most 1000000".into(),
    };
    let text = match body.get("price") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        // serde_json has already turned the number into a float; read its text as sent.
        Some(Value::Number(_)) => raw_field(raw, "price").ok_or_else(invalid)?,
        Some(_) => {
            return Err(ApiError::InvalidType {
                field: "price",
                expected: "a decimal number or a numeric string",
            });
        }
    };
    Price::parse(&text).map(Some).ok_or_else(invalid)
}

/// The JSON text of a top-level field of an object body, exactly as the client wrote it.
fn raw_field(raw: &[u8], field: &str) -> Option<String> {
    let fields: HashMap<String, Box<RawValue>> = serde_json::from_slice(raw).ok()?;
    fields.get(field).map(|v| v.get().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;
    use serde_json::json;

    fn input(body: &str) -> Result<BookInput, ApiError> {
        let obj = JsonObject::from_body(&Body::from(body))?;
        parse(&obj, body.as_bytes())
    }

    #[test]
    fn a_json_number_price_keeps_its_exact_text() {
        let book = input(r#"{"name":"N","author":"A","price":19.99}"#).unwrap();
        assert_eq!(book.price, Some(Price::from_cents(1999)));
        // As a float this would be 0.30000000000000004 after arithmetic, or 20.0 after parsing.
        let err = input(r#"{"name":"N","author":"A","price":19.999999999999999999}"#).unwrap_err();
        assert_eq!(err.code(), "invalid_field");
        let err = input(r#"{"name":"N","author":"A","price":1.5e1}"#).unwrap_err();
        assert_eq!(err.code(), "invalid_field");
        let err = input(r#"{"name":"N","author":"A","price":-1}"#).unwrap_err();
        assert_eq!(err.code(), "invalid_field");
        let err = input(r#"{"name":"N","author":"A","price":true}"#).unwrap_err();
        assert_eq!(err.code(), "invalid_type");
    }

    #[test]
    fn a_full_body_is_trimmed_and_kept() {
        let book = input(
            &json!({"id": "b-1", "name": " Dune ", "author": "Frank Herbert", "category": "sf",
                "price": "9.5", "description": "Spice.", "image": "https://img.example.com/d.png"})
            .to_string(),
        )
        .unwrap();
        assert_eq!(book.id.as_deref(), Some("b-1"));
        assert_eq!(book.name, "Dune");
        assert_eq!(book.price, Some(Price::from_cents(950)));
        assert_eq!(book.image.as_deref(), Some("https://img.example.com/d.png"));
    }

    #[test]
    fn every_validation_class_has_its_code() {
        let long = "x".repeat(201);
        for (body, code) in [
            (json!({"author": "A"}), "missing_field"),
            (json!({"name": "N"}), "missing_field"),
            (json!({"name": "", "author": "A"}), "empty_field"),
            (json!({"name": long, "author": "A"}), "invalid_field"),
            (json!({"name": "N", "author": 7}), "invalid_type"),
            (
                json!({"name": "N", "author": "A", "isbn": "1"}),
                "unknown_field",
            ),
            (
                json!({"name": "N", "author": "A", "created_by": "me"}),
                "unknown_field",
            ),
            (
                json!({"name": "N", "author": "A", "image": "ftp://x/y"}),
                "invalid_field",
            ),
            (
                json!({"name": "N", "author": "A", "image": "javascript:alert(1)"}),
                "invalid_field",
            ),
            (
                json!({"name": "N", "author": "A", "image": "https:///path"}),
                "invalid_field",
            ),
            (
                json!({"name": "N", "author": "A", "image": "https://a b"}),
                "invalid_field",
            ),
            (
                json!({"name": "N", "author": "A", "id": "../etc"}),
                "invalid_field",
            ),
            (
                json!({"name": "N", "author": "A", "id": "x".repeat(65)}),
                "invalid_field",
            ),
            (
                json!({"name": "N", "author": "A", "price": "1.999"}),
                "invalid_field",
            ),
            (
                json!({"name": "N", "author": "A", "price": [1]}),
                "invalid_type",
            ),
        ] {
            let err = input(&body.to_string()).unwrap_err();
            assert_eq!(err.code(), code, "{body}");
            assert_eq!(err.status().as_u16(), 400, "{body}");
        }
    }
}
