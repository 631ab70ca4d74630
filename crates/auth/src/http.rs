//! The one response builder: every answer, success or failure, is JSON with the CORS headers.

use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use http::{HeaderMap, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::ApiError;

/// Methods a browser may use, as the stack's CORS preflight announces them.
pub const ALLOW_METHODS: &str = "OPTIONS,GET,POST,PUT,DELETE";
/// Request headers a browser may send, as the stack's CORS preflight announces them.
pub const ALLOW_HEADERS: &str =
    "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token";

const ACAO: HeaderName = HeaderName::from_static("access-control-allow-origin");
const ACAM: HeaderName = HeaderName::from_static("access-control-allow-methods");
const ACAH: HeaderName = HeaderName::from_static("access-control-allow-headers");

/// The CORS configuration, read once at start-up. It also builds every response.
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
    /// `origin` is the single allowed origin (`https://app.example.com`) or `*`.
    pub fn new(origin: &str) -> Result<Self, InvalidOrigin> {
        let origin = origin.trim();
        if origin.is_empty() {
            return Ok(Self::default());
        }
        HeaderValue::from_str(origin)
            .map(|origin| Self { origin })
            .map_err(|_| InvalidOrigin(origin.to_owned()))
    }

    /// Reads `ALLOWED_ORIGIN` (default `*`).
    pub fn from_env() -> Result<Self, InvalidOrigin> {
        Self::new(&std::env::var("ALLOWED_ORIGIN").unwrap_or_default())
    }

    pub fn allowed_origin(&self) -> &str {
        self.origin.to_str().unwrap_or("*")
    }

    /// Adds the CORS headers to `headers`.
    pub fn apply(&self, headers: &mut HeaderMap) {
        headers.insert(ACAO, self.origin.clone());
        headers.insert(ACAM, HeaderValue::from_static(ALLOW_METHODS));
        headers.insert(ACAH, HeaderValue::from_static(ALLOW_HEADERS));
        if self.origin != "*" {
            // The answer depends on the configured origin, not on the request: caches may share
            // it, but a browser on another origin must not be told it is allowed.
            headers.insert(http::header::VARY, HeaderValue::from_static("Origin"));
        }
    }

    /// A JSON response with the CORS headers.
    pub fn json<T: Serialize + ?Sized>(&self, status: StatusCode, body: &T) -> Response<Body> {
        let body = serde_json::to_vec(body).expect("response bodies serialise to JSON");
        self.build(status, Body::from(body))
    }

    /// A response with no body (204), still with the CORS headers.
    pub fn no_content(&self) -> Response<Body> {
        let mut res = Response::new(Body::Empty);
        *res.status_mut() = StatusCode::NO_CONTENT;
        self.apply(res.headers_mut());
        res
    }

    /// Our JSON error shape: `{"error":{"code","message"},"request_id"}`.
    pub fn error(&self, err: &ApiError, request_id: &str) -> Response<Body> {
        let body = serde_json::json!({
            "error": { "code": err.code(), "message": err.to_string() },
            "request_id": request_id,
        });
        let mut res = self.json(err.status(), &body);
        if let Some(secs) = err.retry_after() {
            res.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }

    fn build(&self, status: StatusCode, body: Body) -> Response<Body> {
        let mut res = Response::new(body);
        *res.status_mut() = status;
        res.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self.apply(res.headers_mut());
        res
    }
}

#[derive(Debug, thiserror::Error)]
#[error("ALLOWED_ORIGIN {0:?} is not a valid header value")]
pub struct InvalidOrigin(String);

/// The token in an `Authorization` header value: `Bearer <token>` or the raw token, as the
/// Cognito authorizer accepts both.
pub fn bearer(header: &str) -> Option<&str> {
    let header = header.trim();
    let token = match header.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None if header.eq_ignore_ascii_case("bearer") => return None,
        None => header,
    };
    (!token.is_empty()).then_some(token)
}

