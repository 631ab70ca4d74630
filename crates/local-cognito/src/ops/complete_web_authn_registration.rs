//! CompleteWebAuthnRegistration (moto lacks it): the browser's answer to the user's pending
//! registration, checked by [`crate::passkeys`]; the passkey is the user's from then on.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::ops;
use crate::protocol::{Call, Error};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    access_token: String,
    credential: Value,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let (app, user) = ops::caller(layer, &req.access_token).await?;
    ops::user_auth::check_allowed(&app)?;
    layer.passkeys.complete_registration(
        &app.pool_id,
        &user.username,
        &req.credential,
        layer.clock.now(),
    )?;
    Ok(json!({}))
}
