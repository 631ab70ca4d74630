//! `POST /confirm_user`: confirms an account with the code Cognito sent (ConfirmSignUp).

use auth::body::check_len;
use auth::cognito::MAX_CODE_CHARS;
use auth::cognito::map_error;
use auth::{ApiError, CognitoOp, JsonObject, RequestMeta, normalize_username, respond};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub use auth::CognitoState as State;

#[tracing::instrument(name = "confirm", skip_all)]
pub async fn handle(state: &State, req: Request) -> Result<Response<Body>, auth::Error> {
    let meta = RequestMeta::of(&req);
    let outcome = confirm(state, &req).await;
    Ok(respond(&state.cors, &meta, outcome))
}

async fn confirm(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let body = JsonObject::from_request(req)?;
    let username = normalize_username(body.string("username")?)?;
    // `code` is what an older workshop client sends.
    let code = body
        .string_by_any_name(&["confirmation_code", "code"])?
        .trim();
    check_len("confirmation_code", code, MAX_CODE_CHARS)?;

    state
        .cognito
        .confirm_sign_up()
        .client_id(&state.app.client_id)
        .username(&username)
        .confirmation_code(code)
        .set_secret_hash(state.app.secret_hash(&username))
        .send()
        .await
        .map_err(|e| map_error(CognitoOp::ConfirmSignUp, e))?;

    Ok(state.cors.json(
        StatusCode::OK,
        &serde_json::json!({ "message": "Account confirmed. You can sign in." }),
    ))
}

#[cfg(test)]
mod tests;
