//! Who is calling: the Cognito authorizer's claims, as API Gateway REST passes them in
//! `requestContext.authorizer.claims`, every value a string.

use platform::claims::Claims;
use platform::{ApiError, Request};

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
}
