//! DeleteUser (moto lacks it): the user deleted through moto's admin operation, and every
//! family of theirs revoked, their passkeys forgotten.

use serde::Deserialize;
use serde_json::{Value, json};

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
    let (app, user) = ops::caller(layer, &req.access_token).await?;
    layer
        .moto
        .admin
        .admin_delete_user()
        .user_pool_id(&app.pool_id)
        .username(&user.username)
        .send()
        .await
        .map_err(Error::admin)?;
    layer.tokens.revoke_user(&user.username);
    layer.passkeys.forget(&app.pool_id, &user.username);
    Ok(json!({}))
}
