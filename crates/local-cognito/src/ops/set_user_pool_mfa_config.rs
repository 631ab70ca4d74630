//! SetUserPoolMfaConfig: moto keeps the MFA settings, and the layer the pool's WebAuthn relying
//! party (`WebAuthnConfiguration`), which moto ignores.

use serde::Deserialize;
use serde_json::Value;

use crate::Layer;
use crate::passkeys::RelyingParty;
use crate::protocol::{Call, Error};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    user_pool_id: String,
    web_authn_configuration: Option<WebAuthnConfiguration>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WebAuthnConfiguration {
    relying_party_id: Option<String>,
    user_verification: Option<String>,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let for_moto = call.rewritten(|json| {
        if let Some(map) = json.as_object_mut() {
            map.remove("WebAuthnConfiguration");
        }
    });
    let mut out = layer.moto.call(&for_moto).await?;
    if let Some(config) = req.web_authn_configuration {
        let party = config.relying_party_id.map(|id| RelyingParty {
            id,
            user_verification: config
                .user_verification
                .unwrap_or_else(|| "preferred".into()),
        });
        layer.passkeys.configure(&req.user_pool_id, party);
    }
    super::get_user_pool_mfa_config::with_web_authn(layer, &req.user_pool_id, &mut out);
    Ok(out)
}
