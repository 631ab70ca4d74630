//! AdminInitiateAuth and AdminRespondToAuthChallenge are refused: moto answers them with its
//! SRP, which checks no proof (its `PASSWORD_VERIFIER` signs in whoever the answer names), and
//! the API never calls them. Cognito would take them with IAM credentials; the local Cognito,
//! which checks none, takes no sign-in it cannot bind to its user and challenge.

use serde_json::Value;

use crate::Layer;
use crate::protocol::{Call, Error, ErrorType};

pub async fn handle(_layer: &Layer, _call: &Call) -> Result<Value, Error> {
    Err(refused())
}

/// The answer to both operations.
pub fn refused() -> Error {
    Error::new(
        ErrorType::Reported("UnsupportedOperationException".into()),
        "The local Cognito does not answer the administrator's sign-in operations: sign in with InitiateAuth (USER_PASSWORD_AUTH or USER_AUTH).",
    )
}
