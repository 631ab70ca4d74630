//! [`Cognito`]: the one Cognito client, built once per function, with one method per Cognito
//! operation the API uses ([`crate::sign_in`], [`crate::account`], [`crate::mfa`]). Each adds the
//! SECRET_HASH where Cognito requires it, picks its retry policy and maps errors
//! ([`crate::errors`]); the functions only parse requests and shape answers.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::config::Config as ClientConfig;
use aws_sdk_cognitoidentityprovider::types::UserContextDataType;
use platform::sdk::{SdkSettings, no_retries};
use platform::{ApiError, ClientContext, ConfigError};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

use crate::config::{AppClient, ClientSecret, CognitoConfig};
use crate::passwordless::Passwordless;
use crate::secret::SecretHasher;

/// The Cognito operation an error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    SignUp,
    ConfirmSignUp,
    /// InitiateAuth with USER_PASSWORD_AUTH (`/login`).
    Login,
    /// GetTokensFromRefreshToken (`/refresh`).
    Refresh,
    /// RespondToAuthChallenge (`/login/challenge`).
    Challenge,
    /// ResendConfirmationCode (`/resend_code`).
    ResendCode,
    /// ForgotPassword (`/forgot_password`).
    ForgotPassword,
    /// ConfirmForgotPassword (`/reset_password`).
    ResetPassword,
    /// ChangePassword, with the caller's access token.
    ChangePassword,
    /// GlobalSignOut, with the caller's access token.
    SignOut,
    /// UpdateUserAttributes, with the caller's access token (`PATCH /me`).
    UpdateAttributes,
    /// VerifyUserAttribute for `email` (`/me/verify_email`).
    VerifyEmail,
    /// GetUserAttributeVerificationCode for `email` (`/me/verify_email/resend`).
    ResendEmailCode,
    /// RevokeToken: one session's refresh token (`/logout` with a refresh token).
    RevokeToken,
    /// DeleteUser, with the caller's access token (`DELETE /me`).
    DeleteUser,
    /// AssociateSoftwareToken: a new authenticator secret (`/mfa/totp/setup`).
    AssociateToken,
    /// VerifySoftwareToken: the first code of the new secret (`/mfa/totp/verify`).
    VerifyToken,
    /// SetUserMFAPreference, with the caller's access token.
    SetMfa,
    /// AdminDeleteSoftwareToken: the authenticator gone after a recovery code (`/login/recover`).
    AdminDeleteToken,
    /// GetUser: the caller's e-mail address, for an alert (`PATCH /me`), and MFA settings
    /// (`GET /mfa`).
    GetUser,
    /// AdminUpdateUserAttributes: a new e-mail address, after the proof (`PATCH /me`).
    AdminUpdateAttributes,
    /// AdminGetUser: a user's `sub` (`/reset_password`).
    AdminGetUser,
    /// AdminUserGlobalSignOut: every session ended after a password reset.
    AdminSignOut,
    /// RespondToAuthChallenge with a passkey's answer (WEB_AUTHN): a refusal is the
    /// credential's, not the session's.
    PasskeyAnswer,
    /// StartWebAuthnRegistration (`/passkeys/register/start`).
    StartPasskey,
    /// CompleteWebAuthnRegistration (`/passkeys/register/finish`).
    CompletePasskey,
    /// ListWebAuthnCredentials (`GET /passkeys`).
    ListPasskeys,
    /// DeleteWebAuthnCredential (`DELETE /passkeys/{id}`).
    DeletePasskey,
    /// GetUserAuthFactors: the ways a user can sign in (`GET /passkeys`).
    AuthFactors,
    /// ListUsers: the admin API's search (`GET /admin/users`).
    AdminListUsers,
    /// AdminListGroupsForUser: a user's groups (the admin API, and its membership check).
    AdminListGroups,
    /// AdminDisableUser or AdminEnableUser (the admin API).
    AdminSetEnabled,
    /// AdminAddUserToGroup or AdminRemoveUserFromGroup (the admin API).
    AdminSetGroup,
    /// AdminDeleteUser (the admin API).
    AdminDeleteUser,
    /// AdminSetUserMFAPreference: TOTP off (the admin API's MFA reset).
    AdminSetMfa,
    /// ListGroups and ListUsersInGroup: the groups and their members (the user export).
    ListGroupMembers,
    /// AdminCreateUser, without a message: a user brought back from an export (the restore).
    AdminCreateUser,
    /// AdminSetUserPassword: a restored user's password, random and never known.
    AdminSetPassword,
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cognito {self:?}")
    }
}

/// Where the call comes from, as Cognito's threat protection and lockouts want it: the
/// client's IP address (`UserContextData`), rather than the Lambda function's own.
pub(crate) fn user_context(context: &ClientContext) -> Option<UserContextDataType> {
    context
        .ip
        .as_ref()
        .map(|ip| UserContextDataType::builder().ip_address(ip).build())
}

