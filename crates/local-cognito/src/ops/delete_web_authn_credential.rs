//! DeleteWebAuthnCredential (moto lacks it): one passkey of the user the access token names;
//! another user's credential id, or one that is gone, is `ResourceNotFoundException`.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::ops;
use crate::protocol::{Call, Error, ErrorType};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    access_token: String,
    credential_id: String,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let (app, user) = ops::caller(layer, &req.access_token).await?;
    if !(layer.passkeys).delete(&app.pool_id, &user.username, &req.credential_id) {
        return Err(Error::new(
            ErrorType::ResourceNotFound,
            "Credential not found.",
        ));
    }
    Ok(json!({}))
}
