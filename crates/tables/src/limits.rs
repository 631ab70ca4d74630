//! Limits per user, in the limits table (one item per key, TTL `expires_at`):
//!
//! - attempt counters ([`Limit`]): a user may try a guessable secret, or send mail, only so
//!   often. An attempt is *taken* before it is evaluated, by one conditional write, so that
//!   concurrent attempts cannot pass the limit: twenty wrong codes sent at once are five
//!   evaluated and fifteen refused;
//! - one-time grants ([`Grant`]): a step proven now that a later request of the same session
//!   may use once, with the token the step handed its caller (the authenticator set-up that
//!   `/mfa/totp/verify` completes). The session alone would not do: a stolen access token is
//!   of the same session;
//! - facts done once ([`Once`]): the alert an event sent, so that an event delivered again
//!   sends none.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use platform::{ApiError, ConfigError, Env};

use crate::epoch_seconds as now;
use crate::error::failure;

/// How many attempts of a kind a user has per window.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// The key's prefix: the kind of attempt.
    pub name: &'static str,
    pub max: u32,
    /// The window opens with its first attempt; once `max` are taken, the next waits for the
    /// window to close.
    pub window: Duration,
}

/// Second-factor codes (an authenticator's, a recovery code) checked outside a Cognito sign-in
/// session: five per user per 15 minutes, on every route that takes one.
pub const SECOND_FACTOR: Limit = Limit {
    name: "factor",
    max: 5,
    window: Duration::from_secs(15 * 60),
};

/// Changes of address a user asks for, each a code mailed to an address of their choosing:
/// five per user per day.
pub const EMAIL_CHANGE: Limit = Limit {
    name: "email-change",
    max: 5,
    window: Duration::from_secs(24 * 60 * 60),
};

/// New codes for an address awaiting verification: five per user per day. Counted apart from
/// [`EMAIL_CHANGE`], so that a thief with a stolen access token, who may ask for codes, cannot
/// use up the owner's changes of address.
pub const MAIL: Limit = Limit {
    name: "mail",
    max: 5,
    window: Duration::from_secs(24 * 60 * 60),
};

/// A step that a later request may complete once.
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    pub name: &'static str,
    pub lifetime: Duration,
}

/// Sign-in codes mailed to a user (`/login/start` and the choice of `email_otp`, and a proof by
/// e-mailed code), counted by the user name asked for, whether or not the account exists (the
/// answers stay alike): five per 15 minutes, so that nobody can fill a user's inbox with codes
/// or spend the pool's daily mail on them.
pub const SIGN_IN_CODE: Limit = Limit {
    name: "sign-in-code",
    max: 5,
    window: Duration::from_secs(15 * 60),
};

/// An authenticator set-up, proven with the password (and the current second factor), that
/// `/mfa/totp/verify` completes in the same session.
pub const TOTP_SETUP: Grant = Grant {
    name: "totp-setup",
    lifetime: Duration::from_secs(10 * 60),
};

/// A passkey's registration, proven with the password (and the current second factor), that
/// `/passkeys/register/finish` completes in the same session. Cognito's own registration
/// challenge lasts less than this.
pub const PASSKEY_SETUP: Grant = Grant {
    name: "passkey-setup",
    lifetime: Duration::from_secs(10 * 60),
};

/// Something done once per subject, remembered for `lifetime`.
#[derive(Debug, Clone, Copy)]
pub struct Once {
    /// The key's prefix.
    pub name: &'static str,
    pub lifetime: Duration,
}

/// The e-mail alert of an event (the subject: the event's id), sent. The audit stream hands an
/// event over again for at most a day (its records' age limit): two cover it.
pub const ALERT_SENT: Once = Once {
    name: "alert-sent",
    lifetime: Duration::from_secs(2 * 24 * 60 * 60),
};

/// `LIMITS_TABLE`, read once at start-up.
pub fn table_from_env(env: &Env) -> Result<String, ConfigError> {
    Ok(env.require(&["LIMITS_TABLE"])?.to_owned())
}

/// The limits table.
#[derive(Debug, Clone)]
pub struct Limits {
    client: Client,
    table: String,
}

