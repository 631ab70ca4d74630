//! The account routes beyond sign-up and sign-in, in one function:
//!
//! | route | access | Cognito |
//! |---|---|---|
//! | `POST /resend_code` | public | ResendConfirmationCode |
//! | `POST /forgot_password` | public | ForgotPassword |
//! | `POST /reset_password` | public | ConfirmForgotPassword, then AdminUserGlobalSignOut |
//! | `POST /change_password` | access token | ChangePassword |
//! | `POST /logout` | access token | GlobalSignOut, or RevokeToken of this session's refresh token |
//! | `GET /me` | id token | none: the authorizer's claims |
//! | `PATCH /me` | access token | `name`: UpdateUserAttributes; `email`: the proof, then AdminUpdateUserAttributes and an alert to the old address |
//! | `POST /me/verify_email` | access token | VerifyUserAttribute |
//! | `POST /me/verify_email/resend` | access token | GetUserAttributeVerificationCode |
//! | `DELETE /me` | access token | the proof, the user's books, DeleteUser |
//!
//! *The proof* ([`reauth`]) is the password, and the second factor where TOTP is on: what a
//! sign-in takes, because a stolen access token must not change where the password-reset code
//! goes, nor delete the account.
//!
//! Sign-outs and deletions are also written to the sessions table, so that the tokens they end
//! are refused at once on every protected route (`crates/tables/src/sessions.rs`).
//!
//! `/change_password` and `/logout` are deployed with `AuthorizationScopes`, so API Gateway
//! accepts only an access token there; the handler passes that same token on to Cognito.

mod app;

use alerts::Alerts;
use auth::{Code, Email, Password, RefreshToken, Username};
use platform::body::check_len;
use platform::{ApiError, Caller, ClientContext, JsonObject, Reply, Request, Route, route};
use reauth::{Proof, Reauth};
use serde::Serialize;
use tables::limits::{self, Limits};
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
    /// The changes of address and codes a user may ask for ([`limits::EMAIL_CHANGE`],
    /// [`limits::MAIL`]).
    pub limits: Limits,
    /// The proof before an e-mail change or a deletion.
    pub reauth: Reauth,
    /// The alert to the old address of an e-mail change.
    pub alerts: Alerts,
    /// `COGNITO_USER_POOL_ID`: the pool of the calls by user name.
    pub pool_id: String,
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

/// The profile attributes `PATCH /me` changes: `name` through the app client's WriteAttributes,
/// `email` by the function itself, after the proof.
pub const WRITABLE: &[&str] = &["email", "name"];
/// The fields `PATCH /me` takes.
const PATCH_FIELDS: &[&str] = &["email", "name", "password", "code", "recovery_code"];
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
    // The user's `sub` (the sessions table's key) is looked up before the code is spent: a
    // reset that could not end the sessions must not happen. An unknown user goes on to the
    // same refusal as a wrong code, by the same calls.
    let sub = match state.cognito.admin_sub(&state.pool_id, &username).await {
        Ok(sub) => Some(sub),
        Err(ApiError::NotAuthorized) => None,
        Err(other) => return Err(other),
    };
    state
        .cognito
        .confirm_forgot_password(&context, &username, &code, &new_password)
        .await?;
    let sub = sub.ok_or_else(|| {
        ApiError::unavailable(
            "Cognito ConfirmForgotPassword: a reset for a user AdminGetUser did not know",
        )
    })?;
    // Whoever held the old password may hold a session: every one ends, at once (the id and
    // access tokens through the sessions table, then Cognito's refresh tokens).
    state.sessions.end_all(&sub).await?;
    state
        .cognito
        .admin_sign_out_everywhere(&state.pool_id, &username)
        .await?;
    Reply::message("Password reset. Every session has ended: sign in with the new password.")
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
/// they expire. The refresh token must be this session's own: Cognito's are opaque, so it is
/// exchanged once, and the session its tokens name must be the caller's; another session's or
/// another user's is `403 refresh_token_mismatch`, and nothing is revoked.
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
            let context = ClientContext::of(req);
            let own = match state
                .cognito
                .refresh(&context, caller.username()?, &refresh_token)
                .await
            {
                Ok(tokens) => tokens.session().as_deref() == Some(session),
                Err(ApiError::InvalidRefreshToken) => false,
                Err(other) => return Err(other),
            };
            if !own {
                return Err(REFRESH_TOKEN_MISMATCH);
            }
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

