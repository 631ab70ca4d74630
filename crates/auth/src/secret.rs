//! The Cognito SECRET_HASH: base64(HMAC-SHA256(key = client secret, message = username + client id)).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::digest::InvalidLength;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The app client's SECRET_HASH function, keyed once at start-up with the client secret.
#[derive(Clone)]
pub struct SecretHasher {
    mac: Hmac<Sha256>,
    client_id: String,
}

// The keyed MAC holds the secret: never shown.
impl std::fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretHasher")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl SecretHasher {
    /// Keys the HMAC with `client_secret`. HMAC takes keys of any length, so this fails only
    /// should the library ever change that.
    pub fn new(client_id: &str, client_secret: &str) -> Result<Self, InvalidLength> {
        Ok(Self {
            mac: Hmac::<Sha256>::new_from_slice(client_secret.as_bytes())?,
            client_id: client_id.to_owned(),
        })
    }

    /// The SECRET_HASH Cognito expects for `username`: base64(HMAC-SHA256(key = client secret,
    /// message = username + client id)).
    ///
    /// The username must be the one Cognito knows the user by for that call: the (normalised)
    /// user name for SignUp, ConfirmSignUp and USER_PASSWORD_AUTH, and the internal
    /// `cognito:username` for REFRESH_TOKEN_AUTH.
    pub fn hash(&self, username: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(username.as_bytes());
        mac.update(self.client_id.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

/// The SECRET_HASH for `username` in one call, for tests and tools that hold the secret.
pub fn secret_hash(username: &str, client_id: &str, client_secret: &str) -> String {
    SecretHasher::new(client_id, client_secret)
        .map(|hasher| hasher.hash(username))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::secret_hash;

    const CLIENT_ID: &str = "1example23456789abcdefghij";
    const SECRET: &str = "1q2w3e4r5t6y7u8i9o0pabcdefghijklmnopqrstuvwxyz12345";

    // Expected values computed independently with Python's `hmac` and with
    // `openssl dgst -sha256 -hmac SECRET -binary | base64`.
    #[test]
    fn ascii_username_matches_an_independent_hmac() {
        assert_eq!(
            secret_hash("alice", CLIENT_ID, SECRET),
            "qfJx8dPmnxCDG/Y9WHh6TdXZn/cmtlQ0QrscVlkBlbk="
        );
    }

    #[test]
    fn unicode_username_is_hashed_as_utf8_bytes() {
        assert_eq!(
            secret_hash("jürgen.müller@exämple.de", CLIENT_ID, SECRET),
            "El2vTswZHdWhwjFA1Ks6mhQixenvosdXk3A3Dh+TnNg="
        );
        assert_eq!(
            secret_hash("用户", CLIENT_ID, SECRET),
            "AQ+WBMxfIQXB9esgTizdy9p6AxKTSBulkN167/UjR3U="
        );
    }

    #[test]
    fn email_like_username_matches_an_independent_hmac() {
        assert_eq!(
            secret_hash("alice@example.com", CLIENT_ID, SECRET),
            "1fMnqhL6apWRZGSoCKBXJj+gf5L/cUPYH8Ag66ckb8o="
        );
    }

    #[test]
    fn sub_like_username_matches_an_independent_hmac() {
        assert_eq!(
            secret_hash("6f1d2f3e-1a2b-4c5d-8e9f-0a1b2c3d4e5f", CLIENT_ID, SECRET),
            "NgEOjDfmmv/u/1Wy+Il2+r+DYe47jjqmoHTkT0EJUxg="
        );
    }

    #[test]
    fn a_hasher_keyed_once_gives_the_same_hash_every_time() {
        let hasher = super::SecretHasher::new(CLIENT_ID, SECRET).unwrap();
        assert_eq!(
            hasher.hash("alice"),
            secret_hash("alice", CLIENT_ID, SECRET)
        );
        assert_eq!(hasher.hash("alice"), hasher.hash("alice"));
        assert!(!format!("{hasher:?}").contains(SECRET));
    }

    #[test]
    fn the_hash_depends_on_every_input() {
        let base = secret_hash("alice", CLIENT_ID, SECRET);
        assert_ne!(base, secret_hash("Alice", CLIENT_ID, SECRET));
        assert_ne!(base, secret_hash("alice", "other-client", SECRET));
        assert_ne!(base, secret_hash("alice", CLIENT_ID, "other-secret"));
    }
}
