use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::operation::admin_delete_user::{
    AdminDeleteUserError, AdminDeleteUserOutput,
};
use aws_sdk_cognitoidentityprovider::operation::admin_get_user::{
    AdminGetUserError, AdminGetUserOutput,
};
use aws_sdk_cognitoidentityprovider::operation::list_users::{ListUsersError, ListUsersOutput};
use aws_sdk_cognitoidentityprovider::types::error::{
    TooManyRequestsException, UserNotFoundException,
};
use aws_sdk_cognitoidentityprovider::types::{UserStatusType, UserType};
use aws_smithy_mocks::{Rule, mock};
use aws_smithy_types::DateTime;
use serde_json::json;

use super::*;

const POOL: &str = "us-east-1_test";
/// The clock of every run here: 2027-01-15T08:00:00Z.
const NOW: i64 = 1_800_000_000;
/// Signed up two days before [`NOW`]: past the one-day limit.
const OLD: i64 = NOW - 48 * 3600;
/// Signed up an hour before [`NOW`].
const YOUNG: i64 = NOW - 3600;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW as u64)
}

/// The function over a mocked Cognito answering `rules` in order (any other call fails the
/// test), with a one-day limit, `max_deletions` a run, no pacing and [`NOW`] for its clock.
fn state(rules: &[&Rule], max_deletions: usize) -> State {
    State {
        cognito: test_support::cognito(rules),
        pool_id: POOL.into(),
        max_age: Duration::from_secs(24 * 3600),
        max_deletions,
        pace: Duration::ZERO,
        now,
    }
}

/// EventBridge's scheduled event.
fn scheduled() -> serde_json::Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2027-01-15T08:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/sweeper-hourly"],
        "detail": {}
    })
}

fn unconfirmed(name: &str, created: i64) -> UserType {
    UserType::builder()
        .username(name)
        .user_status(UserStatusType::Unconfirmed)
        .user_create_date(DateTime::from_secs(created))
        .enabled(true)
        .build()
}

/// ListUsers' page of `users`, for the page `token` names (the first: `None`), with `next`.
fn page(token: Option<&'static str>, users: Vec<UserType>, next: Option<&'static str>) -> Rule {
    mock!(Client::list_users)
        .match_requests(move |r| {
            r.user_pool_id() == Some(POOL)
                && r.filter() == Some("cognito:user_status = \"UNCONFIRMED\"")
                && r.limit() == Some(60)
                && r.pagination_token() == token
        })
        .then_output(move || {
            ListUsersOutput::builder()
                .set_users(Some(users.clone()))
                .set_pagination_token(next.map(str::to_owned))
                .build()
        })
}

/// AdminGetUser's answer for `name`: `status`, signed up at `created`.
fn read(name: &'static str, status: UserStatusType, created: i64) -> Rule {
    mock!(Client::admin_get_user)
        .match_requests(move |r| r.user_pool_id() == Some(POOL) && r.username() == Some(name))
        .then_output(move || {
            AdminGetUserOutput::builder()
                .username(name)
                .user_status(status.clone())
                .user_create_date(DateTime::from_secs(created))
                .enabled(true)
                .build()
                .unwrap()
        })
}

/// `name` read again, still unconfirmed and old.
fn still(name: &'static str) -> Rule {
    read(name, UserStatusType::Unconfirmed, OLD)
}

fn delete(name: &'static str) -> Rule {
    mock!(Client::admin_delete_user)
        .match_requests(move |r| r.user_pool_id() == Some(POOL) && r.username() == Some(name))
        .then_output(|| AdminDeleteUserOutput::builder().build())
}

