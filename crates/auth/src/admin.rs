//! The calls the functions make with their own IAM permissions, by user name, on their pool
//! only: each follows a proof the function checked itself (the password, a second factor, a
//! reset code), never an access token alone.

use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, SoftwareTokenMfaSettingsType, UserType,
};
use platform::ApiError;
use serde::Serialize;

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

/// A user as the admin API shows them: never a secret, a code or a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdminUser {
    pub username: String,
    pub sub: Option<String>,
    /// Cognito's status: `CONFIRMED`, `UNCONFIRMED`, `FORCE_CHANGE_PASSWORD`, `RESET_REQUIRED`.
    pub status: Option<String>,
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    /// Whether TOTP is on (AdminGetUser only; a search does not tell).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_enabled: Option<bool>,
}

impl AdminUser {
    fn from_attributes(
        username: &str,
        attributes: &[AttributeType],
        status: Option<String>,
        enabled: bool,
        created_at: Option<i64>,
    ) -> Self {
        let attribute = |name: &str| {
            attributes
                .iter()
                .find(|a| a.name() == name)
                .and_then(|a| a.value())
                .map(str::to_owned)
        };
        Self {
            username: username.to_owned(),
            sub: attribute("sub"),
            status,
            enabled,
            email: attribute("email"),
            email_verified: attribute("email_verified").as_deref() == Some("true"),
            name: attribute("name"),
            created_at,
            totp_enabled: None,
        }
    }

    fn of(user: &UserType) -> Self {
        Self::from_attributes(
            user.username().unwrap_or_default(),
            user.attributes(),
            user.user_status().map(|s| s.as_str().to_owned()),
            user.enabled(),
            user.user_create_date().map(|d| d.secs()),
        )
    }
}

/// A page of the admin API's search, and where the next starts.
#[derive(Debug, Clone, Default)]
pub struct UserPage {
    pub users: Vec<AdminUser>,
    pub next: Option<String>,
}

/// What a search may match: a user-name or e-mail prefix, or exactly a `sub`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search<'a> {
    Username(&'a str),
    Email(&'a str),
    Sub(&'a str),
}

impl Cognito {
    /// `username` as the admin API shows them (AdminGetUser); `None` when there is no such user.
    pub async fn admin_user(
        &self,
        pool_id: &str,
        username: &str,
    ) -> Result<Option<AdminUser>, ApiError> {
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
        let mut user = AdminUser::from_attributes(
            out.username(),
            out.user_attributes(),
            out.user_status().map(|s| s.as_str().to_owned()),
            out.enabled(),
            out.user_create_date().map(|d| d.secs()),
        );
        user.totp_enabled = Some(
            out.user_mfa_setting_list()
                .iter()
                .any(|m| m == "SOFTWARE_TOKEN_MFA"),
        );
        Ok(Some(user))
    }

    /// The users whose user name or e-mail address begins with the search's text (ListUsers),
    /// `limit` a page, from `token` on. The text must hold no quote or backslash (the filter's
    /// syntax): the caller checks it.
    pub async fn admin_find_users(
        &self,
        pool_id: &str,
        search: Option<Search<'_>>,
        limit: i32,
        token: Option<&str>,
    ) -> Result<UserPage, ApiError> {
        let filter = search.map(|s| match s {
            Search::Username(prefix) => format!("username ^= \"{prefix}\""),
            Search::Email(prefix) => format!("email ^= \"{prefix}\""),
            Search::Sub(sub) => format!("sub = \"{sub}\""),
        });
        let out = self
            .client
            .list_users()
            .user_pool_id(pool_id)
            .set_filter(filter)
            .limit(limit)
            .set_pagination_token(token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| {
                use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
                // A page token ListUsers did not give (Cognito's InvalidParameterException;
                // moto's InvalidToken) is the caller's cursor, not the service failing.
                let refused = e.as_service_error().is_some_and(|s| {
                    s.is_invalid_parameter_exception() || s.code() == Some("InvalidToken")
                });
                match token.is_some() && refused {
                    true => ApiError::InvalidQuery {
                        param: "cursor",
                        reason: "not a cursor this listing gave".into(),
                    },
                    false => map(Op::AdminListUsers, e),
                }
            })?;
        Ok(UserPage {
            users: out.users().iter().map(AdminUser::of).collect(),
            next: out.pagination_token().map(str::to_owned),
        })
    }

    /// The groups `username` is in now (AdminListGroupsForUser, every page).
    pub async fn admin_groups(
        &self,
        pool_id: &str,
        username: &str,
    ) -> Result<Vec<String>, ApiError> {
        let groups = self
            .client
            .admin_list_groups_for_user()
            .user_pool_id(pool_id)
            .username(username)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map(Op::AdminListGroups, e))?;
        Ok(groups.into_iter().filter_map(|g| g.group_name).collect())
    }

    /// AdminEnableUser or AdminDisableUser.
    pub async fn admin_set_enabled(
        &self,
        pool_id: &str,
        username: &str,
        enabled: bool,
    ) -> Result<(), ApiError> {
        if enabled {
            self.client
                .admin_enable_user()
                .user_pool_id(pool_id)
                .username(username)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| map(Op::AdminSetEnabled, e))
        } else {
            self.client
                .admin_disable_user()
                .user_pool_id(pool_id)
                .username(username)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| map(Op::AdminSetEnabled, e))
        }
    }

    /// AdminAddUserToGroup or AdminRemoveUserFromGroup.
    pub async fn admin_set_group(
        &self,
        pool_id: &str,
        username: &str,
        group: &str,
        member: bool,
    ) -> Result<(), ApiError> {
        if member {
            self.client
                .admin_add_user_to_group()
                .user_pool_id(pool_id)
                .username(username)
                .group_name(group)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| map(Op::AdminSetGroup, e))
        } else {
            self.client
                .admin_remove_user_from_group()
                .user_pool_id(pool_id)
                .username(username)
                .group_name(group)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| map(Op::AdminSetGroup, e))
        }
    }

    /// AdminDeleteUser.
    pub async fn admin_delete_user(&self, pool_id: &str, username: &str) -> Result<(), ApiError> {
        self.client
            .admin_delete_user()
            .user_pool_id(pool_id)
            .username(username)
            .send()
            .await
            .map_err(|e| map(Op::AdminDeleteUser, e))?;
        Ok(())
    }

    /// TOTP off for `username` (AdminSetUserMFAPreference).
    pub async fn admin_totp_off(&self, pool_id: &str, username: &str) -> Result<(), ApiError> {
        let off = SoftwareTokenMfaSettingsType::builder()
            .enabled(false)
            .preferred_mfa(false)
            .build();
        self.client
            .admin_set_user_mfa_preference()
            .user_pool_id(pool_id)
            .username(username)
            .software_token_mfa_settings(off)
            .send()
            .await
            .map_err(|e| map(Op::AdminSetMfa, e))?;
        Ok(())
    }
}
