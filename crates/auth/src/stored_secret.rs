//! The secrets the stack keeps in AWS Secrets Manager, read once at start-up so that neither is
//! a plain environment variable of a deployed function: the app client's secret, and the pepper
//! the recovery codes are hashed under.

use aws_config::retry::RetryConfig;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use platform::ConfigError;
use secrecy::{ExposeSecret, SecretString};

use crate::config::SECRET_ARN_VAR;

/// The key of the client secret in a secret stored as JSON (the console's key/value form).
pub const JSON_KEY: &str = "client_secret";

/// A stored secret: the variable that gives its ARN, and the key of its value in a secret
/// stored as JSON.
#[derive(Debug, Clone, Copy)]
pub struct Stored {
    pub var: &'static str,
    pub json_key: &'static str,
}

/// The app client's secret.
pub const CLIENT_SECRET: Stored = Stored {
    var: SECRET_ARN_VAR,
    json_key: JSON_KEY,
};

/// The recovery codes' pepper (the stack's `RecoveryCodePepper`).
pub const RECOVERY_CODE_PEPPER: Stored = Stored {
    var: "RECOVERY_CODE_PEPPER_ARN",
    json_key: "pepper",
};

/// The variable holding the pepper itself, for runs without Secrets Manager (unit tests).
pub const PLAIN_PEPPER_VAR: &str = "RECOVERY_CODE_PEPPER";

/// The shortest pepper taken: 32 bytes, the strength of HMAC-SHA256's key. The stack's is 64
/// random letters and digits.
pub const MIN_PEPPER_BYTES: usize = 32;

/// The client secret held by the secret `arn`: its text as it is (what the stack stores), or
/// the `client_secret` value of a JSON object. One GetSecretValue, with `retries` or else the
/// SDK's retry policy.
pub async fn read(
    client: &Client,
    arn: &str,
    retries: Option<RetryConfig>,
) -> Result<SecretString, ConfigError> {
    read_stored(client, CLIENT_SECRET, arn, retries).await
}

/// The recovery codes' pepper: read from the secret `RECOVERY_CODE_PEPPER_ARN` names (as
/// deployed, and in local runs), or taken from `RECOVERY_CODE_PEPPER`; at least
/// [`MIN_PEPPER_BYTES`] long.
pub async fn pepper_from_env(
    env: &platform::Env,
    sdk: &aws_config::SdkConfig,
) -> Result<SecretString, ConfigError> {
    let pepper = match (env.get(RECOVERY_CODE_PEPPER.var), env.get(PLAIN_PEPPER_VAR)) {
        (Some(arn), None) => {
            let client = Client::new(sdk);
            read_stored(&client, RECOVERY_CODE_PEPPER, arn, None).await?
        }
        (None, Some(plain)) => SecretString::from(plain),
        (Some(_), Some(_)) => {
            return Err(ConfigError::Invalid {
                name: RECOVERY_CODE_PEPPER.var,
                reason: format!("set it or {PLAIN_PEPPER_VAR}, not both"),
            });
        }
        (None, None) => return Err(ConfigError::Missing(RECOVERY_CODE_PEPPER.var)),
    };
    if pepper.expose_secret().len() < MIN_PEPPER_BYTES {
        return Err(ConfigError::Invalid {
            name: RECOVERY_CODE_PEPPER.var,
            reason: format!("the pepper must be at least {} bytes", MIN_PEPPER_BYTES),
        });
    }
    Ok(pepper)
}

/// The value of the secret `arn` holds, as `what` stores it.
pub async fn read_stored(
    client: &Client,
    what: Stored,
    arn: &str,
    retries: Option<RetryConfig>,
) -> Result<SecretString, ConfigError> {
    let unreadable = |reason: String| ConfigError::Unreadable {
        name: what.var,
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
        secret = what.var,
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "secret read from Secrets Manager"
    );
    let text = out
        .secret_string()
        .ok_or_else(|| unreadable("the secret holds binary data, not text".into()))?;
    parse_stored(text, what.json_key).map_err(unreadable)
}

/// The client secret in a stored secret's text. The reasons never quote the text.
pub fn parse(text: &str) -> Result<SecretString, String> {
    parse_stored(text, JSON_KEY)
}

/// A stored secret's value: the text as it is, or the `json_key` value of a JSON object. The
/// reasons never quote the text.
fn parse_stored(text: &str, json_key: &str) -> Result<SecretString, String> {
    let text = text.trim();
    let secret = if text.starts_with('{') {
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
            .map_err(|_| "the secret is neither a plain string nor a JSON object".to_owned())?;
        match object.get(json_key) {
            Some(serde_json::Value::String(s)) => s.trim().to_owned(),
            _ => return Err(format!("the secret's JSON has no \"{json_key}\" string")),
        }
    } else {
        text.to_owned()
    };
    if secret.is_empty() {
        return Err("the secret is empty".to_owned());
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

    #[tokio::test]
    async fn the_pepper_comes_from_one_place_and_is_long_enough() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let long = "p".repeat(MIN_PEPPER_BYTES);
        let env = platform::Env::from_pairs([(PLAIN_PEPPER_VAR, long.as_str())]);
        assert_eq!(
            pepper_from_env(&env, &sdk).await.unwrap().expose_secret(),
            long
        );
        let short = "p".repeat(MIN_PEPPER_BYTES - 1);
        let env = platform::Env::from_pairs([(PLAIN_PEPPER_VAR, short.as_str())]);
        let err = pepper_from_env(&env, &sdk).await.unwrap_err().to_string();
        assert!(
            err.contains("at least 32 bytes") && !err.contains(&short),
            "{err}"
        );
        let env = platform::Env::from_pairs([
            (PLAIN_PEPPER_VAR, long.as_str()),
            (RECOVERY_CODE_PEPPER.var, ARN),
        ]);
        assert!(pepper_from_env(&env, &sdk).await.is_err(), "not both");
        let err = pepper_from_env(&platform::Env::from_pairs::<&str, &str>([]), &sdk)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "RECOVERY_CODE_PEPPER_ARN is not set");
    }

    #[tokio::test]
    async fn the_pepper_is_read_by_its_arn_as_text_or_under_its_json_key() {
        let rule = mock!(Client::get_secret_value)
            .match_requests(|req| req.secret_id() == Some(ARN))
            .then_output(|| {
                GetSecretValueOutput::builder()
                    .secret_string(r#"{"pepper": "0123456789abcdef0123456789abcdef"}"#)
                    .build()
            });
        let client = mock_client!(aws_sdk_secretsmanager, [&rule]);
        let pepper = read_stored(&client, RECOVERY_CODE_PEPPER, ARN, None)
            .await
            .unwrap();
        assert_eq!(pepper.expose_secret(), "0123456789abcdef0123456789abcdef");
        let missing_key = mock!(Client::get_secret_value).then_output(|| {
            GetSecretValueOutput::builder()
                .secret_string(r#"{"client_secret": "x"}"#)
                .build()
        });
        let client = mock_client!(aws_sdk_secretsmanager, [&missing_key]);
        let err = read_stored(&client, RECOVERY_CODE_PEPPER, ARN, None)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("RECOVERY_CODE_PEPPER_ARN could not be read"),
            "{err}"
        );
        assert!(err.contains("\"pepper\""), "{err}");
    }
}
