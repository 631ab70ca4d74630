//! Who is calling: the Cognito authorizer's claims, as API Gateway REST passes them in
//! `requestContext.authorizer.claims`, every value a string.

use auth::ApiError;
use auth::claims::Claims;
use lambda_http::Request;

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
    /// Reads the claims; without them (a route deployed without its authorizer) it is a 401.
    pub fn from_request(req: &Request) -> Result<Self, ApiError> {
        let claims = Claims::from_request(req)?;
        Ok(Self {
            sub: claims.sub().to_owned(),
            is_admin: claims.groups().contains(&ADMIN_GROUP),
        })
    }

    /// Whether this caller may change or delete a book created by `owner`.
    pub fn may_change(&self, owner: &str) -> bool {
        self.is_admin || self.sub == owner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
