//! CreateUserPoolClient: its `RefreshTokenRotation` checked as Cognito checks it ([`super::Rotation`];
//! moto keeps it unchecked), then moto creates the client. The layer reads the client's
//! settings from moto at its first call ([`crate::directory`]).

use serde::Deserialize;
use serde_json::Value;

use crate::Layer;
use crate::protocol::{Call, Error};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    refresh_token_rotation: Option<super::Rotation>,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    if let Some(rotation) = &req.refresh_token_rotation {
        rotation.check()?;
    }
    layer.moto.call(call).await
}
