//! Challenge sessions and MFA_SETUP set-ups.
//!
//! Every challenge a sign-in puts passes through the layer, which notes its session with what
//! Cognito binds it to: the internal user name and the challenge it was issued for. A session
//! is answered once, for that user and that challenge, within the app client's
//! AuthSessionValidity; anything else is no session (`NotAuthorizedException`, "Invalid session
//! for the user", as Cognito answers a session it will not take). A session is claimed before
//! its answer is checked, so that of answers sent at once only one is checked at all; a wrong
//! authenticator code gives it back, and the [`MAX_WRONG_MFA_CODES`]th wrong one ends it.
//!
//! moto does not put MFA_SETUP: where the pool's MFA is ON and the user has no authenticator,
//! the layer holds the sign-in's tokens in a [`Setup`] under a session of its own until the
//! user's authenticator is set up and verified. As on Cognito, AssociateSoftwareToken and
//! VerifySoftwareToken each end the session they are given and hand out a new one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use platform::random::{self, RandomError};
use serde_json::Value;

use crate::protocol::Error;

/// Wrong authenticator codes a challenge session takes; the last of them ends it. Cognito
/// documents no number per session (only a lockout of the user after five wrong MFA codes,
/// <https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-mfa.html>);
/// three is this layer's, and docs/local-cognito.md says so.
pub const MAX_WRONG_MFA_CODES: u32 = 3;

/// What Cognito binds a challenge session to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The internal user name (`USER_ID_FOR_SRP`), whatever alias the user signed in with.
    pub username: String,
    /// The challenge it was issued for (`SOFTWARE_TOKEN_MFA`, `MFA_SETUP`, …).
    pub challenge: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// May be answered.
    Open,
    /// An answer is being checked.
    Claimed,
    /// Answered, or ended by wrong codes.
    Ended,
}

/// A challenge's session.
#[derive(Debug)]
struct ChallengeSession {
    binding: Binding,
    validity: Duration,
    expires: SystemTime,
    state: State,
    wrong: u32,
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

    /// Notes `session`, bound to `binding`, issued at `at` and good for `validity`.
    pub fn issued(&self, session: &str, binding: Binding, at: SystemTime, validity: Duration) {
        self.by_id().insert(
            session.to_owned(),
            ChallengeSession {
                binding,
                validity,
                expires: at + validity,
                state: State::Open,
                wrong: 0,
            },
        );
    }

    /// What `session` is bound to, if the layer issued it.
    pub fn binding(&self, session: &str) -> Option<Binding> {
        self.by_id().get(session).map(|s| s.binding.clone())
    }

    /// Claims `session` to check an answer for `expected` (its user and challenge) at `now`:
    /// refused unless it was issued for them, is open, and has not expired. Until the claim
    /// ends, every other answer to it is refused.
    pub fn claim(
        &self,
        session: &str,
        expected: &Binding,
        now: SystemTime,
    ) -> Result<Claim<'_>, Error> {
        let mut by_id = self.by_id();
        match by_id.get_mut(session) {
            Some(s) if s.state == State::Open && now <= s.expires && s.binding == *expected => {
                s.state = State::Claimed;
                Ok(Claim {
                    sessions: self,
                    session: session.to_owned(),
                    done: false,
                })
            }
            _ => Err(Error::invalid_session()),
        }
    }

    fn finish(&self, session: &str, to: impl FnOnce(&mut ChallengeSession)) {
        if let Some(s) = self.by_id().get_mut(session) {
            to(s);
        }
    }
}

/// A session claimed for one answer. Dropped without an outcome (the answer failed for a
/// reason other than a wrong code), it is open again.
#[derive(Debug)]
pub struct Claim<'a> {
    sessions: &'a Sessions,
    session: String,
    done: bool,
}

