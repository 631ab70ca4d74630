//! Token families, their revocation and the rotation of refresh tokens. A refresh token's
//! family is the user it was issued to, the app client, and its `origin_jti`, which every token
//! issued from it carries: RevokeToken revokes one family, GlobalSignOut and DeleteUser every
//! family of the user, and a token of a revoked family is refused.
//!
//! Rotation (an app client's `RefreshTokenRotation` ENABLED, GetTokensFromRefreshToken): each
//! exchange answers a new refresh token of the same family, opaque and drawn from the OS
//! CSPRNG, which the layer maps to the family (moto never sees it: the family's moto refresh
//! token is what moto refreshes). The token exchanged stays good for the client's
//! `RetryGracePeriodSeconds` after its first exchange, for a client's retries, and is then
//! refused with `RefreshTokenReuseException`; with a grace of 0 the first exchange ends it.
//! The family, and so its `origin_jti`, is the same across rotations: that is what moto's
//! refresh gives, and the emulator's choice.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use platform::random::{self, RandomError};
use serde::Deserialize;

use crate::protocol::{Error, ErrorType};

/// The claims of a token moto issued that the layer reads.
#[derive(Debug, Default, Deserialize)]
pub struct Claims {
    /// The app client (access tokens).
    pub client_id: Option<String>,
    /// The app client (id tokens).
    pub aud: Option<String>,
    /// The internal user name (access tokens).
    pub username: Option<String>,
    /// The internal user name (id tokens).
    #[serde(rename = "cognito:username")]
    pub cognito_username: Option<String>,
    /// The refresh token's family.
    pub origin_jti: Option<String>,
}

impl Claims {
    /// The payload of the JWT `token`, unverified: moto checks the tokens it issued; this only
    /// reads them.
    pub fn of(token: &str) -> Option<Claims> {
        let payload = token.split('.').nth(1)?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }
}

/// A refresh token's family. `Debug` leaves moto's refresh token out.
#[derive(Clone, PartialEq, Eq)]
pub struct Family {
    /// The internal user name it was issued to.
    pub username: String,
    /// The app client it was issued to: only that client may exchange its tokens.
    pub client_id: String,
    pub origin_jti: String,
    /// The refresh token moto issued at the sign-in: what moto refreshes, whichever of the
    /// family's tokens the caller presented.
    pub moto_token: String,
}

impl std::fmt::Debug for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Family")
            .field("username", &self.username)
            .field("client_id", &self.client_id)
            .field("origin_jti", &self.origin_jti)
            .finish_non_exhaustive()
    }
}

/// A refresh token the layer saw issued (moto's, at a sign-in) or issued itself (a rotation).
#[derive(Debug)]
struct Issued {
    family: Family,
    /// Once exchanged on a client that rotates: until when it may be exchanged again (the
    /// client's RetryGracePeriodSeconds after its first exchange).
    usable_until: Option<SystemTime>,
}

#[derive(Debug, Default)]
struct State {
    /// By refresh token.
    issued: HashMap<String, Issued>,
    /// Revoked families' `origin_jti`.
    revoked: HashSet<String>,
}

impl State {
    /// `refresh_token`'s family, when `client_id` may exchange it at `now`; `None` for a token
    /// the layer never saw issued.
    fn exchangeable(
        &self,
        refresh_token: &str,
        client_id: &str,
        now: SystemTime,
    ) -> Result<Option<&Family>, Error> {
        let Some(issued) = self.issued.get(refresh_token) else {
            return Ok(None);
        };
        let family = &issued.family;
        if self.revoked.contains(&family.origin_jti) {
            return Err(Error::not_authorized("Refresh Token has been revoked"));
        }
        // Cognito refuses a refresh token presented by another app client than its own.
        if family.client_id != client_id {
            return Err(invalid_refresh_token());
        }
        if issued.usable_until.is_some_and(|until| now >= until) {
            return Err(Error::new(
                ErrorType::RefreshTokenReuse,
                "The refresh token has been invalidated by refresh token rotation.",
            ));
        }
        Ok(Some(family))
    }
}

/// A refresh token Cognito does not take (unknown, or another client's).
pub fn invalid_refresh_token() -> Error {
    Error::not_authorized("Invalid Refresh Token.")
}

/// The families this layer has seen issued, the refresh tokens it issued itself, and the
/// revoked families.
#[derive(Debug, Default)]
pub struct Tokens {
    state: Mutex<State>,
}

impl Tokens {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes `refresh_token`'s family.
    pub fn issued(&self, refresh_token: &str, family: Family) {
        let issued = Issued {
            family,
            usable_until: None,
        };
        self.state().issued.insert(refresh_token.to_owned(), issued);
    }

