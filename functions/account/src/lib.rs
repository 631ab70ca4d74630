//! The account routes beyond sign-up and sign-in, in one function:
//!
//! | route | access | Cognito |
//! |---|---|---|
//! | `POST /resend_code` | public | ResendConfirmationCode |
//! | `POST /forgot_password` | public | ForgotPassword |
//! | `POST /reset_password` | public | ConfirmForgotPassword |
//! | `POST /change_password` | access token | ChangePassword |
//! | `POST /logout` | access token | GlobalSignOut |
//! | `GET /me` | id token | none: the authorizer's claims |
//!
//! `/change_password` and `/logout` are deployed with `AuthorizationScopes`, so API Gateway
//! accepts only an access token there; the handler passes that same token on to Cognito.

use auth::body::check_len;
use auth::claims::Claims;
use auth::cognito::{MAX_CODE_CHARS, map_error, map_error_hiding_accounts, password};
use auth::http::bearer_token;
use auth::{ApiError, CognitoOp, JsonObject, RequestMeta, normalize_username, respond};
use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::json;

pub use auth::CognitoState as State;

/// The longest token forwarded to Cognito; Cognito's own tokens are far shorter.
const MAX_TOKEN_CHARS: usize = 8192;

/// The one answer of `/resend_code`, whether or not the account exists.
pub const RESEND_MESSAGE: &str =
    "If an unconfirmed account with this username exists, a new confirmation code is on its way.";
/// The one answer of `/forgot_password`, whether or not the account exists.
pub const FORGOT_MESSAGE: &str =
    "If an account with this username exists, a code to reset its password is on its way.";

#[tracing::instrument(name = "account", skip_all)]
pub async fn handle(state: &State, req: Request) -> Result<Response<Body>, auth::Error> {
    let meta = RequestMeta::of(&req);
    let outcome = route(state, &req, &meta).await;
    Ok(respond(&state.cors, &meta, outcome))
}

async fn route(
    state: &State,
    req: &Request,
    meta: &RequestMeta,
) -> Result<Response<Body>, ApiError> {
    match (req.method(), meta.resource.as_str()) {
        (&Method::POST, "/resend_code") => resend_code(state, req).await,
        (&Method::POST, "/forgot_password") => forgot_password(state, req).await,
        (&Method::POST, "/reset_password") => reset_password(state, req).await,
        (&Method::POST, "/change_password") => change_password(state, req).await,
        (&Method::POST, "/logout") => logout(state, req).await,
        (&Method::GET, "/me") => me(state, req),
        (
            _,
            "/resend_code" | "/forgot_password" | "/reset_password" | "/change_password"
            | "/logout" | "/me",
        ) => Err(ApiError::MethodNotAllowed(req.method().to_string())),
        _ => Err(ApiError::NotFound("route")),
    }
}

fn message(state: &State, text: &str) -> Response<Body> {
    state.cors.json(StatusCode::OK, &json!({ "message": text }))
}

/// The `username` of a public route's body, normalised as `/register` stored it.
fn username(body: &JsonObject) -> Result<String, ApiError> {
    normalize_username(body.string("username")?)
}

/// The access token the authorizer accepted, from the `Authorization` header. The claims must
/// be there too: without them the route was deployed without its authorizer.
fn access_token(req: &Request) -> Result<&str, ApiError> {
    Claims::from_request(req)?;
    let token = bearer_token(req).ok_or(ApiError::Unauthorized)?;
    check_len("authorization", token, MAX_TOKEN_CHARS).map_err(|_| ApiError::Unauthorized)?;
    Ok(token)
}

async fn resend_code(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let username = username(&JsonObject::from_request(req)?)?;
    let sent = state
        .cognito
        .resend_confirmation_code()
        .client_id(&state.app.client_id)
        .username(&username)
        .set_secret_hash(state.app.secret_hash(&username))
        .send()
        .await;
    same_answer_for_any_account(state, CognitoOp::ResendCode, sent, RESEND_MESSAGE)
}

async fn forgot_password(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let username = username(&JsonObject::from_request(req)?)?;
    let sent = state
        .cognito
        .forgot_password()
        .client_id(&state.app.client_id)
        .username(&username)
        .set_secret_hash(state.app.secret_hash(&username))
        .send()
        .await;
    same_answer_for_any_account(state, CognitoOp::ForgotPassword, sent, FORGOT_MESSAGE)
}

/// One answer, `text`, whether the code went out or the account is unknown (or cannot get one).
/// Cognito's output (where the code went, masked) would tell them apart, so it is dropped.
fn same_answer_for_any_account<T, E>(
    state: &State,
    op: CognitoOp,
    sent: Result<T, SdkError<E, HttpResponse>>,
    text: &str,
) -> Result<Response<Body>, ApiError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    aws_sdk_cognitoidentityprovider::Error: From<E>,
{
    if let Err(e) = sent {
        map_error_hiding_accounts(op, e)?;
    }
    Ok(message(state, text))
}

async fn reset_password(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let body = JsonObject::from_request(req)?;
    let username = username(&body)?;
    let code = body
        .string_by_any_name(&["confirmation_code", "code"])?
        .trim();
    check_len("confirmation_code", code, MAX_CODE_CHARS)?;
    let new_password = password(&body, "new_password")?;
    state
        .cognito
        .confirm_forgot_password()
        .client_id(&state.app.client_id)
        .username(&username)
        .confirmation_code(code)
        .password(new_password)
        .set_secret_hash(state.app.secret_hash(&username))
        .send()
        .await
        .map_err(|e| map_error(CognitoOp::ResetPassword, e))?;
    Ok(message(
        state,
        "Password reset. Sign in with the new password.",
    ))
}

async fn change_password(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let token = access_token(req)?;
    let body = JsonObject::from_request(req)?;
    let previous = password(&body, "previous_password")?;
    let proposed = password(&body, "proposed_password")?;
    state
        .cognito
        .change_password()
        .access_token(token)
        .previous_password(previous)
        .proposed_password(proposed)
        .send()
        .await
        .map_err(|e| map_error(CognitoOp::ChangePassword, e))?;
    Ok(message(state, "Password changed."))
}

async fn logout(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let token = access_token(req)?;
    state
        .cognito
        .global_sign_out()
        .access_token(token)
        .send()
        .await
        .map_err(|e| map_error(CognitoOp::SignOut, e))?;
    Ok(message(
        state,
        "Signed out: every refresh token of this account is revoked.",
    ))
}

/// What `/me` answers: the claims of the caller's id token.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Me<'a> {
    pub sub: &'a str,
    /// `cognito:username`: the internal user name, which `/refresh` wants.
    pub username: Option<&'a str>,
    pub email: Option<&'a str>,
    pub email_verified: bool,
    pub groups: Vec<&'a str>,
}

impl<'a> Me<'a> {
    pub fn of(claims: &'a Claims) -> Self {
        Self {
            sub: claims.sub(),
            username: claims.get("cognito:username"),
            email: claims.get("email"),
            email_verified: claims.flag("email_verified").unwrap_or(false),
            groups: claims.groups(),
        }
    }
}

fn me(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let claims = Claims::from_request(req)?;
    Ok(state.cors.json(StatusCode::OK, &Me::of(&claims)))
}

#[cfg(test)]
mod tests;
