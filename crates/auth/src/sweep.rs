//! The calls of the sweep of accounts nobody confirmed (`functions/sweeper`): the pool's
//! unconfirmed users a page at a time, each with the time it signed up, and their deletion.
//! The sweeper reads a user again before deleting it with [`Cognito::admin_user`].

use std::time::SystemTime;

use aws_sdk_cognitoidentityprovider::types::UserStatusType;
use platform::ApiError;

use crate::client::{Cognito, Op};
use crate::errors::map;

/// ListUsers' filter for the accounts that signed up and were never confirmed. Cognito reads
/// the status without regard to case; upper case is how it shows it.
pub const UNCONFIRMED_FILTER: &str = "cognito:user_status = \"UNCONFIRMED\"";

/// The most users a ListUsers page holds (Cognito's largest `Limit`).
pub const PAGE_SIZE: i32 = 60;

/// An account that signed up and was never confirmed, as ListUsers shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconfirmed {
    /// The user name, as the pool keeps it: often an e-mail address, so never above DEBUG in
    /// a log.
    pub username: String,
    /// When it signed up (`UserCreateDate`).
    pub created: SystemTime,
}

impl Cognito {
    /// One page of the pool's unconfirmed users (ListUsers with [`UNCONFIRMED_FILTER`],
    /// [`PAGE_SIZE`] a page) from `token` on, and the next page's token.
    ///
    /// A listed user that is not `UNCONFIRMED` is left out, so that a filter ignored (by an
    /// emulator, or a change of syntax) cannot make a confirmed account look deletable; so is
    /// one without a name or a creation date, which Cognito always gives and without which the
    /// account's age cannot be judged.
    pub async fn unconfirmed_users_page(
        &self,
        pool_id: &str,
        token: Option<&str>,
    ) -> Result<(Vec<Unconfirmed>, Option<String>), ApiError> {
        let out = self
            .client
            .list_users()
            .user_pool_id(pool_id)
            .filter(UNCONFIRMED_FILTER)
            .limit(PAGE_SIZE)
            .set_pagination_token(token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| map(Op::AdminListUsers, e))?;
        let users = out
            .users()
            .iter()
            .filter(|u| u.user_status() == Some(&UserStatusType::Unconfirmed))
            .filter_map(|u| {
                Some(Unconfirmed {
                    username: u.username()?.to_owned(),
                    created: SystemTime::try_from(*u.user_create_date()?).ok()?,
                })
            })
            .collect();
        Ok((users, out.pagination_token().map(str::to_owned)))
    }

    /// [`Cognito::admin_delete_user`] of an account the sweep found unconfirmed: `true` when
    /// this call deleted it, `false` when it was gone already (Cognito's
    /// UserNotFoundException, which [`map`] gives an administrator's call as
    /// [`ApiError::NotAuthorized`], as [`Cognito::admin_user`] reads it).
    pub async fn delete_unconfirmed(
        &self,
        pool_id: &str,
        username: &str,
    ) -> Result<bool, ApiError> {
        match self.admin_delete_user(pool_id, username).await {
            Ok(()) => Ok(true),
            Err(ApiError::NotAuthorized) => Ok(false),
            Err(other) => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_cognitoidentityprovider::Client;
    use aws_sdk_cognitoidentityprovider::operation::admin_delete_user::{
        AdminDeleteUserError, AdminDeleteUserOutput,
    };
    use aws_sdk_cognitoidentityprovider::operation::list_users::ListUsersOutput;
    use aws_sdk_cognitoidentityprovider::types::UserType;
    use aws_sdk_cognitoidentityprovider::types::error::{
        TooManyRequestsException, UserNotFoundException,
    };
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_types::DateTime;

    use super::*;
    use crate::AppClient;

    fn cognito(rules: &[&Rule]) -> Cognito {
        let client = mock_client!(aws_sdk_cognitoidentityprovider, RuleMode::Sequential, rules);
        let app = AppClient {
            client_id: "cid".into(),
            client_secret: None,
        };
        Cognito::with_client(client, app).unwrap()
    }

    fn user(name: &str, status: UserStatusType, created: i64) -> UserType {
        UserType::builder()
            .username(name)
            .user_status(status)
            .user_create_date(DateTime::from_secs(created))
            .build()
    }

    #[tokio::test]
    async fn a_page_holds_only_unconfirmed_users_with_their_sign_up_time_and_the_next_token() {
        let page = mock!(Client::list_users)
            .match_requests(|r| {
                r.user_pool_id() == Some("pool")
                    && r.filter() == Some(UNCONFIRMED_FILTER)
                    && r.limit() == Some(60)
                    && r.pagination_token() == Some("p2")
            })
            .then_output(|| {
                ListUsersOutput::builder()
                    .users(user("bot", UserStatusType::Unconfirmed, 1_000))
                    .users(user("alice", UserStatusType::Confirmed, 2_000))
                    .users(UserType::builder().username("undated").build())
                    .pagination_token("p3")
                    .build()
            });
        let (users, next) = cognito(&[&page])
            .unconfirmed_users_page("pool", Some("p2"))
            .await
            .unwrap();
        let created = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
        assert_eq!(
            users,
            vec![Unconfirmed {
                username: "bot".into(),
                created
            }]
        );
        assert_eq!(next.as_deref(), Some("p3"));
    }

    #[tokio::test]
    async fn a_user_gone_already_is_no_failure_but_a_throttled_deletion_is() {
        let gone = mock!(Client::admin_delete_user).then_error(|| {
            AdminDeleteUserError::UserNotFoundException(UserNotFoundException::builder().build())
        });
        let deleted = mock!(Client::admin_delete_user)
            .match_requests(|r| r.user_pool_id() == Some("pool") && r.username() == Some("bot"))
            .then_output(|| AdminDeleteUserOutput::builder().build());
        let throttled = mock!(Client::admin_delete_user).then_error(|| {
            AdminDeleteUserError::TooManyRequestsException(
                TooManyRequestsException::builder().build(),
            )
        });
        let cognito = cognito(&[&gone, &deleted, &throttled]);
        assert!(!cognito.delete_unconfirmed("pool", "bot").await.unwrap());
        assert!(cognito.delete_unconfirmed("pool", "bot").await.unwrap());
        let err = cognito.delete_unconfirmed("pool", "bot").await.unwrap_err();
        assert_eq!(err.status().as_u16(), 429);
    }
}
