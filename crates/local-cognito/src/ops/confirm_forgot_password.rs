//! ConfirmForgotPassword: the reset code checked, the new password set through moto's admin
//! operation, then the code spent.

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
    password: String,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let (app, user) = req.by.client_and_user(layer).await?;
    let Some(user) = user else {
        return Err(app.unknown_user(Error::code_mismatch()));
    };
    let (pool, code) = (&app.pool_id, &req.confirmation_code);
    let check = |consume| {
        let now = layer.clock.now();
        (layer.codes).check(
            pool,
            &user.username,
            Purpose::ResetPassword,
            code,
            now,
            consume,
        )
    };
    // The password is set before the code is spent: a password the policy refuses leaves the
    // code good for another try, as on Cognito.
    check(false)?;
    layer
        .moto
        .admin
        .admin_set_user_password()
        .user_pool_id(pool)
        .username(&user.username)
        .password(&req.password)
        .permanent(true)
        .send()
        .await
        .map_err(Error::admin)?;
    check(true)?;
    Ok(json!({}))
}
