//! InitiateAuth. A refresh (`REFRESH_TOKEN_AUTH`) is refused on a client that rotates its refresh
//! tokens or whose ExplicitAuthFlows leave it out, and for a revoked family or another client's
//! token; its SECRET_HASH is checked over the internal user name the family was issued to, any
//! other flow's over `USERNAME`. moto refreshes the family's own moto refresh token
//! ([`refresh`], which GetTokensFromRefreshToken shares), whichever of its tokens was given.
//! moto signs in; where the pool's MFA is ON and the user has no authenticator, the layer puts
//! the MFA_SETUP challenge and holds the tokens until the set-up is done.
//!
//! A user whose authenticator was deleted (AdminDeleteSoftwareToken) has none, but moto, which
//! cannot forget a verified token, still challenges them for its code where MFA is ON: the layer
//! answers moto's challenge itself with a code of moto's one secret, and puts MFA_SETUP over the
//! tokens, as Cognito does ("When your user pool requires MFA and the user has no other factor
//! available, Amazon Cognito returns an MFA_SETUP challenge at the next sign-in").

use serde::Deserialize;
use serde_json::{Value, json};

use axum::body::Bytes;
use http::HeaderValue;

use crate::directory::App;
use crate::protocol::{Call, Error, ErrorType, Target, required_parameter};
use crate::sessions::Setup;
use crate::tokens::{Family, invalid_refresh_token};
use crate::{Layer, mfa};

use super::user_auth;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    auth_flow: String,
    client_id: String,
    #[serde(default)]
    auth_parameters: AuthParameters,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct AuthParameters {
    username: Option<String>,
    refresh_token: Option<String>,
    secret_hash: Option<String>,
    preferred_challenge: Option<String>,
    password: Option<String>,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let params = &req.auth_parameters;
    let hash = params.secret_hash.as_deref();
    if matches!(
        req.auth_flow.as_str(),
        "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN"
    ) {
        let token = required_parameter("REFRESH_TOKEN", params.refresh_token.as_deref())?;
        let app = layer.directory.app(&req.client_id).await?;
        refresh_flow_allowed(&app)?;
        let now = layer.clock.now();
        let family = (layer.tokens.exchangeable(token, &req.client_id, now))
            // A token rotated out on a client that rotated then (InitiateAuth's model has no
            // RefreshTokenReuseException).
            .map_err(|e| match e.kind() {
                Some(ErrorType::RefreshTokenReuse) => invalid_refresh_token(),
                _ => e,
            })?;
        let Some(family) = family else {
            // A refresh token the layer never saw issued: moto answers it as it came.
            return layer.moto.call(call).await;
        };
        // Cognito checks the refresh's hash over the internal user name.
        app.check_hash(&req.client_id, &family.username, hash)?;
        return refresh(layer, call, &app, &family, hash).await;
    }
    if req.auth_flow == "USER_AUTH" {
        let username = required_parameter("USERNAME", params.username.as_deref())?;
        let app = layer
            .directory
            .client(&req.client_id, username, hash)
            .await?;
        let start = user_auth::Start {
            client_id: &req.client_id,
            username,
            preferred: params.preferred_challenge.as_deref(),
            password: params.password.as_deref(),
        };
        return user_auth::start(layer, call, &app, start).await;
    }
    password(layer, call).await
}

/// `REFRESH_TOKEN_AUTH` on `app`: refused where the client rotates its refresh tokens ("You
/// can't authenticate with REFRESH_TOKEN_AUTH in app clients with refresh token rotation
/// enabled", Cognito's developer guide, Refresh tokens) and where its ExplicitAuthFlows leave
/// `ALLOW_REFRESH_TOKEN_AUTH` out. AWS documents the refusal, not its type:
/// `UnsupportedOperationException` is the one Cognito's model has for "an operation that isn't
/// enabled for the user pool client", and the layer's for USER_AUTH on a client without it.
fn refresh_flow_allowed(app: &App) -> Result<(), Error> {
    let refused = |message: &str| {
        let kind = ErrorType::Reported("UnsupportedOperationException".into());
        Err(Error::new(kind, message))
    };
    if app.rotation.is_some() {
        return refused(
            "REFRESH_TOKEN_AUTH is not available on a client with refresh token rotation enabled: use GetTokensFromRefreshToken",
        );
    }
    if !app.refresh_token_auth {
        return refused("REFRESH_TOKEN_AUTH flow not enabled for this client");
    }
    Ok(())
}

