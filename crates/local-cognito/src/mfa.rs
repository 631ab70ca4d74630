//! Authenticator (TOTP) secrets. moto gives every user one and the same secret; the layer gives
//! each user a secret of their own, checks their codes with it, and tells moto what it must
//! hear with codes of moto's one secret.
//!
//! A new secret is pending until a first code of it is checked; then it is the user's, in
//! place of the last. Codes are checked at the layer's [`crate::clock::Clock`]; moto's codes are
//! computed at moto's time.
//!
//! A code is good once: a code of a 30-second step no later than the last one accepted for the
//! user (at VerifySoftwareToken or at a sign-in) is refused, as RFC 6238 §5.2 wants ("the
//! verifier MUST NOT accept the second attempt of the same OTP after the successful validation
//! has been issued for the first OTP"), and as Cognito refuses it: `ExpiredCodeException`,
//! "Your software token has already been used once." (what RespondToAuthChallenge answers a
//! code VerifySoftwareToken took in the same step; aws-amplify/amplify-swift's
//! `AuthIntegrationTests/MFATests/MFASignInTests.swift` waits 30 seconds between the two for
//! that reason).
//!
//! AdminDeleteSoftwareToken takes a user's secrets away ([`delete`]): the user is marked as
//! having no authenticator, any code of theirs is refused until a new secret is verified, and
//! a sign-in in a pool whose MFA is ON answers moto's challenge itself ([`moto_code`]), since
//! moto, which has no such operation, challenges every user whose token it ever verified.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::Layer;
use crate::protocol::{Error, ErrorType};
use crate::tokens::Claims;
use crate::totp;

/// A user's secrets.
#[derive(Debug, Default)]
struct UserSecret {
    /// Handed out, awaiting its first code.
    pending: Option<String>,
    /// In use.
    active: Option<String>,
    /// The step of the last code accepted: no code of it or before it is good again.
    last_step: Option<u64>,
    /// Deleted (AdminDeleteSoftwareToken) and no new secret verified since: the user has no
    /// authenticator, whatever moto thinks.
    deleted: bool,
}

#[derive(Debug, Default)]
struct State {
    /// By (pool, user name in lower case).
    users: HashMap<(String, String), UserSecret>,
    /// moto's one secret, as its AssociateSoftwareToken gives it: what moto checks codes with.
    moto_secret: Option<String>,
}

/// The users' secrets and moto's.
#[derive(Debug, Default)]
pub struct Authenticators {
    state: Mutex<State>,
}

impl Authenticators {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn associated(&self, key: (String, String), secret: &str, moto_secret: Option<&str>) {
        let mut state = self.state();
        if let Some(moto_secret) = moto_secret {
            state.moto_secret = Some(moto_secret.to_owned());
        }
        state.users.entry(key).or_default().pending = Some(secret.to_owned());
    }

    fn moto_secret(&self) -> Option<String> {
        self.state().moto_secret.clone()
    }

    fn noted_moto_secret(&self, secret: &str) {
        self.state().moto_secret = Some(secret.to_owned());
    }

    /// `key`'s secret of `which` kind, with moto's.
    fn with_moto(
        &self,
        key: &(String, String),
        which: fn(&UserSecret) -> &Option<String>,
    ) -> Option<(String, String)> {
        let state = self.state();
        let user = state.users.get(key).and_then(|u| which(u).clone())?;
        Some((user, state.moto_secret.clone()?))
    }

    /// The pending secret takes over, its code of `step` accepted.
    fn activate(&self, key: (String, String), step: u64) {
        let mut state = self.state();
        let user = state.users.entry(key).or_default();
        user.active = user.pending.take();
        user.last_step = Some(step);
        user.deleted = false;
    }

    /// `key`'s secrets gone, pending and active, and the step last accepted: no authenticator
    /// until a new secret is verified.
    fn delete(&self, key: (String, String)) {
        let deleted = UserSecret {
            deleted: true,
            ..UserSecret::default()
        };
        self.state().users.insert(key, deleted);
    }

    /// Whether `key`'s authenticator was deleted, with no new one verified since.
    fn is_deleted(&self, key: &(String, String)) -> bool {
        self.state().users.get(key).is_some_and(|u| u.deleted)
    }

