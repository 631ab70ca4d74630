//! Challenge sessions and MFA_SETUP set-ups.
//!
//! Every challenge a sign-in puts passes through the layer, which notes its session: a session
//! is answered once, within the app client's AuthSessionValidity, and one the layer never
//! issued is no session (`NotAuthorizedException`, as Cognito answers an invalid session).
//!
//! moto does not put MFA_SETUP: where the pool's MFA is ON and the user has no authenticator,
//! the layer holds the sign-in's tokens in a [`Setup`] under a session of its own until the
//! user's authenticator is set up and verified.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use platform::random::{self, RandomError};
use serde_json::Value;

use crate::protocol::Error;

/// A challenge's session.
#[derive(Debug, Clone, Copy)]
struct ChallengeSession {
    issued_at: SystemTime,
    answered: bool,
}

/// The challenge sessions issued, by session.
#[derive(Debug, Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<String, ChallengeSession>>,
}

impl Sessions {
    fn by_id(&self) -> std::sync::MutexGuard<'_, HashMap<String, ChallengeSession>> {
        self.by_id.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes a challenge's `session`, issued at `at`.
    pub fn issued(&self, session: &str, at: SystemTime) {
        self.by_id().insert(
            session.to_owned(),
            ChallengeSession {
                issued_at: at,
                answered: false,
            },
        );
    }

    /// Whether `session` may be answered at `now`: issued here, not answered yet, and no older
    /// than `validity`.
    pub fn check(&self, session: &str, now: SystemTime, validity: Duration) -> Result<(), Error> {
        match self.by_id().get(session) {
            Some(s) if !s.answered && now <= s.issued_at + validity => Ok(()),
            _ => Err(Error::invalid_session()),
        }
    }

    /// `session` was answered: it is good no more.
    pub fn answered(&self, session: &str) {
        if let Some(s) = self.by_id().get_mut(session) {
            s.answered = true;
        }
    }
}

/// An MFA_SETUP challenge: the sign-in's tokens, held until the user's authenticator is set
/// up and verified. `Debug` shows no token.
#[derive(Clone)]
pub struct Setup {
    /// The sign-in's `AuthenticationResult`.
    pub result: Value,
    /// Its access token, with which moto is asked to associate and verify the authenticator.
    pub access_token: String,
    pub verified: bool,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setup")
            .field("verified", &self.verified)
            .finish_non_exhaustive()
    }
}

/// The set-ups under way, by session.
#[derive(Debug, Default)]
pub struct Setups {
    by_session: Mutex<HashMap<String, Setup>>,
}

/// A session id: 48 symbols of 64 from the OS CSPRNG (288 bits).
const SESSION_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl Setups {
    fn by_session(&self) -> std::sync::MutexGuard<'_, HashMap<String, Setup>> {
        self.by_session.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Holds `setup` under a new session, which it returns.
    pub fn open(&self, setup: Setup) -> Result<String, RandomError> {
        let session = random::string(SESSION_ALPHABET, 48)?;
        self.by_session().insert(session.clone(), setup);
        Ok(session)
    }

    /// The set-up `session` holds.
    pub fn get(&self, session: &str) -> Option<Setup> {
        self.by_session().get(session).cloned()
    }

    /// `session`'s authenticator is verified: the set-up may be answered.
    pub fn verified(&self, session: &str) {
        if let Some(setup) = self.by_session().get_mut(session) {
            setup.verified = true;
        }
    }

    /// Ends `session`'s set-up.
    pub fn close(&self, session: &str) {
        self.by_session().remove(session);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const VALIDITY: Duration = Duration::from_secs(180);

    #[test]
    fn a_session_is_answered_once_within_its_validity() {
        let sessions = Sessions::default();
        let at = SystemTime::now();
        sessions.issued("s", at);
        assert!(sessions.check("s", at + VALIDITY, VALIDITY).is_ok());
        assert!(
            sessions
                .check("s", at + VALIDITY + Duration::from_secs(1), VALIDITY)
                .is_err()
        );
        sessions.answered("s");
        assert!(sessions.check("s", at, VALIDITY).is_err(), "answered");
        assert!(sessions.check("never-issued", at, VALIDITY).is_err());
    }

    #[test]
    fn a_setup_is_held_under_a_random_session_until_closed() {
        let setups = Setups::default();
        let setup = Setup {
            result: json!({"AccessToken": "a"}),
            access_token: "a".into(),
            verified: false,
        };
        let one = setups.open(setup.clone()).unwrap();
        let two = setups.open(setup).unwrap();
        assert_ne!(one, two);
        assert_eq!(one.len(), 48);
        assert!(one.bytes().all(|b| SESSION_ALPHABET.contains(&b)), "{one}");
        setups.verified(&one);
        assert!(setups.get(&one).unwrap().verified);
        assert!(!setups.get(&two).unwrap().verified);
        setups.close(&one);
        assert!(setups.get(&one).is_none());
    }
}
