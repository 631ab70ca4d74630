//! The signed-in user's passkeys (WebAuthn), through Cognito's own passkey operations.
//!
//! | route | auth | Cognito |
//! |---|---|---|
//! | `POST /passkeys/register/start` | access token | the proof, then StartWebAuthnRegistration: the options `navigator.credentials.create()` takes |
//! | `POST /passkeys/register/finish` | access token | after a start of this session: CompleteWebAuthnRegistration with the browser's credential; the user is told by e-mail |
//! | `GET /passkeys` | access token | ListWebAuthnCredentials, and GetUserAuthFactors: the ways this user can sign in |
//! | `DELETE /passkeys/{id}` | access token | DeleteWebAuthnCredential; the user is told by e-mail |
//!
//! A passkey signs in for good, without a password: so a passkey is never added with an access
//! token alone. The start takes the proof ([`reauth`]): the password (and the second factor
//! where TOTP is on), or, for a user who signs in without a password, a code mailed to their
//! verified address (`{"send_email_code": true}` first, then `email_code` with the
//! `proof_session` it answered). The finish takes the `registration_token` the start answered,
//! in the same session, within [`limits::PASSKEY_SETUP`]'s lifetime: a thief holding a stolen
//! access token cannot finish a registration they did not prove. Adding and deleting a passkey
//! also need a sign-in within the re-authentication window ([`reauth::Reauth::require_recent`]).
//!
//! Passkeys need the pool on Cognito's Essentials plan: on Lite every route answers
//! `501 feature_unavailable`.

mod app;

use auth::{Code, Credential, Passkey};
use lambda_http::http::StatusCode;
use platform::{ApiError, Caller, ClientContext, JsonObject, Reply, Request, Route, random, route};
use reauth::{Proof, Reauth};
use serde::Serialize;
use sessions::EventType;
use tables::limits::{self, Limits};

pub use crate::app::app;

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[
    route!(POST "/passkeys/register/start" => start),
    route!(POST "/passkeys/register/finish" => finish),
    route!(GET "/passkeys" => list),
    route!(DELETE "/passkeys/{id}" => delete),
];

/// What the routes work with, built once ([`app`]).
#[derive(Debug, Clone)]
pub struct State {
    pub cognito: auth::Cognito,
    /// The registration grants `/passkeys/register/finish` takes.
    pub limits: Limits,
    /// The proof before a passkey is added.
    pub reauth: Reauth,
    /// The user is told when a passkey is added.
    pub alerts: alerts::Alerts,
    /// Where passkeys added and removed are recorded.
    pub audit: tables::Audit,
}

/// The symbols of a registration token (URL-safe), and its length: 43 of 64 symbols, 258 bits
/// from the OS CSPRNG.
const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const TOKEN_CHARS: usize = 43;
/// The longest proof session taken: Cognito's are under 1 KB.
const MAX_SESSION_CHARS: usize = 4096;
/// The longest credential id taken (WebAuthn's limit is 1023 bytes, base64url).
const MAX_ID_CHARS: usize = 1400;

/// The fields the start reads: a proof by password, or by e-mailed code.
const START_FIELDS: &[&str] = &[
    "password",
    "code",
    "recovery_code",
    "send_email_code",
    "email_code",
    "proof_session",
];

/// The caller, and their session (`origin_jti`), which a registration is bound to.
fn caller(req: &Request) -> Result<(&Caller, &str, &str, &str), ApiError> {
    let caller = Caller::of(req)?;
    let session = caller.origin_jti().ok_or(ApiError::Unauthorized)?;
    Ok((caller, caller.access_token()?, caller.username()?, session))
}

/// What the start answers: the options, and the token the finish takes.
#[derive(Serialize)]
pub struct Started {
    /// What `navigator.credentials.create({publicKey})` takes, byte strings in base64url.
    pub credential_creation_options: serde_json::Value,
    pub registration_token: String,
}

/// What the start answers when it mailed a code to prove the caller with.
#[derive(Serialize)]
pub struct CodeSent {
    pub message: &'static str,
    /// Send back with `email_code`.
    pub proof_session: String,
    /// Where the code went, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
}

/// A new passkey's registration, after the proof.
#[tracing::instrument(name = "passkey_start", skip_all)]
async fn start(state: &State, req: &Request) -> Result<Reply, ApiError> {
    state.cognito.require_passwordless()?;
    let (who, token, username, session) = caller(req)?;
    state.reauth.require_recent(who)?;
    let body = JsonObject::from_request(req)?;
    body.deny_unknown_fields(START_FIELDS)?;
    let context = ClientContext::of(req);
    let wants_code = match body.get("send_email_code") {
        None => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::InvalidType {
                field: "send_email_code",
                expected: "boolean",
            });
        }
    };
    let by_code = Code::optional(&body, "email_code")?;
    let by_password = body.get("password").is_some();
    match (wants_code, by_code, by_password) {
        (true, None, false) => {
            let sent = state.reauth.send_email_code(&context, username).await?;
            return Reply::json(
                StatusCode::ACCEPTED,
                &CodeSent {
                    message: "A code is on its way: send it back as email_code, with proof_session.",
                    proof_session: sent.session,
                    destination: sent.destination,
                },
            );
        }
        (false, Some(code), false) => {
            let proof_session = body.string("proof_session")?.trim();
            platform::body::check_len("proof_session", proof_session, MAX_SESSION_CHARS)?;
            state
                .reauth
                .prove_email_code(&context, username, proof_session, code)
                .await?;
        }
        (false, None, true) => {
            let proof = Proof::from_body(&body)?;
            state.reauth.prove(&context, username, &proof).await?;
        }
        (false, None, false) => return Err(ApiError::MissingField("password")),
        _ => {
            return Err(ApiError::InvalidField {
                field: "password",
                reason: "prove yourself one way: password, email_code or send_email_code".into(),
            });
        }
    }
    let credential_creation_options = state.cognito.start_passkey_registration(token).await?;
    let registration_token =
        random::string(TOKEN_ALPHABET, TOKEN_CHARS).map_err(ApiError::internal)?;
    state
        .limits
        .grant(
            &limits::PASSKEY_SETUP,
            who.sub(),
            session,
            &registration_token,
        )
        .await?;
    Reply::ok(&Started {
        credential_creation_options,
        registration_token,
    })
}

