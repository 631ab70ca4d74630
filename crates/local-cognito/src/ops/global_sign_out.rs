//! GlobalSignOut: moto signs the user out, and the layer revokes every family of theirs it has
//! seen issued.

use serde::Deserialize;
use serde_json::Value;

use crate::Layer;
use crate::ops;
use crate::protocol::{Call, Error};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    access_token: String,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let (_, user) = ops::caller(layer, &req.access_token).await?;
    let out = layer.moto.call(call).await?;
    layer.tokens.revoke_user(&user.username);
    Ok(out)
}
