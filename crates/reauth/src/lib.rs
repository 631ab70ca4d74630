//! Proving the account holder again, before a change that a stolen access token must not make:
//! a new e-mail address (the way to reset the password), a new authenticator, turning
//! two-factor sign-in off, deleting the account. An access token shows only that someone
//! signed in within the hour; these take what a sign-in takes: the password, and the second
//! factor where one is on (OWASP ASVS 5.0, 7.5.1). Recency alone would not do: a thief holds a
//! recent token.
//!
//! Recency is asked for too: these changes need a sign-in within the re-authentication window
//! ([`Reauth::require_recent`], `ReauthWindow`, ten minutes by default, from the token's
//! `auth_time`), or `403 reauthentication_required` with the window in seconds. A session left
//! open on a shared computer then cannot make them, even by someone who knows the password.
//!
//! The proof is a sign-in (InitiateAuth, and the SOFTWARE_TOKEN_MFA answer), so Cognito's own
//! password checks, lockouts and threat protection apply; the tokens it gives are revoked at
//! once. Second-factor codes are limited per user before they are tried
//! ([`tables::limits::SECOND_FACTOR`]): five per 15 minutes, on every route that takes one.

use std::time::Duration;

use auth::{Answer, Code, Password, SignIn};
use platform::{ApiError, Caller, ClientContext, ConfigError, Env, JsonObject};
use tables::RecoveryCodes;
use tables::limits::{self, Limits};

/// The body fields a proof reads.
pub const FIELDS: &[&str] = &["password", "code", "recovery_code"];

/// What proves the account holder: the password, and a second factor.
#[derive(Debug, Clone, Copy)]
pub struct Proof<'a> {
    pub password: Password<'a>,
    pub factor: Option<Factor<'a>>,
}

/// A second factor: an authenticator `code`, or a `recovery_code`.
#[derive(Debug, Clone, Copy)]
pub enum Factor<'a> {
    Totp(Code<'a>),
    Recovery(Code<'a>),
}

impl<'a> Proof<'a> {
    /// `password`, and `code` or `recovery_code` (not both) from `body`.
    pub fn from_body(body: &'a JsonObject) -> Result<Self, ApiError> {
        let password = Password::from_body(body, "password")?;
        let factor = match (
            Code::optional(body, "code")?,
            Code::optional(body, "recovery_code")?,
        ) {
            (Some(code), None) => Some(Factor::Totp(code)),
            (None, Some(code)) => Some(Factor::Recovery(code)),
            (None, None) => None,
            (Some(_), Some(_)) => {
                return Err(ApiError::InvalidField {
                    field: "code",
                    reason: "give code or recovery_code, not both".into(),
                });
            }
        };
        Ok(Self { password, factor })
    }
}

/// What was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proven {
    /// The account has TOTP on, and its second factor was proven too.
    pub second_factor: bool,
}

/// The answer to a proof without the second factor the account has.
pub const SECOND_FACTOR_REQUIRED: ApiError = ApiError::Refused {
    code: "second_factor_required",
    message: "two-factor sign-in is on for this account: send `code` (from the authenticator) or `recovery_code` as well",
};

/// A sign-in code mailed as a proof.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EmailCodeSent {
    /// What the proof sends back with the code.
    pub session: String,
    /// Where the code went, masked.
    pub destination: Option<String>,
}

/// A proof by e-mail code for an account that cannot sign in that way.
pub const EMAIL_CODE_UNAVAILABLE: ApiError = ApiError::Refused {
    code: "email_code_unavailable",
    message: "this account cannot prove itself with an e-mailed code (no verified address, or two-factor sign-in is on): send the password instead",
};

/// The re-authentication window when `REAUTH_WINDOW_SECONDS` is not set: ten minutes.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(10 * 60);

/// `REAUTH_WINDOW_SECONDS` (the template's `ReauthWindow`), or [`DEFAULT_WINDOW`].
pub fn window_from_env(env: &Env) -> Result<Duration, ConfigError> {
    let Some(value) = env.get("REAUTH_WINDOW_SECONDS") else {
        return Ok(DEFAULT_WINDOW);
    };
    value
        .parse::<u64>()
        .ok()
        .filter(|s| *s > 0)
        .map(Duration::from_secs)
        .ok_or(ConfigError::Invalid {
            name: "REAUTH_WINDOW_SECONDS",
            reason: "must be a whole number of seconds above 0".into(),
        })
}

