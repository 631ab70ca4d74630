//! GetUserAuthFactors (moto lacks it): the first factors the user the access token names can
//! sign in with ([`super::user_auth::factors`]), and their MFA settings as moto holds them.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::ops;
use crate::protocol::{Call, Error};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    access_token: String,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let (app, user) = ops::caller(layer, &req.access_token).await?;
    let factors = ops::user_auth::factors(layer, &app, &user);
    let moto = layer.moto.user_of(&req.access_token).await?;
    let deleted = crate::mfa::is_deleted(layer, &app.pool_id, &user.username);
    let mfa: Vec<&str> = if deleted {
        Vec::new()
    } else {
        moto.user_mfa_setting_list()
            .iter()
            .map(String::as_str)
            .collect()
    };
    let mut out = json!({
        "Username": user.username,
        "UserMFASettingList": mfa,
        "ConfiguredUserAuthFactors": factors.iter().map(|f| f.name()).collect::<Vec<_>>(),
    });
    if let Some(preferred) = moto.preferred_mfa_setting().filter(|_| !deleted) {
        out["PreferredMfaSetting"] = json!(preferred);
    }
    Ok(out)
}
