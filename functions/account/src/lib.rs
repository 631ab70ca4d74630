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
//! | `PATCH /me` | access token | UpdateUserAttributes (`email`, `name`) |
//! | `POST /me/verify_email` | access token | VerifyUserAttribute |
//! | `POST /me/verify_email/resend` | access token | GetUserAttributeVerificationCode |
//! | `DELETE /me` | access token | InitiateAuth (the password again), the user's books, DeleteUser |
//!
//! Sign-outs and deletions are also written to the sessions table, so that the tokens they end
//! are refused at once on every protected route (`crates/tables/src/sessions.rs`).
//!
//! `/change_password` and `/logout` are deployed with `AuthorizationScopes`, so API Gateway
//! accepts only an access token there; the handler passes that same token on to Cognito.

mod app;

use auth::{Code, Email, Password, RefreshToken, Username};
use platform::body::check_len;
use platform::{ApiError, Caller, ClientContext, JsonObject, Reply, Request, Route, route};
use serde::Serialize;
use tables::{Books, RecoveryCodes, Sessions};

pub use crate::app::app;

/// What the account routes work with, built once at start-up ([`app`]).
#[derive(Debug, Clone)]
pub struct State {
    pub cognito: auth::Cognito,
    /// Sign-outs and deletions, enforced at once.
    pub sessions: Sessions,
    /// The books, of which `DELETE /me` deletes the user's.
    pub books: Books,
    /// The recovery codes, which `DELETE /me` deletes.
    pub recovery: RecoveryCodes,
}

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[
    route!(POST "/resend_code" => resend_code),
    route!(POST "/forgot_password" => forgot_password),
    route!(POST "/reset_password" => reset_password),
    route!(POST "/change_password" => change_password),
    route!(POST "/logout" => logout),
    route!(GET "/me" => me),
    route!(PATCH "/me" => update_me),
    route!(DELETE "/me" => delete_me),
    route!(POST "/me/verify_email" => verify_email),
    route!(POST "/me/verify_email/resend" => resend_email_code),
];

/// The profile attributes `PATCH /me` changes: the app client's WriteAttributes.
pub const WRITABLE: &[&str] = &["email", "name"];
/// The longest `name` taken (Cognito's limit for a string attribute).
const MAX_NAME_CHARS: usize = 2048;

/// The one answer of `/resend_code`, whether or not the account exists.
pub const RESEND_MESSAGE: &str =
    "If an unconfirmed account with this username exists, a new confirmation code is on its way.";
/// The one answer of `/forgot_password`, whether or not the account exists.
pub const FORGOT_MESSAGE: &str =
    "If an account with this username exists, a code to reset its password is on its way.";

/// One answer whether the code went out or the account is unknown (or cannot get one).
/// Cognito's output (where the code went, masked) would tell them apart, so it is dropped.
#[tracing::instrument(name = "resend_code", skip_all)]
async fn resend_code(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let username = Username::from_body(&JsonObject::from_request(req)?, "username")?;
    let delivery = state
        .cognito
        .resend_code(&ClientContext::of(req), &username)
        .await?;
    Ok(Reply::message(RESEND_MESSAGE)?.noted(delivery.note()))
}

#[tracing::instrument(name = "forgot_password", skip_all)]
async fn forgot_password(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let username = Username::from_body(&JsonObject::from_request(req)?, "username")?;
    let delivery = state
        .cognito
        .forgot_password(&ClientContext::of(req), &username)
        .await?;
    Ok(Reply::message(FORGOT_MESSAGE)?.noted(delivery.note()))
}

#[tracing::instrument(name = "reset_password", skip_all)]
async fn reset_password(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    let username = Username::from_body(&body, "username")?;
    let code = Code::from_body(&body)?;
    let new_password = Password::from_body(&body, "new_password")?;
    let context = ClientContext::of(req);
    state
        .cognito
        .confirm_forgot_password(&context, &username, &code, &new_password)
        .await?;
    Reply::message("Password reset. Sign in with the new password.")
}

#[tracing::instrument(name = "change_password", skip_all)]
async fn change_password(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let token = Caller::of(req)?.access_token()?;
    let body = JsonObject::from_request(req)?;
    let previous = Password::from_body(&body, "previous_password")?;
    let proposed = Password::from_body(&body, "proposed_password")?;
    state
        .cognito
        .change_password(token, &previous, &proposed)
        .await?;
    Reply::message("Password changed.")
}

