//! AssociateSoftwareToken: a TOTP secret of the user's own, pending until a first code of it is
//! verified. With the Session of an MFA_SETUP challenge (the user signs in), which it ends,
//! handing out a new session for the same user and challenge, as Cognito does; or with the
//! user's AccessToken (the user is signed in).

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
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    match (&req.access_token, &req.session) {
        (None, Some(session)) => {
            let (claim, setup) = ops::setup_session(layer, session)?;
            let secret = mfa::new_secret(layer, &setup.access_token).await?;
            let next =
                (layer.setups.reissue(session, false)?).ok_or_else(Error::invalid_session)?;
            claim.succeeded_by(&next, layer.clock.now());
            Ok(json!({"SecretCode": secret, "Session": next}))
        }
        (Some(token), None) => {
            ops::caller(layer, token).await?;
            let secret = mfa::new_secret(layer, token).await?;
            Ok(json!({"SecretCode": secret}))
        }
        (Some(_), Some(_)) => Err(Error::invalid_parameter(
            "Only one of AccessToken or Session is allowed.",
        )),
        (None, None) => Err(Error::invalid_parameter(
            "Either AccessToken or Session is required.",
        )),
    }
}
