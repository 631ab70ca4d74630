//! Two-factor sign-in: the authenticator's secret (AssociateSoftwareToken, VerifySoftwareToken),
//! in a signed-in session or inside an MFA_SETUP challenge, and the TOTP preference.

use platform::ApiError;

use crate::client::{Cognito, Op};
use crate::errors::map;

impl Cognito {
    /// AssociateSoftwareToken: a new authenticator secret for the caller (base32), which takes
    /// effect once [`Cognito::verify_software_token`] checks a first code of it.
    pub async fn associate_software_token(&self, access_token: &str) -> Result<String, ApiError> {
        let out = self
            .client
            .associate_software_token()
            .access_token(access_token)
            .send()
            .await
            .map_err(|e| map(Op::AssociateToken, e))?;
        out.secret_code()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::unavailable(format_args!("{}: no secret", Op::AssociateToken)))
    }

    /// AssociateSoftwareToken inside an MFA_SETUP challenge: the new secret and the session to
    /// go on with.
    pub async fn associate_software_token_in(
        &self,
        session: &str,
    ) -> Result<(String, String), ApiError> {
        let out = self
            .client
            .associate_software_token()
            .session(session)
            .send()
            .await
            .map_err(|e| map(Op::Challenge, e))?;
        match (out.secret_code(), out.session()) {
            (Some(secret), Some(session)) => Ok((secret.to_owned(), session.to_owned())),
            (Some(secret), None) => Ok((secret.to_owned(), session.to_owned())),
            _ => Err(ApiError::unavailable(format_args!(
                "{}: no secret",
                Op::AssociateToken
            ))),
        }
    }

    /// VerifySoftwareToken inside an MFA_SETUP challenge: the session to answer it with.
    pub async fn verify_software_token_in(
        &self,
        session: &str,
        code: &str,
    ) -> Result<String, ApiError> {
        let out = self
            .client
            .verify_software_token()
            .session(session)
            .user_code(code)
            .send()
            .await
            .map_err(|e| map(Op::Challenge, e))?;
        match out.status() {
            Some(
                aws_sdk_cognitoidentityprovider::types::VerifySoftwareTokenResponseType::Success,
            ) => Ok(out.session().unwrap_or(session).to_owned()),
            _ => Err(ApiError::InvalidCode),
        }
    }

    /// VerifySoftwareToken: `code` from the authenticator app, named `device`. A wrong code is
    /// `invalid_code`.
    pub async fn verify_software_token(
        &self,
        access_token: &str,
        code: &str,
        device: Option<&str>,
    ) -> Result<(), ApiError> {
        let out = self
            .client
            .verify_software_token()
            .access_token(access_token)
            .user_code(code)
            .set_friendly_device_name(device.map(str::to_owned))
            .send()
            .await
            .map_err(|e| map(Op::VerifyToken, e))?;
        match out.status() {
            Some(
                aws_sdk_cognitoidentityprovider::types::VerifySoftwareTokenResponseType::Success,
            ) => Ok(()),
            _ => Err(ApiError::InvalidCode),
        }
    }

    /// SetUserMFAPreference for TOTP: on and preferred, or off.
    pub async fn set_totp(&self, access_token: &str, on: bool) -> Result<(), ApiError> {
        self.client
            .set_user_mfa_preference()
            .access_token(access_token)
            .software_token_mfa_settings(totp_settings(on))
            .send()
            .await
            .map_err(|e| map(Op::SetMfa, e))?;
        Ok(())
    }

    /// AdminDeleteSoftwareToken: `username`'s authenticator is gone, after a recovery code.
    /// The next sign-in takes the password alone, or, where the pool's MFA is ON, sets up a new
    /// authenticator (MFA_SETUP). AdminSetUserMFAPreference would not do: Cognito keeps TOTP on
    /// in a pool that requires MFA.
    pub async fn admin_delete_totp(&self, pool_id: &str, username: &str) -> Result<(), ApiError> {
        self.client
            .admin_delete_software_token()
            .user_pool_id(pool_id)
            .username(username)
            .send()
            .await
            .map_err(|e| map(Op::AdminDeleteToken, e))?;
        Ok(())
    }
}

/// TOTP on and preferred, or off.
fn totp_settings(on: bool) -> aws_sdk_cognitoidentityprovider::types::SoftwareTokenMfaSettingsType {
    aws_sdk_cognitoidentityprovider::types::SoftwareTokenMfaSettingsType::builder()
        .enabled(on)
        .preferred_mfa(on)
        .build()
}