/// Signs out everywhere (GlobalSignOut), or, with `{"refresh_token"}`, this session only
/// (RevokeToken). Either way the ended sessions' tokens are refused from now on, not only when
/// they expire.
#[tracing::instrument(name = "logout", skip_all)]
async fn logout(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = Caller::of(req)?;
    let token = caller.access_token()?;
    let body = JsonObject::from_optional_request(req)?;
    let refresh_token = match &body {
        Some(body) => RefreshToken::optional(body)?,
        None => None,
    };
    match refresh_token {
        Some(refresh_token) => {
            let session = caller.origin_jti().ok_or(ApiError::Unauthorized)?;
            state.cognito.revoke_token(&refresh_token).await?;
            state.sessions.end_session(caller.sub(), session).await?;
            Reply::message("Signed out of this session; your other sessions stay signed in.")
        }
        None => {
            state.cognito.global_sign_out(token).await?;
            state.sessions.end_all(caller.sub()).await?;
            Reply::message("Signed out: every session of this account has ended.")
        }
    }
}

/// What `/me` answers: the caller, as the id token's claims tell it.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Me<'a> {
    pub sub: &'a str,
    /// `cognito:username`: the internal user name, which `/refresh` wants.
    pub username: Option<&'a str>,
    pub email: Option<&'a str>,
    pub email_verified: bool,
    /// The profile's `name`, once set (`PATCH /me`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    pub groups: Vec<&'a str>,
}

impl<'a> Me<'a> {
    pub fn of(caller: &'a Caller) -> Self {
        Self {
            sub: caller.sub(),
            username: caller.username().ok(),
            email: caller.claim("email"),
            email_verified: caller.flag("email_verified").unwrap_or(false),
            name: caller.claim("name"),
            groups: caller.groups().iter().map(String::as_str).collect(),
        }
    }
}

async fn me(_: &State, req: &Request) -> Result<Reply, ApiError> {
    Reply::ok(&Me::of(Caller::of(req)?))
}

/// What `PATCH /me` answers.
#[derive(Debug, Serialize)]
pub struct Updated {
    pub message: &'static str,
    /// Attributes changed only once verified: `["email"]` after an e-mail change, whose code
    /// went to the new address.
    pub pending_verification: Vec<String>,
}

/// Changes `email` and/or `name`. A new e-mail address takes effect once its code is confirmed
/// (`POST /me/verify_email`); until then the old one stays.
#[tracing::instrument(name = "update_me", skip_all)]
async fn update_me(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let token = Caller::of(req)?.access_token()?;
    let body = JsonObject::from_request(req)?;
    body.deny_unknown_fields(WRITABLE)?;
    let mut changes = Vec::new();
    if let Some(email) = body.optional_string("email")? {
        changes.push(("email", Email::parse(email)?.to_string()));
    }
    if let Some(name) = body.optional_string("name")? {
        let name = name.trim();
        check_len("name", name, MAX_NAME_CHARS)?;
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(ApiError::InvalidField {
                field: "name",
                reason: "must be printable text".into(),
            });
        }
        changes.push(("name", name.to_owned()));
    }
    if changes.is_empty() {
        return Err(ApiError::MissingField("email or name"));
    }
    let changes: Vec<(&str, &str)> = changes.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let pending = state.cognito.update_attributes(token, &changes).await?;
    let message = if pending.is_empty() {
        "Profile updated."
    } else {
        "Profile updated. The new e-mail address takes effect once the code sent to it is confirmed."
    };
    Reply::ok(&Updated {
        message,
        pending_verification: pending,
    })
}

#[tracing::instrument(name = "verify_email", skip_all)]
async fn verify_email(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let token = Caller::of(req)?.access_token()?;
    let body = JsonObject::from_request(req)?;
    let code = Code::from_body(&body)?;
    state.cognito.verify_email(token, &code).await?;
    Reply::message("E-mail address verified.")
}

#[tracing::instrument(name = "resend_email_code", skip_all)]
async fn resend_email_code(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let token = Caller::of(req)?.access_token()?;
    state.cognito.resend_email_code(token).await?;
    Reply::message("A new code is on its way to the e-mail address awaiting verification.")
}

/// Deletes the account, after the password once more: the user's books, then every token of
/// theirs (refused from now on), then the Cognito user. A failure part-way leaves the account
/// in place, and the request can be sent again.
#[tracing::instrument(name = "delete_me", skip_all)]
async fn delete_me(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = Caller::of(req)?;
    let token = caller.access_token()?;
    let body = JsonObject::from_request(req)?;
    let password = Password::from_body(&body, "password")?;
    // The access token's `username` is the internal user name, which sign-in takes.
    let username = caller.username()?;
    state
        .cognito
        .password_sign_in(&ClientContext::of(req), username, &password)
        .await?;
    let books = state.books.delete_owned_by(caller.sub()).await?;
    state.recovery.delete(username).await?;
    state.sessions.end_user(caller.sub()).await?;
    state.cognito.delete_user(token).await?;
    Ok(Reply::no_content().noted(Some(if books == 0 {
        "no books"
    } else {
        "books deleted"
    })))
}

#[cfg(test)]
mod tests;
