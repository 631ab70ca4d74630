//! The calls of the user export and its restore, on the pool the operator names: the groups and
//! their members, and a user brought back (created without a message, with a password nobody
//! knows, so that the user's first sign-in is a reset by mail).

use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType};
use platform::{ApiError, random};

use crate::client::{Cognito, Op};
use crate::errors::map;

/// A user as an export holds them, to be created again: never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored<'a> {
    pub username: &'a str,
    pub email: Option<&'a str>,
    pub email_verified: bool,
    pub name: Option<&'a str>,
}

impl Cognito {
    /// Every group of the pool (ListGroups, every page).
    pub async fn pool_groups(&self, pool_id: &str) -> Result<Vec<String>, ApiError> {
        let groups = self
            .client
            .list_groups()
            .user_pool_id(pool_id)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map(Op::ListGroupMembers, e))?;
        Ok(groups.into_iter().filter_map(|g| g.group_name).collect())
    }

    /// The user names in `group` (ListUsersInGroup, every page).
    pub async fn group_members(&self, pool_id: &str, group: &str) -> Result<Vec<String>, ApiError> {
        let members = self
            .client
            .list_users_in_group()
            .user_pool_id(pool_id)
            .group_name(group)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map(Op::ListGroupMembers, e))?;
        Ok(members.into_iter().filter_map(|u| u.username).collect())
    }

    /// Creates `user` again (AdminCreateUser, no message): their address, verified as it was,
    /// and their name. `Ok(false)` when the user name exists already: a user import came first,
    /// or the restore runs again.
    pub async fn admin_create_restored(
        &self,
        pool_id: &str,
        user: &Restored<'_>,
    ) -> Result<bool, ApiError> {
        let attribute = |name: &str, value: &str| {
            AttributeType::builder()
                .name(name)
                .value(value)
                .build()
                .map_err(|e| ApiError::internal(format_args!("an attribute: {e}")))
        };
        let mut attributes = Vec::new();
        if let Some(email) = user.email {
            attributes.push(attribute("email", email)?);
            let verified = if user.email_verified { "true" } else { "false" };
            attributes.push(attribute("email_verified", verified)?);
        }
        if let Some(name) = user.name {
            attributes.push(attribute("name", name)?);
        }
        let created = self
            .client
            .admin_create_user()
            .user_pool_id(pool_id)
            .username(user.username)
            .set_user_attributes(Some(attributes))
            .message_action(MessageActionType::Suppress)
            .send()
            .await;
        match created {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_username_exists_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(map(Op::AdminCreateUser, e)),
        }
    }

    /// A password nobody knows, from the OS CSPRNG and forgotten at once (AdminSetUserPassword,
    /// permanent): the user is confirmed, and signs in again after a reset by mail
    /// (`/forgot_password`).
    pub async fn admin_set_unknown_password(
        &self,
        pool_id: &str,
        username: &str,
    ) -> Result<(), ApiError> {
        const SYMBOLS: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#%+-=?@^_~";
        let random = random::string(SYMBOLS, 40).map_err(ApiError::internal)?;
        // Every class the pool's policy asks for, whatever the draw.
        let password = format!("{random}Aa1!");
        self.client
            .admin_set_user_password()
            .user_pool_id(pool_id)
            .username(username)
            .password(password)
            .permanent(true)
            .send()
            .await
            .map_err(|e| map(Op::AdminSetPassword, e))?;
        Ok(())
    }
}