#[tokio::test]
async fn only_the_unconfirmed_accounts_older_than_the_limit_are_deleted() {
    let listed = page(
        None,
        vec![
            unconfirmed("bot-1@example.com", OLD),
            unconfirmed("slow@example.com", YOUNG),
            unconfirmed("bot-2@example.com", OLD),
        ],
        None,
    );
    let rules = [
        listed,
        still("bot-1@example.com"),
        delete("bot-1@example.com"),
        still("bot-2@example.com"),
        delete("bot-2@example.com"),
    ];
    // In order: the young account is never read nor deleted.
    let state = state(&rules.iter().collect::<Vec<_>>(), 1000);
    let summary = handle(&state, scheduled()).await.unwrap();
    assert_eq!(
        serde_json::to_value(&summary).unwrap(),
        json!({"listed": 3, "deleted": 2, "kept_young": 1, "kept_confirmed": 0,
               "stopped_at_limit": false})
    );
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn every_page_is_followed() {
    let first = page(None, vec![unconfirmed("bot-1", OLD)], Some("page-2"));
    let second = page(
        Some("page-2"),
        vec![unconfirmed("young", YOUNG)],
        Some("page-3"),
    );
    let third = page(Some("page-3"), vec![unconfirmed("bot-2", OLD)], None);
    let rules = [
        first,
        still("bot-1"),
        delete("bot-1"),
        second,
        third,
        still("bot-2"),
        delete("bot-2"),
    ];
    let state = state(&rules.iter().collect::<Vec<_>>(), 1000);
    let summary = handle(&state, scheduled()).await.unwrap();
    assert_eq!(
        summary,
        Summary {
            listed: 3,
            deleted: 2,
            kept_young: 1,
            kept_confirmed: 0,
            stopped_at_limit: false
        }
    );
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn a_run_stops_at_its_limit_with_old_accounts_left_for_the_next() {
    let listed = page(
        None,
        vec![
            unconfirmed("bot-1", OLD),
            unconfirmed("bot-2", OLD),
            unconfirmed("bot-3", OLD),
        ],
        Some("page-2"),
    );
    let rules = [
        listed,
        still("bot-1"),
        delete("bot-1"),
        still("bot-2"),
        delete("bot-2"),
    ];
    // bot-3 is neither read nor deleted, and the next page is not listed.
    let state = state(&rules.iter().collect::<Vec<_>>(), 2);
    let summary = handle(&state, scheduled()).await.unwrap();
    assert_eq!((summary.deleted, summary.stopped_at_limit), (2, true));

    // The limit reached with nothing left is no stop.
    let listed = page(
        None,
        vec![unconfirmed("bot-1", OLD), unconfirmed("young", YOUNG)],
        None,
    );
    let rules = [listed, still("bot-1"), delete("bot-1")];
    let state = self::state(&rules.iter().collect::<Vec<_>>(), 1);
    let summary = handle(&state, scheduled()).await.unwrap();
    assert_eq!(
        (
            summary.deleted,
            summary.kept_young,
            summary.stopped_at_limit
        ),
        (1, 1, false)
    );
}

#[tokio::test]
async fn a_user_gone_already_counts_as_done() {
    let listed = page(
        None,
        vec![
            unconfirmed("gone-before", OLD),
            unconfirmed("gone-between", OLD),
        ],
        None,
    );
    // Gone when read again, or between the reading and the deletion.
    let not_there = mock!(Client::admin_get_user)
        .match_requests(|r| r.username() == Some("gone-before"))
        .then_error(|| {
            AdminGetUserError::UserNotFoundException(UserNotFoundException::builder().build())
        });
    let not_deleted = mock!(Client::admin_delete_user)
        .match_requests(|r| r.username() == Some("gone-between"))
        .then_error(|| {
            AdminDeleteUserError::UserNotFoundException(UserNotFoundException::builder().build())
        });
    let rules = [listed, not_there, still("gone-between"), not_deleted];
    let state = state(&rules.iter().collect::<Vec<_>>(), 1000);
    let summary = handle(&state, scheduled()).await.unwrap();
    assert_eq!((summary.listed, summary.deleted), (2, 2));
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn an_account_confirmed_since_its_listing_or_a_new_one_with_the_name_stays() {
    let listed = page(
        None,
        vec![unconfirmed("late", OLD), unconfirmed("renamed", OLD)],
        None,
    );
    let rules = [
        listed,
        read("late", UserStatusType::Confirmed, OLD),
        read("renamed", UserStatusType::Unconfirmed, YOUNG),
    ];
    // No deletion: no rule would answer one.
    let state = state(&rules.iter().collect::<Vec<_>>(), 1000);
    let summary = handle(&state, scheduled()).await.unwrap();
    assert_eq!(
        (summary.deleted, summary.kept_confirmed, summary.kept_young),
        (0, 1, 1)
    );
}

#[tokio::test]
async fn a_throttled_call_stops_the_run_with_an_error_and_the_deletions_made_stand() {
    let throttled = mock!(Client::list_users).then_error(|| {
        ListUsersError::TooManyRequestsException(TooManyRequestsException::builder().build())
    });
    let state = state(&[&throttled], 1000);
    let err = handle(&state, scheduled()).await.unwrap_err();
    assert_eq!(err.status().as_u16(), 429);
    assert_eq!(throttled.num_calls(), 1);

    let listed = page(
        None,
        vec![unconfirmed("bot-1", OLD), unconfirmed("bot-2", OLD)],
        None,
    );
    let refused = mock!(Client::admin_delete_user)
        .match_requests(|r| r.username() == Some("bot-2"))
        .then_error(|| {
            AdminDeleteUserError::TooManyRequestsException(
                TooManyRequestsException::builder().build(),
            )
        });
    let rules = [
        listed,
        still("bot-1"),
        delete("bot-1"),
        still("bot-2"),
        refused,
    ];
    let state = self::state(&rules.iter().collect::<Vec<_>>(), 1000);
    let err = handle(&state, scheduled()).await.unwrap_err();
    assert_eq!(err.status().as_u16(), 429);
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn deletions_are_paced() {
    let listed = page(
        None,
        vec![
            unconfirmed("bot-1", OLD),
            unconfirmed("bot-2", OLD),
            unconfirmed("bot-3", OLD),
        ],
        None,
    );
    let rules = [
        listed,
        still("bot-1"),
        delete("bot-1"),
        still("bot-2"),
        delete("bot-2"),
        still("bot-3"),
        delete("bot-3"),
    ];
    let mut state = state(&rules.iter().collect::<Vec<_>>(), 1000);
    state.pace = Duration::from_millis(60);
    let started = std::time::Instant::now();
    let summary = handle(&state, scheduled()).await.unwrap();
    assert_eq!(summary.deleted, 3);
    assert!(
        started.elapsed() >= 2 * state.pace,
        "{:?}",
        started.elapsed()
    );
    // Deployed: at most 5 a second.
    assert!(PACE >= Duration::from_millis(200));
}
