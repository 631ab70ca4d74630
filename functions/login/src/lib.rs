//! `POST /login`: signs in with user name and password (InitiateAuth, USER_PASSWORD_AUTH).

use auth::body::check_len;
use auth::cognito::MAX_PASSWORD_CHARS;
use auth::cognito::unverified_claim;
use auth::{ApiError, CognitoOp, JsonObject, RequestMeta, normalize_username, respond};
use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub use auth::CognitoState as State;

#[tracing::instrument(name = "login", skip_all)]
pub async fn handle(state: &State, req: Request) -> Result<Response<Body>, auth::Error> {
    let meta = RequestMeta::of(&req);
    let outcome = login(state, &req).await;
    Ok(respond(&state.cors, &meta, outcome))
}

async fn login(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let body = JsonObject::from_request(req)?;
    let username = normalize_username(body.string("username")?)?;
    let password = body.string("password")?;
    check_len("password", password, MAX_PASSWORD_CHARS)?;

    let mut tokens = state
        .initiate_auth(
            CognitoOp::Login,
            AuthFlowType::UserPasswordAuth,
            &username,
            &[("USERNAME", &username), ("PASSWORD", password)],
        )
        .await?;
    // The refresh SECRET_HASH must be computed over Cognito's internal user name (the `sub` in
    // e-mail-as-username pools), which only the id token tells.
    tokens.username =
        Some(unverified_claim(&tokens.id_token, "cognito:username").unwrap_or(username));
    tokens.message = Some("Signed in.");
    Ok(state.cors.json(StatusCode::OK, &tokens))
}

#[cfg(test)]
mod tests;
