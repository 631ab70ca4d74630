//! Passkeys (WebAuthn), kept and checked as Cognito keeps and checks them: the pool's relying
//! party (its `WebAuthnConfiguration`, set with SetUserPoolMfaConfig), each user's credentials,
//! and the challenges handed out for a registration (StartWebAuthnRegistration) or a sign-in
//! (the WEB_AUTHN challenge of USER_AUTH).
//!
//! Every check is webauthn-rs's, a maintained relying-party library, never the layer's own: the
//! challenge it issued, the origin against the relying party, the RP ID hash, the user-presence
//! and user-verification flags, the signature with the stored public key, and the signature
//! counter (a counter that does not grow is a cloned authenticator). The layer adds what the
//! library leaves to its caller: a challenge is good once and for [`CHALLENGE_LIFETIME`], a
//! credential is registered to one user only, and a user holds at most [`MAX_PASSKEYS`].
//!
//! The origins a relying party takes: `https://` on the relying party's domain or a subdomain
//! of it, on any port; for `localhost`, which browsers treat as a secure context over plain
//! HTTP, `http://localhost` on any port too.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, WebauthnError,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::protocol::{Error, ErrorType};

/// How long a registration's or a sign-in's challenge may be answered: the `timeout` of the
/// options handed out (Cognito's sign-in options say 180000 ms).
pub const CHALLENGE_LIFETIME: Duration = Duration::from_secs(180);
/// Passkeys a user may hold (Cognito's quota); the next registration is `LimitExceededException`.
pub const MAX_PASSKEYS: usize = 20;

/// A pool's relying party, as SetUserPoolMfaConfig's `WebAuthnConfiguration` sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    pub id: String,
    /// `required` or `preferred`. The layer checks user verification either way (webauthn-rs's
    /// passkeys always require it); docs/local-cognito.md says so.
    pub user_verification: String,
}

impl RelyingParty {
    /// webauthn-rs's relying party for this one.
    fn webauthn(&self) -> Result<Webauthn, Error> {
        fn misconfigured<E>(_: E) -> Error {
            Error::new(
                ErrorType::Reported("WebAuthnConfigurationMissingException".into()),
                "The relying party of this user pool is not a domain.",
            )
        }
        let origin = Url::parse(&format!("https://{}", self.id)).map_err(misconfigured)?;
        let mut builder = WebauthnBuilder::new(&self.id, &origin)
            .map_err(misconfigured)?
            .allow_subdomains(true)
            .allow_any_port(true)
            .timeout(CHALLENGE_LIFETIME)
            .rp_name(&self.id);
        let local = Url::parse("http://localhost").map_err(misconfigured)?;
        if self.id == "localhost" {
            builder = builder.append_allowed_origin(&local);
        }
        builder.build().map_err(misconfigured)
    }
}

/// A stored passkey and what ListWebAuthnCredentials tells of it.
#[derive(Debug, Clone)]
pub struct Credential {
    pub passkey: Passkey,
    /// The credential id, base64url without padding.
    pub id: String,
    pub relying_party: String,
    pub created: SystemTime,
    /// `platform` or `cross-platform`, as the browser said.
    pub attachment: Option<String>,
    pub transports: Vec<String>,
    pub name: String,
}

/// Whose: (pool, internal user name).
type UserKey = (String, String);

struct Pending<T> {
    state: T,
    expires: SystemTime,
}

