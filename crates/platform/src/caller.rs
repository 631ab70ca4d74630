//! Who is calling, and from where. The boundary ([`crate::Api::serve`]) reads the Cognito
//! authorizer's claims once, as API Gateway REST passes them in
//! `requestContext.authorizer.claims` (every value a string), together with the bearer token
//! the authorizer accepted, and hands the [`Caller`] to the handler in the request's
//! extensions. Handlers take it with [`Caller::of`]; none parses a token or a claim again.

use std::fmt;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::{Map, Value};

use crate::ApiError;
use crate::request::bearer_token;

/// The longest token passed on to Cognito; Cognito's own are far shorter.
pub const MAX_TOKEN_CHARS: usize = 8192;

/// The caller of a protected route: the claims of the token the authorizer accepted.
#[derive(Clone)]
pub struct Caller {
    sub: String,
    username: Option<String>,
    groups: Vec<String>,
    token_use: Option<String>,
    origin_jti: Option<String>,
    auth_time: Option<u64>,
    /// When the session signed in, as the revocation check found it recorded.
    signed_in_at: Option<u64>,
    /// The app client the token was issued to: an id token's `aud`, an access token's
    /// `client_id`.
    client_id: Option<String>,
    claims: Map<String, Value>,
    /// The `Authorization` token itself, when there is exactly one within bounds.
    token: Option<String>,
}

impl fmt::Debug for Caller {
    /// Never the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caller")
            .field("sub", &self.sub)
            .field("username", &self.username)
            .field("groups", &self.groups)
            .field("token_use", &self.token_use)
            .finish_non_exhaustive()
    }
}

impl Caller {
    /// Reads the claims of `req`: what the boundary does once per request. No claims, or no
    /// `sub`, means the route was deployed without its authorizer: that is a 401, never a
    /// panic and never an anonymous caller.
    pub fn parse(req: &Request) -> Result<Self, ApiError> {
        let claims = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV1(ctx)) => ctx.authorizer.fields.get("claims"),
            _ => None,
        };
        let claims = claims
            .and_then(Value::as_object)
            .ok_or(ApiError::Unauthorized)?;
        let text = |name: &str| string_claim(claims, name).map(str::to_owned);
        let sub = text("sub").ok_or(ApiError::Unauthorized)?;
        let token_use = text("token_use");
        let client_id = match token_use.as_deref() {
            Some("access") => text("client_id"),
            Some("id") => text("aud"),
            _ => None,
        };
        Ok(Self {
            sub,
            // An access token names the user `username`, an id token `cognito:username`.
            username: text("username").or_else(|| text("cognito:username")),
            groups: claims
                .get("cognito:groups")
                .map(groups_of)
                .unwrap_or_default(),
            token_use,
            client_id,
            origin_jti: text("origin_jti"),
            auth_time: text("auth_time").and_then(|t| t.parse().ok()),
            signed_in_at: None,
            claims: claims.clone(),
            token: bearer_token(req)
                .filter(|token| token.len() <= MAX_TOKEN_CHARS)
                .map(str::to_owned),
        })
    }

    /// The caller the boundary read for this request; 401 on a route without the authorizer.
    pub fn of(req: &Request) -> Result<&Self, ApiError> {
        req.extensions().get::<Self>().ok_or(ApiError::Unauthorized)
    }

    /// The `sub` claim: the user's stable id.
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// The internal user name (the access token's `username`, the id token's
    /// `cognito:username`), which Cognito's calls by name take.
    pub fn username(&self) -> Result<&str, ApiError> {
        self.username.as_deref().ok_or(ApiError::Unauthorized)
    }

    /// The caller's Cognito groups (`cognito:groups`).
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// Whether the caller is in `group`, by its exact name.
    pub fn is_in(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// `id` or `access`.
    pub fn token_use(&self) -> Option<&str> {
        self.token_use.as_deref()
    }

    /// The session the token belongs to (`origin_jti`), shared by every token a sign-in and
    /// its refreshes issued.
    pub fn origin_jti(&self) -> Option<&str> {
        self.origin_jti.as_deref()
    }

    /// The app client the token was issued to (an id token's `aud`, an access token's
    /// `client_id`); `None` for a token that names neither as its use says it should.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// When the session signed in (`auth_time`, seconds since the epoch).
    pub fn auth_time(&self) -> Option<u64> {
        self.auth_time
    }

    /// When the session signed in: as the API recorded it at the sign-in, where the check
    /// found the record, else the token's `auth_time` (which Cognito keeps across refreshes).
    pub fn signed_in_at(&self) -> Option<u64> {
        self.signed_in_at.or(self.auth_time)
    }

    /// This caller, with what the revocation check knows of its session.
    pub fn in_session(mut self, live: crate::api::LiveSession) -> Self {
        self.signed_in_at = live.signed_in_at;
        self
    }

    /// Another claim (a profile attribute of the id token), as a trimmed, non-empty string.
    pub fn claim(&self, name: &str) -> Option<&str> {
        string_claim(&self.claims, name)
    }

    /// A claim API Gateway passes as `"true"` / `"false"`.
    pub fn flag(&self, name: &str) -> Option<bool> {
        match self.claims.get(name)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The access token of a route behind the authorizer with scopes, to pass on to Cognito.
    /// Missing, repeated or over-long is `401 unauthorized`: with two `Authorization` values
    /// the authorizer checked one of them, and acting on another would act on a token nobody
    /// checked.
    pub fn access_token(&self) -> Result<&str, ApiError> {
        self.token.as_deref().ok_or(ApiError::Unauthorized)
    }
}

fn string_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The group names in a `cognito:groups` claim. API Gateway REST passes it as one string,
/// comma- or space-separated, sometimes bracketed (`"[admin editors]"`); a JSON array (as other
/// front ends send it) is accepted too.
fn groups_of(claim: &Value) -> Vec<String> {
    let names: Vec<&str> = match claim {
        Value::String(s) => s
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(|c: char| c == ',' || c.is_whitespace())
            .map(|g| g.trim_matches('"'))
            .filter(|g| !g.is_empty())
            .collect(),
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    names.into_iter().map(str::to_owned).collect()
}

/// Where a request comes from, as Cognito's threat protection and lockouts want to know it:
/// the client's IP address and user agent as API Gateway saw them, rather than the Lambda
/// function's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientContext {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientContext {
    /// From API Gateway's request context (`identity.sourceIp`, `identity.userAgent`).
    pub fn of(req: &Request) -> Self {
        let identity = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV1(ctx)) => Some(&ctx.identity),
            _ => None,
        };
        let given = |v: Option<&String>| v.filter(|s| !s.is_empty()).cloned();
        Self {
            ip: given(identity.and_then(|i| i.source_ip.as_ref())),
            user_agent: given(identity.and_then(|i| i.user_agent.as_ref())),
        }
    }

    /// The device, readable, as the User-Agent names it: "Firefox on Linux", "Safari on iPhone",
    /// "HTTP Library" (curl); `None` without a User-Agent, or one no pattern knows.
    pub fn device(&self) -> Option<String> {
        device_of(self.user_agent.as_deref()?)
    }
}

