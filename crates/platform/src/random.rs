//! Randomness for anything secret or guessable (codes, recovery codes, TOTP secrets, salts,
//! session ids): the operating system's CSPRNG, drawn uniformly. A UUID's bytes are not random
//! enough for this (six bits of a v4 UUID are fixed), and `byte % n` favours the first
//! `256 % n` symbols of an alphabet.

/// The OS could not give random bytes: nothing secret can be made.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomError(getrandom::Error);

/// `N` bytes from the OS CSPRNG.
pub fn bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(RandomError)?;
    Ok(out)
}

/// `len` symbols drawn independently and uniformly from `alphabet` (ASCII), by
/// rejection sampling: a byte at or above the largest multiple of the alphabet's size is drawn
/// again, so that every symbol is equally likely.
pub fn string(alphabet: &[u8], len: usize) -> Result<String, RandomError> {
    assert!(
        !alphabet.is_empty() && alphabet.len() <= 128 && alphabet.is_ascii(),
        "an alphabet has 1 to 128 ASCII symbols"
    );
    let n = alphabet.len();
    // The bytes below `limit` map onto the alphabet evenly; `limit` is a multiple of `n`.
    let limit = 256 - 256 % n;
    let mut out = String::with_capacity(len);
    let mut pool = [0u8; 64];
    let mut used = pool.len();
    while out.len() < len {
        if used == pool.len() {
            getrandom::fill(&mut pool).map_err(RandomError)?;
            used = 0;
        }
        let b = usize::from(pool[used]);
        used += 1;
        if b < limit {
            out.push(char::from(alphabet[b % n]));
        }
    }
    Ok(out)
}

/// `len` decimal digits, each uniform: a one-time code.
pub fn digits(len: usize) -> Result<String, RandomError> {
    string(b"0123456789", len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_position_of_a_drawn_string_uses_the_whole_alphabet() {
        // 31 symbols, as recovery codes use: with 4,000 draws the chance that a given symbol
        // never shows at a given position is (30/31)^4000, about 1e-57.
        let alphabet = b"ABCDEFGHJKLMNPQRSTUVWXYZ2345679";
        let mut seen = vec![std::collections::HashSet::new(); 10];
        for _ in 0..4000 {
            let s = string(alphabet, 10).unwrap();
            assert_eq!(s.len(), 10);
            for (i, c) in s.bytes().enumerate() {
                seen[i].insert(c);
            }
        }
        for (i, symbols) in seen.iter().enumerate() {
            assert_eq!(symbols.len(), alphabet.len(), "position {i}");
        }
    }

    #[test]
    fn symbols_are_drawn_without_modulo_bias() {
        // 10 digits: 256 % 10 = 6, so `byte % 10` would draw each of 0-5 with p = 26/256 and
        // each of 6-9 with p = 25/256: over 1,000,000 digits, 0-5 would average 3,906 more
        // draws than 6-9. Uniform draws make that gap 0 ± about 200 (one sigma), and each
        // count 100,000 ± 300.
        let mut counts = [0i64; 10];
        for _ in 0..10_000 {
            for d in digits(100).unwrap().bytes() {
                counts[usize::from(d - b'0')] += 1;
            }
        }
        for (digit, count) in counts.iter().enumerate() {
            assert!((98_000..=102_000).contains(count), "{digit}: {counts:?}");
        }
        let low = counts[..6].iter().sum::<i64>() as f64 / 6.0;
        let high = counts[6..].iter().sum::<i64>() as f64 / 4.0;
        assert!((low - high).abs() < 1_000.0, "{counts:?}");
    }

    #[test]
    fn bytes_differ_between_draws() {
        assert_ne!(bytes::<16>().unwrap(), bytes::<16>().unwrap());
    }
}