    /// `refresh_token`'s family, when the app client `client_id` may exchange it at `now`:
    /// `None` for a token this layer never saw issued; refused when its family is revoked or
    /// it is another client's (`NotAuthorizedException`), or when it was rotated out longer
    /// ago than its grace (`RefreshTokenReuseException`).
    pub fn exchangeable(
        &self,
        refresh_token: &str,
        client_id: &str,
        now: SystemTime,
    ) -> Result<Option<Family>, Error> {
        let state = self.state();
        Ok(state.exchangeable(refresh_token, client_id, now)?.cloned())
    }

    /// Exchanges `refresh_token` on a client that rotates, at `now`: a new refresh token of its
    /// family, and the one exchanged good for `grace` after its first exchange (a later one
    /// does not extend it). Checked again here, in one step with the exchange, so that of
    /// exchanges sent at once with a grace of 0 only one is answered.
    pub fn rotate(
        &self,
        refresh_token: &str,
        client_id: &str,
        now: SystemTime,
        grace: Duration,
    ) -> Result<String, Error> {
        let next = new_refresh_token()?;
        let mut state = self.state();
        let family = (state.exchangeable(refresh_token, client_id, now)?.cloned())
            .ok_or_else(invalid_refresh_token)?;
        if let Some(issued) = state.issued.get_mut(refresh_token) {
            issued.usable_until.get_or_insert(now + grace);
        }
        let issued = Issued {
            family,
            usable_until: None,
        };
        state.issued.insert(next.clone(), issued);
        Ok(next)
    }

    pub fn is_revoked(&self, origin_jti: &str) -> bool {
        self.state().revoked.contains(origin_jti)
    }

    /// Revokes `refresh_token`'s family only (whichever of its tokens it is): the user's other
    /// sessions stay.
    pub fn revoke(&self, refresh_token: &str) {
        let mut state = self.state();
        if let Some(jti) = (state.issued.get(refresh_token)).map(|i| i.family.origin_jti.clone()) {
            state.revoked.insert(jti);
        }
    }

    /// Revokes every family of the internal user name `username`.
    pub fn revoke_user(&self, username: &str) {
        let mut state = self.state();
        let families: Vec<String> = (state.issued.values())
            .filter(|i| i.family.username == username)
            .map(|i| i.family.origin_jti.clone())
            .collect();
        state.revoked.extend(families);
    }
}

