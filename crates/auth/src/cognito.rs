//! Cognito: the app client settings, the state the Cognito functions share, user-name
//! normalisation, and the mapping from Cognito's typed errors to [`ApiError`].

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::Error as CognitoError;
use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::http::InvalidOrigin;
use crate::{ApiError, Cors, secret_hash};

/// The longest user name Cognito accepts.
pub const MAX_USERNAME_CHARS: usize = 128;
/// The longest password Cognito accepts.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A required password field, as sent (never trimmed), within Cognito's length limit.
pub fn password<'a>(body: &'a crate::JsonObject, field: &'static str) -> Result<&'a str, ApiError> {
    let password = body.string(field)?;
    crate::body::check_len(field, password, MAX_PASSWORD_CHARS)?;
    Ok(password)
}
/// Cognito's limit on a confirmation code's length.
pub const MAX_CODE_CHARS: usize = 2048;

/// The app client the functions call Cognito as.
#[derive(Clone)]
pub struct AppClient {
    pub client_id: String,
    client_secret: Option<String>,
}

// Hand-written so that the secret can never reach a log line through `{:?}`.
impl std::fmt::Debug for AppClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppClient")
            .field("client_id", &self.client_id)
            .field("has_secret", &self.client_secret.is_some())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("COGNITO_CLIENT_ID (or CLIENT_ID) is not set")]
    MissingClientId,
    #[error(transparent)]
    Origin(#[from] InvalidOrigin),
}

impl AppClient {
    pub fn new(client_id: impl Into<String>, client_secret: Option<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.filter(|s| !s.is_empty()),
        }
    }

    /// Reads `COGNITO_CLIENT_ID` and the optional `COGNITO_CLIENT_SECRET`, or the older names
    /// `CLIENT_ID` / `CLIENT_SECRET`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
        };
        let client_id =
            var(&["COGNITO_CLIENT_ID", "CLIENT_ID"]).ok_or(ConfigError::MissingClientId)?;
        let secret = var(&["COGNITO_CLIENT_SECRET", "CLIENT_SECRET"]);
        Ok(Self::new(client_id.trim(), secret))
    }

    /// The SECRET_HASH for `username`, or `None` when the client has no secret (then Cognito
    /// expects none).
    pub fn secret_hash(&self, username: &str) -> Option<String> {
        self.client_secret
            .as_deref()
            .map(|secret| secret_hash(username, &self.client_id, secret))
    }
}

/// What the register, confirm, login and refresh functions share: one Cognito client, built
/// once at start-up, the app client settings and the CORS config.
#[derive(Debug, Clone)]
pub struct CognitoState {
    pub cognito: Client,
    pub app: AppClient,
    pub cors: Cors,
}

impl CognitoState {
    pub fn new(cognito: Client, app: AppClient, cors: Cors) -> Self {
        Self { cognito, app, cors }
    }

    /// Reads the configuration once and builds the Cognito client once.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let app = AppClient::from_env()?;
        let cors = Cors::from_env()?;
        let sdk = crate::sdk::load().await;
        let cognito = Client::new(&sdk);
        // GetUser with a token that is no token: no IAM permission, no side effect, and its
        // NotAuthorized answer arrives over the connection the first request will reuse.
        crate::sdk::prewarm(
            "Cognito",
            cognito
                .get_user()
                .access_token("prewarm")
                .customize()
                .config_override(
                    aws_sdk_cognitoidentityprovider::Config::builder()
                        .retry_config(crate::sdk::no_retries()),
                )
                .send(),
        )
        .await;
        Ok(Self::new(cognito, app, cors))
    }
}

/// Trims and lower-cases a user name, and checks it against Cognito's rules (1–128 characters,
/// no white space or control characters). The stack's pool is case-insensitive; sending one
/// spelling also keeps the SECRET_HASH right.
pub fn normalize_username(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim().to_lowercase();
    let invalid = |reason: &str| ApiError::InvalidField {
        field: "username",
        reason: reason.to_owned(),
    };
    if name.is_empty() {
        return Err(ApiError::EmptyField("username"));
    }
    if name.chars().count() > MAX_USERNAME_CHARS {
        return Err(invalid("must be at most 128 characters"));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || is_invisible_format(c))
    {
        return Err(invalid(
            "must not contain white space, control or invisible characters",
        ));
    }
    Ok(name)
}

/// Invisible formatting characters (zero-width spaces and joiners, bidirectional controls, the
/// soft hyphen, the byte-order mark). Cognito's user-name pattern admits only letters, marks,
/// symbols, numbers and punctuation, and these would let two names look alike.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// The Cognito call an error came from: the same Cognito error means different things to the
/// caller of different routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CognitoOp {
    SignUp,
    ConfirmSignUp,
    Login,
    Refresh,
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
}

impl CognitoOp {
    /// The routes that answer the same whether or not the account exists: anyone may call them
    /// with any user name, so their answer must not tell which names are taken.
    pub fn hides_accounts(self) -> bool {
        matches!(self, CognitoOp::ResendCode | CognitoOp::ForgotPassword)
    }
}