    /// Checks `code` against `key`'s active secret at `at` and, when it is good, spends it (in
    /// one step, so that of two answers with one code only one is accepted): moto's secret,
    /// or `None` when the user has no secret of this layer's.
    fn spend(
        &self,
        key: &(String, String),
        code: &str,
        at: SystemTime,
    ) -> Result<Option<String>, Error> {
        let mismatch = || Error::new(ErrorType::CodeMismatch, "Invalid code received for user");
        let mut state = self.state();
        // No authenticator: no code is good, and none is passed on for moto to check against
        // its one secret, which anyone can compute.
        if state.users.get(key).is_some_and(|u| u.deleted) {
            return Err(mismatch());
        }
        let Some(moto_secret) = state.moto_secret.clone() else {
            return Ok(None);
        };
        let Some(user) = state.users.get_mut(key) else {
            return Ok(None);
        };
        let Some(active) = &user.active else {
            return Ok(None);
        };
        let Some(step) = totp::step_of(active, code, at) else {
            return Err(mismatch());
        };
        if user.last_step.is_some_and(|last| step <= last) {
            return Err(Error::new(
                ErrorType::ExpiredCode,
                "Your software token has already been used once.",
            ));
        }
        user.last_step = Some(step);
        Ok(Some(moto_secret))
    }
}

/// The (pool, user) `access_token` is of, from its claims (moto checks the token itself).
async fn owner(layer: &Layer, access_token: &str) -> Result<(String, String), Error> {
    let refused = || Error::not_authorized("Invalid Access Token");
    let claims = Claims::of(access_token).ok_or_else(refused)?;
    let (Some(client_id), Some(username)) = (claims.client_id, claims.username) else {
        return Err(refused());
    };
    let app = layer.directory.app(&client_id).await?;
    Ok((app.pool_id, username.to_lowercase()))
}

/// A new secret for `access_token`'s user, pending until a first code of it is checked. moto
/// is asked too (it wants an association of its own), and its one secret noted.
pub async fn new_secret(layer: &Layer, access_token: &str) -> Result<String, Error> {
    let out = layer
        .moto
        .admin
        .associate_software_token()
        .access_token(access_token)
        .send()
        .await
        .map_err(Error::admin)?;
    let key = owner(layer, access_token).await?;
    let secret = totp::new_secret()?;
    layer
        .authenticators
        .associated(key, &secret, out.secret_code());
    Ok(secret)
}

/// Checks `code` against `access_token`'s user's pending secret, which then takes over; moto
/// is told with a code of its own secret.
pub async fn confirm_secret(layer: &Layer, access_token: &str, code: &str) -> Result<(), Error> {
    let key = owner(layer, access_token).await?;
    let Some((pending, moto_secret)) = layer.authenticators.with_moto(&key, |u| &u.pending) else {
        return Err(Error::invalid_parameter("No software token is associated."));
    };
    let Some(step) = totp::step_of(&pending, code, layer.clock.now()) else {
        return Err(Error::new(
            ErrorType::EnableSoftwareTokenMfa,
            "Code mismatch and fail enable Software Token MFA",
        ));
    };
    layer
        .moto
        .admin
        .verify_software_token()
        .access_token(access_token)
        .user_code(totp::totp(&moto_secret, layer.clock.moto_now()))
        .send()
        .await
        .map_err(Error::admin)?;
    layer.authenticators.activate(key, step);
    Ok(())
}

/// A SOFTWARE_TOKEN_MFA answer's `code` for the internal user name `username` of `pool`,
/// checked against the user's own secret and spent: the code of moto's secret to send moto
/// instead. `None` when the user has no secret of this layer's (moto checks the code as it
/// came). A wrong code is `CodeMismatchException`, one used already `ExpiredCodeException`;
/// any code of a user whose authenticator was deleted is `CodeMismatchException`.
pub fn code_for_moto(
    layer: &Layer,
    pool: &str,
    username: &str,
    code: &str,
) -> Result<Option<String>, Error> {
    let key = key_of(pool, username);
    let moto_secret = layer.authenticators.spend(&key, code, layer.clock.now())?;
    Ok(moto_secret.map(|secret| totp::totp(&secret, layer.clock.moto_now())))
}

/// The key of the internal user name `username` of `pool`.
fn key_of(pool: &str, username: &str) -> (String, String) {
    (pool.to_owned(), username.to_lowercase())
}

/// AdminDeleteSoftwareToken for the internal user name `username` of `pool`: their secrets
/// gone, and the user marked as having no authenticator until a new secret is verified.
pub fn delete(layer: &Layer, pool: &str, username: &str) {
    layer.authenticators.delete(key_of(pool, username));
}

/// Whether the internal user name `username` of `pool` had their authenticator deleted and has
/// verified no new one since.
pub fn is_deleted(layer: &Layer, pool: &str, username: &str) -> bool {
    layer.authenticators.is_deleted(&key_of(pool, username))
}

