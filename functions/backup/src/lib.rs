//! The user export. Cognito keeps no backup of a user pool, and a pool replaced or deleted takes
//! every account with it. Once a day (the stack's schedule) this function writes every user of
//! the pool to the export bucket: the user name, the `sub` the tables know the user by, the
//! status, whether the account is enabled, the address and whether it was verified, the name,
//! when the account was made, the groups, and whether TOTP was on. Never a secret: Cognito gives
//! out no password hash or TOTP secret, and the recovery codes' hashes stay in their table.
//!
//! An export is `exports/<time>/users-00001.jsonl`, … (a user a line, [`PART_USERS`] a part),
//! then `exports/<time>/manifest.json`, written last: an export without its manifest did not
//! finish. [`restore`] brings one back into an empty pool.

use std::collections::{HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_s3::primitives::ByteStream;
use platform::{ApiError, BoxFuture};
use serde::{Deserialize, Serialize};
use tables::RecoveryCodes;

mod app;
pub mod restore;

pub use app::{app, s3_client};

/// Users a part of an export holds: a part stays a few megabytes.
pub const PART_USERS: usize = 10_000;

/// The export's format, in its manifest.
pub const VERSION: u32 = 1;

/// What the function works with, built once by [`app`].
pub struct State {
    pub cognito: auth::Cognito,
    pub pool_id: String,
    /// The users with TOTP on are the ones with recovery codes.
    pub recovery: RecoveryCodes,
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub now: fn() -> SystemTime,
}

/// A user as an export holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedUser {
    pub username: String,
    /// The id the tables know the user by (the books' owner, the sessions, the events).
    pub sub: String,
    /// Cognito's status: `CONFIRMED`, `UNCONFIRMED`, `RESET_REQUIRED`, `FORCE_CHANGE_PASSWORD`.
    pub status: String,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub email_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    pub groups: Vec<String>,
    pub totp_enabled: bool,
}

/// An export's table of contents, written after its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub pool_id: String,
    pub users: usize,
    /// The pool's groups, whether or not anyone is in them.
    pub groups: Vec<String>,
    /// The parts' keys, in order.
    pub parts: Vec<String>,
}

/// What one run wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exported {
    /// Where it is: `exports/<time>/`.
    pub prefix: String,
    pub users: usize,
    pub parts: usize,
}

/// One scheduled run: the whole pool, exported.
pub fn handle(
    state: &State,
    _event: serde_json::Value,
) -> BoxFuture<'_, Result<Exported, ApiError>> {
    Box::pin(async move {
        let exported = export(state).await?;
        tracing::info!(
            prefix = %exported.prefix,
            users = exported.users,
            parts = exported.parts,
            "users exported"
        );
        Ok(exported)
    })
}

/// Writes every user of the pool to the bucket, then the manifest.
pub async fn export(state: &State) -> Result<Exported, ApiError> {
    let ms = (state.now)()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let created_at = tables::audit::rfc3339(ms);
    let prefix = format!("exports/{created_at}/");
    let groups = state.cognito.pool_groups(&state.pool_id).await?;
    let mut membership: HashMap<String, Vec<String>> = HashMap::new();
    for group in &groups {
        for member in state.cognito.group_members(&state.pool_id, group).await? {
            membership.entry(member).or_default().push(group.clone());
        }
    }
    let totp: HashSet<String> = state.recovery.usernames().await?.into_iter().collect();

    let mut parts = Vec::new();
    let mut part = String::new();
    let mut in_part = 0;
    let mut users = 0;
    let mut token = None;
    loop {
        let page = state
            .cognito
            .admin_find_users(&state.pool_id, None, 60, token.as_deref())
            .await?;
        for user in page.users {
            let Some(sub) = user.sub else {
                return Err(ApiError::internal(format_args!(
                    "ListUsers gave a user without a sub ({} users in)",
                    users
                )));
            };
            let exported = ExportedUser {
                groups: membership.remove(&user.username).unwrap_or_default(),
                totp_enabled: totp.contains(&user.username),
                username: user.username,
                sub,
                status: user.status.unwrap_or_default(),
                enabled: user.enabled,
                email: user.email,
                email_verified: user.email_verified,
                name: user.name,
                created_at: user.created_at,
            };
            let line = serde_json::to_string(&exported).map_err(ApiError::internal)?;
            part.push_str(&line);
            part.push('\n');
            in_part += 1;
            users += 1;
            if in_part == PART_USERS {
                parts.push(put_part(state, &prefix, parts.len() + 1, &mut part).await?);
                in_part = 0;
            }
        }
        match page.next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    if in_part > 0 || parts.is_empty() {
        parts.push(put_part(state, &prefix, parts.len() + 1, &mut part).await?);
    }
    let manifest = Manifest {
        version: VERSION,
        created_at,
        pool_id: state.pool_id.clone(),
        users,
        groups,
        parts: parts.clone(),
    };
    let body = serde_json::to_vec_pretty(&manifest).map_err(ApiError::internal)?;
    put(
        state,
        &format!("{prefix}manifest.json"),
        body,
        "application/json",
    )
    .await?;
    Ok(Exported {
        prefix,
        users,
        parts: parts.len(),
    })
}

/// Writes `part` as the `n`th part and empties it; returns its key.
async fn put_part(
    state: &State,
    prefix: &str,
    n: usize,
    part: &mut String,
) -> Result<String, ApiError> {
    let key = format!("{prefix}users-{n:05}.jsonl");
    put(
        state,
        &key,
        std::mem::take(part).into_bytes(),
        "application/x-ndjson",
    )
    .await?;
    Ok(key)
}

async fn put(state: &State, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), ApiError> {
    state
        .s3
        .put_object()
        .bucket(&state.bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| s3_failure("PutObject", key, &e))?;
    Ok(())
}

/// S3 failed `operation` on `key`: a dependency that failed, with the SDK's whole cause.
pub(crate) fn s3_failure(operation: &str, key: &str, e: &dyn std::error::Error) -> ApiError {
    ApiError::unavailable(format_args!(
        "S3 {operation} {key}: {}",
        aws_sdk_s3::error::DisplayErrorContext(e)
    ))
}

#[cfg(test)]
mod tests;
