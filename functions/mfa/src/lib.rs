//! Two-factor sign-in with an authenticator app (TOTP), and recovery codes.
//!
//! | route | auth | Cognito |
//! |---|---|---|
//! | `POST /mfa/totp/setup` | access token | the proof, then AssociateSoftwareToken: a secret, its otpauth URI and QR code |
//! | `POST /mfa/totp/verify` | access token | after a setup of this session: VerifySoftwareToken, SetUserMFAPreference: TOTP on; ten recovery codes |
//! | `GET /mfa` | access token | GetUser: TOTP on or off; recovery codes left |
//! | `POST /mfa/totp/disable` | access token | the password and a TOTP or recovery code again, then SetUserMFAPreference: off |
//! | `POST /login/recover` | public | the password and a recovery code: the authenticator deleted (AdminDeleteSoftwareToken), signed in, or, where the pool's MFA is ON, on to MFA_SETUP |
//! | `POST /login/challenge` | public | RespondToAuthChallenge: the authenticator code, a new password, an authenticator set up inside the sign-in (MFA_SETUP), or a step of choice-based sign-in (the way chosen, an e-mailed code, a passkey's answer, the password) |
//!
//! An authenticator is never set up, replaced or turned off with an access token alone: each
//! takes the proof ([`reauth`]: the password, and the current second factor where one is on),
//! as a sign-in does. Second-factor codes checked here are limited per user
//! ([`tables::limits::SECOND_FACTOR`]), recovery codes included.

mod app;

use auth::{Answer, Code, Credential, Method, Password, SignIn, Username};
use platform::{ApiError, Caller, ClientContext, JsonObject, Reply, Request, Route, random, route};
use reauth::{Proof, Reauth};
use serde::Serialize;
use sessions::{Event, EventType, Sessions, SignInMethod};
use tables::RecoveryCodes;
use tables::limits::{self, Limits};

pub use crate::app::app;

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[
    route!(POST "/mfa/totp/setup" => setup),
    route!(POST "/mfa/totp/verify" => verify),
    route!(GET "/mfa" => status),
    route!(POST "/mfa/totp/disable" => disable),
    route!(POST "/login/recover" => recover),
    route!(POST "/login/challenge" => challenge),
];

/// The longest session taken: Cognito's are under 1 KB.
const MAX_SESSION_CHARS: usize = 4096;

/// The variable holding the pool's MFA configuration (`OFF`, `OPTIONAL`, `ON`).
pub const MFA_CONFIGURATION_VAR: &str = "MFA_CONFIGURATION";

/// The issuer an authenticator app shows when `MFA_ISSUER` is not set.
pub const DEFAULT_ISSUER: &str = "Books";
/// The longest device name taken.
const MAX_DEVICE_CHARS: usize = 64;

/// What the routes work with, built once ([`app`]).
#[derive(Debug, Clone)]
pub struct State {
    pub cognito: auth::Cognito,
    pub codes: RecoveryCodes,
    pub sessions: Sessions,
    /// Second-factor guesses, and the set-up grants `/mfa/totp/verify` takes.
    pub limits: Limits,
    /// The proof before an authenticator is set up or turned off.
    pub reauth: Reauth,
    /// `COGNITO_USER_POOL_ID`: the pool of the one admin call.
    pub pool_id: String,
    /// `MFA_ISSUER`: the name authenticator apps show (default [`DEFAULT_ISSUER`]).
    pub issuer: String,
    /// `MFA_CONFIGURATION` is `ON`: the pool requires two-factor sign-in, and Cognito keeps
    /// TOTP on whatever a user asks.
    pub mfa_required: bool,
    /// Where sign-ins, refused answers and second-factor changes are recorded.
    pub audit: tables::Audit,
}

/// The caller's access token and internal user name (the access token's `username`).
fn caller(req: &Request) -> Result<(&str, &str), ApiError> {
    let caller = Caller::of(req)?;
    Ok((caller.access_token()?, caller.username()?))
}

/// `%`-encoding for an otpauth URI's label and parameters (RFC 3986 unreserved kept).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The URI authenticator apps take (Google's Key URI format): the label is issuer and user.
pub fn otpauth_uri(issuer: &str, username: &str, secret: &str) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        encode(issuer),
        encode(username),
        encode(secret),
        encode(issuer)
    )
}

