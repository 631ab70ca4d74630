//! VerifyUserAttribute (moto lacks it): the e-mail code checked and spent; the address
//! verified, and the new one, if one awaited its code, put in place.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::codes::Purpose;
use crate::ops;
use crate::protocol::{Call, Error};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    access_token: String,
    attribute_name: String,
    code: String,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let (app, user) = ops::caller(layer, &req.access_token).await?;
    if req.attribute_name != "email" {
        return Err(Error::invalid_parameter("Only email is verified here."));
    }
    let now = layer.clock.now();
    let (pool, name) = (&app.pool_id, &user.username);
    (layer.codes).check(pool, name, Purpose::VerifyEmail, &req.code, now, true)?;
    let pending = layer.directory.take_pending_email(&app, name);
    let mut verified = vec![("email_verified", "true")];
    if let Some(email) = &pending {
        verified.push(("email", email));
    }
    layer
        .directory
        .set_attributes(&app, name, &verified)
        .await?;
    Ok(json!({}))
}
