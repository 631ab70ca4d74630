//! Recovery codes: ten single-use codes a user gets when they turn on TOTP, to sign in without
//! their authenticator. Stored only as HMAC-SHA256 hashes under a per-user random salt, compared
//! in constant time, and consumed with a conditional write, so that one code signs in once.
//! Guesses are limited by the caller, before a code is tried ([`crate::limits::SECOND_FACTOR`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use platform::{ApiError, random};
use sha2::Sha256;

use crate::error::failure;

/// Codes handed out at each enrolment.
pub const CODES: usize = 10;

const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// The recovery codes table.
#[derive(Debug, Clone)]
pub struct RecoveryCodes {
    client: Client,
    table: String,
}

/// A code that was used: what [`RecoveryCodes::restore`] gives back when the step it paid for
/// could not finish.
#[derive(Debug)]
pub struct Used {
    salt: String,
    hash: String,
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

    /// Uses `code` of `username`: `Some` once for a code issued and unused, `None` for any
    /// other.
    pub async fn consume(&self, username: &str, code: &str) -> Result<Option<Used>, ApiError> {
        let item = self.item(username).await?;
        let (Some(AttributeValue::S(salt)), Some(AttributeValue::Ss(codes))) =
            (item.get("salt"), item.get("codes"))
        else {
            return Ok(None);
        };
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
        let Some(hash) = found else {
            return Ok(None);
        };
        let used = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(username)))
            .update_expression("DELETE codes :code")
            .condition_expression("contains(codes, :hash)")
            .expression_attribute_values(":code", AttributeValue::Ss(vec![hash.clone()]))
            .expression_attribute_values(":hash", AttributeValue::S(hash.clone()))
            .send()
            .await;
        match used {
            Ok(_) => Ok(Some(Used {
                salt: salt.clone(),
                hash,
            })),
            // Another request used it a moment ago.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(failure("DynamoDB UpdateItem (recovery codes)", e)),
        }
    }

    /// Gives a used code back, unless the codes were replaced since (the salt changed).
    pub async fn restore(&self, username: &str, used: Used) -> Result<(), ApiError> {
        let restored = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(username)))
            .update_expression("ADD codes :code")
            .condition_expression("salt = :salt")
            .expression_attribute_values(":code", AttributeValue::Ss(vec![used.hash]))
            .expression_attribute_values(":salt", AttributeValue::S(used.salt))
            .send()
            .await;
        match restored {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(failure("DynamoDB UpdateItem (recovery codes)", e)),
        }
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
