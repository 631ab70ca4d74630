//! `POST /refresh`: swaps a refresh token for fresh tokens (InitiateAuth, REFRESH_TOKEN_AUTH).

use auth::body::check_len;
use auth::{ApiError, CognitoOp, JsonObject, RequestMeta, normalize_username, respond};
use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub use auth::CognitoState as State;

/// Refresh tokens are opaque to us; this bounds what is forwarded to Cognito.
const MAX_REFRESH_TOKEN_CHARS: usize = 8192;

#[tracing::instrument(name = "refresh", skip_all)]
pub async fn handle(state: &State, req: Request) -> Result<Response<Body>, auth::Error> {
    let meta = RequestMeta::of(&req);
    let outcome = refresh(state, &req).await;
    Ok(respond(&state.cors, &meta, outcome))
}

async fn refresh(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let body = JsonObject::from_request(req)?;
    // The `username` that /login returned: Cognito's internal user name.
    let username = normalize_username(body.string("username")?)?;
    let refresh_token = body.string("refresh_token")?.trim();
    check_len("refresh_token", refresh_token, MAX_REFRESH_TOKEN_CHARS)?;

    let tokens = state
        .initiate_auth(
            CognitoOp::Refresh,
            AuthFlowType::RefreshTokenAuth,
            &username,
            &[("REFRESH_TOKEN", refresh_token), ("USERNAME", &username)],
        )
        .await?;
    Ok(state.cors.json(StatusCode::OK, &tokens))
}

#[cfg(test)]
mod tests;
