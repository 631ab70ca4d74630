//! The account routes beyond sign-up and sign-in, in one function:
//!
//! | route | access | Cognito |
//! |---|---|---|
//! | `POST /resend_code` | public | ResendConfirmationCode |
//! | `POST /forgot_password` | public | ForgotPassword |
//! | `POST /reset_password` | public | ConfirmForgotPassword, then AdminUserGlobalSignOut |
//! | `POST /change_password` | access token | ChangePassword; the other sessions end |
//! | `POST /logout` | access token | GlobalSignOut, or RevokeToken of this session's refresh token |
//! | `GET /me/sessions` | id or access token | none: the sessions table |
//! | `DELETE /me/sessions` | access token | none: every other session ends |
//! | `DELETE /me/sessions/{id}` | access token | none: that session ends |
//! | `GET /me` | id token | none: the authorizer's claims |
//! | `PATCH /me` | access token | `name`: UpdateUserAttributes; `email`: the proof, then AdminUpdateUserAttributes and an alert to the old address |
//! | `POST /me/verify_email` | access token | VerifyUserAttribute |
//! | `POST /me/verify_email/resend` | access token | GetUserAttributeVerificationCode |
//! | `DELETE /me` | access token | the proof, the user's books, DeleteUser |
//! | `GET /me/activity` | access token | none: the audit table |
//!
//! Every change is an event in the audit log ([`tables::audit`]): `password_reset_requested`,
//! `password_reset`, `password_changed`, `sign_out`, `email_change_requested`,
//! `email_changed`, `account_deleted`.
//!
//! An e-mail change, a deletion and ending other sessions also need a sign-in within the
//! re-authentication window ([`reauth::Reauth::require_recent`]).
//!
//! *The proof* ([`reauth`]) is the password, and the second factor where TOTP is on: what a
//! sign-in takes, because a stolen access token must not change where the password-reset code
//! goes, nor delete the account.
//!
//! Sign-outs and deletions end sessions in the sessions table, so that the tokens they end are
//! refused at once on every protected route (`crates/tables/src/sessions.rs`).
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
use sessions::{EventType, Scope, Session, Sessions, caller_event};
use tables::audit::{self, Audit, Event};
use tables::limits::{self, Limits};
use tables::{Books, RecoveryCodes};

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
    /// Where the account's events are recorded, and `GET /me/activity` reads them.
    pub audit: Audit,
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
    route!(GET "/me/sessions" => list_sessions),
    route!(DELETE "/me/sessions" => end_other_sessions),
    route!(DELETE "/me/sessions/{id}" => end_session),
    route!(GET "/me/activity" => activity),
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
    let context = ClientContext::of(req);
    let delivery = state.cognito.forgot_password(&context, &username).await?;
    // Only a known user's request is recorded: an unknown name has no account to tell.
    if let Ok(sub) = state.cognito.admin_sub(&state.pool_id, &username).await {
        let event = Event::new(EventType::PasswordResetRequested, &context).of(&sub, &username);
        state.audit.record(&event).await;
    }
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
    // Whoever held the old password may hold a session: every one ends, at once. Cognito's
    // sign-out comes first, since it ends every refresh token whatever the table does; then the
    // sessions table, which refuses the id and access tokens (every session tried, whatever
    // fails). The password has changed by now: a failure here is logged and the reset answered,
    // for the code is spent and could not be sent again.
    let signed_out = state
        .cognito
        .admin_sign_out_everywhere(&state.pool_id, &username)
        .await;
    // Each ended session's token is revoked too: should Cognito's sign-out have failed, that
    // reaches Cognito all the same.
    let ended = sessions::end_all(&state.cognito, &state.sessions, &sub, None).await;
    let event = Event::new(EventType::PasswordReset, &context)
        .of(&sub, &username)
        .sessions_ended(ended.ended);
    state.audit.record(&event).await;
    let mut all_ended = true;
    for failed in [signed_out.err(), ended.failed].into_iter().flatten() {
        all_ended = false;
        tracing::error!(
            error = failed.code(),
            cause = failed.cause().map(tracing::field::display),
            "a reset could not end every session"
        );
    }
    Reply::message(if all_ended {
        "Password reset. Every session has ended: sign in with the new password."
    } else {
        "Password reset, but some sessions could not be ended: sign in with the new password, then sign out everywhere (POST /logout)."
    })
}

