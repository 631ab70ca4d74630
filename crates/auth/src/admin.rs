//! The calls the functions make with their own IAM permissions, by user name, on their pool
//! only: each follows a proof the function checked itself (the password, a second factor, a
//! reset code), never an access token alone.

use aws_sdk_cognitoidentityprovider::types::AttributeType;
use platform::ApiError;

use crate::client::{Cognito, Op};
use crate::errors::map;

impl Cognito {
    /// AdminUpdateUserAttributes: a new e-mail address for `username`, once the function has
    /// proven the account holder. The app client may not write `email` itself, so that an
    /// access token alone cannot change it straight against Cognito. With the pool's
    /// AttributesRequireVerificationBeforeUpdate, the old address stays until the code Cognito
    /// sends to the new one is confirmed.
    pub async fn admin_change_email(
        &self,
        pool_id: &str,
        username: &str,
        email: &str,
    ) -> Result<(), ApiError> {
        let attribute = AttributeType::builder()
            .name("email")
            .value(email)
            .build()
            .map_err(|e| ApiError::internal(format_args!("{}: {e}", Op::AdminUpdateAttributes)))?;
        self.client
            .admin_update_user_attributes()
            .user_pool_id(pool_id)
            .username(username)
            .user_attributes(attribute)
            .send()
            .await
            .map_err(|e| map(Op::AdminUpdateAttributes, e))?;
        Ok(())
    }

    /// The verified e-mail address of `username` (AdminGetUser), where an alert goes; `None`
    /// when the user is gone or has no verified address.
    pub async fn admin_verified_email(
        &self,
        pool_id: &str,
        username: &str,
    ) -> Result<Option<String>, ApiError> {
        let out = match self
            .client
            .admin_get_user()
            .user_pool_id(pool_id)
            .username(username)
            .send()
            .await
            .map_err(|e| map(Op::AdminGetUser, e))
        {
            Ok(out) => out,
            Err(ApiError::NotAuthorized) => return Ok(None),
            Err(other) => return Err(other),
        };
        let attribute = |name: &str| {
            out.user_attributes()
                .iter()
                .find(|a| a.name() == name)
                .and_then(|a| a.value())
        };
        Ok(match attribute("email_verified") {
            Some("true") => attribute("email").map(str::to_owned),
            _ => None,
        })
    }

    /// The `sub` of `username` (AdminGetUser), for the sessions table, which is keyed by it.
    pub async fn admin_sub(&self, pool_id: &str, username: &str) -> Result<String, ApiError> {
        let out = self
            .client
            .admin_get_user()
            .user_pool_id(pool_id)
            .username(username)
            .send()
            .await
            .map_err(|e| map(Op::AdminGetUser, e))?;
        out.user_attributes()
            .iter()
            .find(|a| a.name() == "sub")
            .and_then(|a| a.value())
            .map(str::to_owned)
            .ok_or_else(|| ApiError::unavailable(format_args!("{}: no sub", Op::AdminGetUser)))
    }

    /// AdminUserGlobalSignOut: every refresh token of `username` is revoked (after a password
    /// reset, which Cognito itself does not sign out).
    pub async fn admin_sign_out_everywhere(
        &self,
        pool_id: &str,
        username: &str,
    ) -> Result<(), ApiError> {
        self.client
            .admin_user_global_sign_out()
            .user_pool_id(pool_id)
            .username(username)
            .send()
            .await
            .map_err(|e| map(Op::AdminSignOut, e))?;
        Ok(())
    }
}