/// The token of the request's `Authorization` header: on a route with `AuthorizationScopes`,
/// the access token the authorizer just accepted.
pub fn bearer_token(req: &Request) -> Option<&str> {
    req.headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
}

/// What the logs and error bodies say about a request: its id and route. Never its body.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
    pub method: String,
    pub resource: String,
}

impl RequestMeta {
    pub fn of(req: &Request) -> Self {
        let (api_request_id, resource) = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV1(ctx)) => {
                (ctx.request_id.clone(), ctx.resource_path.clone())
            }
            _ => (None, None),
        };
        let request_id = api_request_id
            .or_else(|| req.lambda_context_ref().map(|c| c.request_id.clone()))
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| "-".to_owned());
        Self {
            request_id,
            method: req.method().to_string(),
            resource: resource.unwrap_or_else(|| req.uri().path().to_owned()),
        }
    }
}

/// Turns a handler's outcome into the response, and logs the outcome: `info!` for success,
/// `warn!` for 4xx, `error!` for 5xx. Only the route, status, code and request id are logged.
pub fn respond(
    cors: &Cors,
    meta: &RequestMeta,
    outcome: Result<Response<Body>, ApiError>,
) -> Response<Body> {
    match outcome {
        Ok(res) => {
            tracing::info!(
                request_id = %meta.request_id,
                method = %meta.method,
                route = %meta.resource,
                status = res.status().as_u16(),
                "request succeeded"
            );
            res
        }
        Err(err) => {
            let status = err.status().as_u16();
            if err.is_server_error() {
                tracing::error!(request_id = %meta.request_id, method = %meta.method,
                    route = %meta.resource, status, code = err.code(), "request failed");
            } else {
                tracing::warn!(request_id = %meta.request_id, method = %meta.method,
                    route = %meta.resource, status, code = err.code(), "request refused");
            }
            cors.error(&err, &meta.request_id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(res: &'a Response<Body>, name: &str) -> &'a str {
        res.headers()[name].to_str().unwrap()
    }

    #[test]
    fn every_json_response_carries_content_type_and_cors() {
        let res = Cors::default().json(StatusCode::OK, &serde_json::json!({"ok": true}));
        assert_eq!(header(&res, "content-type"), "application/json");
        assert_eq!(header(&res, "access-control-allow-origin"), "*");
        assert_eq!(header(&res, "access-control-allow-methods"), ALLOW_METHODS);
        assert_eq!(header(&res, "access-control-allow-headers"), ALLOW_HEADERS);
    }

    #[test]
    fn a_configured_origin_is_sent_as_is_and_varies_on_origin() {
        let cors = Cors::new("https://app.example.com").unwrap();
        let res = cors.json(StatusCode::OK, &1);
        assert_eq!(
            header(&res, "access-control-allow-origin"),
            "https://app.example.com"
        );
        assert_eq!(header(&res, "vary"), "Origin");
    }

    #[test]
    fn an_empty_origin_means_any_origin() {
        assert_eq!(Cors::new("  ").unwrap().allowed_origin(), "*");
        assert!(Cors::new("bad\norigin").is_err());
    }

    #[test]
    fn errors_have_the_one_json_shape_with_cors_and_retry_after() {
        let res = Cors::default().error(&ApiError::TooManyRequests { retry_after: 3 }, "req-1");
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header(&res, "retry-after"), "3");
        assert_eq!(header(&res, "access-control-allow-origin"), "*");
        let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(body["error"]["code"], "too_many_requests");
        assert!(body["error"]["message"].is_string());
        assert_eq!(body["request_id"], "req-1");
    }

    #[test]
    fn bearer_or_raw_tokens_are_accepted_and_other_schemes_are_not() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer   abc "), Some("abc"));
        assert_eq!(bearer("abc"), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer(""), None);
    }

    #[test]
    fn no_content_still_carries_cors() {
        let res = Cors::default().no_content();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(header(&res, "access-control-allow-origin"), "*");
    }
}
