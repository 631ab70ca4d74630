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

use auth::Caller;
use platform::body::check_len;
use platform::claims::Claims;
use platform::request::bearer_token;
use platform::{ApiError, JsonObject, Reply, Request, Route, route};
use serde::Serialize;

pub use auth::Cognito as State;

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[
    route!(POST "/resend_code" => resend_code),
    route!(POST "/forgot_password" => forgot_password),
    route!(POST "/reset_password" => reset_password),
    route!(POST "/change_password" => change_password),
    route!(POST "/logout" => logout),
    route!(GET "/me" => me),
];

/// The longest token forwarded to Cognito; Cognito's own tokens are far shorter.
const MAX_TOKEN_CHARS: usize = 8192;

/// The one answer of `/resend_code`, whether or not the account exists.
pub const RESEND_MESSAGE: &str =
    "If an unconfirmed account with this username exists, a new confirmation code is on its way.";
/// The one answer of `/forgot_password`, whether or not the account exists.
pub const FORGOT_MESSAGE: &str =
    "If an account with this username exists, a code to reset its password is on its way.";

/// The `username` of a public route's body, normalised as `/register` stored it.
fn username(body: &JsonObject) -> Result<String, ApiError> {
    auth::normalize_username(body.string("username")?)
}

/// The access token the authorizer accepted, from the `Authorization` header. The claims must
/// be there too: without them the route was deployed without its authorizer.
fn access_token(req: &Request) -> Result<&str, ApiError> {
    Claims::from_request(req)?;
    let token = bearer_token(req).ok_or(ApiError::Unauthorized)?;
    check_len("authorization", token, MAX_TOKEN_CHARS).map_err(|_| ApiError::Unauthorized)?;
    Ok(token)
}

/// One answer whether the code went out or the account is unknown (or cannot get one).
/// Cognito's output (where the code went, masked) would tell them apart, so it is dropped.
#[tracing::instrument(name = "resend_code", skip_all)]
async fn resend_code(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let username = username(&JsonObject::from_request(req)?)?;
    let delivery = state.resend_code(&Caller::of(req), &username).await?;
    Ok(Reply::message(RESEND_MESSAGE)?.noted(delivery.note()))
}

#[tracing::instrument(name = "forgot_password", skip_all)]
async fn forgot_password(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let username = username(&JsonObject::from_request(req)?)?;
    let delivery = state.forgot_password(&Caller::of(req), &username).await?;
    Ok(Reply::message(FORGOT_MESSAGE)?.noted(delivery.note()))
}

#[tracing::instrument(name = "reset_password", skip_all)]
async fn reset_password(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    let username = username(&body)?;
    let code = auth::code(&body)?;
    let new_password = auth::password(&body, "new_password")?;
    state
        .confirm_forgot_password(&Caller::of(req), &username, code, new_password)
        .await?;
    Reply::message("Password reset. Sign in with the new password.")
}

#[tracing::instrument(name = "change_password", skip_all)]
async fn change_password(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let token = access_token(req)?;
    let body = JsonObject::from_request(req)?;
    let previous = auth::password(&body, "previous_password")?;
    let proposed = auth::password(&body, "proposed_password")?;
    state.change_password(token, previous, proposed).await?;
    Reply::message("Password changed.")
}

#[tracing::instrument(name = "logout", skip_all)]
async fn logout(state: &State, req: &Request) -> Result<Reply, ApiError> {
    state.global_sign_out(access_token(req)?).await?;
    Reply::message("Signed out: every refresh token of this account is revoked.")
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

async fn me(_: &State, req: &Request) -> Result<Reply, ApiError> {
    Reply::ok(&Me::of(&Claims::from_request(req)?))
}

#[cfg(test)]
mod tests;
