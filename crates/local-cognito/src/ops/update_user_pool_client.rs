//! UpdateUserPoolClient: its `RefreshTokenRotation` checked as Cognito checks it
//! ([`super::Rotation`]; moto keeps it unchecked), moto updates the client, and the layer
//! forgets what it had read of it, so that the client's next call reads its new settings
//! (rotation, ExplicitAuthFlows, …) from moto.

use serde::Deserialize;
use serde_json::Value;

use crate::Layer;
use crate::protocol::{Call, Error};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    client_id: String,
    refresh_token_rotation: Option<super::Rotation>,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    if let Some(rotation) = &req.refresh_token_rotation {
        rotation.check()?;
    }
    let out = layer.moto.call(call).await?;
    layer.directory.forget(&req.client_id);
    Ok(out)
}