/// The item of `kind` for `subject`. Kinds hold no `:`, so no two keys of different kinds meet.
fn key(kind: &str, subject: &str) -> AttributeValue {
    AttributeValue::S(format!("{kind}:{subject}"))
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A conditional write whose condition did not hold.
fn conditional_failed(err: &SdkError<UpdateItemError, HttpResponse>) -> bool {
    err.as_service_error()
        .is_some_and(UpdateItemError::is_conditional_check_failed_exception)
}

impl Limits {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    /// Takes one attempt of `limit` for `subject`, before the attempt is evaluated. `429` with
    /// the seconds until the window closes when none is left.
    pub async fn take(&self, limit: &Limit, subject: &str) -> Result<(), ApiError> {
        let window = limit.window.as_secs();
        // Two conditional writes, each atomic: one more attempt in an open window that has one
        // left, or a new window when there is none or it has closed. A request that loses a
        // race between them tries again; one that finds the window full is refused.
        for _ in 0..3 {
            let at = now();
            let cutoff = at.saturating_sub(window);
            let more = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("id", key(limit.name, subject))
                .update_expression("SET attempts = attempts + :one")
                .condition_expression("attempts < :max AND window_start > :cutoff")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":max", n(limit.max.into()))
                .expression_attribute_values(":cutoff", n(cutoff))
                .send()
                .await;
            match more {
                Ok(_) => return Ok(()),
                Err(e) if conditional_failed(&e) => {}
                Err(e) => return Err(failure("DynamoDB UpdateItem (limits)", e)),
            }
            let fresh = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("id", key(limit.name, subject))
                .update_expression("SET attempts = :one, window_start = :now, expires_at = :ends")
                .condition_expression(
                    "attribute_not_exists(window_start) OR window_start <= :cutoff",
                )
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(at))
                .expression_attribute_values(":ends", n(at + window))
                .expression_attribute_values(":cutoff", n(cutoff))
                .send()
                .await;
            match fresh {
                Ok(_) => return Ok(()),
                Err(e) if conditional_failed(&e) => {}
                Err(e) => return Err(failure("DynamoDB UpdateItem (limits)", e)),
            }
            if self.full(limit, subject).await?.is_some() {
                break;
            }
        }
        let wait = self.full(limit, subject).await?.unwrap_or(1);
        Err(ApiError::TooManyRequests {
            retry_after: u32::try_from(wait.max(1)).unwrap_or(u32::MAX),
        })
    }

    /// `429` while `subject`'s window of `limit` is open and full; nothing is taken. For a step
    /// that costs the user something (a recovery code used as a proof) before its attempt can
    /// be taken.
    pub async fn check(&self, limit: &Limit, subject: &str) -> Result<(), ApiError> {
        match self.full(limit, subject).await? {
            Some(wait) => Err(ApiError::TooManyRequests {
                retry_after: u32::try_from(wait.max(1)).unwrap_or(u32::MAX),
            }),
            None => Ok(()),
        }
    }

    /// The seconds until `subject`'s window of `limit` closes, when it is open and full.
    async fn full(&self, limit: &Limit, subject: &str) -> Result<Option<u64>, ApiError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", key(limit.name, subject))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failure("DynamoDB GetItem (limits)", e))?;
        let number = |name: &str| match out.item().and_then(|i| i.get(name)) {
            Some(AttributeValue::N(v)) => v.parse::<u64>().ok(),
            _ => None,
        };
        let (Some(attempts), Some(start)) = (number("attempts"), number("window_start")) else {
            return Ok(None);
        };
        let closes = start + limit.window.as_secs();
        let at = now();
        Ok((attempts >= u64::from(limit.max) && closes > at).then(|| closes - at))
    }

    /// Whether `once` was done for `subject` (and is still remembered): one consistent read.
    pub async fn done(&self, once: &Once, subject: &str) -> Result<bool, ApiError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", key(once.name, subject))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failure("DynamoDB GetItem (limits)", e))?;
        Ok(match out.item().and_then(|i| i.get("expires_at")) {
            Some(AttributeValue::N(v)) => v.parse::<u64>().is_ok_and(|at| at > now()),
            _ => false,
        })
    }

    /// Remembers that `once` was done for `subject`, for its lifetime.
    pub async fn mark_done(&self, once: &Once, subject: &str) -> Result<(), ApiError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("id", key(once.name, subject))
            .item("expires_at", n(now() + once.lifetime.as_secs()))
            .send()
            .await
            .map_err(|e| failure("DynamoDB PutItem (limits)", e))?;
        Ok(())
    }

    /// Forgets `subject`'s attempts of `limit`: the attempt that was taken succeeded.
    pub async fn reset(&self, limit: &Limit, subject: &str) -> Result<(), ApiError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("id", key(limit.name, subject))
            .send()
            .await
            .map_err(|e| failure("DynamoDB DeleteItem (limits)", e))?;
        Ok(())
    }

    /// Grants `subject` one use of `grant`, bound to `bound_to` (a session) and to `token`
    /// (what the step proven now hands the caller, kept only as its SHA-256), replacing any
    /// earlier one. Returns when it ends.
    pub async fn grant(
        &self,
        grant: &Grant,
        subject: &str,
        bound_to: &str,
        token: &str,
    ) -> Result<u64, ApiError> {
        let ends = now() + grant.lifetime.as_secs();
        self.grant_until(grant, subject, bound_to, token, ends)
            .await?;
        Ok(ends)
    }

    /// Gives a used grant back, until the time it ended before (a mistyped code does not cost
    /// the step, nor lengthen it).
    pub async fn grant_until(
        &self,
        grant: &Grant,
        subject: &str,
        bound_to: &str,
        token: &str,
        ends: u64,
    ) -> Result<(), ApiError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("id", key(grant.name, subject))
            .item("bound_to", AttributeValue::S(bound_to.to_owned()))
            .item("token", AttributeValue::S(token_hash(token)))
            .item("expires_at", n(ends))
            .send()
            .await
            .map_err(|e| failure("DynamoDB PutItem (limits)", e))?;
        Ok(())
    }

    /// Uses `subject`'s grant of `grant`, if it is bound to `bound_to` and `token` and has not
    /// ended: one conditional delete, so that it is used once. Returns when it would have
    /// ended.
    pub async fn redeem(
        &self,
        grant: &Grant,
        subject: &str,
        bound_to: &str,
        token: &str,
    ) -> Result<Option<u64>, ApiError> {
        let used = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("id", key(grant.name, subject))
            .condition_expression("bound_to = :bound AND #token = :token AND expires_at > :now")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":bound", AttributeValue::S(bound_to.to_owned()))
            .expression_attribute_values(":token", AttributeValue::S(token_hash(token)))
            .expression_attribute_values(":now", n(now()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match used {
            Ok(out) => Ok(Some(
                match out.attributes().and_then(|a| a.get("expires_at")) {
                    Some(AttributeValue::N(v)) => v.parse().unwrap_or_else(|_| now()),
                    _ => now(),
                },
            )),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DeleteItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(failure("DynamoDB DeleteItem (limits)", e)),
        }
    }
}

