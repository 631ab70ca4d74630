//! AdminRespondToAuthChallenge is refused, as AdminInitiateAuth is
//! ([`super::admin_initiate_auth`]).

use serde_json::Value;

use crate::Layer;
use crate::protocol::{Call, Error};

pub async fn handle(_layer: &Layer, _call: &Call) -> Result<Value, Error> {
    Err(super::admin_initiate_auth::refused())
}
