//! Choice-based sign-in (InitiateAuth with `USER_AUTH`), which moto lacks: the layer puts every
//! challenge of it itself, under sessions of its own bound to the user and the challenge.
//!
//! - The first factors a user has: `PASSWORD` (a password sign-in goes on as
//!   `USER_PASSWORD_AUTH`, which moto checks), `EMAIL_OTP` (a verified e-mail address), and
//!   `WEB_AUTHN` (a passkey, and the pool's relying party), each only where the pool's
//!   `SignInPolicy` allows it. A user with MFA on has no passwordless first factor: Cognito
//!   offers them the password alone.
//! - Without `PREFERRED_CHALLENGE`, or with one the user does not have, `SELECT_CHALLENGE` with
//!   the `AvailableChallenges`; with one they have, that challenge at once.
//! - `EMAIL_OTP`: a code of [`EMAIL_OTP_DIGITS`] digits mailed (the mailbox's kind `sign_in`),
//!   good for the session only; [`crate::MAX_WRONG_MFA_CODES`] wrong ones end the session.
//! - `WEB_AUTHN`: the `CREDENTIAL_REQUEST_OPTIONS` of the user's passkeys; the answer is
//!   checked by [`crate::passkeys`].
//! - A user that does not exist, with PreventUserExistenceErrors: the same challenges as a
//!   user with a password and a verified address, which no answer can pass.
//!
//! The tokens of a passwordless sign-in are moto's: moto's SRP checks no proof (its
//! `PASSWORD_VERIFIER` takes any signature), so the layer, having checked the factor itself,
//! signs the user in through it. A caller's own `PASSWORD_VERIFIER` answer is refused for that
//! reason ([`refuse_srp`]).

use std::time::SystemTime;

use serde_json::{Value, json};

use crate::Layer;
use crate::directory::{App, User};
use crate::mailbox::{Message, rfc3339};
use crate::protocol::{Call, Error, ErrorType, Target, code_delivery, required_parameter};
use crate::sessions::{self, Binding, Claim};
use crate::{mfa, ops};

/// Digits of a sign-in code sent by e-mail.
pub const EMAIL_OTP_DIGITS: usize = 8;

/// A first factor, as Cognito names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Password,
    EmailOtp,
    WebAuthn,
}

impl Factor {
    pub fn name(self) -> &'static str {
        match self {
            Factor::Password => "PASSWORD",
            Factor::EmailOtp => "EMAIL_OTP",
            Factor::WebAuthn => "WEB_AUTHN",
        }
    }

    fn of(name: &str) -> Option<Factor> {
        match name {
            "PASSWORD" => Some(Factor::Password),
            "EMAIL_OTP" => Some(Factor::EmailOtp),
            "WEB_AUTHN" => Some(Factor::WebAuthn),
            _ => None,
        }
    }
}

/// The first factors `user` has in `app`'s pool, in Cognito's order.
pub fn factors(layer: &Layer, app: &App, user: &User) -> Vec<Factor> {
    let allowed = |f: Factor| app.first_factors.iter().any(|a| a == f.name());
    let mfa = user.mfa && !mfa::is_deleted(layer, &app.pool_id, &user.username);
    let passwordless = !mfa && !app.mfa_on;
    let mut out = Vec::new();
    if allowed(Factor::Password) {
        out.push(Factor::Password);
    }
    if passwordless && allowed(Factor::EmailOtp) && user.email_verified && user.email.is_some() {
        out.push(Factor::EmailOtp);
    }
    let has_passkey = layer.passkeys.relying_party(&app.pool_id).is_some()
        && !layer.passkeys.of(&app.pool_id, &user.username).is_empty();
    if passwordless && allowed(Factor::WebAuthn) && has_passkey {
        out.push(Factor::WebAuthn);
    }
    out
}

/// What a `USER_AUTH` InitiateAuth carries.
pub struct Start<'a> {
    pub client_id: &'a str,
    pub username: &'a str,
    pub preferred: Option<&'a str>,
    pub password: Option<&'a str>,
}