#[tracing::instrument(name = "change_password", skip_all)]
async fn change_password(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = Caller::of(req)?;
    let token = caller.access_token()?;
    let body = JsonObject::from_request(req)?;
    body.deny_unknown_fields(&[
        "previous_password",
        "proposed_password",
        sessions::KEEP_OTHER_SESSIONS,
    ])?;
    let previous = Password::from_body(&body, "previous_password")?;
    let proposed = Password::from_body(&body, "proposed_password")?;
    let keep = sessions::keep_others(Some(&body))?;
    state
        .cognito
        .change_password(token, &previous, &proposed)
        .await?;
    // Whoever knew the old password may hold a session: the others end, unless kept.
    let others = sessions::OthersEnded::after_change(
        sessions::end_others(&state.cognito, &state.sessions, caller, keep).await,
    );
    let context = ClientContext::of(req);
    let event = caller_event(caller, EventType::PasswordChanged, &context)
        .sessions_ended(others.other_sessions_ended);
    state.audit.record(&event).await;
    Reply::ok(&Changed {
        message: "Password changed.",
        others,
    })
}

/// What `/change_password` answers.
#[derive(Debug, Serialize)]
pub struct Changed {
    pub message: &'static str,
    #[serde(flatten)]
    pub others: sessions::OthersEnded,
}

