//! TOTP as authenticator apps compute it (RFC 6238: HMAC-SHA1 over 30-second steps, six
//! digits), and the secrets they take (RFC 4648 base32). The local Cognito gives every user a
//! secret of their own and checks their codes with it; the tests compute codes with [`totp`].

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use platform::random::{self, RandomError};
use subtle::ConstantTimeEq;

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The code an authenticator app shows at `at` for `secret` (base32).
pub fn totp(secret: &str, at: SystemTime) -> String {
    code_at(&decode(secret), step(at))
}

/// Whether `code` is `secret`'s at `at`, or one step either side (clocks differ a little).
pub fn check(secret: &str, code: &str, at: SystemTime) -> bool {
    step_of(secret, code, at).is_some()
}

/// The 30-second step whose code `code` is, of `secret`'s at `at` or one step either side (the
/// latest, should two match); `None` if it is none of them. Every step is computed and compared,
/// whichever matches.
pub fn step_of(secret: &str, code: &str, at: SystemTime) -> Option<u64> {
    let key = decode(secret);
    let now = step(at);
    let code = code.trim().as_bytes();
    [now.saturating_sub(1), now, now + 1]
        .into_iter()
        .fold(None, |latest, s| {
            let matched: bool = code_at(&key, s).as_bytes().ct_eq(code).into();
            if matched { Some(s) } else { latest }
        })
}

/// A new secret: 20 bytes from the OS CSPRNG, base32 (32 characters).
pub fn new_secret() -> Result<String, RandomError> {
    Ok(encode(&random::bytes::<20>()?))
}

fn step(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / 30
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
    use std::collections::HashSet;
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
        assert!(!check(&secret, "", at), "no code");
        assert!(!check(&secret, "2870820", at), "a code and more");
        assert_eq!(step_of(&secret, "287082", at), Some(1));
        assert_eq!(
            step_of(&secret, "287082", at + Duration::from_secs(30)),
            Some(1)
        );
        assert_eq!(step_of(&secret, "000000", at), None);
    }

    #[test]
    fn new_secrets_are_32_base32_characters_and_differ() {
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{a}");
        assert_ne!(a, b);
        assert_eq!(decode(&a).len(), 20);
    }

    /// 20 random bytes are 32 base32 characters, each of 5 whole random bits: every position
    /// takes all 32 symbols. (A secret made of UUID v4 bytes would not: six of their bits are
    /// fixed.) With 2,000 secrets, the chance that a given symbol never shows at a given
    /// position is (31/32)^2000, about 1e-28.
    #[test]
    fn every_position_of_a_secret_takes_the_whole_alphabet() {
        let mut seen = vec![HashSet::new(); 32];
        for _ in 0..2000 {
            for (i, c) in new_secret().unwrap().bytes().enumerate() {
                seen[i].insert(c);
            }
        }
        for (i, symbols) in seen.iter().enumerate() {
            assert_eq!(symbols.len(), 32, "position {i}");
        }
    }
}
