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
