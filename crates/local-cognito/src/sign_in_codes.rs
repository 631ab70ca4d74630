//! The codes of e-mail sign-ins (`EMAIL_OTP`), one per challenge session: good for that session
//! alone, for as long as it may be answered, and once.

use std::collections::HashMap;
use std::sync::Mutex;

use subtle::ConstantTimeEq;

/// The codes out, by session. `Debug` shows none.
#[derive(Default)]
pub struct SignInCodes {
    by_session: Mutex<HashMap<String, String>>,
}

impl SignInCodes {
    fn by_session(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.by_session.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `code` was sent for `session`.
    pub fn issue(&self, session: &str, code: &str) {
        self.by_session()
            .insert(session.to_owned(), code.to_owned());
    }

    /// `given` is the code sent for `session`, compared in constant time.
    pub fn check(&self, session: &str, given: &str) -> bool {
        self.by_session()
            .get(session)
            .is_some_and(|code| code.as_bytes().ct_eq(given.as_bytes()).into())
    }

    /// The code of `session` is used: good no more.
    pub fn spend(&self, session: &str) {
        self.by_session().remove(session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_good_for_its_session_only_and_once() {
        let codes = SignInCodes::default();
        codes.issue("s1", "12345678");
        assert!(codes.check("s1", "12345678"));
        assert!(!codes.check("s2", "12345678"));
        assert!(!codes.check("s1", "12345679"));
        assert!(!codes.check("s1", ""));
        codes.spend("s1");
        assert!(!codes.check("s1", "12345678"));
    }
}
