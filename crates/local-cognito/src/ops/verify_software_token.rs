//! VerifySoftwareToken: the first code of the user's pending secret, which then takes over
//! (moto is told with a code of its own secret); the code is spent, as Cognito spends it (a
//! sign-in cannot answer with it again). With the Session of an MFA_SETUP challenge, which also
//! turns TOTP on and lets the challenge be answered: the session is ended and a new one handed
//! out, as Cognito does, and a wrong code counts against it. Or with the user's AccessToken.

use aws_sdk_cognitoidentityprovider::types::SoftwareTokenMfaSettingsType;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::protocol::{Call, Error, ErrorType};
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
    match (&req.access_token, &req.session) {
        (None, Some(session)) => {
            let (claim, setup) = ops::setup_session(layer, session)?;
            let token = &setup.access_token;
            if let Err(err) = mfa::confirm_secret(layer, token, &req.user_code).await {
                if err.kind() == Some(&ErrorType::EnableSoftwareTokenMfa) {
                    claim.wrong_code();
                }
                return Err(err);
            }
            let totp_on = SoftwareTokenMfaSettingsType::builder()
                .enabled(true)
                .preferred_mfa(true)
                .build();
            layer
                .moto
                .admin
                .set_user_mfa_preference()
                .access_token(token)
                .software_token_mfa_settings(totp_on)
                .send()
                .await
                .map_err(Error::admin)?;
            let next = (layer.setups.reissue(session, true)?).ok_or_else(Error::invalid_session)?;
            claim.succeeded_by(&next, layer.clock.now());
            Ok(json!({"Status": "SUCCESS", "Session": next}))
        }
        (Some(token), None) => {
            ops::caller(layer, token).await?;
            mfa::confirm_secret(layer, token, &req.user_code).await?;
            Ok(json!({"Status": "SUCCESS"}))
        }
        (Some(_), Some(_)) => Err(Error::invalid_parameter(
            "Only one of AccessToken or Session is allowed.",
        )),
        (None, None) => Err(Error::invalid_parameter(
            "Either AccessToken or Session is required.",
        )),
    }
}
