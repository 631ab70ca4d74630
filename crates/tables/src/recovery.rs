//! Recovery codes: ten single-use codes a user gets when they turn on TOTP, to sign in without
//! their authenticator. Stored only as HMAC-SHA256 hashes under a per-user random salt, compared
//! in constant time, and consumed with a conditional write, so that one code signs in once.
//! Wrong codes are counted per user: after [`MAX_FAILURES`] the user waits [`LOCKOUT`].

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use platform::{ApiError, random};
use sha2::Sha256;

use crate::epoch_seconds as now;
use crate::error::failure;

/// Codes handed out at each enrolment.
pub const CODES: usize = 10;
/// Wrong recovery codes a user may try before the lockout.
pub const MAX_FAILURES: u32 = 5;
/// How long a user waits after [`MAX_FAILURES`] wrong codes.
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);

const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// The recovery codes table.
#[derive(Debug, Clone)]
pub struct RecoveryCodes {
    client: Client,
    table: String,
}

/// A code as the user may type it: case, spaces and dashes do not matter.
fn normalized(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// HMAC-SHA256 of the normalized code under `salt`.
fn digest(salt: &str, code: &str) -> Result<Vec<u8>, ApiError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(salt.as_bytes())
        .map_err(|e| ApiError::internal(format_args!("recovery code key: {e}")))?;
    mac.update(normalized(code).as_bytes());
    Ok(mac.finalize().into_bytes().to_vec())
}

/// The OS could not give random bytes: no code can be made.
fn no_randomness(e: random::RandomError) -> ApiError {
    ApiError::internal(e)
}

/// A new code: ten characters drawn uniformly from the OS CSPRNG, of an alphabet without
/// look-alikes, as `xxxxx-xxxxx`.
fn new_code() -> Result<String, ApiError> {
    let chars = random::string(ALPHABET, 10).map_err(no_randomness)?;
    Ok(format!("{}-{}", &chars[..5], &chars[5..]))
}

/// `RECOVERY_CODES_TABLE`, read once at start-up.
pub fn table_from_env(env: &platform::Env) -> Result<String, platform::ConfigError> {
    Ok(env.require(&["RECOVERY_CODES_TABLE"])?.to_owned())
}

impl RecoveryCodes {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    fn key(username: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([(
            "username".to_owned(),
            AttributeValue::S(username.to_owned()),
        )])
    }

