//! ForgotPassword: a reset code sent to the user's verified e-mail address.

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
    let (Some(email), true) = (user.email, user.email_verified) else {
        return Err(Error::invalid_parameter(
            "Cannot reset password for the user as there is no registered/verified email or phone_number",
        ));
    };
    let purpose = Purpose::ResetPassword;
    super::send_code(
        layer,
        &app,
        &user.username,
        purpose,
        "forgot_password",
        &email,
    )?;
    Ok(json!({"CodeDeliveryDetails": code_delivery(&email)}))
}