/// The QR code of `uri`, as an SVG document.
fn qr_svg(uri: &str) -> Result<String, ApiError> {
    let code = qrcode::QrCode::with_error_correction_level(uri, qrcode::EcLevel::M)
        .map_err(|e| ApiError::internal(format_args!("QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build())
}

/// What `/mfa/totp/setup` answers.
#[derive(Serialize)]
pub struct Setup {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    pub otpauth_uri: String,
    /// The QR code of `otpauth_uri`, an SVG document.
    pub qr_svg: String,
    /// What `/mfa/totp/verify` takes with the first code, once.
    pub setup_token: String,
}

/// The symbols of a set-up token (URL-safe), and its length: 43 of 64 symbols, 258 bits from
/// the OS CSPRNG.
const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const SETUP_TOKEN_CHARS: usize = 43;

/// A new authenticator secret, after the proof. The set-up is granted once, to this session
/// and to the `setup_token` answered here: `/mfa/totp/verify` completes it only with both,
/// within [`limits::TOTP_SETUP`]'s lifetime. The session alone would not do: a thief holding a
/// stolen access token of this session could then replace the pending secret straight at
/// Cognito (AssociateSoftwareToken takes the access token alone) and verify their own.
#[tracing::instrument(name = "mfa_setup", skip_all)]
async fn setup(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let (token, username) = caller(req)?;
    let who = Caller::of(req)?;
    state.reauth.require_recent(who)?;
    let body = JsonObject::from_request(req)?;
    body.deny_unknown_fields(reauth::FIELDS)?;
    let proof = Proof::from_body(&body)?;
    state
        .reauth
        .prove(&ClientContext::of(req), username, &proof)
        .await?;
    let session = who.origin_jti().ok_or(ApiError::Unauthorized)?;
    let secret = state.cognito.associate_software_token(token).await?;
    let setup_token =
        random::string(TOKEN_ALPHABET, SETUP_TOKEN_CHARS).map_err(ApiError::internal)?;
    state
        .limits
        .grant(&limits::TOTP_SETUP, who.sub(), session, &setup_token)
        .await?;
    let otpauth_uri = otpauth_uri(&state.issuer, username, &secret);
    let qr_svg = qr_svg(&otpauth_uri)?;
    Reply::ok(&Setup {
        secret,
        otpauth_uri,
        qr_svg,
        setup_token,
    })
}

/// `/mfa/totp/verify` without a set-up of this session (`/mfa/totp/setup`, with the proof).
pub const SETUP_REQUIRED: ApiError = ApiError::Refused {
    code: "setup_required",
    message: "start with /mfa/totp/setup (with the password) in this session, and send its setup_token",
};

/// What `/mfa/totp/verify` answers: the recovery codes, shown this once.
#[derive(Serialize)]
pub struct Enabled {
    pub message: &'static str,
    pub recovery_codes: Vec<String>,
    #[serde(flatten)]
    pub others: sessions::OthersEnded,
}

/// What `/mfa/totp/disable` answers.
#[derive(Serialize)]
pub struct Disabled {
    pub message: &'static str,
    #[serde(flatten)]
    pub others: sessions::OthersEnded,
}

#[tracing::instrument(name = "mfa_verify", skip_all)]
async fn verify(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let (token, username) = caller(req)?;
    let body = JsonObject::from_request(req)?;
    body.deny_unknown_fields(&[
        "code",
        "device_name",
        "setup_token",
        sessions::KEEP_OTHER_SESSIONS,
    ])?;
    let keep = sessions::keep_others(Some(&body))?;
    let code = Code::named(&body, "code")?;
    let setup_token = body.string("setup_token")?.trim();
    platform::body::check_len("setup_token", setup_token, SETUP_TOKEN_CHARS)?;
    let device = body.optional_string("device_name")?.map(str::trim);
    if let Some(device) = device {
        platform::body::check_len("device_name", device, MAX_DEVICE_CHARS)?;
    }
    let who = Caller::of(req)?;
    let session = who.origin_jti().ok_or(ApiError::Unauthorized)?;
    let Some(ends) = state
        .limits
        .redeem(&limits::TOTP_SETUP, who.sub(), session, setup_token)
        .await?
    else {
        return Err(SETUP_REQUIRED);
    };
    if let Err(refused) = state
        .cognito
        .verify_software_token(token, &code, device)
        .await
    {
        // A mistyped code does not cost the set-up, nor lengthen it: the grant is given back
        // until it would have ended.
        if matches!(refused, ApiError::InvalidCode) {
            state
                .limits
                .grant_until(&limits::TOTP_SETUP, who.sub(), session, setup_token, ends)
                .await?;
        }
        return Err(refused);
    }
    state.cognito.set_totp(token, true).await?;
    let recovery_codes = state.codes.replace(username).await?;
    let others = sessions::OthersEnded::after_change(
        sessions::end_others(&state.cognito, &state.sessions, who, keep).await,
    );
    let event = sessions::caller_event(who, EventType::TotpEnabled, &ClientContext::of(req))
        .sessions_ended(others.other_sessions_ended);
    state.audit.record(&event).await;
    Reply::ok(&Enabled {
        message: "Two-factor sign-in is on. Keep these recovery codes somewhere safe: each signs in once without your authenticator, and they are not shown again.",
        recovery_codes,
        others,
    })
}

/// What `GET /mfa` answers.
#[derive(Debug, Serialize)]
pub struct Status {
    pub totp_enabled: bool,
    pub recovery_codes_remaining: usize,
}

async fn status(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let (token, username) = caller(req)?;
    let (enabled, remaining) = tokio::join!(
        state.cognito.profile(token),
        state.codes.remaining(username)
    );
    Reply::ok(&Status {
        totp_enabled: enabled?.totp_enabled,
        recovery_codes_remaining: remaining?,
    })
}

/// Turns TOTP off: the proof (the password and a second factor, as for a sign-in), then the
/// preference off and the recovery codes gone.
#[tracing::instrument(name = "mfa_disable", skip_all)]
async fn disable(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let (token, username) = caller(req)?;
    let who = Caller::of(req)?;
    state.reauth.require_recent(who)?;
    let body = JsonObject::from_request(req)?;
    body.deny_unknown_fields(DISABLE_FIELDS)?;
    let keep = sessions::keep_others(Some(&body))?;
    let proof = Proof::from_body(&body)?;
    if proof.factor.is_none() {
        return Err(ApiError::MissingField("code or recovery_code"));
    }
    // Cognito would answer the preference with a success and keep TOTP on: no recovery code
    // is deleted for an authenticator that stays.
    if state.mfa_required {
        return Err(ApiError::Conflict {
            code: "mfa_required",
            message: "this pool requires two-factor sign-in: replace the authenticator (/mfa/totp/setup) instead",
        });
    }
    let proven = state
        .reauth
        .prove(&ClientContext::of(req), username, &proof)
        .await?;
    if !proven.second_factor {
        return Err(ApiError::Conflict {
            code: "mfa_not_enabled",
            message: "two-factor sign-in is not on for this account",
        });
    }
    state.cognito.set_totp(token, false).await?;
    state.codes.delete(username).await?;
    let others = sessions::OthersEnded::after_change(
        sessions::end_others(&state.cognito, &state.sessions, who, keep).await,
    );
    let event = sessions::caller_event(who, EventType::TotpDisabled, &ClientContext::of(req))
        .sessions_ended(others.other_sessions_ended);
    state.audit.record(&event).await;
    Reply::ok(&Disabled {
        message: "Two-factor sign-in is off.",
        others,
    })
}

/// The fields `/mfa/totp/disable` takes: the proof, and whether to keep the other sessions.
const DISABLE_FIELDS: &[&str] = &[
    "password",
    "code",
    "recovery_code",
    sessions::KEEP_OTHER_SESSIONS,
];

/// Signs in with the password and a recovery code instead of the authenticator: the code is
/// used up and the authenticator deleted (AdminDeleteSoftwareToken), and the user is told to
/// enrol again; where the pool's MFA is ON, the answer is the MFA_SETUP challenge that enrols a
/// new one. A wrong password uses nothing; each code tried counts against
/// [`limits::SECOND_FACTOR`]; a recovery that fails before the authenticator is gone gives its
/// code back.
#[tracing::instrument(name = "login_recover", skip_all)]
async fn recover(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    body.deny_unknown_fields(&[
        "username",
        "password",
        "recovery_code",
        sessions::KEEP_OTHER_SESSIONS,
    ])?;
    let keep = sessions::keep_others(Some(&body))?;
    let username = Username::from_body(&body, "username")?;
    let password = Password::from_body(&body, "password")?;
    let code = Code::named(&body, "recovery_code")?;
    let context = ClientContext::of(req);
    let first = state
        .cognito
        .password_sign_in(&context, &username, &password)
        .await;
    let first = failed_if(state, &username, first, &context).await?;
    let internal = match &first {
        SignIn::Challenge(c) if c.challenge == "SOFTWARE_TOKEN_MFA" => c.username.clone(),
        // No authenticator to recover from: the password alone goes on as `/login` would.
        SignIn::Challenge(_) => return first.into_reply(),
        SignIn::Tokens(t) => t.owner().unwrap_or_else(|| username.to_string()),
    };
    state.limits.take(&limits::SECOND_FACTOR, &internal).await?;
    let Some(used) = state.codes.consume(&internal, &code).await? else {
        if let SignIn::Tokens(tokens) = &first
            && let Some(refresh) = &tokens.refresh_token
        {
            state.cognito.revoke_token(refresh).await?;
        }
        return failed_if(state, &internal, Err(ApiError::InvalidCode), &context).await;
    };
    state
        .limits
        .reset(&limits::SECOND_FACTOR, &internal)
        .await?;
    let signed_in = match first {
        SignIn::Tokens(tokens) => {
            state.codes.delete(&internal).await?;
            SignIn::Tokens(tokens)
        }
        SignIn::Challenge(_) => {
            if let Err(failed) = state
                .cognito
                .admin_delete_totp(&state.pool_id, &internal)
                .await
            {
                state.codes.restore(&internal, used).await?;
                return Err(failed);
            }
            // The authenticator is gone: from here on the password signs in (or, where MFA
            // is ON, sets up a new one), so nothing is locked out whatever happens next.
            state.codes.delete(&internal).await?;
            state
                .cognito
                .password_sign_in(&context, &username, &password)
                .await?
        }
    };
    let signed_in = sessions::signed_in(
        &state.cognito,
        &state.sessions,
        &state.audit,
        signed_in,
        SignInMethod::RecoveryCode,
        &context,
    )
    .await?;
    // The code is spent and the authenticator gone, whatever the sign-in goes on to.
    let sub = match &signed_in {
        SignIn::Tokens(tokens) => tokens.subject(),
        SignIn::Challenge(_) => state
            .cognito
            .admin_sub(&state.pool_id, &internal)
            .await
            .ok(),
    };
    if let Some(sub) = &sub {
        for kind in [EventType::RecoveryCodeUsed, EventType::TotpDisabled] {
            let event = Event::new(kind, &context).of(sub, &internal);
            state.audit.record(&event).await;
        }
    }
    // Whoever made the authenticator necessary to lose may hold a session: the others end,
    // unless the request keeps them.
    match signed_in {
        SignIn::Tokens(mut tokens) => {
            let own = tokens.session().map(|jti| sessions::session_id(&jti));
            let others = sessions::OthersEnded::after_change(match (keep, tokens.subject()) {
                (false, Some(sub)) => {
                    let own = own.as_deref();
                    sessions::end_all(&state.cognito, &state.sessions, &sub, own).await
                }
                _ => sessions::Ending::default(),
            });
            tokens.message = Some(
                "Signed in with a recovery code. Two-factor sign-in is off: turn it on again.",
            );
            Reply::ok(&RecoveredIn { tokens, others })
        }
        SignIn::Challenge(challenge) if challenge.challenge == "MFA_SETUP" => {
            let ended = match keep {
                true => sessions::Ending::default(),
                false => match state.cognito.admin_sub(&state.pool_id, &internal).await {
                    Ok(sub) => sessions::end_all(&state.cognito, &state.sessions, &sub, None).await,
                    Err(err) => sessions::Ending::failed(err),
                },
            };
            Reply::ok(&Recovered {
                challenge,
                message: "Recovery code accepted. This account must have an authenticator: set up a new one (MFA_SETUP at /login/challenge).",
                others: sessions::OthersEnded::after_change(ended),
            })
        }
        SignIn::Challenge(c) => Err(ApiError::ChallengeRequired(c.challenge)),
    }
}

/// `result`, a refused sign-in (or answer) of `username` recorded as its event.
async fn failed_if<T>(
    state: &State,
    username: &str,
    result: Result<T, ApiError>,
    context: &ClientContext,
) -> Result<T, ApiError> {
    if let Err(err) = &result {
        let (cognito, audit) = (&state.cognito, &state.audit);
        sessions::sign_in_failed(cognito, audit, &state.pool_id, username, err, context).await;
    }
    result
}

/// A recovery that goes on to set up a new authenticator.
#[derive(Serialize)]
pub struct Recovered {
    #[serde(flatten)]
    pub challenge: auth::Challenge,
    pub message: &'static str,
    #[serde(flatten)]
    pub others: sessions::OthersEnded,
}

/// A recovery that signed in.
#[derive(Serialize)]
pub struct RecoveredIn {
    #[serde(flatten)]
    pub tokens: auth::Tokens,
    #[serde(flatten)]
    pub others: sessions::OthersEnded,
}

/// What an MFA_SETUP challenge's first step answers: the secret to set up, and the session to
/// confirm it in.
#[derive(Serialize)]
pub struct SetupChallenge {
    pub challenge: &'static str,
    pub session: String,
    pub username: String,
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

/// A sign-in that set up the authenticator: the tokens, and the recovery codes, shown this once.
#[derive(Serialize)]
pub struct SetUp {
    #[serde(flatten)]
    pub tokens: auth::Tokens,
    pub recovery_codes: Vec<String>,
}

/// `{"username","session","challenge"}` as `/login` or `/login/start` gave them, and the
/// answer: `code` for SOFTWARE_TOKEN_MFA and EMAIL_OTP, `new_password` for
/// NEW_PASSWORD_REQUIRED, `credential` (the browser's `PublicKeyCredential` as JSON) for
/// WEB_AUTHN, `method` (and `password` for the password) for SELECT_CHALLENGE, `password` for
/// PASSWORD. MFA_SETUP (a pool whose MFA is ON, a user without an authenticator) takes two
/// steps: without a `code`, the secret to set up and the session to go on with; with the
/// `code` it shows, the sign-in completes, with the recovery codes.
#[tracing::instrument(name = "login_challenge", skip_all)]
async fn challenge(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    body.deny_unknown_fields(&[
        "username",
        "session",
        "challenge",
        "code",
        "new_password",
        "method",
        "password",
        "credential",
    ])?;
    // The internal user name `/login` answered, held to the same rule as every user name.
    let username = Username::from_body(&body, "username")?;
    let session = body.string("session")?.trim();
    platform::body::check_len("session", session, MAX_SESSION_CHARS)?;
    let challenge = body.string("challenge")?.trim();
    // Whatever the challenge, a field given is held to its rule.
    let code = Code::optional(&body, "code")?;
    let password_in = |field: &'static str| match body.get(field) {
        Some(_) => Password::from_body(&body, field).map(Some),
        None => Ok(None),
    };
    let new_password = password_in("new_password")?;
    let password = password_in("password")?;
    let credential = match body.get("credential") {
        Some(_) => Some(Credential::from_body(&body, "credential")?),
        None => None,
    };
    let method = Method::from_body(&body, "method")?;
    if auth::passwordless::CHALLENGES.contains(&challenge) {
        state.cognito.require_passwordless()?;
    }
    // Choosing the code by e-mail mails one: refused when the user's codes are used up, and
    // counted once Cognito has taken the session and sent it (never for a session that is no
    // session: that would let anyone use up another user's codes without a mail).
    let choosing_code = challenge == "SELECT_CHALLENGE" && method == Some(Method::EmailOtp);
    if choosing_code {
        state.limits.check(&limits::SIGN_IN_CODE, &username).await?;
    }
    let context = ClientContext::of(req);
    let answer = match challenge {
        "SOFTWARE_TOKEN_MFA" => Answer::Code(code.ok_or(ApiError::MissingField("code"))?),
        "NEW_PASSWORD_REQUIRED" => {
            Answer::NewPassword(new_password.ok_or(ApiError::MissingField("new_password"))?)
        }
        "EMAIL_OTP" => Answer::EmailCode(code.ok_or(ApiError::MissingField("code"))?.as_str()),
        "WEB_AUTHN" => Answer::Credential(
            credential
                .as_ref()
                .ok_or(ApiError::MissingField("credential"))?
                .as_str(),
        ),
        "PASSWORD" => Answer::Password(password.ok_or(ApiError::MissingField("password"))?),
        "SELECT_CHALLENGE" => match method.ok_or(ApiError::MissingField("method"))? {
            Method::Password => Answer::Select(
                Method::Password,
                Some(password.ok_or(ApiError::MissingField("password"))?),
            ),
            other => Answer::Select(other, None),
        },
        "MFA_SETUP" => {
            let Some(code) = code else {
                let (secret, session) = state.cognito.associate_software_token_in(session).await?;
                let otpauth_uri = otpauth_uri(&state.issuer, &username, &secret);
                let qr_svg = qr_svg(&otpauth_uri)?;
                return Reply::ok(&SetupChallenge {
                    challenge: "MFA_SETUP",
                    session,
                    username: username.into_string(),
                    secret,
                    otpauth_uri,
                    qr_svg,
                });
            };
            let session = state
                .cognito
                .verify_software_token_in(session, &code)
                .await?;
            let signed_in = state
                .cognito
                .answer_challenge(&context, "MFA_SETUP", &username, &session, Answer::SetUp)
                .await?;
            let signed_in = sessions::signed_in(
                &state.cognito,
                &state.sessions,
                &state.audit,
                signed_in,
                SignInMethod::Totp,
                &context,
            )
            .await?;
            let auth::SignIn::Tokens(mut tokens) = signed_in else {
                return signed_in.into_reply();
            };
            // The codes are the user's the tokens name, whatever name the body gave.
            let owner = tokens.owner().ok_or_else(|| {
                ApiError::unavailable("Cognito MFA_SETUP: tokens that name no user")
            })?;
            let recovery_codes = state.codes.replace(&owner).await?;
            if let Some(sub) = tokens.subject() {
                let event = Event::new(EventType::TotpEnabled, &context).of(&sub, &owner);
                state.audit.record(&event).await;
            }
            tokens.message = Some(
                "Signed in. Two-factor sign-in is on: keep the recovery codes somewhere safe.",
            );
            return Reply::ok(&SetUp {
                tokens,
                recovery_codes,
            });
        }
        _ => {
            return Err(ApiError::InvalidField {
                field: "challenge",
                reason: format!("must be one of {}", auth::ANSWERABLE_CHALLENGES.join(", ")),
            });
        }
    };
    let how = match answer {
        Answer::Code(_) => SignInMethod::Totp,
        Answer::EmailCode(_) | Answer::Select(Method::EmailOtp, _) => SignInMethod::EmailCode,
        Answer::Credential(_) | Answer::Select(Method::Passkey, _) => SignInMethod::Passkey,
        Answer::NewPassword(_)
        | Answer::Password(_)
        | Answer::Select(Method::Password, _)
        | Answer::SetUp => SignInMethod::Password,
    };
    let signed_in = state
        .cognito
        .answer_challenge(&context, challenge, &username, session, answer)
        .await;
    let signed_in = failed_if(state, &username, signed_in, &context).await?;
    let audit = &state.audit;
    let signed_in = sessions::signed_in(
        &state.cognito,
        &state.sessions,
        audit,
        signed_in,
        how,
        &context,
    )
    .await?;
    if choosing_code
        && let SignIn::Challenge(next) = &signed_in
        && next.challenge == "EMAIL_OTP"
    {
        state
            .limits
            .take(&limits::SIGN_IN_CODE, &next.username)
            .await?;
    }
    signed_in.into_reply()
}

#[cfg(test)]
mod unit_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_otpauth_uri_names_issuer_and_user_and_encodes_them() {
        let uri = otpauth_uri("Books & Co", "alice@example.com", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/Books%20%26%20Co:alice%40example.com?secret=JBSWY3DPEHPK3PXP\
             &issuer=Books%20%26%20Co&algorithm=SHA1&digits=6&period=30"
        );
        let svg = qr_svg(&uri).unwrap();
        assert!(
            svg.starts_with("<?xml") && svg.contains("<svg"),
            "{}",
            &svg[..80]
        );
    }
}