/// What a grant keeps of its token: the SHA-256, in hex. The token is 256 random bits, so a
/// fast hash is enough: nothing can be guessed back.
fn token_hash(token: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    fn refused() -> UpdateItemError {
        UpdateItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder().build(),
        )
    }

    #[tokio::test]
    async fn an_attempt_is_counted_in_the_open_window_by_one_conditional_write() {
        let more = mock!(Client::update_item)
            .match_requests(|r| {
                r.condition_expression() == Some("attempts < :max AND window_start > :cutoff")
                    && r.key()
                        .and_then(|k| k.get("id"))
                        .and_then(|v| v.as_s().ok())
                        == Some(&"factor:alice".to_owned())
            })
            .then_output(|| UpdateItemOutput::builder().build());
        let limits = Limits::new(mock_client!(aws_sdk_dynamodb, [&more]), "limits".into());
        limits.take(&SECOND_FACTOR, "alice").await.unwrap();
        assert_eq!(more.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_full_open_window_is_429_with_the_wait_and_nothing_is_written() {
        let start = now() - 60;
        let more = mock!(Client::update_item)
            .match_requests(|r| {
                r.condition_expression()
                    .is_some_and(|c| c.starts_with("attempts"))
            })
            .then_error(refused);
        let fresh = mock!(Client::update_item)
            .match_requests(|r| {
                r.condition_expression()
                    .is_some_and(|c| c.starts_with("attribute_not_exists"))
            })
            .then_error(refused);
        let read = mock!(Client::get_item).then_output(move || {
            GetItemOutput::builder()
                .item("attempts", n(5))
                .item("window_start", n(start))
                .build()
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&more, &fresh, &read]);
        let err = Limits::new(client, "limits".into())
            .take(&SECOND_FACTOR, "alice")
            .await
            .unwrap_err();
        assert_eq!(err.status(), 429);
        let ApiError::TooManyRequests { retry_after } = err else {
            unreachable!()
        };
        assert!((839..=841).contains(&retry_after), "{retry_after}");
    }
}
