//! ListWebAuthnCredentials (moto lacks it): the passkeys of the user the access token names,
//! oldest first, `MaxResults` at a time (at most 20) with a `NextToken`.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::ops;
use crate::protocol::{Call, Error};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    access_token: String,
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let (app, user) = ops::caller(layer, &req.access_token).await?;
    let size = match req.max_results {
        None => 20,
        Some(n @ 1..=20) => n as usize,
        Some(_) => return Err(Error::invalid_parameter("MaxResults must be from 1 to 20.")),
    };
    let from = match req.next_token.as_deref() {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| Error::invalid_parameter("Invalid NextToken."))?,
    };
    let held = layer.passkeys.of(&app.pool_id, &user.username);
    let page: Vec<Value> = (held.iter().skip(from).take(size))
        .map(|c| {
            let created = c
                .created
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            json!({
                "CredentialId": c.id,
                "FriendlyCredentialName": c.name,
                "RelyingPartyId": c.relying_party,
                "AuthenticatorAttachment": c.attachment,
                "AuthenticatorTransports": c.transports,
                "CreatedAt": created,
            })
        })
        .collect();
    let mut out = json!({"Credentials": page});
    if from + size < held.len() {
        out["NextToken"] = json!((from + size).to_string());
    }
    Ok(out)
}
