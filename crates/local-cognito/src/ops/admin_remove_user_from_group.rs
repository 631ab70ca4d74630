//! AdminRemoveUserFromGroup: moto answers it; the trail records it ([`crate::trail`]), with the
//! group, so that the operator function ends the user's sessions (their tokens name the group).

use serde_json::Value;

use crate::Layer;
use crate::protocol::{Call, Error};

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct Request {
    user_pool_id: String,
    username: String,
    group_name: String,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let _: Request = call.request()?;
    layer.moto.call(call).await
}
