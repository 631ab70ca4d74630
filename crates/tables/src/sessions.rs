//! Sign-outs and deletions that take effect at once. API Gateway's Cognito authorizer checks a
//! token's signature and expiry only, so a signed-out session's tokens, or a deleted user's,
//! would keep working until they expire. This table ends them: one item per user (`sub`), read
//! with one consistent GetItem by [`platform::Api::serve`] on every protected request:
//!
//! - `signed_out_at`: a sign-out everywhere; tokens of sessions authenticated (`auth_time`)
//!   at or before it are refused;
//! - `sessions`: the `origin_jti` of sessions signed out one by one;
//! - `deleted`: the user is gone; all their tokens are refused.
//!
//! The item expires (TTL `expires_at`) once no token it refuses can still be valid.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use platform::{ApiError, BoxFuture, Caller, ConfigError, Env, Revocations};

use crate::epoch_seconds as now;
use crate::error::failure;

/// The longest an id or access token lives: `template.yaml`'s `IdTokenValidity` and
/// `AccessTokenValidity` (a test holds them equal).
pub const LONGEST_TOKEN: Duration = Duration::from_secs(60 * 60);
/// Clocks differ a little: a record outlives the tokens it refuses by this much.
const MARGIN: Duration = Duration::from_secs(5 * 60);

/// The sessions table of a function.
#[derive(Debug, Clone)]
pub struct Sessions {
    client: Client,
    table: String,
}

/// `SESSIONS_TABLE`, read once at start-up.
pub fn table_from_env(env: &Env) -> Result<String, ConfigError> {
    Ok(env.require(&["SESSIONS_TABLE"])?.to_owned())
}

impl Sessions {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    /// Ends the session `origin_jti` of `sub` (a sign-out of this device).
    pub async fn end_session(&self, sub: &str, origin_jti: &str) -> Result<(), ApiError> {
        self.update(
            sub,
            "ADD #sessions :session SET expires_at = :expires",
            ("#sessions", "sessions"),
            (":session", AttributeValue::Ss(vec![origin_jti.to_owned()])),
        )
        .await
    }

    /// Ends every session of `sub` authenticated until now (a sign-out everywhere).
    pub async fn end_all(&self, sub: &str) -> Result<(), ApiError> {
        self.update(
            sub,
            "SET #at = :at, expires_at = :expires",
            ("#at", "signed_out_at"),
            (":at", AttributeValue::N(now().to_string())),
        )
        .await
    }

    /// Ends every token of `sub`, whose account is being deleted.
    pub async fn end_user(&self, sub: &str) -> Result<(), ApiError> {
        self.update(
            sub,
            "SET #deleted = :deleted, expires_at = :expires",
            ("#deleted", "deleted"),
            (":deleted", AttributeValue::Bool(true)),
        )
        .await
    }

    async fn update(
        &self,
        sub: &str,
        expression: &str,
        name: (&str, &str),
        value: (&str, AttributeValue),
    ) -> Result<(), ApiError> {
        let expires = now() + (LONGEST_TOKEN + MARGIN).as_secs();
        self.client
            .update_item()
            .table_name(&self.table)
            .key("sub", AttributeValue::S(sub.to_owned()))
            .update_expression(expression)
            .expression_attribute_names(name.0, name.1)
            .expression_attribute_values(value.0, value.1)
            .expression_attribute_values(":expires", AttributeValue::N(expires.to_string()))
            .send()
            .await
            .map_err(|e| failure("DynamoDB UpdateItem (sessions)", e))?;
        Ok(())
    }

    /// Opens the table's connection during start-up, so that the first protected request's
    /// check pays no handshake: one GetItem of a user that is none.
    pub async fn prewarm(&self, settings: &platform::sdk::SdkSettings) {
        let call = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("sub", AttributeValue::S("prewarm".to_owned()))
            .customize()
            .config_override(
                aws_sdk_dynamodb::config::Config::builder()
                    .retry_config(platform::sdk::no_retries()),
            )
            .send();
        platform::sdk::prewarm(settings, "DynamoDB (sessions)", call).await;
    }

