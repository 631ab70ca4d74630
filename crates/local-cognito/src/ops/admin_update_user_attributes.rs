//! AdminUpdateUserAttributes (an administrator's, with IAM, by user name). A new `email` is
//! written as UpdateUserAttributes writes it ([`super::update_attributes`]): where the pool has
//! AttributesRequireVerificationBeforeUpdate, the new address waits for its code (sent to it)
//! while the old one stays, and VerifyUserAttribute with the user's access token puts it in
//! place. Cognito: "If your user pool requires verification before Amazon Cognito updates an
//! attribute value that you specify in this request, Amazon Cognito doesn't immediately update
//! the value of that attribute. After your user receives and responds to a verification message
//! to verify the new value, Amazon Cognito updates the attribute value"; and an administrator
//! who sets `email_verified` to true with it writes it at once
//! (<https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminUpdateUserAttributes.html>).
//! Without `email`, moto answers it as it comes. The answer is empty, as Cognito's.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::ops;
use crate::protocol::{Attribute, Call, Error, ErrorType};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    user_pool_id: String,
    username: String,
    user_attributes: Vec<Attribute>,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let value = |name: &str| {
        (req.user_attributes.iter())
            .find(|a| a.name == name)
            .map(|a| a.value.as_deref())
    };
    let Some(Some(_)) = value("email") else {
        return layer.moto.call(call).await;
    };
    let app = layer.directory.pool(&req.user_pool_id).await?;
    let Some(user) = layer.directory.user(&app, &req.username).await? else {
        return Err(Error::new(ErrorType::UserNotFound, "User does not exist."));
    };
    if value("email_verified") == Some(Some("true")) {
        let out = layer.moto.call(call).await?;
        layer.directory.take_pending_email(&app, &user.username);
        return Ok(out);
    }
    ops::update_attributes(layer, &app, &user, &req.user_attributes).await?;
    Ok(json!({}))
}