/// The longest User-Agent read: real ones are a few hundred characters.
const MAX_USER_AGENT_CHARS: usize = 1024;

fn device_of(user_agent: &str) -> Option<String> {
    if user_agent.len() > MAX_USER_AGENT_CHARS {
        return None;
    }
    let parsed = woothee::parser::Parser::new().parse(user_agent)?;
    let known = |s: &str| !s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN;
    let (browser, os) = (parsed.name, parsed.os);
    match (known(browser), known(os)) {
        (true, true) => Some(format!("{browser} on {os}")),
        (true, false) => Some(browser.to_owned()),
        (false, true) => Some(os.to_owned()),
        (false, false) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_device_is_read_from_the_user_agent_by_browser_and_system() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(device_of(firefox).as_deref(), Some("Firefox on Linux"));
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(device_of(iphone).as_deref(), Some("Safari on iPhone"));
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like \
                      Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(device_of(chrome).as_deref(), Some("Chrome on Windows 10"));
        assert_eq!(device_of("curl/8.5.0").as_deref(), Some("HTTP Library"));
        assert_eq!(device_of("zzz"), None);
        assert_eq!(device_of(&"a".repeat(5000)), None);
        let context = ClientContext {
            ip: None,
            user_agent: None,
        };
        assert_eq!(context.device(), None);
    }

    fn groups(claim: Value) -> Vec<String> {
        groups_of(&claim)
    }

    fn request(claims: Value, authorization: &[&str]) -> Request {
        let event = json!({
            "path": "/me", "httpMethod": "GET", "resource": "/me",
            "headers": {},
            "multiValueHeaders": {"Authorization": authorization},
            "requestContext": {"httpMethod": "GET", "requestId": "r", "stage": "Prod",
                "accountId": "1", "apiId": "a", "resourcePath": "/me",
                "identity": {"sourceIp": "203.0.113.7", "userAgent": "curl/8"},
                "authorizer": {"claims": claims}},
            "body": null, "isBase64Encoded": false,
        });
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[test]
    fn groups_are_read_in_every_shape_api_gateway_sends() {
        let both = vec!["admin".to_owned(), "editors".to_owned()];
        assert_eq!(groups(json!("admin,editors")), both);
        assert_eq!(groups(json!("admin editors")), both);
        assert_eq!(groups(json!("[admin editors]")), both);
        assert_eq!(groups(json!("[admin, editors]")), both);
        assert_eq!(groups(json!(["admin", "editors"])), both);
        assert_eq!(groups(json!("")), Vec::<String>::new());
        assert_eq!(groups(json!(42)), Vec::<String>::new());
    }

    #[test]
    fn a_group_named_like_admin_is_not_admin() {
        let caller = Caller::parse(&request(
            json!({"sub": "s", "cognito:groups": "administrators,notadmin"}),
            &[],
        ))
        .unwrap();
        assert!(!caller.is_in("admin"));
    }

    #[test]
    fn the_caller_is_read_from_an_access_tokens_or_an_id_tokens_claims() {
        let access = Caller::parse(&request(
            json!({"sub": "s", "username": "u-1", "token_use": "access",
                   "origin_jti": "j", "auth_time": "1700000000"}),
            &["Bearer tok"],
        ))
        .unwrap();
        assert_eq!(access.username().unwrap(), "u-1");
        assert_eq!(access.token_use(), Some("access"));
        assert_eq!(access.origin_jti(), Some("j"));
        assert_eq!(access.auth_time(), Some(1_700_000_000));
        assert_eq!(access.access_token().unwrap(), "tok");
        assert_eq!(
            access.client_id(),
            None,
            "an access token without client_id"
        );
        let id = Caller::parse(&request(
            json!({"sub": "s", "cognito:username": "u-2", "email_verified": "true"}),
            &[],
        ))
        .unwrap();
        assert_eq!(id.username().unwrap(), "u-2");
        assert_eq!(id.flag("email_verified"), Some(true));
        assert_eq!(id.access_token().unwrap_err().code(), "unauthorized");
    }

    #[test]
    fn no_claims_or_no_sub_is_unauthorized_and_two_tokens_are_none() {
        assert!(Caller::parse(&request(json!({"username": "u"}), &[])).is_err());
        let two = Caller::parse(&request(json!({"sub": "s"}), &["Bearer a", "Bearer b"]));
        assert!(two.unwrap().access_token().is_err());
        let long = "a".repeat(MAX_TOKEN_CHARS + 1);
        let long = Caller::parse(&request(json!({"sub": "s"}), &[&long]));
        assert!(long.unwrap().access_token().is_err());
    }

    #[test]
    fn the_client_is_the_access_tokens_client_id_or_the_id_tokens_aud_and_never_the_other() {
        let claims = |token_use: &str| {
            json!({"sub": "s", "token_use": token_use, "client_id": "from-client-id",
                   "aud": "from-aud"})
        };
        let access = Caller::parse(&request(claims("access"), &[])).unwrap();
        assert_eq!(access.client_id(), Some("from-client-id"));
        let id = Caller::parse(&request(claims("id"), &[])).unwrap();
        assert_eq!(id.client_id(), Some("from-aud"));
        let neither = Caller::parse(&request(claims("refresh"), &[])).unwrap();
        assert_eq!(neither.client_id(), None);
    }

    #[test]
    fn the_token_never_shows_in_debug() {
        let caller = Caller::parse(&request(json!({"sub": "s"}), &["Bearer secret-token"]));
        assert!(!format!("{:?}", caller.unwrap()).contains("secret-token"));
    }

    #[test]
    fn flags_are_read_from_strings_or_booleans() {
        let c = Caller::parse(&request(
            json!({"sub": "s", "a": "true", "b": false, "c": "yes"}),
            &[],
        ))
        .unwrap();
        assert_eq!(c.flag("a"), Some(true));
        assert_eq!(c.flag("b"), Some(false));
        assert_eq!(c.flag("c"), None);
        assert_eq!(c.flag("absent"), None);
    }

    #[test]
    fn the_client_context_is_the_ip_and_user_agent_api_gateway_saw() {
        let ctx = ClientContext::of(&request(json!({"sub": "s"}), &[]));
        assert_eq!(ctx.ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(ctx.user_agent.as_deref(), Some("curl/8"));
    }
}