/// Who a sign-in is for: the user, or nobody (an unknown name, hidden).
enum Whom {
    User(User),
    Nobody(String),
}

impl Whom {
    fn internal(&self) -> &str {
        match self {
            Whom::User(u) => &u.username,
            Whom::Nobody(name) => name,
        }
    }
}

/// The pool and client allow choice-based sign-in: the `ESSENTIALS` plan or above, and
/// `ALLOW_USER_AUTH` on the client.
pub fn check_allowed(app: &App) -> Result<(), Error> {
    if app.tier == "LITE" {
        return Err(Error::new(
            ErrorType::Reported("FeatureUnavailableInTierException".into()),
            "Choice-based sign-in is not available in the Lite tier.",
        ));
    }
    if !app.user_auth {
        return Err(Error::new(
            ErrorType::Reported("UnsupportedOperationException".into()),
            "USER_AUTH flow not enabled for this client",
        ));
    }
    Ok(())
}

/// InitiateAuth with `USER_AUTH`; the SECRET_HASH is checked already (`app`).
pub async fn start(
    layer: &Layer,
    call: &Call,
    app: &App,
    start: Start<'_>,
) -> Result<Value, Error> {
    check_allowed(app)?;
    let whom = match layer.directory.user(app, start.username).await? {
        Some(user) if !user.confirmed => {
            return Err(Error::new(
                ErrorType::Reported("UserNotConfirmedException".into()),
                "User is not confirmed.",
            ));
        }
        Some(user) => Whom::User(user),
        None if app.prevent_user_existence_errors => Whom::Nobody(start.username.to_owned()),
        None => return Err(app.unknown_user(Error::not_authorized(""))),
    };
    let available = match &whom {
        Whom::User(user) => factors(layer, app, user),
        Whom::Nobody(_) => (app.first_factors.iter())
            .filter_map(|f| Factor::of(f))
            .filter(|f| *f != Factor::WebAuthn)
            .collect(),
    };
    let preferred = start.preferred.and_then(Factor::of);
    match preferred.filter(|f| available.contains(f)) {
        Some(Factor::Password) => {
            let password = required_parameter("PASSWORD", start.password)?;
            password_sign_in(layer, call, start.client_id, start.username, password).await
        }
        Some(factor) => challenge(layer, app, &whom, factor).await,
        None => {
            let session = sessions::new_id()?;
            bind(layer, app, &session, whom.internal(), "SELECT_CHALLENGE");
            Ok(json!({
                "ChallengeName": "SELECT_CHALLENGE",
                "Session": session,
                "ChallengeParameters": {"USERNAME": whom.internal()},
                "AvailableChallenges": available.iter().map(|f| f.name()).collect::<Vec<_>>(),
            }))
        }
    }
}

fn bind(layer: &Layer, app: &App, session: &str, username: &str, challenge: &str) {
    let binding = Binding {
        username: username.to_owned(),
        challenge: challenge.to_owned(),
    };
    (layer.sessions).issued(session, binding, layer.clock.now(), app.session_validity);
}

/// Puts `factor`'s challenge to `whom` under a new session.
async fn challenge(layer: &Layer, app: &App, whom: &Whom, factor: Factor) -> Result<Value, Error> {
    let session = sessions::new_id()?;
    let now = layer.clock.now();
    let username = whom.internal();
    let parameters = match factor {
        Factor::EmailOtp => {
            let code = platform::random::digits(EMAIL_OTP_DIGITS)?;
            let to = match whom {
                Whom::User(user) => {
                    let to = user.email.clone().unwrap_or_default();
                    layer.mailbox.deliver(Message {
                        to: to.clone(),
                        username: user.username.clone(),
                        kind: "sign_in",
                        code: code.clone(),
                        sent_at: rfc3339(now),
                        subject: None,
                        body: None,
                    });
                    layer.sign_in_codes.issue(&session, &code);
                    to
                }
                Whom::Nobody(name) => format!("{name}@example.com"),
            };
            let delivery = code_delivery(&to);
            json!({
                "CODE_DELIVERY_DELIVERY_MEDIUM": "EMAIL",
                "CODE_DELIVERY_DESTINATION": delivery["Destination"],
                "USERNAME": username,
            })
        }
        Factor::WebAuthn => {
            let options = layer
                .passkeys
                .start_sign_in(&app.pool_id, username, &session, now)?;
            json!({"CREDENTIAL_REQUEST_OPTIONS": options.to_string(), "USERNAME": username})
        }
        Factor::Password => json!({"USERNAME": username}),
    };
    bind(layer, app, &session, username, factor.name());
    Ok(json!({
        "ChallengeName": factor.name(),
        "Session": session,
        "ChallengeParameters": parameters,
    }))
}