    /// Whether the caller's token has been ended: one consistent GetItem. The check fails
    /// closed: a table that cannot be read refuses the request (429, 500 or 503).
    pub async fn is_ended(&self, caller: &Caller) -> Result<bool, ApiError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("sub", AttributeValue::S(caller.sub().to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failure("DynamoDB GetItem (sessions)", e))?;
        let Some(item) = out.item() else {
            return Ok(false);
        };
        Ok(ended(item, caller))
    }
}

/// The decision, from the user's item and the caller's token.
fn ended(item: &std::collections::HashMap<String, AttributeValue>, caller: &Caller) -> bool {
    if matches!(item.get("deleted"), Some(AttributeValue::Bool(true))) {
        return true;
    }
    let number = |v: Option<&str>| v.and_then(|s| s.trim().parse::<u64>().ok());
    let signed_out_at = match item.get("signed_out_at") {
        Some(AttributeValue::N(n)) => number(Some(n)),
        _ => None,
    };
    if let (Some(at), Some(auth_time)) = (signed_out_at, caller.auth_time())
        && auth_time <= at
    {
        return true;
    }
    match (item.get("sessions"), caller.origin_jti()) {
        (Some(AttributeValue::Ss(ended)), Some(jti)) => ended.iter().any(|e| e == jti),
        _ => false,
    }
}

impl Revocations for Sessions {
    fn check<'a>(&'a self, caller: &'a Caller) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            match self.is_ended(caller).await? {
                true => Err(ApiError::TokenRevoked),
                false => Ok(()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_smithy_mocks::{mock, mock_client};
    use serde_json::json;

    use super::*;

    /// The caller with an access token of `sub`, signed in at `auth_time`, of session `jti`.
    fn claims(auth_time: u64, jti: &str) -> Caller {
        let mut event = test_support::event_json("account_logout");
        let c = &mut event["requestContext"]["authorizer"]["claims"];
        c["sub"] = json!("user-1");
        c["auth_time"] = json!(auth_time.to_string());
        c["origin_jti"] = json!(jti);
        Caller::parse(&test_support::to_request(&event)).unwrap()
    }

    fn item(fields: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn a_sign_out_everywhere_ends_the_sessions_signed_in_until_then_and_no_later_one() {
        let record = item(&[("signed_out_at", AttributeValue::N("1000".into()))]);
        assert!(ended(&record, &claims(999, "a")));
        assert!(
            ended(&record, &claims(1000, "a")),
            "the same second counts as before"
        );
        assert!(!ended(&record, &claims(1001, "a")));
    }

    #[test]
    fn a_session_signed_out_alone_is_ended_and_the_others_are_not() {
        let record = item(&[("sessions", AttributeValue::Ss(vec!["a".into(), "b".into()]))]);
        assert!(ended(&record, &claims(5, "a")));
        assert!(!ended(&record, &claims(5, "c")));
        let deleted = item(&[("deleted", AttributeValue::Bool(true))]);
        assert!(
            ended(&deleted, &claims(u64::MAX, "z")),
            "a deleted user's every token"
        );
    }

    #[tokio::test]
    async fn the_check_is_one_consistent_read_of_the_users_item() {
        let read = mock!(Client::get_item)
            .match_requests(|r| {
                r.table_name() == Some("sessions")
                    && r.consistent_read() == Some(true)
                    && r.key()
                        .and_then(|k| k.get("sub"))
                        .and_then(|v| v.as_s().ok())
                        == Some(&"user-1".to_owned())
            })
            .then_output(|| {
                GetItemOutput::builder()
                    .set_item(Some(item(&[(
                        "signed_out_at",
                        AttributeValue::N("1000".into()),
                    )])))
                    .build()
            });
        let sessions = Sessions::new(mock_client!(aws_sdk_dynamodb, [&read]), "sessions".into());
        let refused = sessions.check(&claims(900, "a")).await.unwrap_err();
        assert_eq!(refused.code(), "token_revoked");
        assert_eq!(refused.status(), 401);
        assert_eq!(read.num_calls(), 1);
    }
}
