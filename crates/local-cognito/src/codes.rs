//! Confirmation codes as Cognito issues them: six digits from the OS CSPRNG, kept for Cognito's
//! lifetimes, [`MAX_WRONG_CODES`] wrong tries at most, a new code superseding the last. A wrong
//! code is `CodeMismatchException`; an expired, superseded or used one `ExpiredCodeException`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use platform::random::{self, RandomError};
use subtle::ConstantTimeEq;

use crate::protocol::{Error, ErrorType};

/// How long a sign-up (or resent) confirmation code is good for.
pub const SIGN_UP_CODE_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// How long a password-reset code is good for.
pub const RESET_CODE_LIFETIME: Duration = Duration::from_secs(3600);
/// How long an attribute-verification code is good for.
pub const VERIFY_CODE_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Wrong codes tried before the code is void and the next try is refused.
pub const MAX_WRONG_CODES: u32 = 5;

/// What a code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    SignUp,
    ResetPassword,
    VerifyEmail,
}

impl Purpose {
    fn lifetime(self) -> Duration {
        match self {
            Purpose::SignUp => SIGN_UP_CODE_LIFETIME,
            Purpose::ResetPassword => RESET_CODE_LIFETIME,
            Purpose::VerifyEmail => VERIFY_CODE_LIFETIME,
        }
    }
}

/// A user's code for one purpose.
#[derive(Debug)]
struct Code {
    /// `None` once used.
    current: Option<String>,
    expires: SystemTime,
    wrong: u32,
    /// Codes this one superseded, and this one once used: trying them is "expired".
    spent: Vec<String>,
}

/// Whose code: (pool, user name in lower case, purpose).
type Key = (String, String, Purpose);

/// The codes issued and not yet superseded, one per user and purpose.
#[derive(Debug, Default)]
pub struct Codes {
    live: Mutex<HashMap<Key, Code>>,
}

impl Codes {
    /// A new code for `user` of `pool`, good from `now` for `purpose`'s lifetime, superseding
    /// the last.
    pub fn issue(
        &self,
        pool: &str,
        user: &str,
        purpose: Purpose,
        now: SystemTime,
    ) -> Result<String, RandomError> {
        let code = random::digits(6)?;
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let key = (pool.to_owned(), user.to_lowercase(), purpose);
        let spent = match live.remove(&key) {
            Some(old) => old.spent.into_iter().chain(old.current).collect(),
            None => Vec::new(),
        };
        live.insert(
            key,
            Code {
                current: Some(code.clone()),
                expires: now + purpose.lifetime(),
                wrong: 0,
                spent,
            },
        );
        Ok(code)
    }

    /// Checks `given` against `user`'s code for `purpose` at `now`; `consume` uses it up.
    pub fn check(
        &self,
        pool: &str,
        user: &str,
        purpose: Purpose,
        given: &str,
        now: SystemTime,
        consume: bool,
    ) -> Result<(), Error> {
        let expired = || {
            Error::new(
                ErrorType::ExpiredCode,
                "Invalid code provided, please request a code again.",
            )
        };
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let key = (pool.to_owned(), user.to_lowercase(), purpose);
        let Some(code) = live.get_mut(&key) else {
            return Err(expired());
        };
        if code.wrong >= MAX_WRONG_CODES {
            return Err(Error::new(
                ErrorType::LimitExceeded,
                "Attempt limit exceeded, please try after some time.",
            ));
        }
        let spent = code.spent.iter().any(|c| same(c, given));
        let right = code.current.as_deref().is_some_and(|c| same(c, given));
        if spent || right && now > code.expires {
            return Err(expired());
        }
        if !right {
            code.wrong += 1;
            return Err(Error::code_mismatch());
        }
        if consume {
            code.spent.extend(code.current.take());
        }
        Ok(())
    }
}

impl Codes {
    /// Gives back `user`'s code `given` for `purpose`, spent by a call whose next step failed:
    /// good again, unless a new code has been issued since (which superseded it), or it was
    /// not the last one spent.
    pub fn give_back(&self, pool: &str, user: &str, purpose: Purpose, given: &str) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let key = (pool.to_owned(), user.to_lowercase(), purpose);
        let Some(code) = live.get_mut(&key) else {
            return;
        };
        if code.current.is_none() && code.spent.last().is_some_and(|c| same(c, given)) {
            code.current = code.spent.pop();
        }
    }
}

fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn kind(result: Result<(), Error>) -> Option<ErrorType> {
        result.err().and_then(|e| e.kind().cloned())
    }

    #[test]
    fn codes_have_six_digits_each_taking_all_ten_at_every_position() {
        let codes = Codes::default();
        let now = SystemTime::now();
        let mut seen = vec![HashSet::new(); 6];
        // (9/10)^1000: no digit is missed at any position by chance.
        for _ in 0..1000 {
            let code = codes.issue("p", "alice", Purpose::SignUp, now).unwrap();
            assert_eq!(code.len(), 6);
            for (i, b) in code.bytes().enumerate() {
                assert!(b.is_ascii_digit(), "{code}");
                seen[i].insert(b);
            }
        }
        assert!(seen.iter().all(|s| s.len() == 10), "{seen:?}");
    }

    #[test]
    fn a_code_works_once_and_then_is_expired() {
        let codes = Codes::default();
        let now = SystemTime::now();
        let code = codes.issue("p", "Alice", Purpose::SignUp, now).unwrap();
        let check = |consume| codes.check("p", "alice", Purpose::SignUp, &code, now, consume);
        assert!(check(false).is_ok(), "not consumed: good again");
        assert!(check(true).is_ok());
        assert_eq!(kind(check(true)), Some(ErrorType::ExpiredCode));
    }

    #[test]
    fn a_new_code_supersedes_the_last_and_codes_are_per_purpose() {
        let codes = Codes::default();
        let now = SystemTime::now();
        let first = codes.issue("p", "alice", Purpose::SignUp, now).unwrap();
        let second = codes.issue("p", "alice", Purpose::SignUp, now).unwrap();
        let check = |purpose, code: &str| codes.check("p", "alice", purpose, code, now, true);
        if first != second {
            assert_eq!(
                kind(check(Purpose::SignUp, &first)),
                Some(ErrorType::ExpiredCode)
            );
        }
        assert_eq!(
            kind(check(Purpose::ResetPassword, &second)),
            Some(ErrorType::ExpiredCode),
            "no reset code was sent"
        );
        assert!(check(Purpose::SignUp, &second).is_ok());
    }

    #[test]
    fn a_code_expires_after_its_lifetime() {
        let codes = Codes::default();
        let now = SystemTime::now();
        let code = codes
            .issue("p", "alice", Purpose::ResetPassword, now)
            .unwrap();
        let at = |t| codes.check("p", "alice", Purpose::ResetPassword, &code, t, false);
        assert!(at(now + RESET_CODE_LIFETIME).is_ok());
        let late = now + RESET_CODE_LIFETIME + Duration::from_secs(1);
        assert_eq!(kind(at(late)), Some(ErrorType::ExpiredCode));
    }

    #[test]
    fn after_five_wrong_codes_even_the_right_one_is_refused() {
        let codes = Codes::default();
        let now = SystemTime::now();
        let code = codes.issue("p", "alice", Purpose::SignUp, now).unwrap();
        let wrong = if code == "000000" { "000001" } else { "000000" };
        let check = |c: &str| codes.check("p", "alice", Purpose::SignUp, c, now, true);
        for _ in 0..MAX_WRONG_CODES {
            assert_eq!(kind(check(wrong)), Some(ErrorType::CodeMismatch));
        }
        assert_eq!(kind(check(&code)), Some(ErrorType::LimitExceeded));
        assert_eq!(kind(check("")), Some(ErrorType::LimitExceeded));
    }

    #[test]
    fn a_code_given_back_is_good_again_unless_superseded() {
        let codes = Codes::default();
        let now = SystemTime::now();
        let purpose = Purpose::ResetPassword;
        let code = codes.issue("p", "alice", purpose, now).unwrap();
        let check = |c: &str| codes.check("p", "alice", purpose, c, now, true);
        assert!(check(&code).is_ok());
        assert_eq!(kind(check(&code)), Some(ErrorType::ExpiredCode), "spent");
        codes.give_back("p", "alice", purpose, &code);
        assert!(check(&code).is_ok(), "given back");
        let newer = codes.issue("p", "alice", purpose, now).unwrap();
        codes.give_back("p", "alice", purpose, &code);
        if newer != code {
            assert_eq!(
                kind(check(&code)),
                Some(ErrorType::ExpiredCode),
                "superseded"
            );
        }
        assert!(check(&newer).is_ok());
    }

    #[test]
    fn an_empty_code_never_matches_a_used_one() {
        let codes = Codes::default();
        let now = SystemTime::now();
        let code = codes.issue("p", "alice", Purpose::SignUp, now).unwrap();
        let check = |c: &str| codes.check("p", "alice", Purpose::SignUp, c, now, true);
        assert!(check(&code).is_ok());
        assert_eq!(kind(check("")), Some(ErrorType::CodeMismatch));
    }
}