/// Signs out everywhere (GlobalSignOut), or, with `{"refresh_token"}`, this session only
/// (RevokeToken). Either way the ended sessions' tokens are refused from now on, not only when
/// they expire. The refresh token must be this session's own current one, as the sessions
/// table knows it by its hash: another session's, another user's, or a spent one is
/// `403 refresh_token_mismatch`, and nothing is revoked.
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
            // The refresh token's session, as the sessions table knows it by the token's hash,
            // must be the caller's: nothing else is revoked.
            let own = state.sessions.current(caller).await?;
            let theirs = state.sessions.refresh_token(&refresh_token).await?;
            let (Some(own), Some(theirs)) = (own, theirs) else {
                return Err(REFRESH_TOKEN_MISMATCH);
            };
            if theirs.session != own || theirs.sub != caller.sub() || theirs.spent_at.is_some() {
                return Err(REFRESH_TOKEN_MISMATCH);
            }
            state.cognito.revoke_token(&refresh_token).await?;
            state.sessions.end(caller.sub(), &own).await?;
            let event = caller_event(caller, EventType::SignOut, &ClientContext::of(req))
                .scope(Scope::Session, 1);
            state.audit.record(&event).await;
            Reply::message("Signed out of this session; your other sessions stay signed in.")
        }
        None => {
            state.cognito.global_sign_out(token).await?;
            let ended = state
                .sessions
                .end_all(caller.sub(), None)
                .await
                .into_result()?;
            let event = caller_event(caller, EventType::SignOut, &ClientContext::of(req))
                .scope(Scope::All, ended.len());
            state.audit.record(&event).await;
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
        state.reauth.require_recent(caller)?;
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
        let event = caller_event(caller, EventType::EmailChangeRequested, &context);
        state.audit.record(&event).await;
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
    let caller = Caller::of(req)?;
    let token = caller.access_token()?;
    let body = JsonObject::from_request(req)?;
    let code = Code::from_body(&body)?;
    state.cognito.verify_email(token, &code).await?;
    let event = caller_event(caller, EventType::EmailChanged, &ClientContext::of(req));
    state.audit.record(&event).await;
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

/// Deletes the account, after a recent sign-in and the proof (the password, and the second
/// factor where TOTP is on): the user's books, then every session of theirs (their tokens
/// refused from now on), then the Cognito user. The sessions end before the user does, so that
/// no token outlives the account. A failure before that leaves the account in place, and the
/// request can be sent again; a failure of the last step leaves a user without sessions, whom
/// a sign-in and the request again finish.
#[tracing::instrument(name = "delete_me", skip_all)]
async fn delete_me(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = Caller::of(req)?;
    let token = caller.access_token()?;
    state.reauth.require_recent(caller)?;
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
    state
        .sessions
        .end_all(caller.sub(), None)
        .await
        .into_result()?;
    state.cognito.delete_user(token).await?;
    let event = caller_event(caller, EventType::AccountDeleted, &ClientContext::of(req));
    state.audit.record(&event).await;
    // A sign-in that raced the deletion may have recorded a session after the ending above;
    // none can succeed now that the user is gone. The account is gone whatever this does: a
    // failure is logged (those tokens are refused by Cognito, and expire within the hour).
    if let Some(failed) = state.sessions.end_all(caller.sub(), None).await.failed {
        tracing::error!(
            error = failed.code(),
            cause = failed.cause().map(tracing::field::display),
            "sessions recorded during a deletion could not be ended"
        );
    }
    Ok(Reply::no_content().noted(Some(if books == 0 {
        "no books"
    } else {
        "books deleted"
    })))
}

/// What `GET /me/sessions` answers.
#[derive(Debug, Serialize)]
pub struct SessionList {
    pub sessions: Vec<Session>,
}

/// The caller's live sessions, newest first, the caller's own marked `current`.
#[tracing::instrument(name = "list_sessions", skip_all)]
async fn list_sessions(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = Caller::of(req)?;
    let sessions = state.sessions.list(caller.sub(), Some(caller)).await?;
    Reply::ok(&SessionList { sessions })
}

/// What `DELETE /me/sessions` answers.
#[derive(Debug, Serialize)]
pub struct Ended {
    pub message: &'static str,
    pub ended: usize,
}

/// Ends every session of the caller's but the caller's own, after a recent sign-in.
#[tracing::instrument(name = "end_other_sessions", skip_all)]
async fn end_other_sessions(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = Caller::of(req)?;
    state.reauth.require_recent(caller)?;
    let ended = sessions::end_others(&state.cognito, &state.sessions, caller, false)
        .await
        .into_result()?;
    let event = caller_event(caller, EventType::SignOut, &ClientContext::of(req))
        .scope(Scope::Others, ended);
    state.audit.record(&event).await;
    Reply::ok(&Ended {
        message: "Every other session has ended.",
        ended,
    })
}

/// The longest session id taken: [`sessions::session_id`] makes 22 characters.
const MAX_SESSION_ID_CHARS: usize = 64;

/// Ends one of the caller's sessions (the caller's own too: a sign-out of this device). Ending
/// another needs a sign-in within the re-authentication window, as ASVS 7.5.2 asks. Another
/// user's session, an unknown one or one ended already is `404 not_found`, alike.
#[tracing::instrument(name = "end_session", skip_all)]
async fn end_session(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = Caller::of(req)?;
    let id = platform::request::path_id(req, MAX_SESSION_ID_CHARS)
        .ok_or(ApiError::NotFound("session"))?;
    // Another session takes a recent sign-in (ASVS 7.5.2); signing this one out does not.
    if state.sessions.current(caller).await?.as_deref() != Some(id) {
        state.reauth.require_recent(caller)?;
    }
    if !sessions::end(&state.cognito, &state.sessions, caller.sub(), id).await? {
        return Err(ApiError::NotFound("session"));
    }
    // The event names the session that ended; the caller's own is the actor's.
    let mut event =
        caller_event(caller, EventType::SignOut, &ClientContext::of(req)).scope(Scope::Session, 1);
    event.session = Some(id.to_owned());
    state.audit.record(&event).await;
    Ok(Reply::no_content())
}

/// What `GET /me/activity` answers.
#[derive(Debug, Serialize)]
pub struct Activity {
    pub events: Vec<Event>,
    /// The `cursor` of the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The page size `GET /me/activity` answers when `limit` is not given.
const ACTIVITY_PAGE: i32 = 25;

/// The caller's security activity: their events, newest first, `limit` (1 to 100, default 25)
/// a page, each with the device and the address it came from; `cursor` (the last page's
/// `next_cursor`) goes on. A cursor is good only for the caller's own events.
#[tracing::instrument(name = "activity", skip_all)]
async fn activity(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = Caller::of(req)?;
    let params = platform::request::QueryParams::of(req);
    let limit = params.int("limit", 1, i64::from(audit::MAX_PAGE))?;
    let page = state
        .audit
        .query(&audit::Query {
            partition: audit::Partition::User(caller.sub().to_owned()),
            from_ms: None,
            to_ms: None,
            kind: None,
            limit: limit.map_or(ACTIVITY_PAGE, |l| i32::try_from(l).unwrap_or(ACTIVITY_PAGE)),
            cursor: params.string("cursor").map(str::to_owned),
        })
        .await?;
    Reply::ok(&Activity {
        events: page.events.into_iter().map(as_the_user_sees_it).collect(),
        next_cursor: page.next,
    })
}

/// An event as its user is shown it: what an administrator or operator did, but not who they
/// are nor where they acted from (their id, name, address and device are for the audit).
fn as_the_user_sees_it(mut event: Event) -> Event {
    if event.actor.kind != audit::ActorKind::User {
        event.actor.sub = None;
        event.actor.username = None;
        event.ip = None;
        event.device = None;
    }
    event
}

#[cfg(test)]
mod tests;