/// `/passkeys/register/finish` without a start of this session (with the proof).
pub const REGISTRATION_REQUIRED: ApiError = ApiError::Refused {
    code: "registration_required",
    message: "start with /passkeys/register/start (with the proof) in this session, and send its registration_token",
};

/// What the finish answers: the passkey as `GET /passkeys` lists it (absent only when Cognito
/// could not list it at once; the passkey is added all the same).
#[derive(Serialize)]
pub struct Added {
    pub message: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passkey: Option<Passkey>,
}

/// `{credential, registration_token}`: the browser's answer to the registration.
#[tracing::instrument(name = "passkey_finish", skip_all)]
async fn finish(state: &State, req: &Request) -> Result<Reply, ApiError> {
    state.cognito.require_passwordless()?;
    let (who, token, _, session) = caller(req)?;
    let body = JsonObject::from_request(req)?;
    body.deny_unknown_fields(&["credential", "registration_token"])?;
    let credential = Credential::from_body(&body, "credential")?;
    let registration_token = body.string("registration_token")?.trim();
    platform::body::check_len("registration_token", registration_token, TOKEN_CHARS)?;
    let granted = state
        .limits
        .redeem(
            &limits::PASSKEY_SETUP,
            who.sub(),
            session,
            registration_token,
        )
        .await?;
    if granted.is_none() {
        return Err(REGISTRATION_REQUIRED);
    }
    let before = state.cognito.passkeys(token).await?;
    state
        .cognito
        .complete_passkey_registration(token, credential.json())
        .await?;
    // The passkey is the user's from here on: what fails after this is logged, never answered
    // as a failure, since the grant is spent and a retry could not finish again.
    let passkey = match state.cognito.passkeys(token).await {
        Ok(after) => after.into_iter().find(|p| !before.contains(p)),
        Err(e) => {
            tracing::error!(cause = %e, "the new passkey could not be listed");
            None
        }
    };
    let event = sessions::caller_event(who, EventType::PasskeyAdded, &ClientContext::of(req));
    state.audit.record(&event).await;
    if state.alerts.enabled() {
        let name = passkey
            .as_ref()
            .map_or("a new passkey", |p| p.name.as_str());
        match state.cognito.profile(token).await {
            Ok(profile) => {
                if let Some(address) = profile.verified_email {
                    (state.alerts)
                        .passkey_added(&address, name, &ClientContext::of(req))
                        .await;
                }
            }
            Err(e) => tracing::error!(cause = %e, "no alert: the address could not be read"),
        }
    }
    Reply::created(&Added {
        message: "Passkey added: it signs you in without a password from now on.",
        passkey,
    })
}

/// What `GET /passkeys` answers.
#[derive(Serialize)]
pub struct Listed {
    pub passkeys: Vec<Passkey>,
    /// The ways this user can sign in now (`password`, `email_otp`, `passkey`).
    pub methods: Vec<auth::Method>,
}

#[tracing::instrument(name = "passkeys_list", skip_all)]
async fn list(state: &State, req: &Request) -> Result<Reply, ApiError> {
    state.cognito.require_passwordless()?;
    let (_, token, _, _) = caller(req)?;
    let (passkeys, methods) = tokio::try_join!(
        state.cognito.passkeys(token),
        state.cognito.sign_in_methods(token)
    )?;
    Reply::ok(&Listed { passkeys, methods })
}

/// The `{id}` path parameter: a credential id (base64url). Any other is simply not found.
fn path_id(req: &Request) -> Result<&str, ApiError> {
    platform::request::path_id(req, MAX_ID_CHARS).ok_or(ApiError::NotFound("passkey"))
}

#[tracing::instrument(name = "passkey_delete", skip_all)]
async fn delete(state: &State, req: &Request) -> Result<Reply, ApiError> {
    state.cognito.require_passwordless()?;
    let (who, token, _, _) = caller(req)?;
    state.reauth.require_recent(who)?;
    let id = path_id(req)?;
    // Its name for the alert, read before it goes (only when alerts go out).
    let name = if state.alerts.enabled() {
        (state.cognito.passkeys(token).await?.into_iter())
            .find(|p| p.id == id)
            .map(|p| p.name)
    } else {
        None
    };
    state.cognito.delete_passkey(token, id).await?;
    let event = sessions::caller_event(who, EventType::PasskeyRemoved, &ClientContext::of(req));
    state.audit.record(&event).await;
    // The owner is told: a removal with a stolen access token is no takeover, but it is news.
    if state.alerts.enabled() {
        match state.cognito.profile(token).await {
            Ok(profile) => {
                if let Some(address) = profile.verified_email {
                    let name = name.as_deref().unwrap_or("a passkey");
                    (state.alerts)
                        .passkey_removed(&address, name, &ClientContext::of(req))
                        .await;
                }
            }
            Err(e) => tracing::error!(cause = %e, "no alert: the address could not be read"),
        }
    }
    Reply::message("Passkey removed: it signs in no more.")
}

#[cfg(test)]
mod tests;
