//! AdminResetUserPassword: moto marks the user `RESET_REQUIRED` (their next sign-in is refused
//! with `PasswordResetRequiredException`). Like Cognito, it leaves the user's tokens alone; the
//! trail records it ([`crate::trail`]), and the operator function ends the user's sessions.

use serde_json::Value;

use crate::Layer;
use crate::protocol::{Call, Error};

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let _: super::AdminByName = call.request()?;
    layer.moto.call(call).await
}