/// The Cognito client of a function, built once at start-up.
#[derive(Debug, Clone)]
pub struct Cognito {
    pub(crate) client: Client,
    pub(crate) client_id: String,
    secret: Arc<Secret>,
    /// Whether the deployment offers passwordless sign-in and passkeys.
    pub(crate) passwordless: Passwordless,
}

/// The client secret, and the SECRET_HASH function keyed with it.
#[derive(Debug)]
pub(crate) struct Keyed {
    hasher: SecretHasher,
    /// RevokeToken takes the secret itself.
    pub(crate) secret: SecretString,
}

/// How long start-up waits for the client secret from Secrets Manager: one regional call with
/// its TLS handshake takes tens of milliseconds.
pub const SECRET_INIT_TIMEOUT: Duration = Duration::from_secs(1);

/// The SECRET_HASH key: known, or still to be read from Secrets Manager.
#[derive(Debug)]
struct Secret {
    /// `Some(None)` when the app client has no secret.
    hasher: OnceCell<Option<Keyed>>,
    /// Where to read it, for a secret that is stored.
    stored: Option<(aws_sdk_secretsmanager::Client, String)>,
}

impl Cognito {
    /// This client with passwordless sign-in `on` or off (tests; a deployment reads it from
    /// `PASSWORDLESS`).
    pub fn with_passwordless(mut self, on: Passwordless) -> Self {
        self.passwordless = on;
        self
    }

    /// Over a client built elsewhere (a mock, in tests), with the secret in hand. The
    /// SECRET_HASH is keyed here, once.
    pub fn with_client(client: Client, app: AppClient) -> Result<Self, ConfigError> {
        let hasher = app
            .client_secret
            .map(|secret| keyed(&app.client_id, &secret))
            .transpose()?;
        Ok(Self {
            client,
            client_id: app.client_id,
            secret: Arc::new(Secret {
                hasher: OnceCell::new_with(Some(hasher)),
                stored: None,
            }),
            passwordless: Passwordless::On,
        })
    }

    /// What a Cognito function's composition does once, over the function's SDK config: reads
    /// the client secret (if it is stored) while opening the Cognito connection, so the secret
    /// adds no round trip of its own to the cold start.
    ///
    /// Start-up does not fail when Secrets Manager cannot be reached or refuses: it logs why,
    /// and the first request that needs the SECRET_HASH reads the secret again, answering 503
    /// (with CORS, like any other answer) while it cannot. A function whose init failed would
    /// leave API Gateway only a bare 502.
    pub async fn connect(
        sdk: &SdkConfig,
        settings: &SdkSettings,
        config: CognitoConfig,
    ) -> Result<Self, ConfigError> {
        let mut client = aws_sdk_cognitoidentityprovider::config::Builder::from(sdk);
        if let Some(endpoint) = &config.endpoint {
            client = client.endpoint_url(endpoint);
        }
        let cognito = Self::unread(Client::from_conf(client.build()), sdk, config)?;
        // GetUser with a token that is no token: no IAM permission, no side effect, and its
        // NotAuthorized answer arrives over the connection the first request will reuse.
        let call = cognito
            .client
            .get_user()
            .access_token("prewarm")
            .customize()
            .config_override(ClientConfig::builder().retry_config(no_retries()))
            .send();
        tokio::join!(
            cognito.read_secret_at_start(),
            platform::sdk::prewarm(settings, "Cognito", call)
        );
        Ok(cognito)
    }

    /// [`Cognito::connect`] while `alongside` opens another connection (a table's pre-warm): a
    /// function with both opens them at once during start-up.
    pub async fn connect_alongside(
        sdk: &SdkConfig,
        settings: &SdkSettings,
        config: CognitoConfig,
        alongside: impl Future<Output = ()>,
    ) -> Result<Self, ConfigError> {
        let (cognito, ()) = tokio::join!(Self::connect(sdk, settings, config), alongside);
        cognito
    }

    /// The client with its secret known, or, for a stored one, not yet read.
    fn unread(client: Client, sdk: &SdkConfig, config: CognitoConfig) -> Result<Self, ConfigError> {
        let (hasher, stored) = match config.client_secret {
            None => (OnceCell::new_with(Some(None)), None),
            Some(ClientSecret::Plain(secret)) => {
                let hasher = keyed(&config.client_id, &secret)?;
                (OnceCell::new_with(Some(Some(hasher))), None)
            }
            Some(ClientSecret::Stored { arn }) => {
                let secrets = aws_sdk_secretsmanager::Client::new(sdk);
                (OnceCell::new(), Some((secrets, arn)))
            }
        };
        Ok(Self {
            client,
            client_id: config.client_id,
            secret: Arc::new(Secret { hasher, stored }),
            passwordless: config.passwordless,
        })
    }

