//! The account's own operations: sign-up and its code, password resets and changes, the
//! profile's attributes, sign-outs and deletion.

use aws_sdk_cognitoidentityprovider::config::Config as ClientConfig;
use aws_sdk_cognitoidentityprovider::types::AttributeType;
use platform::sdk::no_retries;
use platform::{ApiError, ClientContext};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::client::{Cognito, Op, user_context};
use crate::errors::{delivery, map};

/// The caller, as GetUser tells it ([`Cognito::profile`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub verified_email: Option<String>,
    pub totp_enabled: bool,
}

/// What SignUp answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedUp {
    /// The new user's `sub`.
    pub user_sub: String,
    pub user_confirmed: bool,
    /// When Cognito sent a code: where to (masked) and how.
    pub code_delivery: Option<CodeDelivery>,
}

/// Where a code went, as Cognito tells it (`a***@e***`, `EMAIL`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeDelivery {
    pub destination: Option<String>,
    pub medium: Option<String>,
}

/// The outcome of an operation whose answer must not tell whether an account exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Cognito sent the code.
    Sent,
    /// Cognito refused for a reason tied to the account (named here, for the log only); the
    /// caller gets the same answer as for [`Delivery::Sent`].
    Withheld(&'static str),
}

impl Delivery {
    /// The note for the request's log line.
    pub fn note(self) -> Option<&'static str> {
        match self {
            Delivery::Sent => None,
            Delivery::Withheld(why) => Some(why),
        }
    }
}

impl Cognito {
    /// SignUp, with `email` as the one attribute. Never retried: a retry after a lost answer
    /// would report `username_exists` for the account this very call created.
    pub async fn sign_up(
        &self,
        context: &ClientContext,
        username: &str,
        password: &str,
        email: Option<&str>,
    ) -> Result<SignedUp, ApiError> {
        let email = email.map(|email| AttributeType::builder().name("email").value(email).build());
        let email = email
            .transpose()
            .map_err(|e| ApiError::internal(format_args!("{}: {e}", Op::SignUp)))?;
        let out = self
            .client
            .sign_up()
            .client_id(&self.client_id)
            .username(username)
            .password(password)
            .set_secret_hash(self.hash(username).await?)
            .set_user_attributes(Some(email.into_iter().collect()))
            .set_user_context_data(user_context(context))
            .customize()
            .config_override(ClientConfig::builder().retry_config(no_retries()))
            .send()
            .await
            .map_err(|e| map(Op::SignUp, e))?;
        Ok(SignedUp {
            user_sub: out.user_sub().to_owned(),
            user_confirmed: out.user_confirmed(),
            code_delivery: out.code_delivery_details().map(|d| CodeDelivery {
                destination: d.destination().map(str::to_owned),
                medium: d.delivery_medium().map(|m| m.as_str().to_owned()),
            }),
        })
    }

    /// ConfirmSignUp with the code Cognito sent. Never retried: LimitExceeded, which Cognito
    /// answers after a few wrong codes for an existing account only, is a throttling error to
    /// the SDK, and retrying it would make that account's answer slower than an unknown one's.
    pub async fn confirm_sign_up(
        &self,
        context: &ClientContext,
        username: &str,
        code: &str,
    ) -> Result<(), ApiError> {
        self.client
            .confirm_sign_up()
            .client_id(&self.client_id)
            .username(username)
            .confirmation_code(code)
            .set_secret_hash(self.hash(username).await?)
            .set_user_context_data(user_context(context))
            .customize()
            .config_override(ClientConfig::builder().retry_config(no_retries()))
            .send()
            .await
            .map_err(|e| map(Op::ConfirmSignUp, e))?;
        Ok(())
    }

    /// ResendConfirmationCode. Refusals tied to the account are [`Delivery::Withheld`].
    pub async fn resend_code(
        &self,
        context: &ClientContext,
        username: &str,
    ) -> Result<Delivery, ApiError> {
        let sent = self
            .client
            .resend_confirmation_code()
            .client_id(&self.client_id)
            .username(username)
            .set_secret_hash(self.hash(username).await?)
            .set_user_context_data(user_context(context))
            .send()
            .await;
        delivery(Op::ResendCode, sent)
    }

    /// ForgotPassword. Refusals tied to the account are [`Delivery::Withheld`].
    pub async fn forgot_password(
        &self,
        context: &ClientContext,
        username: &str,
    ) -> Result<Delivery, ApiError> {
        let sent = self
            .client
            .forgot_password()
            .client_id(&self.client_id)
            .username(username)
            .set_secret_hash(self.hash(username).await?)
            .set_user_context_data(user_context(context))
            .send()
            .await;
        delivery(Op::ForgotPassword, sent)
    }