/// Maps a failed Cognito call to the API's answer. Transport failures are 503 (504 for
/// time-outs); Cognito's typed errors map by variant, never by message text.
pub fn map_error<E>(op: CognitoOp, err: SdkError<E, HttpResponse>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    CognitoError: From<E>,
{
    match crate::sdk::service_error("Cognito", &op, err) {
        Ok(service_err) => map_service_error(op, CognitoError::from(service_err)),
        Err(transport) => transport,
    }
}

/// For the routes of [`CognitoOp::hides_accounts`]: the refusals that depend on the account
/// (unknown, already confirmed, no verified e-mail, disabled) become `Ok(())`, the same answer a
/// real delivery gets; everything else (throttling, an unreachable Cognito) maps as
/// [`map_error`] does. Cognito's own PreventUserExistenceErrors covers only the unknown user.
pub fn map_error_hiding_accounts<E>(
    op: CognitoOp,
    err: SdkError<E, HttpResponse>,
) -> Result<(), ApiError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    CognitoError: From<E>,
{
    debug_assert!(op.hides_accounts(), "{op:?} does not hide accounts");
    let err = CognitoError::from(crate::sdk::service_error("Cognito", &op, err)?);
    match err {
        CognitoError::UserNotFoundException(_)
        | CognitoError::InvalidParameterException(_)
        | CognitoError::NotAuthorizedException(_) => {
            // Logged, so a misconfigured client (a wrong secret is NotAuthorized too) shows up.
            tracing::warn!(
                ?op,
                cognito_error = err.code().unwrap_or("unknown"),
                "Cognito refused the call; answered as a success so as not to reveal the account"
            );
            Ok(())
        }
        other => Err(map_service_error(op, other)),
    }
}

/// Maps Cognito's typed error for `op`.
pub fn map_service_error(op: CognitoOp, err: CognitoError) -> ApiError {
    use CognitoError as E;
    let cognito_code = err.code().unwrap_or("unknown").to_owned();
    let message = |default: &str| err.message().unwrap_or(default).to_owned();
    let mapped = match &err {
        E::UsernameExistsException(_) | E::AliasExistsException(_) => ApiError::UsernameExists,
        E::InvalidPasswordException(_) => {
            ApiError::InvalidPassword(message("the password does not meet the pool's policy"))
        }
        E::InvalidParameterException(_) => {
            ApiError::InvalidParameter(message("a parameter is invalid"))
        }
        E::UserLambdaValidationException(_) => {
            ApiError::InvalidParameter("the request was refused by the pool's validation".into())
        }
        E::CodeMismatchException(_) => ApiError::CodeMismatch,
        E::ExpiredCodeException(_) => ApiError::ExpiredCode,
        E::UserNotConfirmedException(_) => ApiError::UserNotConfirmed,
        E::PasswordResetRequiredException(_) => ApiError::PasswordResetRequired,
        E::NotAuthorizedException(_) | E::UserNotFoundException(_) => match op {
            // One answer for an unknown user and a wrong password: no user enumeration.
            CognitoOp::Login => ApiError::InvalidCredentials,
            CognitoOp::Refresh => ApiError::InvalidRefreshToken,
            // An unknown user answers like a wrong code, as Cognito does with
            // PreventUserExistenceErrors.
            CognitoOp::ConfirmSignUp | CognitoOp::ResetPassword
                if matches!(err, E::UserNotFoundException(_)) =>
            {
                ApiError::CodeMismatch
            }
            _ => ApiError::NotAuthorized,
        },
        E::TooManyRequestsException(_) => ApiError::TooManyRequests { retry_after: 1 },
        E::LimitExceededException(_) => ApiError::TooManyRequests { retry_after: 30 },
        E::TooManyFailedAttemptsException(_) => ApiError::TooManyRequests { retry_after: 60 },
        E::ResourceNotFoundException(_)
        | E::InvalidUserPoolConfigurationException(_)
        | E::InvalidEmailRoleAccessPolicyException(_)
        | E::InvalidSmsRoleAccessPolicyException(_)
        | E::InvalidSmsRoleTrustRelationshipException(_) => ApiError::Internal,
        _ => ApiError::ServiceUnavailable,
    };
    if mapped.is_server_error() {
        tracing::error!(?op, cognito_error = %cognito_code, "Cognito call failed");
    } else {
        tracing::warn!(?op, cognito_error = %cognito_code, "Cognito refused the call");
    }
    mapped
}

/// The tokens of a successful sign-in or refresh, as the API returns them.
#[derive(Debug, Clone, Serialize)]
pub struct Tokens {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    pub id_token: String,
    pub access_token: String,
    /// Present on sign-in, and on refresh only when Cognito rotates the refresh token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub expires_in: i32,
    pub token_type: String,
    /// The internal user name (`cognito:username`) to send with `/refresh`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl CognitoState {
    /// Runs InitiateAuth with `flow` and returns the tokens. The SECRET_HASH is added here,
    /// over `hash_username`. A challenge (new password, MFA) is refused: this API has no route
    /// to answer one.
    pub async fn initiate_auth(
        &self,
        op: CognitoOp,
        flow: AuthFlowType,
        hash_username: &str,
        params: &[(&str, &str)],
    ) -> Result<Tokens, ApiError> {
        let mut call = self
            .cognito
            .initiate_auth()
            .client_id(&self.app.client_id)
            .auth_flow(flow);
        for (name, value) in params {
            call = call.auth_parameters(*name, *value);
        }
        if let Some(hash) = self.app.secret_hash(hash_username) {
            call = call.auth_parameters("SECRET_HASH", hash);
        }
        let out = call.send().await.map_err(|e| map_error(op, e))?;
        if let Some(result) = out.authentication_result() {
            let (Some(id_token), Some(access_token)) = (result.id_token(), result.access_token())
            else {
                tracing::error!(
                    ?op,
                    "Cognito returned an authentication result without tokens"
                );
                return Err(ApiError::ServiceUnavailable);
            };
            return Ok(Tokens {
                message: None,
                id_token: id_token.to_owned(),
                access_token: access_token.to_owned(),
                refresh_token: result.refresh_token().map(str::to_owned),
                expires_in: result.expires_in(),
                token_type: result.token_type().unwrap_or("Bearer").to_owned(),
                username: None,
            });
        }
        match out.challenge_name() {
            Some(challenge) => {
                tracing::warn!(
                    ?op,
                    challenge = challenge.as_str(),
                    "sign-in needs a challenge"
                );
                Err(ApiError::ChallengeRequired(challenge.as_str().to_owned()))
            }
            None => {
                tracing::error!(?op, "Cognito returned neither tokens nor a challenge");
                Err(ApiError::ServiceUnavailable)
            }
        }
    }
}

/// Reads one string claim from a JWT's payload without checking its signature. Only for
/// tokens this function just received from Cognito over TLS.
pub fn unverified_claim(token: &str, claim: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get(claim)?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalize_username("  Alice@Example.COM ").unwrap(),
            "alice@example.com"
        );
        assert_eq!(normalize_username("ÄNNE").unwrap(), "änne");
    }

    #[test]
    fn usernames_with_white_space_control_characters_or_too_long_are_refused() {
        for bad in [
            "al ice",
            "al\u{0}ice",
            "a\tb",
            "a\u{200b}b",
            "a\u{2028}b",
            "\u{202e}nimda",
            "a\u{feff}",
        ] {
            let err = normalize_username(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_field", "{bad:?}");
        }
        assert_eq!(normalize_username(&"a".repeat(128)).unwrap().len(), 128);
        assert_eq!(
            normalize_username(&"a".repeat(129)).unwrap_err().code(),
            "invalid_field"
        );
        assert_eq!(normalize_username("   ").unwrap_err().code(), "empty_field");
    }

    #[test]
    fn no_secret_means_no_hash() {
        assert_eq!(AppClient::new("cid", None).secret_hash("alice"), None);
        assert_eq!(
            AppClient::new("cid", Some(String::new())).secret_hash("alice"),
            None
        );
        assert_eq!(
            AppClient::new("cid", Some("s".into())).secret_hash("alice"),
            Some(secret_hash("alice", "cid", "s"))
        );
    }

    #[test]
    fn a_claim_is_read_from_the_payload_of_a_token() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"cognito:username":"6f1d-sub","n":1}"#);
        let token = format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln");
        assert_eq!(
            unverified_claim(&token, "cognito:username").as_deref(),
            Some("6f1d-sub")
        );
        assert_eq!(unverified_claim(&token, "n"), None);
        assert_eq!(unverified_claim(&token, "absent"), None);
        assert_eq!(unverified_claim("not-a-token", "cognito:username"), None);
        assert_eq!(unverified_claim("a.!!!.c", "cognito:username"), None);
    }

    #[test]
    fn the_debug_form_of_sdk_inputs_hides_passwords_tokens_and_hashes_but_not_the_code() {
        use aws_sdk_cognitoidentityprovider::operation::{
            confirm_sign_up::ConfirmSignUpInput, initiate_auth::InitiateAuthInput,
            sign_up::SignUpInput,
        };
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
                    .auth_flow(AuthFlowType::UserPasswordAuth)
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
        // it. So no code of ours formats an SDK input, and tests/logs.rs checks, at TRACE level
        // for every crate, that no code reaches a log. Should the SDK start redacting it, this
        // line tells us the caveat can go.
        assert!(inputs[1].contains("918273"), "{}", inputs[1]);
    }

    #[test]
    fn the_debug_form_of_the_app_client_hides_the_secret() {
        let shown = format!("{:?}", AppClient::new("cid", Some("top-secret".into())));
        assert!(!shown.contains("top-secret"));
        assert!(shown.contains("has_secret: true"));
    }
}