    /// New codes for `username`, replacing any earlier ones; returned once, stored as hashes.
    pub async fn replace(&self, username: &str) -> Result<Vec<String>, ApiError> {
        let salt = B64.encode(random::bytes::<16>().map_err(no_randomness)?);
        let codes = (0..CODES)
            .map(|_| new_code())
            .collect::<Result<Vec<_>, _>>()?;
        let hashes = codes
            .iter()
            .map(|c| digest(&salt, c).map(|d| B64.encode(d)))
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::key(username)))
            .item("salt", AttributeValue::S(salt))
            .item("codes", AttributeValue::Ss(hashes))
            .send()
            .await
            .map_err(|e| failure("DynamoDB PutItem (recovery codes)", e))?;
        Ok(codes)
    }

    /// `username`'s item (empty when there is none), read consistently.
    async fn item(&self, username: &str) -> Result<HashMap<String, AttributeValue>, ApiError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(username)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failure("DynamoDB GetItem (recovery codes)", e))?;
        Ok(out.item().cloned().unwrap_or_default())
    }

    /// How many unused codes `username` has.
    pub async fn remaining(&self, username: &str) -> Result<usize, ApiError> {
        let item = self.item(username).await?;
        Ok(match item.get("codes") {
            Some(AttributeValue::Ss(codes)) => codes.len(),
            _ => 0,
        })
    }

    /// Uses `code` of `username`: `Ok(true)` once for a code issued and unused, `Ok(false)` for
    /// any other (counted against the lockout), 429 while locked out.
    pub async fn consume(&self, username: &str, code: &str) -> Result<bool, ApiError> {
        let item = self.item(username).await?;
        let number = |k: &str| match item.get(k) {
            Some(AttributeValue::N(n)) => n.parse::<u64>().unwrap_or(0),
            _ => 0,
        };
        let (failures, failed_at) = (number("failures"), number("failed_at"));
        if failures >= u64::from(MAX_FAILURES) && now() < failed_at + LOCKOUT.as_secs() {
            let wait = failed_at + LOCKOUT.as_secs() - now();
            return Err(ApiError::TooManyRequests {
                retry_after: u32::try_from(wait.max(1)).unwrap_or(u32::MAX),
            });
        }
        let stored = match (item.get("salt"), item.get("codes")) {
            (Some(AttributeValue::S(salt)), Some(AttributeValue::Ss(codes))) => {
                Some((salt.clone(), codes.clone()))
            }
            _ => None,
        };
        let matched = match &stored {
            Some((salt, codes)) => {
                // Every stored hash is compared, each in constant time (HMAC's own verify).
                let mut found = None;
                for stored in codes {
                    let mut mac = Hmac::<Sha256>::new_from_slice(salt.as_bytes())
                        .map_err(|e| ApiError::internal(format_args!("recovery code key: {e}")))?;
                    mac.update(normalized(code).as_bytes());
                    let stored_digest = B64.decode(stored).unwrap_or_default();
                    if mac.verify_slice(&stored_digest).is_ok() && found.is_none() {
                        found = Some(stored.clone());
                    }
                }
                found
            }
            None => None,
        };
        let Some(hash) = matched else {
            self.count_failure(username).await?;
            return Ok(false);
        };
        let used = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(username)))
            .update_expression("DELETE codes :code SET failures = :zero")
            .condition_expression("contains(codes, :hash)")
            .expression_attribute_values(":code", AttributeValue::Ss(vec![hash.clone()]))
            .expression_attribute_values(":hash", AttributeValue::S(hash))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .send()
            .await;
        match used {
            Ok(_) => Ok(true),
            // Another request used it a moment ago.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(failure("DynamoDB UpdateItem (recovery codes)", e)),
        }
    }

    async fn count_failure(&self, username: &str) -> Result<(), ApiError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(username)))
            .update_expression("ADD failures :one SET failed_at = :now")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":now", AttributeValue::N(now().to_string()))
            .send()
            .await
            .map_err(|e| failure("DynamoDB UpdateItem (recovery codes)", e))?;
        Ok(())
    }

    /// Forgets `username`'s codes (TOTP off, or the account deleted).
    pub async fn delete(&self, username: &str) -> Result<(), ApiError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(username)))
            .send()
            .await
            .map_err(|e| failure("DynamoDB DeleteItem (recovery codes)", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_ten_characters_without_look_alikes_and_hashes_ignore_case_and_dashes() {
        let code = new_code().unwrap();
        assert_eq!(code.len(), 11);
        assert_eq!(&code[5..6], "-");
        assert!(
            code.chars()
                .all(|c| c == '-' || ALPHABET.contains(&(c as u8))),
            "{code}"
        );
        let salt = "s";
        assert_eq!(
            digest(salt, &code).unwrap(),
            digest(salt, &code.to_uppercase().replace('-', " ")).unwrap()
        );
        assert_ne!(
            digest("other", &code).unwrap(),
            digest(salt, &code).unwrap()
        );
    }

    #[test]
    fn every_character_of_a_code_is_drawn_from_the_whole_alphabet() {
        // 31 symbols at each of ten places; over 3,000 codes a symbol is missing from a place
        // with probability (30/31)^3000, about 1e-43.
        let mut seen = vec![std::collections::HashSet::new(); 10];
        for _ in 0..3000 {
            let code = new_code().unwrap().replace('-', "");
            for (place, c) in code.bytes().enumerate() {
                seen[place].insert(c);
            }
        }
        for (place, symbols) in seen.iter().enumerate() {
            assert_eq!(symbols.len(), ALPHABET.len(), "place {place}");
        }
    }

    #[test]
    fn a_code_stored_before_the_generator_changed_still_matches_its_hash() {
        // A known answer: HMAC-SHA256 of the normalised code under the item's salt, in base64,
        // as items written since recovery codes exist hold it.
        let salt = "c2FsdHNhbHRzYWx0c2FsdA==";
        let stored = "l2UH0eNq2CzN/V2EJgNXULGiOy+/XwZhBgRs9myhRSQ=";
        assert_eq!(B64.encode(digest(salt, "ABCDE fghjk").unwrap()), stored);
    }
}
