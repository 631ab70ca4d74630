//! Refresh tokens kept so that an ended session can be revoked at Cognito too, never in plain
//! form: sealed with AES-256-GCM under a key derived from the app client's secret
//! (HMAC-SHA256 of a fixed label), with a fresh random nonce each, and bound to the record
//! that holds them (the associated data). Whoever reads the sessions table without the client
//! secret learns nothing of the tokens; with it, they could use them anyway.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use platform::ApiError;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use secrecy::ExposeSecret;
use sha2::Sha256;

use crate::client::Cognito;

/// What the key is derived for: a new label makes new keys.
const LABEL: &[u8] = b"sessions: refresh token seal v1";

/// The sealing key of `secret`.
fn key(secret: &str) -> Option<LessSafeKey> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(LABEL);
    let bytes = mac.finalize().into_bytes();
    UnboundKey::new(&AES_256_GCM, &bytes)
        .ok()
        .map(LessSafeKey::new)
}

fn seal_with(key: &LessSafeKey, token: &str, bound_to: &str) -> Result<String, ApiError> {
    let nonce: [u8; NONCE_LEN] = platform::random::bytes().map_err(ApiError::internal)?;
    let mut sealed = token.as_bytes().to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(bound_to.as_bytes()),
        &mut sealed,
    )
    .map_err(|_| ApiError::internal("sealing a refresh token"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(URL_SAFE_NO_PAD.encode(out))
}

fn open_with(key: &LessSafeKey, sealed: &str, bound_to: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if bytes.len() < NONCE_LEN {
        return None;
    }
    let (nonce, rest) = bytes.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut rest = rest.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(bound_to.as_bytes()), &mut rest)
        .ok()?;
    String::from_utf8(plain.to_vec()).ok()
}

impl Cognito {
    /// `token` sealed for the record `bound_to`; `None` for an app client without a secret,
    /// whose tokens are then not kept. 503 while a stored secret cannot be read.
    pub async fn seal(&self, token: &str, bound_to: &str) -> Result<Option<String>, ApiError> {
        let keyed = self
            .hasher(None)
            .await
            .map_err(|e| ApiError::unavailable(format_args!("{e}")))?;
        let Some(key) = keyed.and_then(|k| key(k.secret.expose_secret())) else {
            return Ok(None);
        };
        seal_with(&key, token, bound_to).map(Some)
    }

    /// The token `sealed` for the record `bound_to`; `None` when it cannot be opened (another
    /// record's, altered, or sealed under another secret).
    pub async fn unseal(&self, sealed: &str, bound_to: &str) -> Option<String> {
        let keyed = self.hasher(None).await.ok()??;
        open_with(&key(keyed.secret.expose_secret())?, sealed, bound_to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_token_opens_for_its_record_only_and_shows_nothing_of_itself() {
        let key = key("the-client-secret").unwrap();
        let token = "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIn0.refresh";
        let sealed = seal_with(&key, token, "sub-1/session-a").unwrap();
        assert!(!sealed.contains("eyJ") && !sealed.contains("refresh"));
        assert_eq!(
            open_with(&key, &sealed, "sub-1/session-a").as_deref(),
            Some(token)
        );
        assert_eq!(
            open_with(&key, &sealed, "sub-2/session-a"),
            None,
            "another record's"
        );
        let other = key_of("another-secret");
        assert_eq!(
            open_with(&other, &sealed, "sub-1/session-a"),
            None,
            "another secret"
        );
        let mut altered = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        *altered.last_mut().unwrap() ^= 1;
        let altered = URL_SAFE_NO_PAD.encode(altered);
        assert_eq!(
            open_with(&key, &altered, "sub-1/session-a"),
            None,
            "altered"
        );
        assert_eq!(open_with(&key, "short", "sub-1/session-a"), None);
        // A fresh nonce each time.
        assert_ne!(sealed, seal_with(&key, token, "sub-1/session-a").unwrap());
    }

    fn key_of(secret: &str) -> LessSafeKey {
        key(secret).unwrap()
    }
}
