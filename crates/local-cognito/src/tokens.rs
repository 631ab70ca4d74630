//! Token families and their revocation. A refresh token's family is the user it was issued to
//! and its `origin_jti`, which every token issued from it carries: RevokeToken revokes one
//! family, GlobalSignOut and DeleteUser every family of the user, and a token of a revoked
//! family is refused.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// The claims of a token moto issued that the layer reads.
#[derive(Debug, Default, Deserialize)]
pub struct Claims {
    /// The app client (access tokens).
    pub client_id: Option<String>,
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

/// A refresh token's family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    /// The internal user name it was issued to.
    pub username: String,
    pub origin_jti: String,
}

#[derive(Debug, Default)]
struct State {
    /// By refresh token.
    families: HashMap<String, Family>,
    /// Revoked families' `origin_jti`.
    revoked: HashSet<String>,
}

/// The families this layer has seen issued, and those revoked.
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
        self.state()
            .families
            .insert(refresh_token.to_owned(), family);
    }

    /// `refresh_token`'s family, if this layer saw it issued.
    pub fn family(&self, refresh_token: &str) -> Option<Family> {
        self.state().families.get(refresh_token).cloned()
    }

    pub fn is_revoked(&self, origin_jti: &str) -> bool {
        self.state().revoked.contains(origin_jti)
    }

    /// Revokes `refresh_token`'s family only: the user's other sessions stay.
    pub fn revoke(&self, refresh_token: &str) {
        let mut state = self.state();
        if let Some(jti) = state
            .families
            .get(refresh_token)
            .map(|f| f.origin_jti.clone())
        {
            state.revoked.insert(jti);
        }
    }

    /// Revokes every family of the internal user name `username`.
    pub fn revoke_user(&self, username: &str) {
        let mut state = self.state();
        let families: Vec<String> = state
            .families
            .values()
            .filter(|f| f.username == username)
            .map(|f| f.origin_jti.clone())
            .collect();
        state.revoked.extend(families);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family(user: &str, jti: &str) -> Family {
        Family {
            username: user.into(),
            origin_jti: jti.into(),
        }
    }

    #[test]
    fn revoking_one_refresh_token_leaves_the_users_other_families() {
        let tokens = Tokens::default();
        tokens.issued("r1", family("alice", "j1"));
        tokens.issued("r2", family("alice", "j2"));
        tokens.revoke("r1");
        tokens.revoke("unknown");
        assert!(tokens.is_revoked("j1"));
        assert!(!tokens.is_revoked("j2"));
        assert_eq!(tokens.family("r2"), Some(family("alice", "j2")));
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
    fn claims_are_read_from_the_payload() {
        let payload = URL_SAFE_NO_PAD
            .encode(br#"{"client_id":"c","username":"u","origin_jti":"j","cognito:username":"u"}"#);
        let claims = Claims::of(&format!("h.{payload}.s")).unwrap();
        assert_eq!(claims.client_id.as_deref(), Some("c"));
        assert_eq!(claims.cognito_username.as_deref(), Some("u"));
        assert_eq!(claims.origin_jti.as_deref(), Some("j"));
        assert!(Claims::of("not-a-token").is_none());
    }
}
