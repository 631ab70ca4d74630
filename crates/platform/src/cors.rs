//! The one CORS configuration: the headers every answer of ours carries.

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue, VARY};

/// Methods a browser may use, as the stack's CORS preflight announces them.
pub const ALLOW_METHODS: &str = "OPTIONS,GET,POST,PUT,PATCH,DELETE";
/// Request headers a browser may send, as the stack's CORS preflight announces them.
/// `X-Aws-Waf-Token` carries the firewall's token from AWS WAF's JavaScript integration, which
/// a page on another origin cannot send as a cookie; the sign-up protection
/// (`SignUpProtection=ACFP`) judges `/register` by it.
pub const ALLOW_HEADERS: &str =
    "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,X-Aws-Waf-Token";

const ACAO: HeaderName = HeaderName::from_static("access-control-allow-origin");
const ACAM: HeaderName = HeaderName::from_static("access-control-allow-methods");
const ACAH: HeaderName = HeaderName::from_static("access-control-allow-headers");

/// The allowed origin, read once at start-up (`ALLOWED_ORIGIN`).
#[derive(Debug, Clone)]
pub struct Cors {
    origin: HeaderValue,
}

impl Default for Cors {
    fn default() -> Self {
        Self {
            origin: HeaderValue::from_static("*"),
        }
    }
}

impl Cors {
    /// `origin` is the single allowed origin (`https://app.example.com`) or `*`; blank means `*`.
    pub fn new(origin: &str) -> Result<Self, InvalidOrigin> {
        let origin = origin.trim();
        if origin.is_empty() {
            return Ok(Self::default());
        }
        HeaderValue::from_str(origin)
            .map(|origin| Self { origin })
            .map_err(|_| InvalidOrigin(origin.to_owned()))
    }

    /// Adds the CORS headers to `headers`.
    pub fn apply(&self, headers: &mut HeaderMap) {
        headers.insert(ACAO, self.origin.clone());
        headers.insert(ACAM, HeaderValue::from_static(ALLOW_METHODS));
        headers.insert(ACAH, HeaderValue::from_static(ALLOW_HEADERS));
        if self.origin != "*" {
            // The answer depends on the configured origin, not on the request: caches may share
            // it, but a browser on another origin must not be told it is allowed.
            headers.insert(VARY, HeaderValue::from_static("Origin"));
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("ALLOWED_ORIGIN {0:?} is not a valid header value")]
pub struct InvalidOrigin(String);

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cors: &Cors) -> HeaderMap {
        let mut h = HeaderMap::new();
        cors.apply(&mut h);
        h
    }

    #[test]
    fn any_origin_is_announced_with_the_preflights_methods_and_headers() {
        let h = headers(&Cors::default());
        assert_eq!(h["access-control-allow-origin"], "*");
        assert_eq!(h["access-control-allow-methods"], ALLOW_METHODS);
        assert_eq!(h["access-control-allow-headers"], ALLOW_HEADERS);
        assert!(!h.contains_key("vary"));
    }

    #[test]
    fn a_configured_origin_is_sent_as_is_and_varies_on_origin() {
        let h = headers(&Cors::new("https://app.example.com").unwrap());
        assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
        assert_eq!(h["vary"], "Origin");
    }

    #[test]
    fn an_empty_origin_means_any_origin_and_a_bad_one_is_refused() {
        assert_eq!(
            headers(&Cors::new("  ").unwrap())["access-control-allow-origin"],
            "*"
        );
        assert!(Cors::new("bad\norigin").is_err());
    }
}
