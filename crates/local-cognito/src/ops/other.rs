//! Any other Cognito operation (GetUser, ChangePassword, SetUserMFAPreference, …): moto answers
//! it, after the access-token check when it takes one, so that a token of a revoked family is
//! refused everywhere.

use serde::Deserialize;
use serde_json::Value;

use crate::Layer;
use crate::ops;
use crate::protocol::{Call, Error};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    access_token: Option<String>,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    if let Some(token) = &req.access_token {
        ops::caller(layer, token).await?;
    }
    layer.moto.call(call).await
}
