//! The app client secret, read from AWS Secrets Manager once at start-up, so that it is never a
//! plain environment variable of a deployed function.

use aws_config::retry::RetryConfig;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use platform::ConfigError;
use secrecy::SecretString;

use crate::config::SECRET_ARN_VAR;

/// The key of the client secret in a secret stored as JSON (the console's key/value form).
pub const JSON_KEY: &str = "client_secret";

/// The client secret held by the secret `arn`: its text as it is (what the stack stores), or
/// the `client_secret` value of a JSON object. One GetSecretValue, with `retries` or else the
/// SDK's retry policy.
pub async fn read(
    client: &Client,
    arn: &str,
    retries: Option<RetryConfig>,
) -> Result<SecretString, ConfigError> {
    let unreadable = |reason: String| ConfigError::Unreadable {
        name: SECRET_ARN_VAR,
        reason,
    };
    let mut overrides = aws_sdk_secretsmanager::Config::builder();
    overrides.set_retry_config(retries);
    let started = std::time::Instant::now();
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .customize()
        .config_override(overrides)
        .send()
        .await
        .map_err(|e| unreadable(format!("GetSecretValue: {}", DisplayErrorContext(&e))))?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "client secret read from Secrets Manager"
    );
    let text = out
        .secret_string()
        .ok_or_else(|| unreadable("the secret holds binary data, not text".into()))?;
    parse(text).map_err(|reason| unreadable(reason.into()))
}

/// The client secret in a stored secret's text. The reasons never quote the text.
pub fn parse(text: &str) -> Result<SecretString, &'static str> {
    let text = text.trim();
    let secret = if text.starts_with('{') {
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
            .map_err(|_| "the secret is neither a plain string nor a JSON object")?;
        match object.get(JSON_KEY) {
            Some(serde_json::Value::String(s)) => s.trim().to_owned(),
            _ => return Err("the secret's JSON has no \"client_secret\" string"),
        }
    } else {
        text.to_owned()
    };
    if secret.is_empty() {
        return Err("the secret is empty");
    }
    Ok(SecretString::from(secret))
}

#[cfg(test)]
mod tests {
    use aws_sdk_secretsmanager::operation::get_secret_value::{
        GetSecretValueError, GetSecretValueOutput,
    };
    use aws_sdk_secretsmanager::types::error::ResourceNotFoundException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use secrecy::ExposeSecret;

    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:client-AbCdEf";

    #[test]
    fn plain_text_or_a_json_object_with_client_secret() {
        assert_eq!(parse(" s3cr3t\n").unwrap().expose_secret(), "s3cr3t");
        let json = r#"{"client_secret": "s3cr3t", "note": "x"}"#;
        assert_eq!(parse(json).unwrap().expose_secret(), "s3cr3t");
        assert!(parse(r#"{"secret": "s3cr3t"}"#).is_err());
        assert!(parse(r#"{"client_secret": 7}"#).is_err());
        assert!(parse("{not json").is_err());
        assert!(parse("  ").is_err());
        assert!(parse(r#"{"client_secret": " "}"#).is_err());
    }

    #[tokio::test]
    async fn reads_the_secret_by_its_arn() {
        let rule = mock!(Client::get_secret_value)
            .match_requests(|req| req.secret_id() == Some(ARN))
            .then_output(|| {
                GetSecretValueOutput::builder()
                    .secret_string("s3cr3t")
                    .build()
            });
        let client = mock_client!(aws_sdk_secretsmanager, [&rule]);
        let secret = read(&client, ARN, None).await.unwrap();
        assert_eq!(secret.expose_secret(), "s3cr3t");
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_missing_secret_names_the_variable_and_never_the_value() {
        let missing = mock!(Client::get_secret_value).then_error(|| {
            GetSecretValueError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("Secrets Manager can't find the specified secret.")
                    .build(),
            )
        });
        let binary = mock!(Client::get_secret_value).then_output(|| {
            GetSecretValueOutput::builder()
                .secret_binary(aws_sdk_secretsmanager::primitives::Blob::new("s3cr3t"))
                .build()
        });
        let client = mock_client!(
            aws_sdk_secretsmanager,
            RuleMode::Sequential,
            [&missing, &binary]
        );
        let err = read(&client, ARN, None).await.unwrap_err().to_string();
        assert!(
            err.starts_with("COGNITO_CLIENT_SECRET_ARN could not be read: GetSecretValue"),
            "{err}"
        );
        assert!(err.contains("can't find"), "{err}");
        let err = read(&client, ARN, None).await.unwrap_err().to_string();
        assert!(err.contains("binary"), "{err}");
        assert!(!err.contains("s3cr3t"), "{err}");
    }
}