impl Claim<'_> {
    /// The answer was right: the session is good no more.
    pub fn answered(mut self) {
        self.done = true;
        self.sessions
            .finish(&self.session, |s| s.state = State::Ended);
    }

    /// The answer was right and the challenge goes on under `next`, bound as this one was and
    /// good from `now` for as long.
    pub fn succeeded_by(mut self, next: &str, now: SystemTime) {
        self.done = true;
        let mut by_id = self.sessions.by_id();
        let Some(s) = by_id.get_mut(&self.session) else {
            return;
        };
        s.state = State::Ended;
        let (binding, validity) = (s.binding.clone(), s.validity);
        by_id.insert(
            next.to_owned(),
            ChallengeSession {
                binding,
                validity,
                expires: now + validity,
                state: State::Open,
                wrong: 0,
            },
        );
    }

    /// The answer was a wrong code: the session may be answered again, unless this was its
    /// [`MAX_WRONG_MFA_CODES`]th.
    pub fn wrong_code(mut self) {
        self.done = true;
        self.sessions.finish(&self.session, |s| {
            s.wrong += 1;
            s.state = if s.wrong >= MAX_WRONG_MFA_CODES {
                State::Ended
            } else {
                State::Open
            };
        });
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.sessions.finish(&self.session, |s| {
                if s.state == State::Claimed {
                    s.state = State::Open;
                }
            });
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

/// A new session id, for a challenge the layer puts itself.
pub fn new_id() -> Result<String, RandomError> {
    random::string(SESSION_ALPHABET, 48)
}

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

    /// Moves `session`'s set-up under a new session, which it returns (`None` if `session`
    /// holds none); `verified` marks its authenticator verified.
    pub fn reissue(&self, session: &str, verified: bool) -> Result<Option<String>, RandomError> {
        let next = random::string(SESSION_ALPHABET, 48)?;
        let mut by_session = self.by_session();
        let Some(mut setup) = by_session.remove(session) else {
            return Ok(None);
        };
        setup.verified |= verified;
        by_session.insert(next.clone(), setup);
        Ok(Some(next))
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

    fn bound(user: &str, challenge: &str) -> Binding {
        Binding {
            username: user.into(),
            challenge: challenge.into(),
        }
    }

    #[test]
    fn a_session_is_answered_once_within_its_validity() {
        let sessions = Sessions::default();
        let at = SystemTime::now();
        let alice = bound("alice", "SOFTWARE_TOKEN_MFA");
        sessions.issued("s", alice.clone(), at, VALIDITY);
        let late = at + VALIDITY + Duration::from_secs(1);
        assert!(sessions.claim("s", &alice, late).is_err(), "expired");
        sessions
            .claim("s", &alice, at + VALIDITY)
            .unwrap()
            .answered();
        assert!(sessions.claim("s", &alice, at).is_err(), "answered");
        assert!(sessions.claim("never-issued", &alice, at).is_err());
    }

    #[test]
    fn a_session_answers_only_for_its_user_and_its_challenge() {
        let sessions = Sessions::default();
        let at = SystemTime::now();
        sessions.issued("s", bound("alice", "SOFTWARE_TOKEN_MFA"), at, VALIDITY);
        let bob = bound("bob", "SOFTWARE_TOKEN_MFA");
        assert!(sessions.claim("s", &bob, at).is_err(), "another user");
        let other = bound("alice", "NEW_PASSWORD_REQUIRED");
        assert!(
            sessions.claim("s", &other, at).is_err(),
            "another challenge"
        );
        assert_eq!(
            sessions.binding("s"),
            Some(bound("alice", "SOFTWARE_TOKEN_MFA"))
        );
        assert!(
            sessions
                .claim("s", &bound("alice", "SOFTWARE_TOKEN_MFA"), at)
                .is_ok()
        );
    }

    #[test]
    fn a_claimed_session_refuses_every_other_answer_until_the_claim_ends() {
        let sessions = Sessions::default();
        let at = SystemTime::now();
        let alice = bound("alice", "SOFTWARE_TOKEN_MFA");
        sessions.issued("s", alice.clone(), at, VALIDITY);
        let claim = sessions.claim("s", &alice, at).unwrap();
        assert!(sessions.claim("s", &alice, at).is_err(), "claimed");
        drop(claim);
        assert!(sessions.claim("s", &alice, at).is_ok(), "given back");
    }

    #[test]
    fn wrong_codes_end_a_session_at_the_limit() {
        let sessions = Sessions::default();
        let at = SystemTime::now();
        let alice = bound("alice", "SOFTWARE_TOKEN_MFA");
        sessions.issued("s", alice.clone(), at, VALIDITY);
        for _ in 0..MAX_WRONG_MFA_CODES {
            sessions.claim("s", &alice, at).unwrap().wrong_code();
        }
        assert!(sessions.claim("s", &alice, at).is_err(), "ended");
    }

    #[test]
    fn a_session_succeeded_by_another_is_over_and_the_next_is_bound_alike() {
        let sessions = Sessions::default();
        let at = SystemTime::now();
        let setup = bound("alice", "MFA_SETUP");
        sessions.issued("s1", setup.clone(), at, VALIDITY);
        let later = at + Duration::from_secs(100);
        (sessions.claim("s1", &setup, at).unwrap()).succeeded_by("s2", later);
        assert!(sessions.claim("s1", &setup, later).is_err());
        assert_eq!(sessions.binding("s2"), Some(setup.clone()));
        assert!(sessions.claim("s2", &setup, later + VALIDITY).is_ok());
    }

    #[test]
    fn a_setup_is_held_under_a_random_session_reissued_and_closed() {
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
        let next = setups.reissue(&one, true).unwrap().unwrap();
        assert!(setups.get(&one).is_none(), "moved");
        assert!(setups.get(&next).unwrap().verified);
        assert!(!setups.get(&two).unwrap().verified);
        assert_eq!(setups.reissue("nothing", false).unwrap(), None);
        setups.close(&next);
        assert!(setups.get(&next).is_none());
    }
}
