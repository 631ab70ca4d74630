//! ConfirmSignUp: the sign-up code checked and spent, the user confirmed through moto's admin
//! operation, and `email_verified` set, as Cognito sets it.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::codes::Purpose;
use crate::protocol::{Call, Error};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    #[serde(flatten)]
    by: super::ByName,
    confirmation_code: String,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let (app, user) = req.by.client_and_user(layer).await?;
    let Some(user) = user else {
        return Err(app.unknown_user(Error::code_mismatch()));
    };
    if user.confirmed {
        return Err(Error::not_authorized(
            "User cannot be confirmed. Current status is CONFIRMED",
        ));
    }
    let now = layer.clock.now();
    let code = &req.confirmation_code;
    let pool = &app.pool_id;
    (layer.codes).check(pool, &user.username, Purpose::SignUp, code, now, true)?;
    layer
        .moto
        .admin
        .admin_confirm_sign_up()
        .user_pool_id(pool)
        .username(&user.username)
        .send()
        .await
        .map_err(Error::admin)?;
    let verified = [("email_verified", "true")];
    (layer.directory)
        .set_attributes(&app, &user.username, &verified)
        .await?;
    Ok(json!({}))
}
