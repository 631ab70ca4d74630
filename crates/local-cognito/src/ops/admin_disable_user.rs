//! AdminDisableUser: moto disables the user, and the layer revokes every family of theirs it has
//! seen issued ([`super::ending_sessions`]): Cognito "revokes all access tokens" of a disabled
//! user, and their refresh tokens are refused from then on.

use serde_json::Value;

use crate::Layer;
use crate::protocol::{Call, Error};

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    super::ending_sessions(layer, call).await
}
