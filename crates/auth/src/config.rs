//! The configuration of the functions that call Cognito, read once in each function's `app`.

use platform::{ApiConfig, ConfigError, Env};
use secrecy::SecretString;

/// The variable naming the Secrets Manager secret that holds the app client's secret.
pub const SECRET_ARN_VAR: &str = "COGNITO_CLIENT_SECRET_ARN";
/// The variable holding the app client's secret itself.
pub const PLAIN_SECRET_VAR: &str = "COGNITO_CLIENT_SECRET";
/// The SDK's own variable for Cognito's endpoint: where the local API points the functions at
/// the local Cognito while DynamoDB and Secrets Manager stay on the emulator.
pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER";

/// The app client the functions call Cognito as, as configured.
#[derive(Debug, Clone)]
pub struct CognitoConfig {
    pub client_id: String,
    /// `None` when the app client has no secret; then Cognito expects no SECRET_HASH.
    pub client_secret: Option<ClientSecret>,
    /// [`ENDPOINT_VAR`]: Cognito's endpoint, when not AWS's (local runs).
    pub endpoint: Option<String>,
    /// Whether passwordless sign-in is on ([`crate::passwordless::PASSWORDLESS_VAR`]).
    pub passwordless: crate::passwordless::Passwordless,
}

/// Where the app client's secret comes from.
#[derive(Debug, Clone)]
pub enum ClientSecret {
    /// `COGNITO_CLIENT_SECRET_ARN`: a Secrets Manager secret, read once at start-up. The stack
    /// deploys this, and `make dev` and the tests use it against moto.
    Stored { arn: String },
    /// `COGNITO_CLIENT_SECRET`: the secret itself. Less safe in Lambda: whoever may read the
    /// function's configuration (`lambda:GetFunctionConfiguration`) reads the secret.
    Plain(SecretString),
}

/// The app client with its secret in hand, for a [`crate::Cognito`] over a client built
/// elsewhere (`Cognito::with_client`).
#[derive(Debug, Clone)]
pub struct AppClient {
    pub client_id: String,
    pub client_secret: Option<SecretString>,
}

impl CognitoConfig {
    /// Reads `COGNITO_CLIENT_ID`, and the optional secret: `COGNITO_CLIENT_SECRET_ARN`, or
    /// `COGNITO_CLIENT_SECRET` (not both). `CLIENT_ID` and `CLIENT_SECRET` are older names.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let arn = env.get(SECRET_ARN_VAR);
        let plain = env.first(&[PLAIN_SECRET_VAR, "CLIENT_SECRET"]);
        let client_secret = match (arn, plain) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid {
                    name: SECRET_ARN_VAR,
                    reason: format!("set it or {PLAIN_SECRET_VAR}, not both"),
                });
            }
            (Some(arn), None) => Some(ClientSecret::Stored {
                arn: arn.to_owned(),
            }),
            (None, Some(plain)) => Some(ClientSecret::Plain(SecretString::from(plain))),
            (None, None) => None,
        };
        Ok(Self {
            client_id: env.require(&["COGNITO_CLIENT_ID", "CLIENT_ID"])?.to_owned(),
            client_secret,
            endpoint: env.get(ENDPOINT_VAR).map(str::to_owned),
            passwordless: crate::passwordless::Passwordless::from_env(env),
        })
    }
}

/// Everything a Cognito function reads at start-up: register, confirm, login, refresh and
/// account all need the same.
#[derive(Debug, Clone)]
pub struct Config {
    pub api: ApiConfig,
    pub cognito: CognitoConfig,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            api: ApiConfig::from_env(env)?,
            cognito: CognitoConfig::from_env(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn plain(config: &CognitoConfig) -> Option<&str> {
        match &config.client_secret {
            Some(ClientSecret::Plain(s)) => Some(s.expose_secret()),
            _ => None,
        }
    }

    #[test]
    fn the_client_id_is_required_and_named_when_missing() {
        let err = CognitoConfig::from_env(&Env::default()).unwrap_err();
        assert_eq!(err.to_string(), "COGNITO_CLIENT_ID is not set");
        let err = CognitoConfig::from_env(&Env::from_pairs([("COGNITO_CLIENT_ID", "  ")]));
        assert!(err.is_err(), "blank is unset");
    }

    #[test]
    fn older_names_are_read_and_a_blank_secret_is_no_secret() {
        let env = Env::from_pairs([("CLIENT_ID", " cid "), ("COGNITO_CLIENT_SECRET", " ")]);
        let config = CognitoConfig::from_env(&env).unwrap();
        assert_eq!(config.client_id, "cid");
        assert!(config.client_secret.is_none());
        let env = Env::from_pairs([("COGNITO_CLIENT_ID", "cid"), ("CLIENT_SECRET", "s3")]);
        let config = CognitoConfig::from_env(&env).unwrap();
        assert_eq!(plain(&config), Some("s3"));
    }

    #[test]
    fn a_stored_secret_is_named_by_its_arn_and_excludes_a_plain_one() {
        let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:client-AbCdEf";
        let env = Env::from_pairs([("COGNITO_CLIENT_ID", "cid"), (SECRET_ARN_VAR, arn)]);
        let config = CognitoConfig::from_env(&env).unwrap();
        assert!(matches!(&config.client_secret, Some(ClientSecret::Stored { arn: a }) if a == arn));
        let both = env.with(PLAIN_SECRET_VAR, "s3");
        let err = CognitoConfig::from_env(&both).unwrap_err();
        assert_eq!(
            err.to_string(),
            "COGNITO_CLIENT_SECRET_ARN is not valid: set it or COGNITO_CLIENT_SECRET, not both"
        );
    }

    #[test]
    fn the_debug_form_hides_the_secret() {
        let env = Env::from_pairs([
            ("COGNITO_CLIENT_ID", "cid"),
            ("CLIENT_SECRET", "top-secret"),
        ]);
        let shown = format!("{:?}", Config::from_env(&env).unwrap());
        assert!(!shown.contains("top-secret"), "{shown}");
        assert!(shown.contains("cid"), "{shown}");
    }
}
