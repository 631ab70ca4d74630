//! AssociateSoftwareToken: a TOTP secret of the user's own, pending until a first code of it is
//! verified. With the Session of an MFA_SETUP challenge (the user signs in), or with the user's
//! AccessToken (the user is signed in).

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
    if let Some(session) = &req.session
        && let Some(setup) = layer.setups.get(session)
    {
        let secret = mfa::new_secret(layer, &setup.access_token).await?;
        return Ok(json!({"SecretCode": secret, "Session": session}));
    }
    match (&req.access_token, &req.session) {
        (Some(token), _) => {
            ops::caller(layer, token).await?;
            let secret = mfa::new_secret(layer, token).await?;
            Ok(json!({"SecretCode": secret}))
        }
        // A session that is no MFA_SETUP challenge's (moto would answer ResourceNotFound).
        (None, Some(_)) => Err(Error::invalid_session()),
        (None, None) => Err(Error::invalid_parameter(
            "Either AccessToken or Session is required.",
        )),
    }
}
