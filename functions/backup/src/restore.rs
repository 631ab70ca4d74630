//! Bringing an export back into an empty pool, the stack's own after it was replaced or made
//! anew. Cognito cannot take a password or a `sub` back, so each user is created again without
//! a message, with their address (verified as it was), their name, their groups and whether the
//! account was enabled, and with a password nobody knows: their first sign-in is a reset by
//! mail (`/forgot_password`, `/reset_password`). The tables know users by `sub`, which is new:
//! each book is given to its owner's new `sub`. TOTP secrets do not come back, so a restored
//! user's recovery codes are forgotten; they turn TOTP on again. Unconfirmed accounts are left
//! out (they could not sign in, and the sweeper would delete them).
//!
//! A user who exists already is not created again but gets the rest (groups, enabled, the
//! books): a restore may run again after a failure, or follow Cognito's own user import (a CSV
//! job, quicker for a large pool, whose users must reset their password likewise).

use std::collections::HashMap;
use std::time::Duration;

use platform::ApiError;
use serde::Serialize;
use tables::{Books, RecoveryCodes};

use crate::{ExportedUser, Manifest, VERSION};

/// Where an export is brought back to.
pub struct Target<'a> {
    pub cognito: &'a auth::Cognito,
    pub pool_id: &'a str,
    pub books: &'a Books,
    pub recovery: &'a RecoveryCodes,
    /// Users restored a second at most: each costs an AdminCreateUser (UserCreation, 50 a
    /// second) and an AdminSetUserPassword (UserAccountRecovery, 30 a second, shared with the
    /// users' own resets).
    pub per_second: u32,
}

/// What a restore did. `codes_forgotten` counts the users whose recovery codes were cleared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Restored {
    pub created: usize,
    /// Found in the pool already, and given the rest.
    pub existing: usize,
    pub skipped_unconfirmed: usize,
    /// User names another account holds in the pool: left alone.
    pub conflicts: usize,
    pub disabled: usize,
    pub memberships: usize,
    pub codes_forgotten: usize,
    pub books_moved: usize,
}

/// The export under `prefix` (`exports/<time>/`): its manifest and every user of its parts.
pub async fn read_export(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<(Manifest, Vec<ExportedUser>), ApiError> {
    let prefix = if prefix.ends_with('/') {
        prefix.to_owned()
    } else {
        format!("{prefix}/")
    };
    let manifest: Manifest =
        serde_json::from_slice(&get(s3, bucket, &format!("{prefix}manifest.json")).await?)
            .map_err(|e| ApiError::internal(format_args!("the manifest: {e}")))?;
    if manifest.version != VERSION {
        return Err(ApiError::internal(format_args!(
            "an export of version {}, this restore reads {VERSION}",
            manifest.version
        )));
    }
    let mut users = Vec::with_capacity(manifest.users);
    for part in &manifest.parts {
        let body = get(s3, bucket, part).await?;
        for (n, line) in body.split(|b| *b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            users
                .push(serde_json::from_slice(line).map_err(|e| {
                    ApiError::internal(format_args!("{part}, line {}: {e}", n + 1))
                })?);
        }
    }
    if users.len() != manifest.users {
        return Err(ApiError::internal(format_args!(
            "the parts hold {} users, the manifest {}",
            users.len(),
            manifest.users
        )));
    }
    Ok((manifest, users))
}

async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Vec<u8>, ApiError> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| crate::s3_failure("GetObject", key, &e))?;
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| crate::s3_failure("GetObject", key, &e))?;
    Ok(bytes.into_bytes().to_vec())
}

