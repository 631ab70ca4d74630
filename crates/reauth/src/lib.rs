//! Proving the account holder again, before a change that a stolen access token must not make:
//! a new e-mail address (the way to reset the password), a new authenticator, turning
//! two-factor sign-in off, deleting the account. An access token shows only that someone
//! signed in within the hour; these take what a sign-in takes: the password, and the second
//! factor where one is on (OWASP ASVS 5.0, 7.5.1). Recency alone would not do: a thief holds a
//! recent token.
//!
//! The proof is a sign-in (InitiateAuth, and the SOFTWARE_TOKEN_MFA answer), so Cognito's own
//! password checks, lockouts and threat protection apply; the tokens it gives are revoked at
//! once. Second-factor codes are limited per user before they are tried
//! ([`tables::limits::SECOND_FACTOR`]): five per 15 minutes, on every route that takes one.

use auth::{Answer, Code, Password, SignIn};
use platform::{ApiError, ClientContext, JsonObject};
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

/// Proves account holders, built once per function that needs it.
#[derive(Debug, Clone)]
pub struct Reauth {
    cognito: auth::Cognito,
    codes: RecoveryCodes,
    limits: Limits,
}

impl Reauth {
    pub fn new(cognito: auth::Cognito, codes: RecoveryCodes, limits: Limits) -> Self {
        Self {
            cognito,
            codes,
            limits,
        }
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

    /// Ends the sign-in a proof took: its refresh token, and with it its access tokens.
    async fn end(&self, tokens: auth::Tokens) -> Result<(), ApiError> {
        if let Some(refresh) = tokens.refresh_token {
            self.cognito.revoke_token(&refresh).await?;
        }
        Ok(())
    }
}