/// A code of moto's one secret at moto's time, for the layer to answer moto's own
/// SOFTWARE_TOKEN_MFA challenge `session` with. The secret is the one noted, or, when no
/// authenticator was set up through the layer yet, asked of moto on the session.
pub async fn moto_code(layer: &Layer, session: &str) -> Result<String, Error> {
    let secret = match layer.authenticators.moto_secret() {
        Some(secret) => secret,
        None => {
            let out = (layer.moto.admin.associate_software_token())
                .session(session)
                .send()
                .await
                .map_err(Error::admin)?;
            let secret = out
                .secret_code()
                .ok_or_else(|| Error::internal("moto gave no secret"))?;
            layer.authenticators.noted_moto_secret(secret);
            secret.to_owned()
        }
    };
    Ok(totp::totp(&secret, layer.clock.moto_now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(user: &str) -> (String, String) {
        ("p".into(), user.into())
    }

    #[test]
    fn a_pending_secret_takes_over_only_once_activated() {
        let a = Authenticators::default();
        a.associated(key("alice"), "OLD", Some("MOTO"));
        a.activate(key("alice"), 1);
        a.associated(key("alice"), "NEW", None);
        let active = a.with_moto(&key("alice"), |u| &u.active);
        assert_eq!(active, Some(("OLD".into(), "MOTO".into())));
        a.activate(key("alice"), 2);
        let active = a.with_moto(&key("alice"), |u| &u.active);
        assert_eq!(active, Some(("NEW".into(), "MOTO".into())));
        assert_eq!(a.with_moto(&key("alice"), |u| &u.pending), None);
    }

    #[test]
    fn each_user_has_a_secret_of_their_own() {
        let a = Authenticators::default();
        a.associated(key("alice"), "ALICE", Some("MOTO"));
        a.associated(key("bob"), "BOB", Some("MOTO"));
        a.activate(key("alice"), 1);
        assert_eq!(a.with_moto(&key("bob"), |u| &u.active), None);
        assert_eq!(
            a.with_moto(&key("bob"), |u| &u.pending).map(|s| s.0),
            Some("BOB".into())
        );
    }

    #[test]
    fn a_code_is_spent_once_and_no_code_of_an_earlier_step_is_taken_after_it() {
        let a = Authenticators::default();
        let secret = totp::new_secret().unwrap();
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(30 * 1000 + 5);
        a.associated(key("alice"), &secret, Some("MOTO"));
        a.activate(key("alice"), 999);
        let kind = |r: Result<Option<String>, Error>| r.err().and_then(|e| e.kind().cloned());
        let now = totp::totp(&secret, at);
        assert_eq!(
            a.spend(&key("alice"), &now, at).unwrap().as_deref(),
            Some("MOTO")
        );
        assert_eq!(
            kind(a.spend(&key("alice"), &now, at)),
            Some(ErrorType::ExpiredCode)
        );
        let before = totp::totp(&secret, at - std::time::Duration::from_secs(30));
        if before != now {
            let used = kind(a.spend(&key("alice"), &before, at));
            assert_eq!(
                used,
                Some(ErrorType::ExpiredCode),
                "a step before the one used"
            );
        }
        let next = at + std::time::Duration::from_secs(30);
        assert!(
            a.spend(&key("alice"), &totp::totp(&secret, next), next)
                .is_ok()
        );
        let wrong = if now == "000000" { "000001" } else { "000000" };
        let later = next + std::time::Duration::from_secs(300);
        if totp::step_of(&secret, wrong, later).is_none() {
            assert_eq!(
                kind(a.spend(&key("alice"), wrong, later)),
                Some(ErrorType::CodeMismatch)
            );
        }
        assert_eq!(
            a.spend(&key("bob"), &now, at).unwrap(),
            None,
            "no secret here"
        );
    }

    #[test]
    fn a_deleted_authenticator_takes_no_code_until_a_new_secret_is_verified() {
        let a = Authenticators::default();
        let (old, new) = (totp::new_secret().unwrap(), totp::new_secret().unwrap());
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(30 * 2000 + 5);
        a.associated(key("alice"), &old, Some("MOTO"));
        a.activate(key("alice"), 1);
        a.delete(key("alice"));
        assert!(a.is_deleted(&key("alice")));
        assert_eq!(a.with_moto(&key("alice"), |u| &u.active), None);
        let kind = |r: Result<Option<String>, Error>| r.err().and_then(|e| e.kind().cloned());
        let old_code = totp::totp(&old, at);
        let refused = kind(a.spend(&key("alice"), &old_code, at));
        assert_eq!(
            refused,
            Some(ErrorType::CodeMismatch),
            "never passed to moto"
        );

        a.associated(key("alice"), &new, None);
        assert!(a.is_deleted(&key("alice")), "until the new one is verified");
        a.activate(key("alice"), 2);
        assert!(!a.is_deleted(&key("alice")));
        if old_code != totp::totp(&new, at) {
            let refused = kind(a.spend(&key("alice"), &old_code, at));
            assert_eq!(
                refused,
                Some(ErrorType::CodeMismatch),
                "the old secret's code"
            );
        }
        let taken = a.spend(&key("alice"), &totp::totp(&new, at), at).unwrap();
        assert_eq!(taken.as_deref(), Some("MOTO"));
        assert!(!a.is_deleted(&key("bob")));
    }
}
