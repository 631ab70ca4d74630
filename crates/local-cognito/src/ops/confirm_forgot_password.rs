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
    client_id: String,
    username: String,
    confirmation_code: String,
    password: String,
    secret_hash: Option<String>,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let app = layer
        .directory
        .client(&req.client_id, &req.username, req.secret_hash.as_deref())
        .await?;
    let Some(user) = layer.directory.user(&app, &req.username).await? else {
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
