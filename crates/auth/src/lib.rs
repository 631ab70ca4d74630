//! Cognito as the functions use it: the SECRET_HASH ([`secret_hash`]), the app client's
//! configuration ([`Config`]), the inputs every Cognito route reads, as types ([`input`]), and
//! [`Cognito`], the one client with a method per operation. Each method adds the SECRET_HASH
//! where Cognito requires it, picks its retry policy and maps Cognito's errors to the API's; no
//! function crate builds a Cognito call itself.

pub mod account;
pub mod admin;
pub mod backup;
pub mod client;
pub mod config;
pub mod errors;
pub mod input;
pub mod mfa;
pub mod passwordless;
pub mod seal;
pub mod secret;
pub mod sign_in;
pub mod stored_secret;
pub mod sweep;

pub use account::{CodeDelivery, Delivery, Profile, SignedUp};
pub use client::Cognito;
pub use config::{AppClient, ClientSecret, CognitoConfig, Config};
pub use input::{Code, Credential, Email, Password, RefreshToken, Username};
pub use passwordless::{Method, Passkey, Passwordless};
pub use secret::{SecretHasher, secret_hash};
pub use sign_in::{ANSWERABLE_CHALLENGES, Answer, Challenge, SignIn, Tokens};

/// A function whose state is the Cognito client alone (register, confirm, login, refresh),
/// composed once: the app client's configuration read from `env`, the client built over `sdk`
/// (its secret read while its connection opens).
pub async fn api(
    env: &platform::Env,
    sdk: &aws_config::SdkConfig,
    routes: &'static [platform::Route<Cognito>],
) -> Result<platform::Api<Cognito>, platform::ConfigError> {
    let config = Config::from_env(env)?;
    let cognito = Cognito::connect(sdk, &config.api.sdk, config.cognito).await?;
    Ok(platform::Api::new(config.api.cors, cognito, routes))
}
