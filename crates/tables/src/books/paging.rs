//! `GET /books` paging: `limit` and the opaque `next_token`.
//!
//! A token is the base64url text of a small JSON object naming the last book of the page (its
//! `id` and `created_at`). The index partition it resumes in is not in the token: it comes from
//! the query (`catalog` or the `category` filter), so a token cannot point a query at another
//! partition or at attributes of its own choosing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use platform::ApiError;
use serde::{Deserialize, Serialize};

pub const DEFAULT_LIMIT: u8 = 20;
pub const MAX_LIMIT: u8 = 100;
/// Longer than any token this API hands out.
const MAX_TOKEN_CHARS: usize = 512;

/// Where the next page starts: just after this book, in the index's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageKey {
    pub id: String,
    pub created_at: String,
}

impl PageKey {
    pub fn encode(&self) -> Result<String, ApiError> {
        serde_json::to_vec(self)
            .map(|json| URL_SAFE_NO_PAD.encode(json))
            .map_err(|e| ApiError::internal(format_args!("a page key: {e}")))
    }

    /// Any token this API did not hand out is `invalid_query`.
    pub fn decode(token: &str) -> Result<Self, ApiError> {
        let invalid = || ApiError::InvalidQuery {
            param: "next_token",
            reason: "is not a token this API returned".into(),
        };
        if token.len() > MAX_TOKEN_CHARS {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token.trim_end_matches('='))
            .map_err(|_| invalid())?;
        let key: Self = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if !super::book::is_valid_id(&key.id)
            || key.created_at.is_empty()
            || key.created_at.len() > 40
        {
            return Err(invalid());
        }
        Ok(key)
    }
}

/// A page size: 1–100, default 20.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u8);

impl Limit {
    /// The `limit` query parameter; absent is the default.
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let Some(raw) = raw else {
            return Ok(Self(DEFAULT_LIMIT));
        };
        raw.trim()
            .parse::<u8>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .map(Self)
            .ok_or_else(|| ApiError::InvalidQuery {
                param: "limit",
                reason: format!("must be a whole number from 1 to {MAX_LIMIT}"),
            })
    }

    pub fn get(self) -> usize {
        usize::from(self.0)
    }

    /// The number of items to read: one more than the page holds, to learn whether there is
    /// another page.
    pub fn with_lookahead(self) -> i32 {
        i32::from(self.0) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_key_survives_the_round_trip_through_its_token() {
        let key = PageKey {
            id: "3f0c8d8e-5a53-4c1e-9d0b-0d7b2f1f9a11".into(),
            created_at: "2026-11-21T10:15:30.123Z".into(),
        };
        let token = key.encode().unwrap();
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(PageKey::decode(&token).unwrap(), key);
    }

    #[test]
    fn a_malformed_token_is_invalid_query() {
        let foreign = URL_SAFE_NO_PAD.encode(br#"{"id":"a","created_at":"b","catalog":"x"}"#);
        let bad_id = URL_SAFE_NO_PAD.encode(br#"{"id":"../x","created_at":"b"}"#);
        let not_object = URL_SAFE_NO_PAD.encode(b"[1,2]");
        for token in [
            "",
            "!!!",
            "bm90IGpzb24",
            &foreign,
            &bad_id,
            &not_object,
            &"A".repeat(600),
        ] {
            let err = PageKey::decode(token).unwrap_err();
            assert_eq!(err.code(), "invalid_query", "{token}");
        }
    }

    #[test]
    fn limit_is_1_to_100_and_defaults_to_20() {
        assert_eq!(Limit::parse(None).unwrap().get(), 20);
        assert_eq!(Limit::parse(Some("1")).unwrap().get(), 1);
        assert_eq!(Limit::parse(Some("100")).unwrap().get(), 100);
        assert_eq!(Limit::parse(Some("100")).unwrap().with_lookahead(), 101);
        for bad in [
            "0",
            "101",
            "-1",
            "ten",
            "",
            "2.5",
            "99999999999999999999999",
        ] {
            assert_eq!(
                Limit::parse(Some(bad)).unwrap_err().code(),
                "invalid_query",
                "{bad}"
            );
        }
    }
}
