//! The inputs every Cognito route reads, as types: each parsed once, from the body, against its
//! bound (Cognito's own limits), before any call. Handlers hold a [`Username`], a
//! [`Password`], a [`Code`], an [`Email`] or a [`RefreshToken`], never a string they checked
//! themselves. Secrets among them (passwords, codes, refresh tokens) never show in `Debug`.

use std::fmt;
use std::ops::Deref;

use platform::body::check_len;
use platform::{ApiError, JsonObject};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_security::{GeneralSecurityProfile, RestrictionLevel, RestrictionLevelDetection};

/// The longest user name Cognito accepts.
pub const MAX_USERNAME_CHARS: usize = 128;
/// The longest password Cognito accepts.
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Cognito's limit on a confirmation code's length.
pub const MAX_CODE_CHARS: usize = 2048;
/// The longest e-mail address (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// The longest refresh token passed on to Cognito; Cognito's own are far shorter.
pub const MAX_REFRESH_TOKEN_CHARS: usize = platform::caller::MAX_TOKEN_CHARS;

/// A text input that derefs to its `&str`, so that it passes straight to a Cognito call.
macro_rules! text {
    ($name:ident $(<$lt:lifetime>)?, secret: $secret:literal) => {
        impl$(<$lt>)? Deref for $name$(<$lt>)? {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
        impl$(<$lt>)? fmt::Debug for $name$(<$lt>)? {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if $secret {
                    write!(f, concat!(stringify!($name), "(***)"))
                } else {
                    f.debug_tuple(stringify!($name)).field(&self.0).finish()
                }
            }
        }
    };
}

/// A user name in its one spelling ([`Username::parse`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Username(String);
text!(Username, secret: false);

impl Username {
    /// The body's `field` (`username`), in its one spelling.
    pub fn from_body(body: &JsonObject, field: &'static str) -> Result<Self, ApiError> {
        Self::parse(body.string(field)?)
    }

    /// `raw` in its one spelling: see [`normalize_username`].
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        normalize_username(raw).map(Self)
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A password as sent (never trimmed), within Cognito's length limit.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Password<'a>(&'a str);
text!(Password<'a>, secret: true);

impl<'a> Password<'a> {
    /// The password, borrowed from the body it came in.
    pub fn as_str(self) -> &'a str {
        self.0
    }

    /// The body's required password `field`.
    pub fn from_body(body: &'a JsonObject, field: &'static str) -> Result<Self, ApiError> {
        let password = body.string(field)?;
        check_len(field, password, MAX_PASSWORD_CHARS)?;
        Ok(Self(password))
    }
}

/// A one-time code (a confirmation, reset, authenticator or recovery code), trimmed and within
/// Cognito's limit.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Code<'a>(&'a str);
text!(Code<'a>, secret: true);

impl<'a> Code<'a> {
    /// The code, borrowed from the body it came in.
    pub fn as_str(self) -> &'a str {
        self.0
    }

    /// The confirmation code of a body: `confirmation_code`, or `code` as older clients send it.
    pub fn from_body(body: &'a JsonObject) -> Result<Self, ApiError> {
        let code = body.string_or_alias("confirmation_code", "code")?.trim();
        check_len("confirmation_code", code, MAX_CODE_CHARS)?;
        Ok(Self(code))
    }

    /// The code in `field` (`recovery_code`), when the body has it.
    pub fn optional(body: &'a JsonObject, field: &'static str) -> Result<Option<Self>, ApiError> {
        let Some(code) = body.optional_string(field)? else {
            return Ok(None);
        };
        check_len(field, code, MAX_CODE_CHARS)?;
        Ok(Some(Self(code.trim())))
    }

    /// The code in the required `field`.
    pub fn named(body: &'a JsonObject, field: &'static str) -> Result<Self, ApiError> {
        Self::optional(body, field)?.ok_or(ApiError::MissingField(field))
    }
}

/// The longest WebAuthn credential taken, as JSON: a browser's with an attestation statement
/// and its certificate chain stays well under it.
pub const MAX_CREDENTIAL_CHARS: usize = 16 * 1024;

/// A browser's WebAuthn credential (`PublicKeyCredential`, as its `toJSON()` gives it): an
/// object with a string `id` and `type` `public-key`, at most [`MAX_CREDENTIAL_CHARS`] as
/// JSON. Cognito checks the rest. `Debug` shows only its id.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    json: serde_json::Value,
    text: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential").finish_non_exhaustive()
    }
}

impl Credential {
    /// The credential in `field`.
    pub fn from_body(body: &JsonObject, field: &'static str) -> Result<Self, ApiError> {
        let value = body.get(field).ok_or(ApiError::MissingField(field))?;
        let invalid = |reason: &str| ApiError::InvalidField {
            field,
            reason: reason.to_owned(),
        };
        let serde_json::Value::Object(map) = value else {
            return Err(invalid(
                "must be the browser's PublicKeyCredential as a JSON object",
            ));
        };
        if !map.get("id").is_some_and(serde_json::Value::is_string)
            || map.get("type").and_then(serde_json::Value::as_str) != Some("public-key")
            || !map
                .get("response")
                .is_some_and(serde_json::Value::is_object)
        {
            return Err(invalid(
                "must have a string `id`, `type` \"public-key\" and a `response` object",
            ));
        }
        let text = value.to_string();
        check_len(field, &text, MAX_CREDENTIAL_CHARS)?;
        Ok(Self {
            json: value.clone(),
            text,
        })
    }

