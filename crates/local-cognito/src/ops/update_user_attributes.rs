//! UpdateUserAttributes: only the client's WriteAttributes (another is NotAuthorizedException,
//! "A client attempted to write unauthorized attribute", as Cognito answers it); the attributes
//! written as [`super::update_attributes`] writes them.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::ops;
use crate::protocol::{Attribute, Call, Error};

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
    let deliveries = ops::update_attributes(layer, &app, &user, &req.user_attributes).await?;
    Ok(json!({"CodeDeliveryDetailsList": deliveries}))
}
