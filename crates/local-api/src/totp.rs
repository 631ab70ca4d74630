//! TOTP as authenticator apps compute it (RFC 6238: HMAC-SHA1 over 30-second steps, six
//! digits), and the secrets they take (RFC 4648 base32). The local Cognito gives every user a
//! secret of their own and checks their codes with it.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The code an authenticator app shows at `at` for `secret` (base32).
pub fn totp(secret: &str, at: SystemTime) -> String {
    let step = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / 30;
    code_at(&decode(secret), step)
}

fn code_at(key: &[u8], step: u64) -> String {
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(&step.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[hash.len() - 1] & 0x0f) as usize;
    let bin = u32::from_be_bytes([
        hash[offset],
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]) & 0x7fff_ffff;
    format!("{:06}", bin % 1_000_000)
}

/// Whether `code` is `secret`'s at `at`, or one step either side (clocks differ a little).
pub fn check(secret: &str, code: &str, at: SystemTime) -> bool {
    let key = decode(secret);
    let step = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / 30;
    [step.saturating_sub(1), step, step + 1]
        .iter()
        .any(|s| code_at(&key, *s) == code.trim())
}

/// A new secret: 20 random bytes, base32 (32 characters).
pub fn new_secret() -> String {
    let mut bytes = Vec::with_capacity(20);
    while bytes.len() < 20 {
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    bytes.truncate(20);
    encode(&bytes)
}

fn encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut bits, mut count) = (0u64, 0);
    for b in bytes {
        bits = (bits << 8) | u64::from(*b);
        count += 8;
        while count >= 5 {
            count -= 5;
            out.push(ALPHABET[((bits >> count) & 31) as usize] as char);
        }
    }
    if count > 0 {
        out.push(ALPHABET[((bits << (5 - count)) & 31) as usize] as char);
    }
    out
}

fn decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut bits, mut count) = (0u64, 0);
    for c in text
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
    {
        let Some(value) = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase()) else {
            continue;
        };
        bits = (bits << 5) | value as u64;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// RFC 6238's own test vector (SHA-1, T = 59 s), cut to six digits.
    #[test]
    fn totp_matches_the_rfc() {
        let secret = encode(b"12345678901234567890");
        assert_eq!(secret, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let at = UNIX_EPOCH + Duration::from_secs(59);
        assert_eq!(totp(&secret, at), "287082");
        assert!(
            check(&secret, "287082", at + Duration::from_secs(30)),
            "a step late"
        );
        assert!(!check(&secret, "287082", at + Duration::from_secs(90)));
    }

    #[test]
    fn new_secrets_are_32_base32_characters_and_differ() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{a}");
        assert_ne!(a, b);
        assert_eq!(decode(&a).len(), 20);
    }
}
