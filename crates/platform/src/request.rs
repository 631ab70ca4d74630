//! What the boundary reads off a request besides its body and its caller: its id and route, and
//! the bearer token of its `Authorization` header.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// The `{id}` path parameter, when it is 1 to `max_chars` URL-safe characters (ASCII letters,
/// digits, `-`, `_`): the ids of books, sessions and passkeys alike. Any other is an id nothing
/// can have, which the routes answer as not found.
pub fn path_id(req: &Request, max_chars: usize) -> Option<&str> {
    req.path_parameters_ref()
        .and_then(|p| p.first("id"))
        .filter(|id| {
            !id.is_empty()
                && id.len() <= max_chars
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// A request's query string parameters, each read once by name (the first value of a repeated
/// one).
pub struct QueryParams<'a> {
    req: &'a Request,
}

impl<'a> QueryParams<'a> {
    pub fn of(req: &'a Request) -> Self {
        Self { req }
    }

    /// The parameter `name`, when given and not empty.
    pub fn string(&self, name: &str) -> Option<&'a str> {
        self.req
            .query_string_parameters_ref()
            .and_then(|q| q.first(name))
            .filter(|v| !v.is_empty())
    }

    /// The integer parameter `name`, from `min` to `max`; anything else is `400 invalid_query`.
    pub fn int(
        &self,
        name: &'static str,
        min: i64,
        max: i64,
    ) -> Result<Option<i64>, crate::ApiError> {
        self.string(name)
            .map(|v| {
                v.parse::<i64>()
                    .ok()
                    .filter(|n| (min..=max).contains(n))
                    .ok_or_else(|| crate::ApiError::InvalidQuery {
                        param: name,
                        reason: format!("must be a whole number from {min} to {max}"),
                    })
            })
            .transpose()
    }
}

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
/// the access token the authorizer just accepted. A request with more than one `Authorization`
/// value has none: the authorizer checked one of them, and acting on another would act on a
/// token nobody checked.
pub(crate) fn bearer_token(req: &Request) -> Option<&str> {
    let mut values = req.headers().get_all(http::header::AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    value.to_str().ok().and_then(bearer)
}

/// What the logs and error bodies say about a request: its id and route. Never its body.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
    pub method: String,
    /// The API Gateway resource (`/books/{id}`), or the path when the event names none.
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_request_with_two_authorization_values_carries_no_token() {
        let request = |values: &[&str]| {
            let mut req = http::Request::builder();
            for v in values {
                req = req.header("authorization", *v);
            }
            req.body(lambda_http::Body::Empty).unwrap()
        };
        assert_eq!(bearer_token(&request(&["Bearer a"])), Some("a"));
        assert_eq!(bearer_token(&request(&["Bearer a", "Bearer b"])), None);
        assert_eq!(bearer_token(&request(&["Bearer a", "Bearer a"])), None);
        assert_eq!(bearer_token(&request(&[])), None);
    }
}