    /// Reads a stored secret, once, within [`SECRET_INIT_TIMEOUT`] and without retries; a
    /// failure is logged and left to the first request to retry.
    async fn read_secret_at_start(&self) {
        let read = self.hasher(Some(no_retries()));
        match tokio::time::timeout(SECRET_INIT_TIMEOUT, read).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(
                cause = %e,
                "the client secret could not be read at start-up; the first request will try again"
            ),
            Err(_) => tracing::warn!(
                "the client secret was not read within {SECRET_INIT_TIMEOUT:?} of start-up; the \
                 first request will try again"
            ),
        }
    }

    /// The SECRET_HASH key (`None` when the client has no secret), read from Secrets Manager
    /// the first time, with `retries` or the SDK's policy.
    pub(crate) async fn hasher(
        &self,
        retries: Option<RetryConfig>,
    ) -> Result<Option<&Keyed>, ConfigError> {
        let secret = &self.secret;
        let hasher = secret
            .hasher
            .get_or_try_init(|| async {
                let Some((client, arn)) = &secret.stored else {
                    return Ok(None);
                };
                let value = crate::stored_secret::read(client, arn, retries).await?;
                keyed(&self.client_id, &value).map(Some)
            })
            .await?;
        Ok(hasher.as_ref())
    }

    /// The SECRET_HASH for `username`, or `None` when the client has no secret; 503 while a
    /// stored secret cannot be read.
    pub(crate) async fn hash(&self, username: &str) -> Result<Option<String>, ApiError> {
        let hasher = self
            .hasher(None)
            .await
            .map_err(|e| ApiError::unavailable(format_args!("{e}")))?;
        Ok(hasher.map(|keyed| keyed.hasher.hash(username)))
    }
}

/// The SECRET_HASH function keyed with `secret`.
fn keyed(client_id: &str, secret: &SecretString) -> Result<Keyed, ConfigError> {
    let hasher =
        SecretHasher::new(client_id, secret.expose_secret()).map_err(|e| ConfigError::Invalid {
            name: "COGNITO_CLIENT_SECRET",
            reason: e.to_string(),
        })?;
    Ok(Keyed {
        hasher,
        secret: secret.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret_hash;
    use aws_sdk_cognitoidentityprovider::operation::{
        confirm_sign_up::ConfirmSignUpInput, initiate_auth::InitiateAuthInput, sign_up::SignUpInput,
    };

    fn cognito(secret: Option<&str>) -> Cognito {
        let sdk = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let app = AppClient {
            client_id: "cid".into(),
            client_secret: secret.map(secrecy::SecretString::from),
        };
        Cognito::with_client(Client::new(&sdk), app).unwrap()
    }

    #[tokio::test]
    async fn no_secret_means_no_hash() {
        assert_eq!(cognito(None).hash("alice").await.unwrap(), None);
        assert_eq!(
            cognito(Some("s")).hash("alice").await.unwrap(),
            Some(secret_hash("alice", "cid", "s"))
        );
    }

    #[test]
    fn the_debug_form_of_the_client_hides_the_secret() {
        let shown = format!("{:?}", cognito(Some("top-secret")));
        assert!(!shown.contains("top-secret"), "{shown}");
    }

    #[test]
    fn the_debug_form_of_sdk_inputs_hides_passwords_tokens_and_hashes_but_not_the_code() {
        let hash = secret_hash("alice", "cid", "client-secret-1");
        let inputs = [
            format!(
                "{:?}",
                SignUpInput::builder()
                    .client_id("cid")
                    .username("alice")
                    .password("Pass-Word-1!")
                    .secret_hash(&hash)
                    .build()
                    .unwrap()
            ),
            format!(
                "{:?}",
                ConfirmSignUpInput::builder()
                    .client_id("cid")
                    .username("alice")
                    .confirmation_code("918273")
                    .secret_hash(&hash)
                    .build()
                    .unwrap()
            ),
            format!(
                "{:?}",
                InitiateAuthInput::builder()
                    .client_id("cid")
                    .auth_flow(
                        aws_sdk_cognitoidentityprovider::types::AuthFlowType::UserPasswordAuth
                    )
                    .auth_parameters("PASSWORD", "Pass-Word-1!")
                    .auth_parameters("REFRESH_TOKEN", "eyJ-refresh-token")
                    .auth_parameters("SECRET_HASH", &hash)
                    .build()
                    .unwrap()
            ),
        ];
        for shown in &inputs {
            for secret in ["Pass-Word-1!", "eyJ-refresh-token", hash.as_str()] {
                assert!(!shown.contains(secret), "{shown}");
            }
        }
        // Cognito's model does not mark the confirmation code sensitive: the SDK's Debug shows
        // it. So no code of ours formats an SDK input, and the end-to-end log test checks, at
        // TRACE level for every crate, that no code reaches a log. Should the SDK start
        // redacting it, this line tells us the caveat can go.
        assert!(inputs[1].contains("918273"), "{}", inputs[1]);
    }
}
