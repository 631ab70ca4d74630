//! ConfirmForgotPassword: the reset code checked and spent in one step, then the new password
//! set through moto's admin operation. Of requests sent at once with one code, only the one
//! that spent it sets its password; the others are answered as for a used code
//! (`ExpiredCodeException`) and set nothing. A password the step refuses (the pool's policy:
//! `InvalidPasswordException`) gives the code back, good for another try, as on Cognito, where
//! a reset refused for its password leaves the code unused.

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
    let (pool, name, code) = (&app.pool_id, &user.username, &req.confirmation_code);
    let (purpose, now) = (Purpose::ResetPassword, layer.clock.now());
    layer.codes.check(pool, name, purpose, code, now, true)?;
    let set = layer
        .moto
        .admin
        .admin_set_user_password()
        .user_pool_id(pool)
        .username(name)
        .password(&req.password)
        .permanent(true)
        .send()
        .await;
    if let Err(err) = set {
        layer.codes.give_back(pool, name, purpose, code);
        return Err(Error::admin(err));
    }
    Ok(json!({}))
}