/// A password sign-in, as `USER_PASSWORD_AUTH` goes (moto checks the password; MFA and
/// MFA_SETUP follow as they do there).
async fn password_sign_in(
    layer: &Layer,
    call: &Call,
    client_id: &str,
    username: &str,
    password: &str,
) -> Result<Value, Error> {
    let mut params = json!({"USERNAME": username, "PASSWORD": password});
    let hash = call.json()["AuthParameters"]["SECRET_HASH"]
        .as_str()
        .or(call.json()["ChallengeResponses"]["SECRET_HASH"].as_str());
    if let Some(hash) = hash {
        params["SECRET_HASH"] = json!(hash);
    }
    let body = json!({
        "AuthFlow": "USER_PASSWORD_AUTH",
        "ClientId": client_id,
        "AuthParameters": params,
    });
    let mut headers = call.headers.clone();
    let target = "AWSCognitoIdentityProviderService.InitiateAuth";
    headers.insert("x-amz-target", http::HeaderValue::from_static(target));
    let password_call = Call::new(Target::InitiateAuth, headers, body.to_string().into())?;
    super::initiate_auth::password(layer, &password_call).await
}

/// What a RespondToAuthChallenge of choice-based sign-in carries.
pub struct Answer<'a> {
    pub client_id: &'a str,
    pub challenge: &'a str,
    pub session: &'a str,
    /// The internal user name the session is bound to.
    pub username: &'a str,
    pub answer: Option<&'a str>,
    pub password: Option<&'a str>,
    pub email_otp_code: Option<&'a str>,
    pub credential: Option<&'a str>,
}

/// The challenges [`answer`] takes.
pub const CHALLENGES: &[&str] = &["SELECT_CHALLENGE", "EMAIL_OTP", "WEB_AUTHN", "PASSWORD"];

/// Answers a choice-based sign-in's challenge, its session claimed already (`claim`).
pub async fn answer(
    layer: &Layer,
    call: &Call,
    app: &App,
    claim: Claim<'_>,
    answer: Answer<'_>,
) -> Result<Value, Error> {
    check_allowed(app)?;
    let user = layer.directory.user(app, answer.username).await?;
    let whom = match user {
        Some(user) => Whom::User(user),
        None => Whom::Nobody(answer.username.to_owned()),
    };
    match answer.challenge {
        "SELECT_CHALLENGE" => {
            let chosen = required_parameter("ANSWER", answer.answer)?;
            let available = match &whom {
                Whom::User(user) => factors(layer, app, user),
                Whom::Nobody(_) => vec![Factor::Password, Factor::EmailOtp],
            };
            let Some(factor) = Factor::of(chosen).filter(|f| available.contains(f)) else {
                return Err(Error::invalid_parameter(format!(
                    "The challenge {chosen} is not available for this user."
                )));
            };
            if factor == Factor::Password {
                let password = required_parameter("PASSWORD", answer.password)?;
                claim.answered();
                return password_sign_in(layer, call, answer.client_id, answer.username, password)
                    .await;
            }
            claim.answered();
            challenge(layer, app, &whom, factor).await
        }
        "PASSWORD" => {
            let password = required_parameter("PASSWORD", answer.password)?;
            claim.answered();
            password_sign_in(layer, call, answer.client_id, answer.username, password).await
        }
        "EMAIL_OTP" => {
            let code = required_parameter("EMAIL_OTP_CODE", answer.email_otp_code)?;
            let right =
                matches!(whom, Whom::User(_)) && layer.sign_in_codes.check(answer.session, code);
            if !right {
                claim.wrong_code();
                return Err(Error::code_mismatch());
            }
            layer.sign_in_codes.spend(answer.session);
            claim.answered();
            still_has(layer, app, &whom, Factor::EmailOtp)?;
            signed_in(layer, call, app, answer.client_id, answer.username).await
        }
        "WEB_AUTHN" => {
            let credential = required_parameter("CREDENTIAL", answer.credential)?;
            let credential = Value::String(credential.to_owned());
            let now = layer.clock.now();
            // The challenge is spent whatever the outcome: the session with it.
            claim.answered();
            (layer.passkeys).finish_sign_in(&app.pool_id, answer.session, &credential, now)?;
            still_has(layer, app, &whom, Factor::WebAuthn)?;
            signed_in(layer, call, app, answer.client_id, answer.username).await
        }
        other => Err(Error::invalid_parameter(format!(
            "Unknown challenge {other}"
        ))),
    }
}

