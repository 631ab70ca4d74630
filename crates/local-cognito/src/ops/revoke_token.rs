//! RevokeToken (moto lacks it): the client's secret checked, and the refresh token's family
//! revoked, only it: the user's other sessions stay signed in. Any token of the family does,
//! the one moto issued at the sign-in or one the layer issued at a rotation.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::protocol::{Call, Error, ErrorType};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    token: String,
    client_id: String,
    client_secret: Option<String>,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let app = layer.directory.app(&req.client_id).await?;
    if !app.secret_matches(req.client_secret.as_deref()) {
        return Err(Error::new(
            ErrorType::Unauthorized,
            "Invalid client secret.",
        ));
    }
    layer.tokens.revoke(&req.token);
    Ok(json!({}))
}
