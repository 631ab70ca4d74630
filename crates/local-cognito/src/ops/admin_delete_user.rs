//! AdminDeleteUser: moto deletes the user, and the layer revokes every family of theirs it has
//! seen issued ([`super::ending_sessions`]), so that the deleted user's refresh and access tokens
//! are refused, as Cognito refuses them, rather than reaching moto, which fails on a refresh of a
//! user it no longer has; their passkeys are forgotten.

use serde_json::Value;

use crate::Layer;
use crate::protocol::{Call, Error};

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: super::AdminByName = call.request()?;
    let user = req.user(layer).await?;
    let out = super::ending_sessions(layer, call).await?;
    if let Some(user) = user {
        layer.passkeys.forget(&req.user_pool_id, &user.username);
    }
    Ok(out)
}
