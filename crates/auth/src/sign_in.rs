//! Signing in: InitiateAuth (a password, a refresh token) and RespondToAuthChallenge, and what
//! they answer: the tokens, or a challenge to answer at `/login/challenge`.

use aws_sdk_cognitoidentityprovider::config::Config as ClientConfig;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, AuthenticationResultType, ChallengeNameType,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use platform::sdk::no_retries;
use platform::{ApiError, ClientContext};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::client::{Cognito, Op, user_context};
use crate::errors::map;
use crate::input::{Code, Password};
use crate::passwordless::Method;

/// The tokens of a successful sign-in or refresh, as the API returns them. `Debug` shows none
/// of them.
#[derive(Clone, Serialize)]
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

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_in", &self.expires_in)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// The session the tokens belong to: the `origin_jti` of the access token Cognito just
    /// gave, which every token of one sign-in and its refreshes shares.
    pub fn session(&self) -> Option<String> {
        unverified_claim(&self.access_token, "origin_jti")
    }

    /// The user's stable id: the access token's `sub`.
    pub fn subject(&self) -> Option<String> {
        unverified_claim(&self.access_token, "sub")
    }

    /// The user the tokens were issued to: the access token's `username` (the internal user
    /// name), whatever name the request gave.
    pub fn owner(&self) -> Option<String> {
        unverified_claim(&self.access_token, "username")
    }
}

/// What a sign-in gives: the tokens, or a challenge to answer (`/login/challenge`).
#[derive(Debug, Clone)]
pub enum SignIn {
    Tokens(Tokens),
    Challenge(Challenge),
}

impl SignIn {
    /// As `/login` and `/login/challenge` answer it: the tokens with a message, or the
    /// challenge, with no tokens.
    pub fn into_reply(self) -> Result<platform::Reply, ApiError> {
        match self {
            SignIn::Tokens(mut tokens) => {
                tokens.message = Some("Signed in.");
                platform::Reply::ok(&tokens)
            }
            SignIn::Challenge(challenge) => platform::Reply::ok(&challenge),
        }
    }
}

/// A challenge Cognito put to a sign-in, as `/login` answers it. `Debug` leaves the session out.
#[derive(Clone, Serialize, PartialEq, Eq)]
pub struct Challenge {
    /// `SOFTWARE_TOKEN_MFA`, `NEW_PASSWORD_REQUIRED`, `MFA_SETUP`, or one of choice-based
    /// sign-in: `SELECT_CHALLENGE`, `EMAIL_OTP`, `WEB_AUTHN`, `PASSWORD`.
    pub challenge: String,
    /// Cognito's session, valid for the app client's AuthSessionValidity (3 minutes).
    pub session: String,
    /// The internal user name, which the answer names.
    pub username: String,
    /// SELECT_CHALLENGE: the ways this user can sign in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<Method>>,
    /// EMAIL_OTP: where the code went, masked (`a***@e***`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// WEB_AUTHN: what `navigator.credentials.get({publicKey})` takes, byte strings in
    /// base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_request_options: Option<serde_json::Value>,
}

impl std::fmt::Debug for Challenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Challenge")
            .field("challenge", &self.challenge)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The challenges `/login/challenge` answers; any other is `403 challenge_required`.
pub const ANSWERABLE_CHALLENGES: &[&str] = &[
    "SOFTWARE_TOKEN_MFA",
    "NEW_PASSWORD_REQUIRED",
    "MFA_SETUP",
    "SELECT_CHALLENGE",
    "EMAIL_OTP",
    "WEB_AUTHN",
    "PASSWORD",
];

