//! Recovery codes: ten single-use codes a user gets when they turn on TOTP, to sign in without
//! their authenticator. Stored only as HMAC-SHA256 hashes keyed by the stack's pepper (a secret
//! the functions read from Secrets Manager at start-up, never stored beside the codes) over a
//! per-user random salt and the code, compared in constant time, and consumed with a conditional
//! write, so that one code signs in once. A dump of the table alone cannot be tried offline:
//! each code has about 50 bits, but without the pepper no guess can be checked.
//! Guesses are limited by the caller, before a code is tried ([`crate::limits::SECOND_FACTOR`]).
//!
//! Codes issued before the pepper (items without `v`) were hashed under their salt alone; they
//! still work until used or replaced, and every enrolment since writes peppered ones (`v` = 2).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use platform::{ApiError, random};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::error::failure;

/// Codes handed out at each enrolment.
pub const CODES: usize = 10;

const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// The hashing scheme of the items written now: keyed by the pepper.
const PEPPERED: &str = "2";

/// The recovery codes table.
#[derive(Debug, Clone)]
pub struct RecoveryCodes {
    pub(crate) client: Client,
    pub(crate) table: String,
    /// The key of the peppered hashes; `None` for a function that only forgets codes.
    pepper: Option<std::sync::Arc<SecretString>>,
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

/// The MAC a code is hashed with: under the pepper, over the salt, a zero byte and the
/// normalized code (`Some(pepper)`); or, for an item from before the pepper, under the salt alone.
fn mac(pepper: Option<&SecretString>, salt: &str, code: &str) -> Result<Hmac<Sha256>, ApiError> {
    let key = pepper.map_or(salt.as_bytes(), |p| p.expose_secret().as_bytes());
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .map_err(|e| ApiError::internal(format_args!("recovery code key: {e}")))?;
    if pepper.is_some() {
        mac.update(salt.as_bytes());
        mac.update(&[0]);
    }
    mac.update(normalized(code).as_bytes());
    Ok(mac)
}

/// The hash of `code` under `salt` (and the pepper, when given).
fn digest(pepper: Option<&SecretString>, salt: &str, code: &str) -> Result<Vec<u8>, ApiError> {
    Ok(mac(pepper, salt, code)?.finalize().into_bytes().to_vec())
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
    /// The table, for a function that only counts or forgets codes.
    pub fn new(client: Client, table: String) -> Self {
        Self {
            client,
            table,
            pepper: None,
        }
    }

    /// The table with the pepper, for a function that issues or checks codes.
    pub fn peppered(mut self, pepper: SecretString) -> Self {
        self.pepper = Some(std::sync::Arc::new(pepper));
        self
    }

    /// The pepper; a function composed without it cannot issue or check a code (a bug).
    fn pepper(&self) -> Result<&SecretString, ApiError> {
        self.pepper
            .as_deref()
            .ok_or_else(|| ApiError::internal("recovery codes used without the pepper"))
    }

    fn key(username: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([(
            "username".to_owned(),
            AttributeValue::S(username.to_owned()),
        )])
    }

    /// New codes for `username`, replacing any earlier ones; returned once, stored as hashes.
    pub async fn replace(&self, username: &str) -> Result<Vec<String>, ApiError> {
        let pepper = self.pepper()?;
        let salt = B64.encode(random::bytes::<16>().map_err(no_randomness)?);
        let codes = (0..CODES)
            .map(|_| new_code())
            .collect::<Result<Vec<_>, _>>()?;
        let hashes = codes
            .iter()
            .map(|c| digest(Some(pepper), &salt, c).map(|d| B64.encode(d)))
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::key(username)))
            .item("salt", AttributeValue::S(salt))
            .item("codes", AttributeValue::Ss(hashes))
            .item("v", AttributeValue::N(PEPPERED.to_owned()))
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
        let pepper = match item.get("v") {
            Some(AttributeValue::N(v)) if v == PEPPERED => Some(self.pepper()?),
            // Issued before the pepper: hashed under the salt alone.
            None => None,
            Some(other) => {
                return Err(ApiError::internal(format_args!(
                    "recovery codes of an unknown scheme: {other:?}"
                )));
            }
        };
        // Every stored hash is compared, each in constant time (HMAC's own verify).
        let mut found = None;
        for stored in codes {
            let stored_digest = B64.decode(stored).unwrap_or_default();
            if mac(pepper, salt, code)?
                .verify_slice(&stored_digest)
                .is_ok()
                && found.is_none()
            {
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
        let pepper = SecretString::from("p".repeat(32));
        for pepper in [None, Some(&pepper)] {
            assert_eq!(
                digest(pepper, salt, &code).unwrap(),
                digest(pepper, salt, &code.to_uppercase().replace('-', " ")).unwrap()
            );
            assert_ne!(
                digest(pepper, "other", &code).unwrap(),
                digest(pepper, salt, &code).unwrap()
            );
        }
    }

    #[test]
    fn a_peppered_hash_depends_on_the_pepper_and_differs_from_the_salt_alone() {
        let (salt, code) = ("c2FsdA==", "abcde-fghjk");
        let one = SecretString::from("1".repeat(32));
        let two = SecretString::from("2".repeat(32));
        let under_one = digest(Some(&one), salt, code).unwrap();
        assert_ne!(under_one, digest(Some(&two), salt, code).unwrap());
        assert_ne!(under_one, digest(None, salt, code).unwrap());
        // A known answer, computed independently:
        // printf 'c2FsdA==\0abcdefghjk' | openssl dgst -sha256 -mac HMAC -macopt key:<32 ones> -binary | base64
        assert_eq!(
            B64.encode(under_one),
            "GsQqvlyQG4EkDQer927x4FclTGzmjcdvxwsAXVeOtVg="
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
        assert_eq!(
            B64.encode(digest(None, salt, "ABCDE fghjk").unwrap()),
            stored
        );
    }

    /// The table as it answers: `item` for every read, and every conditional use taken.
    fn table_holding(item: HashMap<String, AttributeValue>) -> (Client, aws_smithy_mocks::Rule) {
        use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
        use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
        use aws_smithy_mocks::{RuleMode, mock, mock_client};
        let read = mock!(Client::get_item).then_output(move || {
            GetItemOutput::builder()
                .set_item(Some(item.clone()))
                .build()
        });
        let used = mock!(Client::update_item).then_output(|| UpdateItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&read, &used]);
        (client, used)
    }

    fn item(salt: &str, hash: Vec<u8>, version: Option<&str>) -> HashMap<String, AttributeValue> {
        let mut item = HashMap::from([
            ("salt".to_owned(), AttributeValue::S(salt.to_owned())),
            (
                "codes".to_owned(),
                AttributeValue::Ss(vec![B64.encode(hash)]),
            ),
        ]);
        if let Some(v) = version {
            item.insert("v".to_owned(), AttributeValue::N(v.to_owned()));
        }
        item
    }

    #[tokio::test]
    async fn a_code_issued_before_the_pepper_still_works_and_a_peppered_one_needs_the_pepper() {
        let (salt, code) = ("c2FsdA==", "abcde-fghjk");
        let pepper = SecretString::from("p".repeat(32));
        let other = SecretString::from("q".repeat(32));

        // An item without `v`: hashed under the salt alone.
        let legacy = item(salt, digest(None, salt, code).unwrap(), None);
        let (client, used) = table_holding(legacy);
        let codes = RecoveryCodes::new(client, "codes".into()).peppered(pepper.clone());
        assert!(codes.consume("alice", code).await.unwrap().is_some());
        assert_eq!(used.num_calls(), 1);

        // A peppered item: the code works under its pepper, and under no other.
        let peppered = item(salt, digest(Some(&pepper), salt, code).unwrap(), Some("2"));
        let (client, used) = table_holding(peppered.clone());
        let codes = RecoveryCodes::new(client, "codes".into()).peppered(other);
        assert!(codes.consume("alice", code).await.unwrap().is_none());
        assert_eq!(used.num_calls(), 0, "a wrong pepper uses nothing up");
        let (client, used) = table_holding(peppered.clone());
        let codes = RecoveryCodes::new(client, "codes".into()).peppered(pepper);
        assert!(
            codes
                .consume("alice", "abcde-fghjj")
                .await
                .unwrap()
                .is_none()
        );
        assert!(codes.consume("alice", code).await.unwrap().is_some());
        assert_eq!(used.num_calls(), 1);

        // Composed without the pepper, a function cannot check a peppered code: a bug, a 500.
        let (client, _) = table_holding(peppered);
        let err = RecoveryCodes::new(client, "codes".into())
            .consume("alice", code)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 500);
    }
}
