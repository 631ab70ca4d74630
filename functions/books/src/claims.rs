//! Who is calling: the Cognito authorizer's claims, as API Gateway REST passes them in
//! `requestContext.authorizer.claims`, every value a string.

use auth::ApiError;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

/// The Cognito group whose members may change and delete any book.
pub const ADMIN_GROUP: &str = "admin";

/// The authenticated caller of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The `sub` claim: the user's stable id, and a book's owner.
    pub sub: String,
    pub is_admin: bool,
}

impl Caller {
    /// Reads the claims. No claims, or no `sub`, means the route was deployed without its
    /// authorizer: that is a 401 from here, never a panic and never an anonymous write.
    pub fn from_request(req: &Request) -> Result<Self, ApiError> {
        let claims = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV1(ctx)) => ctx.authorizer.fields.get("claims"),
            _ => None,
        };
        let claims = claims
            .and_then(Value::as_object)
            .ok_or(ApiError::Unauthorized)?;
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let is_admin = claims
            .get("cognito:groups")
            .is_some_and(|groups| groups_of(groups).any(|g| g == ADMIN_GROUP));
        Ok(Self {
            sub: sub.to_owned(),
            is_admin,
        })
    }

    /// Whether this caller may change or delete a book created by `owner`.
    pub fn may_change(&self, owner: &str) -> bool {
        self.is_admin || self.sub == owner
    }
}

/// The group names in a `cognito:groups` claim. API Gateway REST passes it as one string,
/// comma- or space-separated, sometimes bracketed (`"[admin editors]"`); a JSON array (as other
/// front ends send it) is accepted too.
fn groups_of(claim: &Value) -> Box<dyn Iterator<Item = &str> + '_> {
    match claim {
        Value::String(s) => Box::new(
            s.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(|c: char| c == ',' || c.is_whitespace())
                .map(|g| g.trim_matches('"'))
                .filter(|g| !g.is_empty()),
        ),
        Value::Array(items) => Box::new(items.iter().filter_map(Value::as_str)),
        _ => Box::new(std::iter::empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn groups(claim: Value) -> Vec<String> {
        groups_of(&claim).map(str::to_owned).collect()
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
    fn owners_and_admins_may_change_a_book_and_nobody_else() {
        let owner = Caller {
            sub: "u1".into(),
            is_admin: false,
        };
        let admin = Caller {
            sub: "u2".into(),
            is_admin: true,
        };
        let other = Caller {
            sub: "u3".into(),
            is_admin: false,
        };
        assert!(owner.may_change("u1"));
        assert!(admin.may_change("u1"));
        assert!(!other.may_change("u1"));
    }
}
