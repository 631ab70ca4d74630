//! The user-facing fields every Cognito route reads: user names, passwords and codes, checked
//! against Cognito's own limits before any call.

use platform::body::check_len;
use platform::{ApiError, JsonObject};

/// The longest user name Cognito accepts.
pub const MAX_USERNAME_CHARS: usize = 128;
/// The longest password Cognito accepts.
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Cognito's limit on a confirmation code's length.
pub const MAX_CODE_CHARS: usize = 2048;

/// A required password field, as sent (never trimmed), within Cognito's length limit.
pub fn password<'a>(body: &'a JsonObject, field: &'static str) -> Result<&'a str, ApiError> {
    let password = body.string(field)?;
    check_len(field, password, MAX_PASSWORD_CHARS)?;
    Ok(password)
}

/// The confirmation code of a body: `confirmation_code`, or `code` as older clients send it,
/// trimmed and within Cognito's limit.
pub fn code(body: &JsonObject) -> Result<&str, ApiError> {
    let code = body.string_or_alias("confirmation_code", "code")?.trim();
    check_len("confirmation_code", code, MAX_CODE_CHARS)?;
    Ok(code)
}

/// Trims and lower-cases a user name, and checks it against Cognito's rules (1–128 characters,
/// no white space or control characters). The stack's pool is case-insensitive; sending one
/// spelling also keeps the SECRET_HASH right.
pub fn normalize_username(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim().to_lowercase();
    let invalid = |reason: &str| ApiError::InvalidField {
        field: "username",
        reason: reason.to_owned(),
    };
    if name.is_empty() {
        return Err(ApiError::EmptyField("username"));
    }
    if name.chars().count() > MAX_USERNAME_CHARS {
        return Err(invalid("must be at most 128 characters"));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || is_invisible_format(c))
    {
        return Err(invalid(
            "must not contain white space, control or invisible characters",
        ));
    }
    Ok(name)
}

/// Invisible formatting characters (zero-width spaces and joiners, bidirectional controls, the
/// soft hyphen, the byte-order mark). Cognito's user-name pattern admits only letters, marks,
/// symbols, numbers and punctuation, and these would let two names look alike.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalize_username("  Alice@Example.COM ").unwrap(),
            "alice@example.com"
        );
        assert_eq!(normalize_username("ÄNNE").unwrap(), "änne");
    }

    #[test]
    fn usernames_with_white_space_control_characters_or_too_long_are_refused() {
        for bad in [
            "al ice",
            "al\u{0}ice",
            "a\tb",
            "a\u{200b}b",
            "a\u{2028}b",
            "\u{202e}nimda",
            "a\u{feff}",
        ] {
            let err = normalize_username(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_field", "{bad:?}");
        }
        assert_eq!(normalize_username(&"a".repeat(128)).unwrap().len(), 128);
        assert_eq!(
            normalize_username(&"a".repeat(129)).unwrap_err().code(),
            "invalid_field"
        );
        assert_eq!(normalize_username("   ").unwrap_err().code(), "empty_field");
    }
}
