//! GetTokensFromRefreshToken (moto lacks it): new id and access tokens for a refresh token and,
//! where the app client rotates its refresh tokens (`RefreshTokenRotation` ENABLED), a new
//! refresh token too, the one given good for the client's `RetryGracePeriodSeconds` after its
//! first exchange and then `RefreshTokenReuseException` ([`crate::tokens`]). With rotation
//! DISABLED the answer is the id and access tokens alone, as REFRESH_TOKEN_AUTH's.
//!
//! The client secret is checked first (`ClientSecret` itself, not a SECRET_HASH: a client with
//! a secret needs it; wrong or missing, `NotAuthorizedException`), then the token: one the
//! layer never saw issued, or another client's, is `NotAuthorizedException` ("Invalid Refresh
//! Token."), one of a revoked family too ("Refresh Token has been revoked"). moto refreshes
//! the family's moto refresh token ([`super::initiate_auth::refresh`], with the SECRET_HASH
//! moto wants, made from the secret), which refuses a user deleted behind the layer's back as
//! the refresh does. `ClientMetadata` and `DeviceKey` are taken and not read: the pool has no
//! triggers and no remembered devices here.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::protocol::{Call, Error};
use crate::tokens::invalid_refresh_token;

use super::initiate_auth;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    refresh_token: String,
    client_id: String,
    client_secret: Option<String>,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let client_id = req.client_id.as_str();
    let app = layer.directory.app(client_id).await?;
    if !app.secret_matches(req.client_secret.as_deref()) {
        return Err(Error::not_authorized(match &req.client_secret {
            None => format!(
                "Client {client_id} is configured with secret but ClientSecret was not received"
            ),
            Some(_) => format!("Unable to verify secret for client {client_id}"),
        }));
    }
    let token = req.refresh_token.as_str();
    let family = (layer
        .tokens
        .exchangeable(token, client_id, layer.clock.now())?)
    .ok_or_else(invalid_refresh_token)?;
    let hash = (app.secret.as_deref()).map(|s| auth::secret_hash(&family.username, client_id, s));
    let out = initiate_auth::refresh(layer, call, &app, &family, hash.as_deref()).await?;
    let Some(mut result) = out.get("AuthenticationResult").cloned() else {
        return Err(Error::internal(
            "moto refreshed without an AuthenticationResult",
        ));
    };
    if let Some(grace) = app.rotation {
        // The exchange is the moment moto answered: the grace runs from it.
        let now = layer.clock.now();
        result["RefreshToken"] = json!(layer.tokens.rotate(token, client_id, now, grace)?);
    }
    Ok(json!({"AuthenticationResult": result}))
}
