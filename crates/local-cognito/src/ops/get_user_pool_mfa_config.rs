//! GetUserPoolMfaConfig: moto's answer, with the pool's WebAuthn relying party, which the layer
//! keeps ([`super::set_user_pool_mfa_config`]).

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::protocol::{Call, Error};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    user_pool_id: String,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let mut out = layer.moto.call(call).await?;
    with_web_authn(layer, &req.user_pool_id, &mut out);
    Ok(out)
}

/// Adds the pool's `WebAuthnConfiguration` to an MFA configuration's answer.
pub fn with_web_authn(layer: &Layer, pool: &str, out: &mut Value) {
    if let Some(party) = layer.passkeys.relying_party(pool) {
        out["WebAuthnConfiguration"] = json!({
            "RelyingPartyId": party.id,
            "UserVerification": party.user_verification,
        });
    }
}
