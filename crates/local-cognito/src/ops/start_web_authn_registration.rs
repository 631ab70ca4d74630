//! StartWebAuthnRegistration (moto lacks it): the options of a new passkey's registration for
//! the user the access token names, in the pool's relying party, excluding the passkeys they
//! hold. A second start replaces a registration not yet completed.

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
    ops::user_auth::check_allowed(&app)?;
    let display = user.email.as_deref().unwrap_or(&user.username);
    let options = layer.passkeys.start_registration(
        &app.pool_id,
        &user.username,
        display,
        layer.clock.now(),
    )?;
    Ok(json!({"CredentialCreationOptions": options}))
}