/// A refresh token of the layer's own: 32 bytes from the OS CSPRNG, base64url. Opaque, as
/// Cognito's are to their holder.
fn new_refresh_token() -> Result<String, RandomError> {
    Ok(URL_SAFE_NO_PAD.encode(random::bytes::<32>()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family(user: &str, jti: &str) -> Family {
        Family {
            username: user.into(),
            client_id: "c".into(),
            origin_jti: jti.into(),
            moto_token: format!("moto-{jti}"),
        }
    }

    fn kind(answer: Result<impl std::fmt::Debug, Error>) -> Option<ErrorType> {
        answer.err().and_then(|e| e.kind().cloned())
    }

    const GRACE: Duration = Duration::from_secs(10);

    #[test]
    fn revoking_one_refresh_token_leaves_the_users_other_families() {
        let tokens = Tokens::default();
        let now = SystemTime::now();
        tokens.issued("r1", family("alice", "j1"));
        tokens.issued("r2", family("alice", "j2"));
        tokens.revoke("r1");
        tokens.revoke("unknown");
        assert!(tokens.is_revoked("j1"));
        assert!(!tokens.is_revoked("j2"));
        let r2 = tokens.exchangeable("r2", "c", now).unwrap();
        assert_eq!(r2, Some(family("alice", "j2")));
        assert_eq!(
            kind(tokens.exchangeable("r1", "c", now)),
            Some(ErrorType::NotAuthorized)
        );
    }

    #[test]
    fn revoking_a_user_revokes_every_family_of_theirs_and_only_theirs() {
        let tokens = Tokens::default();
        tokens.issued("r1", family("alice", "j1"));
        tokens.issued("r2", family("alice", "j2"));
        tokens.issued("r3", family("bob", "j3"));
        tokens.revoke_user("alice");
        assert!(tokens.is_revoked("j1") && tokens.is_revoked("j2"));
        assert!(!tokens.is_revoked("j3"));
    }

    #[test]
    fn an_unknown_token_is_none_and_another_clients_token_is_refused() {
        let tokens = Tokens::default();
        let now = SystemTime::now();
        tokens.issued("r1", family("alice", "j1"));
        assert_eq!(tokens.exchangeable("nobody's", "c", now).unwrap(), None);
        assert_eq!(
            kind(tokens.exchangeable("r1", "another-client", now)),
            Some(ErrorType::NotAuthorized)
        );
        assert_eq!(
            kind(tokens.rotate("r1", "another-client", now, GRACE)),
            Some(ErrorType::NotAuthorized)
        );
        assert_eq!(
            kind(tokens.rotate("nobody's", "c", now, GRACE)),
            Some(ErrorType::NotAuthorized)
        );
    }

    #[test]
    fn a_rotation_gives_a_new_random_token_of_the_same_family_each_time() {
        let tokens = Tokens::default();
        let now = SystemTime::now();
        tokens.issued("r1", family("alice", "j1"));
        let next = tokens.rotate("r1", "c", now, GRACE).unwrap();
        let again = tokens.rotate("r1", "c", now, GRACE).unwrap();
        assert_ne!(next, again);
        assert!(next.len() >= 43 && next != "r1", "{next}");
        for token in [&next, &again] {
            let found = tokens.exchangeable(token, "c", now).unwrap();
            assert_eq!(found, Some(family("alice", "j1")));
        }
        // The new token rotates in its turn.
        let third = tokens.rotate(&next, "c", now, GRACE).unwrap();
        assert!(tokens.exchangeable(&third, "c", now).unwrap().is_some());
    }

    #[test]
    fn a_rotated_token_is_good_for_the_grace_after_its_first_exchange_and_then_reused() {
        let tokens = Tokens::default();
        let first = SystemTime::now();
        tokens.issued("r1", family("alice", "j1"));
        tokens.rotate("r1", "c", first, GRACE).unwrap();
        let within = first + GRACE - Duration::from_millis(1);
        assert!(tokens.exchangeable("r1", "c", within).unwrap().is_some());
        // An exchange within the grace answers, and does not extend it.
        tokens.rotate("r1", "c", within, GRACE).unwrap();
        let after = first + GRACE;
        assert_eq!(
            kind(tokens.exchangeable("r1", "c", after)),
            Some(ErrorType::RefreshTokenReuse)
        );
        assert_eq!(
            kind(tokens.rotate("r1", "c", after, GRACE)),
            Some(ErrorType::RefreshTokenReuse)
        );
    }

    #[test]
    fn with_no_grace_the_first_exchange_ends_the_token() {
        let tokens = Tokens::default();
        let now = SystemTime::now();
        tokens.issued("r1", family("alice", "j1"));
        let next = tokens.rotate("r1", "c", now, Duration::ZERO).unwrap();
        assert_eq!(
            kind(tokens.rotate("r1", "c", now, Duration::ZERO)),
            Some(ErrorType::RefreshTokenReuse)
        );
        assert!(tokens.exchangeable(&next, "c", now).unwrap().is_some());
    }

    #[test]
    fn revoking_any_token_of_a_rotated_family_revokes_all_of_them() {
        let tokens = Tokens::default();
        let now = SystemTime::now();
        tokens.issued("r1", family("alice", "j1"));
        tokens.issued("other", family("alice", "j2"));
        let next = tokens.rotate("r1", "c", now, GRACE).unwrap();
        let last = tokens.rotate(&next, "c", now, GRACE).unwrap();
        tokens.revoke(&next);
        for token in ["r1", next.as_str(), last.as_str()] {
            assert_eq!(
                kind(tokens.exchangeable(token, "c", now)),
                Some(ErrorType::NotAuthorized),
                "{token}"
            );
        }
        assert_eq!(
            kind(tokens.rotate(&last, "c", now, GRACE)),
            Some(ErrorType::NotAuthorized)
        );
        assert!(tokens.exchangeable("other", "c", now).unwrap().is_some());
        // And the user's sign-out reaches the rotated tokens too.
        let fresh = tokens.rotate("other", "c", now, GRACE).unwrap();
        tokens.revoke_user("alice");
        assert_eq!(
            kind(tokens.exchangeable(&fresh, "c", now)),
            Some(ErrorType::NotAuthorized)
        );
    }

    #[test]
    fn a_familys_debug_leaves_motos_refresh_token_out() {
        let shown = format!("{:?}", family("alice", "j1"));
        assert!(!shown.contains("moto-j1"), "{shown}");
    }

    #[test]
    fn claims_are_read_from_the_payload() {
        let payload = URL_SAFE_NO_PAD.encode(
            br#"{"client_id":"c","aud":"c","username":"u","origin_jti":"j","cognito:username":"u"}"#,
        );
        let claims = Claims::of(&format!("h.{payload}.s")).unwrap();
        assert_eq!(claims.client_id.as_deref(), Some("c"));
        assert_eq!(claims.aud.as_deref(), Some("c"));
        assert_eq!(claims.cognito_username.as_deref(), Some("u"));
        assert_eq!(claims.origin_jti.as_deref(), Some("j"));
        assert!(Claims::of("not-a-token").is_none());
    }
}