/// Fresh id and access tokens for `family` from moto, its answer to REFRESH_TOKEN_AUTH with the
/// family's moto refresh token (whichever of the family's tokens the caller gave) and `hash`,
/// the SECRET_HASH over the family's internal user name (checked already, or made from the
/// client secret): how InitiateAuth's refresh and GetTokensFromRefreshToken both ask moto, on
/// `call`'s headers. moto fails (500) on a refresh of a user deleted behind the layer's back
/// (straight to moto); Cognito refuses a deleted user's refresh token
/// (`NotAuthorizedException`).
pub(super) async fn refresh(
    layer: &Layer,
    call: &Call,
    app: &App,
    family: &Family,
    hash: Option<&str>,
) -> Result<Value, Error> {
    let mut params = json!({"REFRESH_TOKEN": family.moto_token});
    if let Some(hash) = hash {
        params["SECRET_HASH"] = json!(hash);
    }
    let body = json!({
        "ClientId": family.client_id,
        "AuthFlow": "REFRESH_TOKEN_AUTH",
        "AuthParameters": params,
    });
    let (target, name) = (Target::InitiateAuth, "InitiateAuth");
    match layer.moto.invoke(&call.headers, target, name, &body).await {
        Err(Error::Moto(res)) if res.status().is_server_error() => {
            match layer.directory.user(app, &family.username).await? {
                None => Err(Error::not_authorized("User does not exist.")),
                Some(_) => Err(Error::Moto(res)),
            }
        }
        answered => answered,
    }
}

/// A sign-in with the user's password (`USER_PASSWORD_AUTH`, or another flow moto answers),
/// its SECRET_HASH checked over `USERNAME`.
pub async fn password(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let params = &req.auth_parameters;
    let hash = params.secret_hash.as_deref();
    let username = required_parameter("USERNAME", params.username.as_deref())?;
    let app = layer
        .directory
        .client(&req.client_id, username, hash)
        .await?;
    let internal = layer
        .directory
        .user(&app, username)
        .await?
        .map(|u| u.username);
    let out = layer.moto.call(call).await?;
    let out = match &internal {
        Some(internal) if app.mfa_on => {
            let deleted = mfa::is_deleted(layer, &app.pool_id, internal);
            if deleted && out["ChallengeName"] == "SOFTWARE_TOKEN_MFA" {
                let out = answer_moto(layer, call, &req.client_id, &out, username, hash).await?;
                setup(layer, &out, internal)?
            } else {
                setup_if_needed(layer, out, internal).await?
            }
        }
        _ => out,
    };
    Ok(super::signed_in(layer, &app, out, internal.as_deref()))
}

/// A sign-in in a pool whose MFA is ON of a user without an authenticator: the MFA_SETUP
/// challenge, as Cognito puts it, with the tokens held until the set-up is done.
async fn setup_if_needed(layer: &Layer, out: Value, username: &str) -> Result<Value, Error> {
    let Some(access_token) = out["AuthenticationResult"]["AccessToken"].as_str() else {
        return Ok(out);
    };
    let user = layer.moto.user_of(access_token).await?;
    if (user.user_mfa_setting_list().iter()).any(|m| m == "SOFTWARE_TOKEN_MFA") {
        return Ok(out);
    }
    setup(layer, &out, username)
}

/// The MFA_SETUP challenge for the internal user name `username`, holding the tokens of `out`
/// (moto's sign-in) until the set-up is done.
fn setup(layer: &Layer, out: &Value, username: &str) -> Result<Value, Error> {
    let result = &out["AuthenticationResult"];
    let Some(access_token) = result.get("AccessToken").and_then(Value::as_str) else {
        return Err(Error::internal("moto signed in without an access token"));
    };
    let session = layer.setups.open(Setup {
        result: result.clone(),
        access_token: access_token.to_owned(),
        verified: false,
    })?;
    Ok(json!({
        "ChallengeName": "MFA_SETUP",
        "Session": session,
        "ChallengeParameters": {
            "MFAS_CAN_SETUP": "[\"SOFTWARE_TOKEN_MFA\"]",
            "USER_ID_FOR_SRP": username,
        },
    }))
}

/// moto's SOFTWARE_TOKEN_MFA challenge `challenge` to the sign-in `call` of `username` (with
/// its SECRET_HASH `hash`, checked already), answered by the layer with a code of moto's one
/// secret: moto's tokens. Only for a user who has no authenticator: nobody else's challenge is
/// ever answered for them.
pub(super) async fn answer_moto(
    layer: &Layer,
    call: &Call,
    client_id: &str,
    challenge: &Value,
    username: &str,
    hash: Option<&str>,
) -> Result<Value, Error> {
    let Some(session) = challenge["Session"].as_str() else {
        return Err(Error::internal("moto challenged without a session"));
    };
    let mut responses = json!({
        "USERNAME": username,
        "SOFTWARE_TOKEN_MFA_CODE": mfa::moto_code(layer, session).await?,
    });
    if let Some(hash) = hash {
        responses["SECRET_HASH"] = json!(hash);
    }
    let body = json!({
        "ClientId": client_id,
        "ChallengeName": "SOFTWARE_TOKEN_MFA",
        "Session": session,
        "ChallengeResponses": responses,
    });
    let mut headers = call.headers.clone();
    let target = "AWSCognitoIdentityProviderService.RespondToAuthChallenge";
    headers.insert("x-amz-target", HeaderValue::from_static(target));
    let answer = Call::new(
        Target::RespondToAuthChallenge,
        headers,
        Bytes::from(body.to_string()),
    )?;
    layer.moto.call(&answer).await
}
