//! ResendConfirmationCode (moto lacks it): a new sign-up code, which supersedes the last, for
//! a user not yet confirmed.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::codes::Purpose;
use crate::protocol::{Call, Error, code_delivery};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    #[serde(flatten)]
    by: super::ByName,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let (app, user) = req.by.client_and_user(layer).await?;
    let Some(user) = user else {
        return super::unknown_user_delivery(&app, &req.by.username);
    };
    if user.confirmed {
        return Err(Error::invalid_parameter("User is already confirmed."));
    }
    let Some(email) = user.email else {
        return Err(Error::invalid_parameter("The user has no e-mail address."));
    };
    let purpose = Purpose::SignUp;
    super::send_code(layer, &app, &user.username, purpose, "resend_code", &email)?;
    Ok(json!({"CodeDeliveryDetails": code_delivery(&email)}))
}