/// A refresh token of another session, or another user, at `/logout`.
pub const REFRESH_TOKEN_MISMATCH: ApiError = ApiError::Refused {
    code: "refresh_token_mismatch",
    message: "the refresh token is not this session's; sign out of another session from that session",
};

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

/// Changes `email` and/or `name`. A new e-mail address needs the proof (the password, and the
/// second factor where TOTP is on), counts against the user's changes ([`limits::EMAIL_CHANGE`]), is told
/// to the old address, and takes effect once its code is confirmed (`POST /me/verify_email`);
/// until then the old one stays.
#[tracing::instrument(name = "update_me", skip_all)]
async fn update_me(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = Caller::of(req)?;
    let token = caller.access_token()?;
    let body = JsonObject::from_request(req)?;
    body.deny_unknown_fields(PATCH_FIELDS)?;
    let email = body
        .optional_string("email")?
        .map(Email::parse)
        .transpose()?;
    let name = match body.optional_string("name")? {
        Some(name) => {
            let name = name.trim();
            check_len("name", name, MAX_NAME_CHARS)?;
            if name.is_empty() || name.chars().any(char::is_control) {
                return Err(ApiError::InvalidField {
                    field: "name",
                    reason: "must be printable text".into(),
                });
            }
            Some(name)
        }
        None => None,
    };
    if email.is_none() && name.is_none() {
        return Err(ApiError::MissingField("email or name"));
    }
    let mut pending = Vec::new();
    if let Some(email) = &email {
        let proof = Proof::from_body(&body)?;
        let context = ClientContext::of(req);
        let username = caller.username()?;
        // Refused before the proof when none is left, so that the proof (which may use up a
        // recovery code) is not spent on a change that cannot be made; taken after it, so that
        // a wrong password uses none.
        state
            .limits
            .check(&limits::EMAIL_CHANGE, caller.sub())
            .await?;
        state.reauth.prove(&context, username, &proof).await?;
        state
            .limits
            .take(&limits::EMAIL_CHANGE, caller.sub())
            .await?;
        let old = state.cognito.profile(token).await?.verified_email;
        state
            .cognito
            .admin_change_email(&state.pool_id, username, email)
            .await?;
        if let Some(old) = old.filter(|old| old != &**email) {
            state
                .alerts
                .email_change_requested(&old, email, &context)
                .await;
        }
        pending.push("email".to_owned());
    }
    if let Some(name) = name {
        state
            .cognito
            .update_attributes(token, &[("name", name)])
            .await?;
    }
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
    let caller = Caller::of(req)?;
    let token = caller.access_token()?;
    state.limits.take(&limits::MAIL, caller.sub()).await?;
    state.cognito.resend_email_code(token).await?;
    Reply::message("A new code is on its way to the e-mail address awaiting verification.")
}

/// Deletes the account, after the proof (the password, and the second factor where TOTP is on):
/// the user's books, then every token of theirs (refused from now on), then the Cognito user.
/// The tokens end before the user does, so that no token outlives the account. A failure before
/// that leaves the account in place, and the request can be sent again; a failure of the last
/// step leaves a user whose every token is refused until the sessions record expires (an hour
/// and five minutes), after which a sign-in and the request again finish it.
#[tracing::instrument(name = "delete_me", skip_all)]
async fn delete_me(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = Caller::of(req)?;
    let token = caller.access_token()?;
    let body = JsonObject::from_request(req)?;
    body.deny_unknown_fields(reauth::FIELDS)?;
    let proof = Proof::from_body(&body)?;
    // The access token's `username` is the internal user name, which sign-in takes.
    let username = caller.username()?;
    state
        .reauth
        .prove(&ClientContext::of(req), username, &proof)
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
