//! VerifySoftwareToken: the first code of the user's pending secret, which then takes over
//! (moto is told with a code of its own secret). With the Session of an MFA_SETUP challenge,
//! which also turns TOTP on and lets the challenge be answered; or with the user's AccessToken.

use aws_sdk_cognitoidentityprovider::types::SoftwareTokenMfaSettingsType;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::protocol::{Call, Error};
use crate::{mfa, ops};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    access_token: Option<String>,
    session: Option<String>,
    user_code: String,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    if let Some(session) = &req.session
        && let Some(setup) = layer.setups.get(session)
    {
        mfa::confirm_secret(layer, &setup.access_token, &req.user_code).await?;
        let totp_on = SoftwareTokenMfaSettingsType::builder()
            .enabled(true)
            .preferred_mfa(true)
            .build();
        layer
            .moto
            .admin
            .set_user_mfa_preference()
            .access_token(&setup.access_token)
            .software_token_mfa_settings(totp_on)
            .send()
            .await
            .map_err(Error::admin)?;
        layer.setups.verified(session);
        return Ok(json!({"Status": "SUCCESS", "Session": session}));
    }
    match (&req.access_token, &req.session) {
        (Some(token), _) => {
            ops::caller(layer, token).await?;
            mfa::confirm_secret(layer, token, &req.user_code).await?;
            Ok(json!({"Status": "SUCCESS"}))
        }
        // A session that is no MFA_SETUP challenge's (moto would answer ResourceNotFound).
        (None, Some(_)) => Err(Error::invalid_session()),
        (None, None) => Err(Error::invalid_parameter(
            "Either AccessToken or Session is required.",
        )),
    }
}
