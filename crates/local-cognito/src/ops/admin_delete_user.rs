//! AdminDeleteUser: moto deletes the user, and the layer revokes every family of theirs it has
//! seen issued, so that the deleted user's refresh and access tokens are refused
//! (`NotAuthorizedException`), as Cognito refuses them, rather than reaching moto, which fails
//! on a refresh of a user it no longer has.

use serde::Deserialize;
use serde_json::Value;

use crate::Layer;
use crate::protocol::{Call, Error};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    user_pool_id: String,
    username: String,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let user = (layer.directory).user_in(&req.user_pool_id, &req.username).await?;
    let out = layer.moto.call(call).await?;
    if let Some(user) = user {
        layer.tokens.revoke_user(&user.username);
    }
    Ok(out)
}
