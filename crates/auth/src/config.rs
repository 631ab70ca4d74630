//! The configuration of the functions that call Cognito, read once in `main`.

use platform::{ApiConfig, ConfigError, Env};
use secrecy::SecretString;

/// The app client the functions call Cognito as.
#[derive(Debug, Clone)]
pub struct CognitoConfig {
    pub client_id: String,
    /// `None` when the app client has no secret; then Cognito expects no SECRET_HASH.
    pub client_secret: Option<SecretString>,
}

impl CognitoConfig {
    /// Reads `COGNITO_CLIENT_ID` and the optional `COGNITO_CLIENT_SECRET`, or the older names
    /// `CLIENT_ID` / `CLIENT_SECRET`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            client_id: env.require(&["COGNITO_CLIENT_ID", "CLIENT_ID"])?.to_owned(),
            client_secret: env
                .first(&["COGNITO_CLIENT_SECRET", "CLIENT_SECRET"])
                .map(SecretString::from),
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
        assert_eq!(config.client_secret.unwrap().expose_secret(), "s3");
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