/// Brings `manifest`'s `users` back into `target`'s pool, then their books to their new `sub`s.
///
/// Refused before any user is touched: the export's own pool as the target (a restore is into
/// an empty pool, never over the live one), or a group of the export the target lacks.
///
/// A user name that exists in the target already is the same person only when it has the
/// export's address, verified, and is not unconfirmed (a CSV import, or an earlier run); any
/// other is someone who took the name meanwhile (sign-ups stay open during a restore) and is
/// left alone: no group, no book, counted in `conflicts`. A user found as the same person gets
/// the export's groups and disabled state again, and keeps recovery codes issued with an
/// authenticator set up in the target pool.
pub async fn restore(
    target: &Target<'_>,
    manifest: &Manifest,
    users: &[ExportedUser],
) -> Result<Restored, ApiError> {
    if manifest.pool_id == target.pool_id {
        return Err(ApiError::internal(format_args!(
            "the export is of {}, the pool to restore into: a restore goes into an empty pool",
            manifest.pool_id
        )));
    }
    let present = target.cognito.pool_groups(target.pool_id).await?;
    let missing: Vec<&String> = users
        .iter()
        .flat_map(|u| &u.groups)
        .filter(|g| !present.contains(g))
        .collect();
    if let Some(group) = missing.first() {
        return Err(ApiError::internal(format_args!(
            "the pool to restore into has no group {group}: create it first"
        )));
    }
    let mut done = Restored::default();
    let mut subs = HashMap::new();
    let pause = Duration::from_secs(1) / target.per_second.max(1);
    for user in users {
        if user.status.eq_ignore_ascii_case("UNCONFIRMED") {
            done.skipped_unconfirmed += 1;
            continue;
        }
        let started = tokio::time::Instant::now();
        if !restore_user(target, user, &mut done).await? {
            done.conflicts += 1;
            tracing::warn!(
                "a user name of the export belongs to another account in the pool: left alone"
            );
            continue;
        }
        let sub = target
            .cognito
            .admin_sub(target.pool_id, &user.username)
            .await?;
        subs.insert(user.sub.clone(), sub);
        tokio::time::sleep_until(started + pause).await;
    }
    done.books_moved = target.books.reassign_owners(&subs).await?;
    Ok(done)
}

/// One user: created (disabled first where they were), or found as the same person; then a
/// password nobody knows where they have none they could use, their groups, and their recovery
/// codes forgotten (no authenticator comes back) unless an authenticator is on in the target.
/// `false` for a name another account holds.
async fn restore_user(
    target: &Target<'_>,
    user: &ExportedUser,
    done: &mut Restored,
) -> Result<bool, ApiError> {
    let (cognito, pool) = (target.cognito, target.pool_id);
    let restored = auth::backup::Restored {
        username: &user.username,
        email: user.email.as_deref(),
        email_verified: user.email_verified,
        name: user.name.as_deref(),
    };
    // (whether to set the unknown password, whether their recovery codes are stale)
    let (needs_password, codes_stale) = if cognito.admin_create_restored(pool, &restored).await? {
        done.created += 1;
        (true, true)
    } else {
        let Some(found) = cognito.admin_user(pool, &user.username).await? else {
            return Ok(false);
        };
        let same_address = match (&found.email, &user.email) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        };
        let status = found.status.unwrap_or_default();
        if !same_address || !found.email_verified || status.eq_ignore_ascii_case("UNCONFIRMED") {
            return Ok(false);
        }
        done.existing += 1;
        (
            // Created by an earlier run that stopped before the password.
            status.eq_ignore_ascii_case("FORCE_CHANGE_PASSWORD"),
            // An authenticator on in this pool was set up here, after the loss: the codes it
            // came with are the user's current ones (a run again must not take them).
            found.totp_enabled != Some(true),
        )
    };
    // Disabled before anything else: a run that stops half-way leaves no banned account open.
    if !user.enabled {
        cognito
            .admin_set_enabled(pool, &user.username, false)
            .await?;
        done.disabled += 1;
    }
    if needs_password {
        cognito
            .admin_set_unknown_password(pool, &user.username)
            .await?;
    }
    for group in &user.groups {
        cognito
            .admin_set_group(pool, &user.username, group, true)
            .await?;
        done.memberships += 1;
    }
    if codes_stale {
        target.recovery.delete(&user.username).await?;
        done.codes_forgotten += 1;
    }
    Ok(true)
}
