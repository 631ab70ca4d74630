//! AdminDeleteUser: moto deletes the user, and the layer revokes every family of theirs it has
//! seen issued ([`super::ending_sessions`]), so that the deleted user's refresh and access tokens
//! are refused, as Cognito refuses them, rather than reaching moto, which fails on a refresh of a
//! user it no longer has.

use serde_json::Value;

use crate::Layer;
use crate::protocol::{Call, Error};

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    super::ending_sessions(layer, call).await
}
