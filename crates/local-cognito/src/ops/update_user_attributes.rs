//! UpdateUserAttributes: only the client's WriteAttributes. A new e-mail address, where the
//! pool wants it verified first (AttributesRequireVerificationBeforeUpdate), waits for its code
//! while the old one stays; otherwise it replaces the old one at once, unverified. Either way a
//! code is sent to it.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::codes::Purpose;
use crate::ops;
use crate::protocol::{Attribute, Call, Error, code_delivery};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    access_token: String,
    user_attributes: Vec<Attribute>,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let (app, user) = ops::caller(layer, &req.access_token).await?;
    if let Some(writable) = &app.writable
        && let Some(a) = req
            .user_attributes
            .iter()
            .find(|a| !writable.contains(&a.name))
    {
        return Err(Error::not_authorized(format!(
            "A client attempted to write unauthorized attribute {}",
            a.name
        )));
    }
    let given =
        (req.user_attributes.iter()).filter_map(|a| Some((a.name.as_str(), a.value.as_deref()?)));
    let mut now = Vec::new();
    let mut deliveries = Vec::new();
    for (name, value) in given {
        if name != "email" {
            now.push((name, value));
            continue;
        }
        if user.email.as_deref() == Some(value) {
            continue;
        }
        if app.verify_before_update.iter().any(|a| a == "email") {
            layer.directory.hold_email(&app, &user.username, value);
        } else {
            now.extend([("email", value), ("email_verified", "false")]);
        }
        let purpose = Purpose::VerifyEmail;
        ops::send_code(layer, &app, &user.username, purpose, "verify_email", value)?;
        deliveries.push(code_delivery(value));
    }
    if !now.is_empty() {
        layer
            .directory
            .set_attributes(&app, &user.username, &now)
            .await?;
    }
    Ok(json!({"CodeDeliveryDetailsList": deliveries}))
}
