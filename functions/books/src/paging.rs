//! `GET /books` paging: `limit` and the opaque `next_token`.
//!
//! A token is the base64url text of a small JSON object naming the last book of the page (its
//! `id` and `created_at`). The index partition it resumes in is not in the token: it comes from
//! the query (`catalog` or the `category` filter), so a token cannot point a query at another
//! partition or at attributes of its own choosing.

use auth::ApiError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;
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
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("a page key serialises"))
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
        if !crate::book::is_valid_id(&key.id)
            || key.created_at.is_empty()
            || key.created_at.len() > 40
        {
            return Err(invalid());
        }
        Ok(key)
    }
}

/// `limit`: 1–100, default 20.
pub fn parse_limit(raw: Option<&str>) -> Result<usize, ApiError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    raw.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| ApiError::InvalidQuery {
            param: "limit",
            reason: format!("must be a whole number from 1 to {MAX_LIMIT}"),
        })
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
        let token = key.encode();
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
        assert_eq!(parse_limit(None).unwrap(), 20);
        assert_eq!(parse_limit(Some("1")).unwrap(), 1);
        assert_eq!(parse_limit(Some("100")).unwrap(), 100);
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
                parse_limit(Some(bad)).unwrap_err().code(),
                "invalid_query",
                "{bad}"
            );
        }
    }
}