/// The pools' relying parties, the users' passkeys and the challenges out.
#[derive(Default)]
pub struct Passkeys {
    parties: Mutex<HashMap<String, RelyingParty>>,
    credentials: Mutex<HashMap<UserKey, Vec<Credential>>>,
    registrations: Mutex<HashMap<UserKey, Pending<PasskeyRegistration>>>,
    sign_ins: Mutex<HashMap<String, Pending<(UserKey, PasskeyAuthentication)>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A stored passkey's outcome as Cognito names it.
fn refused(kind: &str, message: &str) -> Error {
    Error::new(ErrorType::Reported(kind.to_owned()), message)
}

/// webauthn-rs's refusal of a registration or an assertion, as Cognito answers it. A sign-in's
/// refusal is `NotAuthorizedException` whatever the cause: RespondToAuthChallenge has no
/// WebAuthn error in Cognito's model.
fn cognito_error(err: &WebauthnError, signing_in: bool) -> Error {
    if signing_in {
        return Error::not_authorized("Incorrect credential.");
    }
    match err {
        WebauthnError::InvalidRPOrigin | WebauthnError::CredentialCrossOrigin => refused(
            "WebAuthnOriginNotAllowedException",
            "The credential's origin is not allowed for this relying party.",
        ),
        WebauthnError::InvalidRPIDHash => refused(
            "WebAuthnRelyingPartyMismatchException",
            "The credential was not made for this relying party.",
        ),
        WebauthnError::MismatchedChallenge | WebauthnError::ChallengeNotFound => refused(
            "WebAuthnChallengeNotFoundException",
            "The credential does not answer the challenge issued.",
        ),
        WebauthnError::COSEKeyInvalidAlgorithm | WebauthnError::CredentialInsecureCryptography => {
            refused(
                "WebAuthnCredentialNotSupportedException",
                "The credential's algorithm is not supported.",
            )
        }
        _ => Error::invalid_parameter("The credential is not valid."),
    }
}

/// A browser's credential (the JSON of a `PublicKeyCredential`), which Cognito takes as a
/// document or, in a challenge's answer, as a JSON string.
fn parse<T: serde::de::DeserializeOwned>(credential: &Value) -> Result<T, Error> {
    let parsed = match credential {
        Value::String(text) => serde_json::from_str(text),
        other => serde_json::from_value(other.clone()),
    };
    parsed.map_err(|_| Error::invalid_parameter("The credential is not a WebAuthn credential."))
}

/// The user handle a user's passkeys carry: derived from the pool and user, so that every
/// passkey of one user names the same handle.
fn user_handle(key: &UserKey) -> Uuid {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{}\n{}", key.0, key.1).as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

impl Passkeys {
    /// Sets the pool's relying party (SetUserPoolMfaConfig); `None` takes it away.
    pub fn configure(&self, pool: &str, party: Option<RelyingParty>) {
        let mut parties = lock(&self.parties);
        match party {
            Some(party) => parties.insert(pool.to_owned(), party),
            None => parties.remove(pool),
        };
    }

    /// The pool's relying party, if it has one.
    pub fn relying_party(&self, pool: &str) -> Option<RelyingParty> {
        lock(&self.parties).get(pool).cloned()
    }

    fn party(&self, pool: &str) -> Result<RelyingParty, Error> {
        self.relying_party(pool).ok_or_else(|| {
            refused(
                "WebAuthnConfigurationMissingException",
                "This user pool has no WebAuthn relying party.",
            )
        })
    }

    /// The passkeys of `username` in `pool`, oldest first.
    pub fn of(&self, pool: &str, username: &str) -> Vec<Credential> {
        let key = (pool.to_owned(), username.to_owned());
        lock(&self.credentials)
            .get(&key)
            .cloned()
            .unwrap_or_default()
    }

    /// A registration's options (StartWebAuthnRegistration's `CredentialCreationOptions`),
    /// replacing any registration of the user's not yet completed.
    pub fn start_registration(
        &self,
        pool: &str,
        username: &str,
        display_name: &str,
        now: SystemTime,
    ) -> Result<Value, Error> {
        let party = self.party(pool)?;
        let key = (pool.to_owned(), username.to_owned());
        let held = self.of(pool, username);
        if held.len() >= MAX_PASSKEYS {
            return Err(Error::new(
                ErrorType::LimitExceeded,
                "The user has the most passkeys a user may have.",
            ));
        }
        let exclude = held.iter().map(|c| c.passkey.cred_id().clone()).collect();
        let (options, state) = party
            .webauthn()?
            .start_passkey_registration(user_handle(&key), username, display_name, Some(exclude))
            .map_err(|e| Error::internal(format!("webauthn: {e}")))?;
        let options = serde_json::to_value(&options.public_key)
            .map_err(|e| Error::internal(e.to_string()))?;
        let pending = Pending {
            state,
            expires: now + CHALLENGE_LIFETIME,
        };
        lock(&self.registrations).insert(key, pending);
        Ok(options)
    }

    /// Completes the user's registration with `credential` (CompleteWebAuthnRegistration): the
    /// challenge is spent whatever the outcome.
    pub fn complete_registration(
        &self,
        pool: &str,
        username: &str,
        credential: &Value,
        now: SystemTime,
    ) -> Result<Credential, Error> {
        let party = self.party(pool)?;
        let key = (pool.to_owned(), username.to_owned());
        let no_challenge = || {
            refused(
                "WebAuthnChallengeNotFoundException",
                "No registration was started, or it has expired.",
            )
        };
        let pending = lock(&self.registrations)
            .remove(&key)
            .ok_or_else(no_challenge)?;
        if now > pending.expires {
            return Err(no_challenge());
        }
        let reg: RegisterPublicKeyCredential = parse(credential)?;
        let passkey = party
            .webauthn()?
            .finish_passkey_registration(&reg, &pending.state)
            .map_err(|e| cognito_error(&e, false))?;
        let id = URL_SAFE_NO_PAD.encode(passkey.cred_id().as_slice());
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let attachment =
            credential_field(credential, "authenticatorAttachment").and_then(|v| text(&v));
        let transports = credential_field(credential, "response")
            .and_then(|r| r.get("transports").cloned())
            .and_then(|t| t.as_array().map(|a| a.iter().filter_map(text).collect()))
            .unwrap_or_default();
        let name = match attachment.as_deref() {
            Some("platform") => "Passkey on this device",
            Some("cross-platform") => "Security key",
            _ => "Passkey",
        };
        let stored = Credential {
            passkey,
            id,
            relying_party: party.id,
            created: now,
            attachment,
            transports,
            name: name.to_owned(),
        };
        let mut all = lock(&self.credentials);
        let taken = all
            .values()
            .flatten()
            .any(|c| c.passkey.cred_id() == stored.passkey.cred_id());
        if taken {
            return Err(Error::invalid_parameter(
                "This credential is registered already.",
            ));
        }
        let held = all.entry(key).or_default();
        if held.len() >= MAX_PASSKEYS {
            return Err(Error::new(
                ErrorType::LimitExceeded,
                "The user has the most passkeys a user may have.",
            ));
        }
        held.push(stored.clone());
        Ok(stored)
    }

    /// Deletes the user's passkey `id`; `false` if they hold none of that id.
    pub fn delete(&self, pool: &str, username: &str, id: &str) -> bool {
        let key = (pool.to_owned(), username.to_owned());
        let mut all = lock(&self.credentials);
        let Some(held) = all.get_mut(&key) else {
            return false;
        };
        let before = held.len();
        held.retain(|c| c.id != id);
        before != held.len()
    }

    /// Forgets every passkey and challenge of the user (the user is deleted).
    pub fn forget(&self, pool: &str, username: &str) {
        let key = (pool.to_owned(), username.to_owned());
        lock(&self.credentials).remove(&key);
        lock(&self.registrations).remove(&key);
    }

    /// A WEB_AUTHN challenge for the user under `session`: its `CREDENTIAL_REQUEST_OPTIONS`.
    pub fn start_sign_in(
        &self,
        pool: &str,
        username: &str,
        session: &str,
        now: SystemTime,
    ) -> Result<Value, Error> {
        let party = self.party(pool)?;
        let held: Vec<Passkey> = (self.of(pool, username).into_iter())
            .map(|c| c.passkey)
            .collect();
        let (options, state) = party
            .webauthn()?
            .start_passkey_authentication(&held)
            .map_err(|e| Error::internal(format!("webauthn: {e}")))?;
        let options = serde_json::to_value(&options.public_key)
            .map_err(|e| Error::internal(e.to_string()))?;
        let key = (pool.to_owned(), username.to_owned());
        let pending = Pending {
            state: (key, state),
            expires: now + CHALLENGE_LIFETIME,
        };
        lock(&self.sign_ins).insert(session.to_owned(), pending);
        Ok(options)
    }

    /// Checks `credential` against the WEB_AUTHN challenge of `session`, which is spent
    /// whatever the outcome; a right one moves the passkey's counter on.
    pub fn finish_sign_in(
        &self,
        pool: &str,
        session: &str,
        credential: &Value,
        now: SystemTime,
    ) -> Result<(), Error> {
        let party = self.party(pool)?;
        let pending = lock(&self.sign_ins)
            .remove(session)
            .ok_or_else(Error::invalid_session)?;
        if now > pending.expires {
            return Err(Error::invalid_session());
        }
        let (key, state) = pending.state;
        let assertion: PublicKeyCredential = parse(credential)?;
        let result = party
            .webauthn()?
            .finish_passkey_authentication(&assertion, &state)
            .map_err(|e| cognito_error(&e, true))?;
        let mut all = lock(&self.credentials);
        let held = all.get_mut(&key).ok_or_else(Error::invalid_session)?;
        let Some(stored) = held
            .iter_mut()
            .find(|c| c.passkey.cred_id() == result.cred_id())
        else {
            // Deleted while the challenge was out.
            return Err(Error::not_authorized("Incorrect credential."));
        };
        stored.passkey.update_credential(&result);
        Ok(())
    }
}

/// A member of a credential given as a document or as a JSON string.
fn credential_field(credential: &Value, name: &str) -> Option<Value> {
    match credential {
        Value::String(text) => serde_json::from_str::<Value>(text).ok()?.get(name).cloned(),
        other => other.get(name).cloned(),
    }
}
