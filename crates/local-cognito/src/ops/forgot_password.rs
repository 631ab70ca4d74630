//! ForgotPassword: a reset code sent to the user's verified e-mail address.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::codes::Purpose;
use crate::protocol::{Call, Error, code_delivery};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    client_id: String,
    username: String,
    secret_hash: Option<String>,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let app = layer
        .directory
        .client(&req.client_id, &req.username, req.secret_hash.as_deref())
        .await?;
    let Some(user) = layer.directory.user(&app, &req.username).await? else {
        return super::unknown_user_delivery(&app, &req.username);
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