/// The answer to a challenge.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    /// The code of the user's authenticator app (SOFTWARE_TOKEN_MFA).
    Code(Code<'a>),
    /// The password that replaces a temporary one (NEW_PASSWORD_REQUIRED).
    NewPassword(Password<'a>),
    /// MFA_SETUP, once the session's authenticator secret is verified: nothing more to say.
    SetUp,
    /// The code mailed for an e-mail sign-in (EMAIL_OTP).
    EmailCode(&'a str),
    /// A passkey's answer (WEB_AUTHN): the browser's `PublicKeyCredential` as JSON text.
    Credential(&'a str),
    /// The way chosen (SELECT_CHALLENGE), with the password when it is the password.
    Select(Method, Option<Password<'a>>),
    /// The password (PASSWORD).
    Password(Password<'a>),
}

impl Cognito {
    /// InitiateAuth with USER_PASSWORD_AUTH. The answer's `username` is Cognito's internal user
    /// name (`cognito:username`, the `sub` in e-mail-as-username pools), over which `/refresh`'s
    /// SECRET_HASH must be computed; only the id token tells it.
    pub async fn password_sign_in(
        &self,
        context: &ClientContext,
        username: &str,
        password: &str,
    ) -> Result<SignIn, ApiError> {
        self.initiate_auth(
            context,
            Op::Login,
            AuthFlowType::UserPasswordAuth,
            username,
            &[("USERNAME", username), ("PASSWORD", password)],
        )
        .await
    }

    /// RespondToAuthChallenge: `answer` to `challenge` of `session`, for the internal user
    /// name `username`, with its SECRET_HASH. The outcome is the tokens, or the next challenge
    /// (a new password may be followed by the MFA code).
    pub async fn answer_challenge(
        &self,
        context: &ClientContext,
        challenge: &str,
        username: &str,
        session: &str,
        answer: Answer<'_>,
    ) -> Result<SignIn, ApiError> {
        let mut call = self
            .client
            .respond_to_auth_challenge()
            .client_id(&self.client_id)
            .challenge_name(ChallengeNameType::from(challenge))
            .session(session)
            .challenge_responses("USERNAME", username)
            .set_user_context_data(user_context(context));
        match answer {
            Answer::Code(code) => {
                call = call.challenge_responses("SOFTWARE_TOKEN_MFA_CODE", code.as_str())
            }
            Answer::NewPassword(password) => {
                call = call.challenge_responses("NEW_PASSWORD", password.as_str())
            }
            Answer::SetUp => {}
            Answer::EmailCode(code) => call = call.challenge_responses("EMAIL_OTP_CODE", code),
            Answer::Credential(credential) => {
                call = call.challenge_responses("CREDENTIAL", credential)
            }
            Answer::Select(method, password) => {
                call = call.challenge_responses("ANSWER", method.challenge());
                if let Some(password) = password {
                    call = call.challenge_responses("PASSWORD", password.as_str());
                }
            }
            Answer::Password(password) => {
                call = call.challenge_responses("PASSWORD", password.as_str())
            }
        }
        let op = match answer {
            Answer::Credential(_) => Op::PasskeyAnswer,
            _ => Op::Challenge,
        };
        if let Some(hash) = self.hash(username).await? {
            call = call.challenge_responses("SECRET_HASH", hash);
        }
        // Never retried: a code is good once, and a session for one answer.
        let out = call
            .customize()
            .config_override(ClientConfig::builder().retry_config(no_retries()))
            .send()
            .await
            .map_err(|e| map(op, e))?;
        outcome(
            op,
            out.authentication_result(),
            out.challenge_name(),
            out.session(),
            out.challenge_parameters(),
            out.available_challenges(),
            username,
        )
    }

    /// GetTokensFromRefreshToken: the app client rotates its refresh tokens, so the answer has
    /// a new refresh token beside the id and access tokens. It takes the client secret itself,
    /// not a SECRET_HASH. Never retried: an exchange spends the token (a retry within the
    /// client's grace period is the caller's to make).
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, ApiError> {
        let secret = self
            .hasher(None)
            .await
            .map_err(|e| ApiError::unavailable(format_args!("{e}")))?
            .map(|keyed| keyed.secret.expose_secret().to_owned());
        let out = self
            .client
            .get_tokens_from_refresh_token()
            .client_id(&self.client_id)
            .refresh_token(refresh_token)
            .set_client_secret(secret)
            .customize()
            .config_override(ClientConfig::builder().retry_config(no_retries()))
            .send()
            .await
            .map_err(|e| map(Op::Refresh, e))?;
        let result = out.authentication_result();
        match outcome(Op::Refresh, result, None, None, None, &[], "")? {
            SignIn::Tokens(tokens) => Ok(Tokens {
                username: None,
                ..tokens
            }),
            SignIn::Challenge(c) => Err(ApiError::ChallengeRequired(c.challenge)),
        }
    }

    /// Runs InitiateAuth with `flow`, with the SECRET_HASH over `hash_username`: the tokens, or
    /// the challenge Cognito puts instead (one `/login/challenge` answers; any other is
    /// `challenge_required`).
    async fn initiate_auth(
        &self,
        context: &ClientContext,
        op: Op,
        flow: AuthFlowType,
        hash_username: &str,
        params: &[(&str, &str)],
    ) -> Result<SignIn, ApiError> {
        let mut call = self
            .client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(flow)
            .set_user_context_data(user_context(context));
        for (name, value) in params {
            call = call.auth_parameters(*name, *value);
        }
        if let Some(hash) = self.hash(hash_username).await? {
            call = call.auth_parameters("SECRET_HASH", hash);
        }
        let out = call.send().await.map_err(|e| map(op, e))?;
        outcome(
            op,
            out.authentication_result(),
            out.challenge_name(),
            out.session(),
            out.challenge_parameters(),
            out.available_challenges(),
            hash_username,
        )
    }
}

/// The tokens of an authentication result (with the internal user name, which only the id token
/// tells), or the challenge put instead: InitiateAuth and RespondToAuthChallenge answer alike.
pub(crate) fn outcome(
    op: Op,
    result: Option<&AuthenticationResultType>,
    challenge: Option<&ChallengeNameType>,
    session: Option<&str>,
    parameters: Option<&std::collections::HashMap<String, String>>,
    available: &[ChallengeNameType],
    username: &str,
) -> Result<SignIn, ApiError> {
    if let Some(result) = result {
        let (Some(id_token), Some(access_token)) = (result.id_token(), result.access_token())
        else {
            return Err(ApiError::unavailable(format_args!(
                "{op}: an authentication result without tokens"
            )));
        };
        return Ok(SignIn::Tokens(Tokens {
            message: None,
            id_token: id_token.to_owned(),
            access_token: access_token.to_owned(),
            refresh_token: result.refresh_token().map(str::to_owned),
            expires_in: result.expires_in(),
            token_type: result.token_type().unwrap_or("Bearer").to_owned(),
            username: Some(
                unverified_claim(id_token, "cognito:username")
                    .unwrap_or_else(|| username.to_owned()),
            ),
        }));
    }
    let Some(challenge) = challenge else {
        return Err(ApiError::unavailable(format_args!(
            "{op}: neither tokens nor a challenge"
        )));
    };
    let name = challenge.as_str();
    let (true, Some(session)) = (ANSWERABLE_CHALLENGES.contains(&name), session) else {
        return Err(ApiError::ChallengeRequired(name.to_owned()));
    };
    // Cognito names the user it challenges by the internal user name.
    let username = parameters
        .and_then(|p| p.get("USER_ID_FOR_SRP").or(p.get("USERNAME")))
        .map_or(username, String::as_str);
    let parameter = |key: &str| parameters.and_then(|p| p.get(key));
    let credential_request_options = match parameter("CREDENTIAL_REQUEST_OPTIONS") {
        Some(text) if name == "WEB_AUTHN" => Some(serde_json::from_str(text).map_err(|_| {
            ApiError::unavailable(format_args!("{op}: WEB_AUTHN options that are not JSON"))
        })?),
        _ => None,
    };
    Ok(SignIn::Challenge(Challenge {
        challenge: name.to_owned(),
        session: session.to_owned(),
        username: username.to_owned(),
        methods: (name == "SELECT_CHALLENGE").then(|| crate::passwordless::methods(available)),
        destination: parameter("CODE_DELIVERY_DESTINATION")
            .filter(|_| name == "EMAIL_OTP")
            .cloned(),
        credential_request_options,
    }))
}

/// Reads one string claim from a JWT's payload without checking its signature. Only for
/// tokens this client just received from Cognito over TLS.
fn unverified_claim(token: &str, claim: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get(claim)?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