    /// ConfirmForgotPassword: a new password with the code ForgotPassword sent. Never retried,
    /// as [`Cognito::confirm_sign_up`].
    pub async fn confirm_forgot_password(
        &self,
        context: &ClientContext,
        username: &str,
        code: &str,
        new_password: &str,
    ) -> Result<(), ApiError> {
        self.client
            .confirm_forgot_password()
            .client_id(&self.client_id)
            .username(username)
            .confirmation_code(code)
            .password(new_password)
            .set_secret_hash(self.hash(username).await?)
            .set_user_context_data(user_context(context))
            .customize()
            .config_override(ClientConfig::builder().retry_config(no_retries()))
            .send()
            .await
            .map_err(|e| map(Op::ResetPassword, e))?;
        Ok(())
    }

    /// ChangePassword, with the caller's access token.
    pub async fn change_password(
        &self,
        access_token: &str,
        previous: &str,
        proposed: &str,
    ) -> Result<(), ApiError> {
        self.client
            .change_password()
            .access_token(access_token)
            .previous_password(previous)
            .proposed_password(proposed)
            .send()
            .await
            .map_err(|e| map(Op::ChangePassword, e))?;
        Ok(())
    }

    /// GlobalSignOut, with the caller's access token: every refresh token of the user is
    /// revoked.
    pub async fn global_sign_out(&self, access_token: &str) -> Result<(), ApiError> {
        self.client
            .global_sign_out()
            .access_token(access_token)
            .send()
            .await
            .map_err(|e| map(Op::SignOut, e))?;
        Ok(())
    }

    /// UpdateUserAttributes with the caller's access token. Returns the attributes that await
    /// verification (a new `email` does, until its code is confirmed; the old one stays until
    /// then).
    pub async fn update_attributes(
        &self,
        access_token: &str,
        attributes: &[(&str, &str)],
    ) -> Result<Vec<String>, ApiError> {
        let attributes = attributes
            .iter()
            .map(|(name, value)| AttributeType::builder().name(*name).value(*value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::internal(format_args!("{}: {e}", Op::UpdateAttributes)))?;
        let out = self
            .client
            .update_user_attributes()
            .access_token(access_token)
            .set_user_attributes(Some(attributes))
            .send()
            .await
            .map_err(|e| map(Op::UpdateAttributes, e))?;
        Ok(out
            .code_delivery_details_list()
            .iter()
            .filter_map(|d| d.attribute_name().map(str::to_owned))
            .collect())
    }

    /// The caller as GetUser tells it: their verified e-mail address, where an alert about
    /// their account goes, and whether TOTP is on.
    pub async fn profile(&self, access_token: &str) -> Result<Profile, ApiError> {
        let out = self
            .client
            .get_user()
            .access_token(access_token)
            .send()
            .await
            .map_err(|e| map(Op::GetUser, e))?;
        let attribute = |name: &str| {
            out.user_attributes()
                .iter()
                .find(|a| a.name() == name)
                .and_then(|a| a.value())
        };
        Ok(Profile {
            verified_email: match attribute("email_verified") {
                Some("true") => attribute("email").map(str::to_owned),
                _ => None,
            },
            totp_enabled: out
                .user_mfa_setting_list()
                .iter()
                .any(|m| m == "SOFTWARE_TOKEN_MFA"),
        })
    }

    /// VerifyUserAttribute for `email`: the pending address replaces the old one.
    pub async fn verify_email(&self, access_token: &str, code: &str) -> Result<(), ApiError> {
        self.client
            .verify_user_attribute()
            .access_token(access_token)
            .attribute_name("email")
            .code(code)
            .send()
            .await
            .map_err(|e| map(Op::VerifyEmail, e))?;
        Ok(())
    }

    /// GetUserAttributeVerificationCode for `email`: a new code to the pending address.
    pub async fn resend_email_code(&self, access_token: &str) -> Result<(), ApiError> {
        self.client
            .get_user_attribute_verification_code()
            .access_token(access_token)
            .attribute_name("email")
            .send()
            .await
            .map_err(|e| map(Op::ResendEmailCode, e))?;
        Ok(())
    }

    /// RevokeToken: ends the session of one refresh token, no other.
    pub async fn revoke_token(&self, refresh_token: &str) -> Result<(), ApiError> {
        let secret = self
            .hasher(None)
            .await
            .map_err(|e| ApiError::unavailable(format_args!("{e}")))?
            .map(|keyed| keyed.secret.expose_secret().to_owned());
        self.client
            .revoke_token()
            .client_id(&self.client_id)
            .token(refresh_token)
            .set_client_secret(secret)
            .send()
            .await
            .map_err(|e| map(Op::RevokeToken, e))?;
        Ok(())
    }

    /// DeleteUser, with the caller's access token.
    pub async fn delete_user(&self, access_token: &str) -> Result<(), ApiError> {
        self.client
            .delete_user()
            .access_token(access_token)
            .send()
            .await
            .map_err(|e| map(Op::DeleteUser, e))?;
        Ok(())
    }
}
