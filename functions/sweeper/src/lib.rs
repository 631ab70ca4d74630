//! Accounts nobody confirmed, deleted once they are older than a limit. Cognito bills every
//! account that signed up in a month as a monthly active user, confirmed or not, so a bot on
//! `POST /register` runs up the bill with accounts nobody will confirm. An EventBridge schedule
//! invokes this function (hourly); the event carries nothing it needs.
//!
//! Each run lists the pool's unconfirmed users (ListUsers filtered on
//! `cognito:user_status = "UNCONFIRMED"`, 60 a page, page after page) and deletes each that
//! signed up (`UserCreateDate`) more than `UNCONFIRMED_MAX_AGE_HOURS` ago. Each is read again
//! just before (AdminGetUser): the listing is seconds old by then, and an account its owner
//! confirmed meanwhile stays. A user gone already counts as done.
//!
//! AdminDeleteUser shares Cognito's UserUpdate quota (25 requests a second, not adjustable)
//! with the users' own account changes. Deletions are paced to at most 5 a second ([`PACE`]),
//! and one run makes at most `SWEEP_MAX_DELETIONS` (1000 by default: 200 seconds); the next
//! run goes on where it stopped (`stopped_at_limit`).
//!
//! A throttled or failed call stops the run with an error: Lambda tries the event again, and
//! the next run carries on; the deletions made stand. The run's counts are one INFO line; the
//! names of deleted users, which may be e-mail addresses, go to DEBUG only.

mod app;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth::sweep::Unconfirmed;
use platform::{ApiError, BoxFuture};
use serde::Serialize;
use tokio::time::Instant;

pub use crate::app::app;

/// The least time between two deletions: at most 5 a second, a fifth of the UserUpdate
/// quota.
pub const PACE: Duration = Duration::from_millis(200);

/// What the function works with, built once at start-up ([`app`]).
#[derive(Debug, Clone)]
pub struct State {
    pub cognito: auth::Cognito,
    /// `COGNITO_USER_POOL_ID`.
    pub pool_id: String,
    /// `UNCONFIRMED_MAX_AGE_HOURS`: an unconfirmed account older than this goes.
    pub max_age: Duration,
    /// `SWEEP_MAX_DELETIONS`: the most deletions a run makes.
    pub max_deletions: usize,
    /// The least time between two deletions: [`PACE`] (tests: none).
    pub pace: Duration,
    /// The clock: `SystemTime::now`; a test's runs ahead.
    pub now: fn() -> SystemTime,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Unconfirmed accounts listed.
    pub listed: usize,
    /// Accounts deleted, or found gone already.
    pub deleted: usize,
    /// Accounts younger than the limit, left for a later run.
    pub kept_young: usize,
    /// Accounts confirmed between their listing and their deletion, kept.
    pub kept_confirmed: usize,
    /// The run stopped at `SWEEP_MAX_DELETIONS` with an old account left: the next run goes on.
    pub stopped_at_limit: bool,
}

/// What became of one old unconfirmed account.
enum Fate {
    Deleted,
    /// Confirmed since it was listed.
    Confirmed,
    /// Younger than the limit when read again: the name is another account's now.
    Young,
}

/// One run: every unconfirmed account older than the limit deleted, up to the run's limit.
/// `Err` when a call failed: Lambda tries again, and the deletions made stand. The scheduled
/// event is not read.
pub fn handle(
    state: &State,
    _event: serde_json::Value,
) -> BoxFuture<'_, Result<Summary, ApiError>> {
    Box::pin(async move {
        let mut summary = Summary::default();
        let swept = sweep(state, &mut summary).await;
        let Summary {
            listed,
            deleted,
            kept_young,
            kept_confirmed,
            stopped_at_limit,
        } = summary;
        tracing::info!(
            listed,
            deleted,
            kept_young,
            kept_confirmed,
            stopped_at_limit,
            finished = swept.is_ok(),
            "unconfirmed accounts swept"
        );
        swept.map(|()| summary)
    })
}

async fn sweep(state: &State, summary: &mut Summary) -> Result<(), ApiError> {
    let cutoff = (state.now)()
        .checked_sub(state.max_age)
        .unwrap_or(UNIX_EPOCH);
    let mut last_deletion: Option<Instant> = None;
    let mut token = None;
    loop {
        let (users, next) = (state.cognito)
            .unconfirmed_users_page(&state.pool_id, token.as_deref())
            .await?;
        summary.listed += users.len();
        for user in users {
            if user.created >= cutoff {
                summary.kept_young += 1;
                continue;
            }
            if summary.deleted >= state.max_deletions {
                summary.stopped_at_limit = true;
                return Ok(());
            }
            if let Some(last) = last_deletion {
                tokio::time::sleep_until(last + state.pace).await;
            }
            last_deletion = Some(Instant::now());
            match delete(state, &user, cutoff).await? {
                Fate::Deleted => summary.deleted += 1,
                Fate::Confirmed => summary.kept_confirmed += 1,
                Fate::Young => summary.kept_young += 1,
            }
        }
        match next {
            Some(next) => token = Some(next),
            None => return Ok(()),
        }
    }
}

/// Deletes `user`, listed as unconfirmed and signed up before `cutoff`, once read again and
/// found so still.
async fn delete(state: &State, user: &Unconfirmed, cutoff: SystemTime) -> Result<Fate, ApiError> {
    let pool = &state.pool_id;
    let Some(current) = state.cognito.admin_user(pool, &user.username).await? else {
        tracing::debug!(username = %user.username, "an unconfirmed account gone already");
        return Ok(Fate::Deleted);
    };
    if current.status.as_deref() != Some("UNCONFIRMED") {
        return Ok(Fate::Confirmed);
    }
    let created = (current.created_at)
        .and_then(|secs| u64::try_from(secs).ok())
        .map(|secs| UNIX_EPOCH + Duration::from_secs(secs));
    if created.is_none_or(|created| created >= cutoff) {
        return Ok(Fate::Young);
    }
    if state
        .cognito
        .delete_unconfirmed(pool, &user.username)
        .await?
    {
        tracing::debug!(username = %user.username, "an unconfirmed account deleted");
    } else {
        tracing::debug!(username = %user.username, "an unconfirmed account gone already");
    }
    Ok(Fate::Deleted)
}

#[cfg(test)]
mod tests;