/// The caller signed in within `window`, or `403 reauthentication_required` with the window in
/// seconds: [`Reauth::require_recent`], for a function that takes no proof (the admin API).
pub fn require_recent(caller: &Caller, window: Duration) -> Result<(), ApiError> {
    let auth_time = caller.signed_in_at().ok_or(ApiError::Unauthorized)?;
    let now = tables::epoch_seconds();
    if now.saturating_sub(auth_time) <= window.as_secs() {
        Ok(())
    } else {
        Err(ApiError::ReauthenticationRequired {
            window_seconds: window.as_secs(),
        })
    }
}

/// Proves account holders, built once per function that needs it.
#[derive(Debug, Clone)]
pub struct Reauth {
    cognito: auth::Cognito,
    codes: RecoveryCodes,
    limits: Limits,
    window: Duration,
}

impl Reauth {
    /// With the [`DEFAULT_WINDOW`]; [`Reauth::within`] sets another.
    pub fn new(cognito: auth::Cognito, codes: RecoveryCodes, limits: Limits) -> Self {
        Self {
            cognito,
            codes,
            limits,
            window: DEFAULT_WINDOW,
        }
    }

    /// This, with the re-authentication window `window`.
    pub fn within(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The caller signed in within the window (the session's sign-in as recorded, else the
    /// token's `auth_time`); otherwise `403 reauthentication_required`, with the window in
    /// seconds. Refreshes keep a session's sign-in time: only a new sign-in renews it.
    pub fn require_recent(&self, caller: &Caller) -> Result<(), ApiError> {
        require_recent(caller, self.window)
    }

    /// Proves that the caller holds `username`'s password, and its second factor where TOTP is
    /// on. A wrong password is `401 invalid_credentials` and uses no attempt; TOTP on without a
    /// factor is `403 second_factor_required`; a wrong code `401 invalid_code`; past the limit
    /// `429`. The sign-in the proof takes is ended at once.
    pub async fn prove(
        &self,
        context: &ClientContext,
        username: &str,
        proof: &Proof<'_>,
    ) -> Result<Proven, ApiError> {
        let challenge = match self
            .cognito
            .password_sign_in(context, username, &proof.password)
            .await?
        {
            SignIn::Tokens(tokens) => {
                self.end(tokens).await?;
                return Ok(Proven {
                    second_factor: false,
                });
            }
            // No authenticator yet (MFA_SETUP), or a temporary password: the password is all
            // the account has, and it was right.
            SignIn::Challenge(c) if c.challenge != "SOFTWARE_TOKEN_MFA" => {
                return Ok(Proven {
                    second_factor: false,
                });
            }
            SignIn::Challenge(c) => c,
        };
        let factor = proof.factor.ok_or(SECOND_FACTOR_REQUIRED)?;
        let user = challenge.username.as_str();
        self.limits.take(&limits::SECOND_FACTOR, user).await?;
        match factor {
            Factor::Totp(code) => {
                let signed_in = self
                    .cognito
                    .answer_challenge(
                        context,
                        &challenge.challenge,
                        user,
                        &challenge.session,
                        Answer::Code(code),
                    )
                    .await?;
                if let SignIn::Tokens(tokens) = signed_in {
                    self.end(tokens).await?;
                }
            }
            Factor::Recovery(code) => {
                if self.codes.consume(user, &code).await?.is_none() {
                    return Err(ApiError::InvalidCode);
                }
            }
        }
        self.limits.reset(&limits::SECOND_FACTOR, user).await?;
        Ok(Proven {
            second_factor: true,
        })
    }

    /// Mails `username` a sign-in code (USER_AUTH's EMAIL_OTP), the proof of a user who signs
    /// in without a password: the session to send back with it, and where it went (masked).
    /// A user without that way to sign in (no verified address, TOTP on, the pool's policy) is
    /// `403 email_code_unavailable`: they prove themselves with the password. Counted as every
    /// sign-in code mailed is ([`limits::SIGN_IN_CODE`]).
    pub async fn send_email_code(
        &self,
        context: &ClientContext,
        username: &str,
    ) -> Result<EmailCodeSent, ApiError> {
        self.limits.take(&limits::SIGN_IN_CODE, username).await?;
        let method = Some(auth::Method::EmailOtp);
        match (self.cognito)
            .start_sign_in(context, username, method, None)
            .await?
        {
            SignIn::Challenge(c) if c.challenge == "EMAIL_OTP" => Ok(EmailCodeSent {
                session: c.session,
                destination: c.destination,
            }),
            _ => Err(EMAIL_CODE_UNAVAILABLE),
        }
    }

    /// Proves `username` with the code [`Reauth::send_email_code`] mailed, in its `session`;
    /// counted as second-factor guesses are. The sign-in it takes is ended at once.
    pub async fn prove_email_code(
        &self,
        context: &ClientContext,
        username: &str,
        session: &str,
        code: Code<'_>,
    ) -> Result<(), ApiError> {
        self.limits.take(&limits::SECOND_FACTOR, username).await?;
        let signed_in = self
            .cognito
            .answer_challenge(
                context,
                "EMAIL_OTP",
                username,
                session,
                Answer::EmailCode(code.as_str()),
            )
            .await?;
        let SignIn::Tokens(tokens) = signed_in else {
            return Err(EMAIL_CODE_UNAVAILABLE);
        };
        // The code named the user the session was for; it must be the caller.
        if tokens.owner().as_deref() != Some(username) {
            self.end(tokens).await?;
            return Err(ApiError::InvalidCode);
        }
        self.end(tokens).await?;
        self.limits.reset(&limits::SECOND_FACTOR, username).await?;
        Ok(())
    }

    /// Ends the sign-in a proof took: its refresh token, and with it its access tokens.
    async fn end(&self, tokens: auth::Tokens) -> Result<(), ApiError> {
        if let Some(refresh) = tokens.refresh_token {
            self.cognito.revoke_token(&refresh).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_cognitoidentityprovider::Client;
    use aws_sdk_cognitoidentityprovider::operation::initiate_auth::{
        InitiateAuthError, InitiateAuthOutput,
    };
    use aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeOutput;
    use aws_sdk_cognitoidentityprovider::operation::revoke_token::RevokeTokenOutput;
    use aws_sdk_cognitoidentityprovider::types::error::NotAuthorizedException;
    use aws_sdk_cognitoidentityprovider::types::{AuthenticationResultType, ChallengeNameType};
    use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
    use aws_smithy_mocks::{Rule, mock};
    use platform::JsonObject;
    use serde_json::json;
    use test_support::{cognito, dynamodb_client, fake_jwt};

    use super::*;

    fn tokens() -> AuthenticationResultType {
        AuthenticationResultType::builder()
            .id_token(fake_jwt(&json!({"cognito:username": "alice"})))
            .access_token(fake_jwt(&json!({"username": "alice"})))
            .refresh_token("refresh-of-the-proof")
            .expires_in(3600)
            .build()
    }

    use std::time::{SystemTime, UNIX_EPOCH};

    /// A caller signed in `ago` seconds before now.
    fn signed_in(ago: u64) -> Caller {
        let mut event = test_support::event_json("account_delete_me");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        event["requestContext"]["authorizer"]["claims"]["auth_time"] =
            json!((now - ago).to_string());
        Caller::parse(&test_support::to_request(&event)).unwrap()
    }

    #[test]
    fn a_change_needs_a_sign_in_within_the_window() {
        let reauth = reauth(&[], &[]).within(Duration::from_secs(600));
        reauth.require_recent(&signed_in(5)).unwrap();
        reauth.require_recent(&signed_in(590)).unwrap();
        let refused = reauth.require_recent(&signed_in(700)).unwrap_err();
        assert_eq!(
            (refused.status().as_u16(), refused.code()),
            (403, "reauthentication_required")
        );
        assert_eq!(refused.window_seconds(), Some(600));
        assert!(refused.to_string().contains("600 seconds"));
    }

    #[test]
    fn the_window_is_read_from_the_environment() {
        assert_eq!(
            window_from_env(&Env::from_pairs::<&str, &str>([])).unwrap(),
            DEFAULT_WINDOW
        );
        let env = Env::from_pairs([("REAUTH_WINDOW_SECONDS", "30")]);
        assert_eq!(window_from_env(&env).unwrap(), Duration::from_secs(30));
        for bad in ["0", "-5", "soon"] {
            let env = Env::from_pairs([("REAUTH_WINDOW_SECONDS", bad)]);
            assert!(window_from_env(&env).is_err(), "{bad}");
        }
    }

    fn reauth(cognito_rules: &[&Rule], table_rules: &[&Rule]) -> Reauth {
        let dynamodb = dynamodb_client(table_rules);
        Reauth::new(
            cognito(cognito_rules),
            RecoveryCodes::new(dynamodb.clone(), "recovery-codes".into())
                .peppered(test_support::pepper()),
            Limits::new(dynamodb, "limits".into()),
        )
    }

    async fn prove(reauth: &Reauth, body: serde_json::Value) -> Result<Proven, ApiError> {
        let body = JsonObject::from_body(&lambda_http::Body::from(body.to_string())).unwrap();
        let proof = Proof::from_body(&body)?;
        reauth
            .prove(&ClientContext::default(), "alice", &proof)
            .await
    }

    fn totp_challenge() -> Rule {
        mock!(Client::initiate_auth).then_output(|| {
            InitiateAuthOutput::builder()
                .challenge_name(ChallengeNameType::SoftwareTokenMfa)
                .session("session-1")
                .build()
        })
    }

    #[tokio::test]
    async fn a_wrong_password_is_invalid_credentials_and_counts_no_guess_at_a_code() {
        let refused = mock!(Client::initiate_auth).then_error(|| {
            InitiateAuthError::NotAuthorizedException(NotAuthorizedException::builder().build())
        });
        let counted = mock!(aws_sdk_dynamodb::Client::update_item)
            .then_output(|| UpdateItemOutput::builder().build());
        let reauth = reauth(&[&refused], &[&counted]);
        let err = prove(&reauth, json!({"password": "Wrong-1!", "code": "123456"}))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invalid_credentials");
        assert_eq!(counted.num_calls(), 0);
    }

    #[tokio::test]
    async fn with_totp_on_the_password_alone_is_refused_and_counts_nothing() {
        let challenge = totp_challenge();
        let counted = mock!(aws_sdk_dynamodb::Client::update_item)
            .then_output(|| UpdateItemOutput::builder().build());
        let reauth = reauth(&[&challenge], &[&counted]);
        let err = prove(&reauth, json!({"password": "Correct-Horse-9!"}))
            .await
            .unwrap_err();
        assert_eq!(
            (err.status().as_u16(), err.code()),
            (403, "second_factor_required")
        );
        assert_eq!(counted.num_calls(), 0);
    }

    #[tokio::test]
    async fn a_code_is_counted_before_it_is_tried_and_the_proofs_sign_in_is_ended() {
        let challenge = totp_challenge();
        let answered = mock!(Client::respond_to_auth_challenge)
            .match_requests(|r| {
                r.session() == Some("session-1")
                    && r.challenge_responses()
                        .and_then(|c| c.get("SOFTWARE_TOKEN_MFA_CODE"))
                        .map(String::as_str)
                        == Some("123456")
            })
            .then_output(|| {
                RespondToAuthChallengeOutput::builder()
                    .authentication_result(tokens())
                    .build()
            });
        let revoked = mock!(Client::revoke_token)
            .match_requests(|r| r.token() == Some("refresh-of-the-proof"))
            .then_output(|| RevokeTokenOutput::builder().build());
        let counted = mock!(aws_sdk_dynamodb::Client::update_item)
            .match_requests(|r| {
                r.key()
                    .and_then(|k| k.get("id"))
                    .and_then(|v| v.as_s().ok())
                    == Some(&"factor:alice".to_owned())
            })
            .then_output(|| UpdateItemOutput::builder().build());
        let reset = mock!(aws_sdk_dynamodb::Client::delete_item)
            .then_output(|| DeleteItemOutput::builder().build());
        let reauth = reauth(&[&challenge, &answered, &revoked], &[&counted, &reset]);
        let proven = prove(
            &reauth,
            json!({"password": "Correct-Horse-9!", "code": "123456"}),
        )
        .await
        .unwrap();
        assert!(proven.second_factor);
        assert_eq!(
            (
                counted.num_calls(),
                answered.num_calls(),
                revoked.num_calls(),
                reset.num_calls()
            ),
            (1, 1, 1, 1)
        );
    }

    #[tokio::test]
    async fn without_totp_the_password_proves_it_and_its_sign_in_is_ended() {
        let signed_in = mock!(Client::initiate_auth).then_output(|| {
            InitiateAuthOutput::builder()
                .authentication_result(tokens())
                .build()
        });
        let revoked =
            mock!(Client::revoke_token).then_output(|| RevokeTokenOutput::builder().build());
        let reauth = reauth(&[&signed_in, &revoked], &[]);
        let proven = prove(&reauth, json!({"password": "Correct-Horse-9!"}))
            .await
            .unwrap();
        assert!(!proven.second_factor);
        assert_eq!(revoked.num_calls(), 1);
    }
}