/// `whom` still has `factor` as they answer it: a user who turned MFA on while the challenge
/// was out signs in with their second factor, never past it.
fn still_has(layer: &Layer, app: &App, whom: &Whom, factor: Factor) -> Result<(), Error> {
    match whom {
        Whom::User(user) if factors(layer, app, user).contains(&factor) => Ok(()),
        _ => Err(Error::invalid_session()),
    }
}

/// The tokens of a user whose first factor the layer has checked: moto's, through its SRP,
/// which checks no proof.
async fn signed_in(
    layer: &Layer,
    call: &Call,
    app: &App,
    client_id: &str,
    username: &str,
) -> Result<Value, Error> {
    let hash = app
        .secret
        .as_deref()
        .map(|secret| auth::secret_hash(username, client_id, secret));
    let mut params = json!({"USERNAME": username, "SRP_A": "0"});
    if let Some(hash) = &hash {
        params["SECRET_HASH"] = json!(hash);
    }
    let body =
        json!({"AuthFlow": "USER_SRP_AUTH", "ClientId": client_id, "AuthParameters": params});
    let started = (layer.moto)
        .invoke(&call.headers, Target::InitiateAuth, "InitiateAuth", &body)
        .await?;
    let Some(session) = started["Session"].as_str() else {
        return Err(Error::internal("moto put no SRP session"));
    };
    let timestamp = rfc3339(SystemTime::now());
    let mut responses = json!({
        "USERNAME": username,
        "PASSWORD_CLAIM_SECRET_BLOCK": session,
        "PASSWORD_CLAIM_SIGNATURE": "checked-by-the-layer",
        "TIMESTAMP": timestamp,
    });
    if let Some(hash) = &hash {
        responses["SECRET_HASH"] = json!(hash);
    }
    let body = json!({
        "ClientId": client_id,
        "ChallengeName": "PASSWORD_VERIFIER",
        "Session": session,
        "ChallengeResponses": responses,
    });
    let target = Target::RespondToAuthChallenge;
    let mut out = (layer.moto)
        .invoke(&call.headers, target, "RespondToAuthChallenge", &body)
        .await?;
    // moto goes on challenging a user whose authenticator it ever verified, even once TOTP is
    // off (its `token_verified` stays). The layer offered a passwordless factor only to a user
    // without MFA, so that challenge is moto's alone: the layer answers it with a code of
    // moto's one secret.
    if out["ChallengeName"] == "SOFTWARE_TOKEN_MFA" {
        out = super::initiate_auth::answer_moto(
            layer,
            call,
            client_id,
            &out,
            username,
            hash.as_deref(),
        )
        .await?;
    }
    Ok(ops::signed_in(layer, app, out, Some(username)))
}

/// A caller's own `PASSWORD_VERIFIER`: moto would take any proof, so the layer takes none.
pub fn refuse_srp() -> Error {
    Error::not_authorized(
        "Incorrect username or password. (The local Cognito does not verify SRP: sign in with USER_PASSWORD_AUTH or USER_AUTH.)",
    )
}