    pub fn json(&self) -> &serde_json::Value {
        &self.json
    }

    /// As JSON text, as a challenge's answer carries it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// An e-mail address, trimmed and lower-cased ([`Email::parse`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);
text!(Email, secret: false);

impl Email {
    /// One `@` between a local part and a domain, no white space or control characters, at
    /// most [`MAX_EMAIL_CHARS`].
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        email(raw).map(Self)
    }
}

/// A refresh token, opaque to us: trimmed, and bounded before it is passed on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RefreshToken<'a>(&'a str);
text!(RefreshToken<'a>, secret: true);

impl<'a> RefreshToken<'a> {
    /// The body's `refresh_token`.
    pub fn from_body(body: &'a JsonObject) -> Result<Self, ApiError> {
        Self::optional(body)?.ok_or(ApiError::MissingField("refresh_token"))
    }

    /// The body's `refresh_token`, when it has one.
    pub fn optional(body: &'a JsonObject) -> Result<Option<Self>, ApiError> {
        let Some(token) = body.optional_string("refresh_token")? else {
            return Ok(None);
        };
        let token = token.trim();
        check_len("refresh_token", token, MAX_REFRESH_TOKEN_CHARS)?;
        Ok(Some(Self(token)))
    }
}

/// The one spelling of a user name, so that names that render alike are one account (the pool
/// is case-insensitive, and one spelling also keeps the SECRET_HASH right):
///
/// - trimmed, then NFKC-normalised and fully case-folded (`ＡＤＭＩＮ`, `Admin` and `admin` are
///   one name, and so are `STRASSE` and `straße`);
/// - 1–128 characters, with no white space, control, invisible or default-ignorable characters
///   (zero-width joiners, variation selectors, the Hangul filler, the blank Braille pattern);
/// - outside ASCII, only the letters, marks and digits UTS #39 allows in identifiers;
/// - not dotless `ı` or `ȷ`, and no combining mark on an ASCII letter (`i̇`): they render like
///   `i` and `j`;
/// - one script, or one of the combinations Japanese, Chinese and Korean names use with Latin
///   (UTS #39 "highly restrictive"): `аdmin` with a Cyrillic `а` is refused.
fn normalize_username(raw: &str) -> Result<String, ApiError> {
    let invalid = |reason: &str| ApiError::InvalidField {
        field: "username",
        reason: reason.to_owned(),
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(ApiError::EmptyField("username"));
    }
    let nfkc: String = raw.nfkc().collect();
    let name: String = caseless::default_case_fold_str(&nfkc).nfkc().collect();
    if name.chars().count() > MAX_USERNAME_CHARS {
        return Err(invalid("must be at most 128 characters"));
    }
    let invisible = |c: char| c.is_whitespace() || c.is_control() || is_invisible_format(c);
    if raw.chars().chain(name.chars()).any(invisible) {
        return Err(invalid(
            "must not contain white space, control or invisible characters",
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_graphic() || c.identifier_allowed())
    {
        return Err(invalid(
            "may contain, outside ASCII, only letters, marks and digits: no symbols, invisible or default-ignorable characters",
        ));
    }
    let mut previous = ' ';
    for c in name.chars() {
        if matches!(c, '\u{0131}' | '\u{0237}')
            || (previous.is_ascii_alphabetic() && is_combining_mark(c))
        {
            return Err(invalid(
                "must not contain letters that render like another (a dotless i or j, or an accent on i or j)",
            ));
        }
        previous = c;
    }
    // ASCII punctuation (`@`, `.`, `+`) belongs to every script, but not to identifiers.
    let letters: String = name.chars().filter(|c| !c.is_ascii_punctuation()).collect();
    if letters.as_str().detect_restriction_level() > RestrictionLevel::HighlyRestrictive {
        return Err(invalid(
            "must not mix scripts, such as Latin and Cyrillic letters",
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

/// An e-mail address, trimmed and lower-cased: one `@` between a local part and a domain, no
/// white space or control characters, at most [`MAX_EMAIL_CHARS`].
/// A character an address may hold: printable ASCII, or one Unicode allows in identifiers
/// (UTS #39's General Security Profile). That leaves out white space, control characters and
/// every invisible or direction-changing one (U+200B ZERO WIDTH SPACE, U+202E RIGHT-TO-LEFT
/// OVERRIDE, U+2066..U+2069 isolates, U+FEFF), which would mail one address while showing
/// another.
fn visible(c: char) -> bool {
    c.is_ascii_graphic() || (!c.is_ascii() && c.identifier_allowed())
}

fn email(raw: &str) -> Result<String, ApiError> {
    let email = raw.trim().to_lowercase();
    check_len("email", &email, MAX_EMAIL_CHARS)?;
    let well_formed = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && email.chars().all(visible)
        }
        None => false,
    };
    if !well_formed {
        return Err(ApiError::InvalidField {
            field: "email",
            reason: "must be an e-mail address".into(),
        });
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_with_invisible_or_direction_changing_characters_are_refused() {
        for hidden in [
            '\u{200b}', '\u{200d}', '\u{202e}', '\u{2066}', '\u{feff}', '\u{00ad}',
        ] {
            let raw = format!("ali{hidden}ce@example.com");
            assert_eq!(
                Email::parse(&raw).unwrap_err().code(),
                "invalid_field",
                "{hidden:?}"
            );
        }
        assert_eq!(
            &*Email::parse("Alice+tag@Example.com").unwrap(),
            "alice+tag@example.com"
        );
        assert_eq!(
            &*Email::parse("jörg@bücher.example").unwrap(),
            "jörg@bücher.example"
        );
    }

    #[test]
    fn usernames_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalize_username("  Alice@Example.COM ").unwrap(),
            "alice@example.com"
        );
        assert_eq!(normalize_username("ÄNNE").unwrap(), "änne");
    }

    #[test]
    fn names_that_render_alike_are_one_name() {
        for (variant, canonical) in [
            ("ＡＤＭＩＮ", "admin"),
            ("Admin", "admin"),
            ("STRASSE", "strasse"),
            ("Straße", "strasse"),
            ("ﬁle", "file"),
            ("n\u{0303}o", "ño"),
            ("ǅemo", "džemo"),
            ("Alice@Example.COM", "alice@example.com"),
        ] {
            assert_eq!(
                normalize_username(variant).unwrap(),
                canonical,
                "{variant:?}"
            );
        }
    }

    #[test]
    fn names_of_one_script_or_a_cjk_combination_are_accepted() {
        for name in [
            "jürgen",
            "用户",
            "ひらがな漢字カタカナ",
            "한국어",
            "tanaka太郎",
            "élodie.müller@exämple.de",
            "дмитрий",
        ] {
            assert!(normalize_username(name).is_ok(), "{name:?}");
        }
    }

    #[test]
    fn look_alike_invisible_and_mixed_script_names_are_refused() {
        for bad in [
            "\u{0430}dmin",         // Cyrillic а among Latin letters
            "p\u{0430}ypal",        // the same, inside
            "adm\u{0131}n",         // dotless i
            "adm\u{0130}n",         // capital I with a dot: folds to i + a combining dot
            "a\u{034F}dmin",        // combining grapheme joiner
            "admin\u{FE0F}",        // variation selector
            "ad\u{3164}min",        // Hangul filler
            "ad\u{2800}min",        // blank Braille pattern
            "adm\u{0131}\u{0307}n", // dotless i with a dot
            "admin\u{2713}",        // a symbol
            "\u{03B1}lpha",         // Greek alpha among Latin letters
        ] {
            let err = normalize_username(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_field", "{bad:?}");
        }
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

    fn body(json: &str) -> JsonObject {
        JsonObject::from_body(&lambda_http::Body::from(json)).unwrap()
    }

    #[test]
    fn each_input_is_parsed_once_against_its_bound() {
        let long = "x".repeat(MAX_REFRESH_TOKEN_CHARS + 1);
        let b = body(&format!(
            r#"{{"username":" Alice ","password":" p w ","code":" 123456 ","refresh_token":"{long}"}}"#
        ));
        assert_eq!(&*Username::from_body(&b, "username").unwrap(), "alice");
        assert_eq!(&*Password::from_body(&b, "password").unwrap(), " p w ");
        assert_eq!(&*Code::from_body(&b).unwrap(), "123456");
        assert_eq!(
            RefreshToken::from_body(&b).unwrap_err().code(),
            "invalid_field"
        );
        assert_eq!(
            Code::named(&b, "recovery_code").unwrap_err().code(),
            "missing_field"
        );
        let too_long = body(&format!(r#"{{"password":"{}"}}"#, "p".repeat(257)));
        assert_eq!(
            Password::from_body(&too_long, "password")
                .unwrap_err()
                .code(),
            "invalid_field"
        );
        assert_eq!(&*Email::parse(" A@B.example ").unwrap(), "a@b.example");
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let b = body(r#"{"password":"hunter2","code":"654321","refresh_token":"rt-secret"}"#);
        let shown = format!(
            "{:?} {:?} {:?}",
            Password::from_body(&b, "password").unwrap(),
            Code::from_body(&b).unwrap(),
            RefreshToken::from_body(&b).unwrap()
        );
        for secret in ["hunter2", "654321", "rt-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let name = Username::parse("alice").unwrap();
        assert!(format!("{name:?}").contains("alice"));
    }
}
