//! AdminUserGlobalSignOut (an administrator's, with IAM, by user name): moto signs the user out,
//! and the layer revokes every family of theirs it has seen issued ([`super::ending_sessions`]),
//! as GlobalSignOut does: their refresh tokens and the access tokens issued from them are
//! refused from then on.

use serde_json::Value;

use crate::Layer;
use crate::protocol::{Call, Error};

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    super::ending_sessions(layer, call).await
}
