//! AdminUserGlobalSignOut (an administrator's, with IAM, by user name): moto signs the user out,
//! and the layer revokes every family of theirs it has seen issued, as GlobalSignOut does: their
//! refresh tokens and the access tokens issued from them are refused from then on.

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
    // moto answers an unknown user (UserNotFoundException) itself.
    let out = layer.moto.call(call).await?;
    if let Some(user) = user {
        layer.tokens.revoke_user(&user.username);
    }
    Ok(out)
}
