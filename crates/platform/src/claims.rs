//! The Cognito authorizer's claims, as API Gateway REST passes them to a function in
//! `requestContext.authorizer.claims`: every value a string.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::{Map, Value};

use crate::ApiError;

/// The claims of the token the authorizer accepted, with its `sub`.
#[derive(Debug, Clone)]
pub struct Claims {
    sub: String,
    claims: Map<String, Value>,
}

impl Claims {
    /// Reads the claims. No claims, or no `sub`, means the route was deployed without its
    /// authorizer: that is a 401, never a panic and never an anonymous caller.
    pub fn from_request(req: &Request) -> Result<Self, ApiError> {
        let claims = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV1(ctx)) => ctx.authorizer.fields.get("claims"),
            _ => None,
        };
        let claims = claims
            .and_then(Value::as_object)
            .ok_or(ApiError::Unauthorized)?;
        let sub = string_claim(claims, "sub").ok_or(ApiError::Unauthorized)?;
        Ok(Self {
            sub: sub.to_owned(),
            claims: claims.clone(),
        })
    }

    /// The `sub` claim: the user's stable id.
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// A claim as a trimmed, non-empty string.
    pub fn get(&self, name: &str) -> Option<&str> {
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

    /// The caller's Cognito groups (`cognito:groups`).
    pub fn groups(&self) -> Vec<&str> {
        self.claims
            .get("cognito:groups")
            .map_or_else(Vec::new, groups_of)
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
fn groups_of(claim: &Value) -> Vec<&str> {
    match claim {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn groups(claim: Value) -> Vec<String> {
        groups_of(&claim).into_iter().map(str::to_owned).collect()
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
        assert!(!groups(json!("administrators,notadmin")).contains(&"admin".to_owned()));
    }

    #[test]
    fn flags_are_read_from_strings_or_booleans() {
        let c = Claims {
            sub: "s".into(),
            claims: json!({"sub": "s", "a": "true", "b": false, "c": "yes"})
                .as_object()
                .unwrap()
                .clone(),
        };
        assert_eq!(c.flag("a"), Some(true));
        assert_eq!(c.flag("b"), Some(false));
        assert_eq!(c.flag("c"), None);
        assert_eq!(c.flag("absent"), None);
    }
}
