//! GetUserAttributeVerificationCode (moto lacks it): a code to verify the user's e-mail
//! address, the new one while it awaits verification, else the one in place.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::codes::Purpose;
use crate::ops;
use crate::protocol::{Call, Error, code_delivery};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    access_token: String,
    attribute_name: String,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let (app, user) = ops::caller(layer, &req.access_token).await?;
    if req.attribute_name != "email" {
        return Err(Error::invalid_parameter("Only email is verified here."));
    }
    let pending = layer.directory.pending_email(&app, &user.username);
    let Some(email) = pending.or(user.email) else {
        return Err(Error::invalid_parameter("The user has no e-mail address."));
    };
    let purpose = Purpose::VerifyEmail;
    ops::send_code(layer, &app, &user.username, purpose, "verify_email", &email)?;
    Ok(json!({"CodeDeliveryDetails": code_delivery(&email)}))
}
