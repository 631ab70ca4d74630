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

/// What a restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Restored {
    pub created: usize,
    /// Found in the pool already, and given the rest.
    pub existing: usize,
    pub skipped_unconfirmed: usize,
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
        .map_err(|e| {
            ApiError::unavailable(format_args!(
                "S3 GetObject {key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            ))
        })?;
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| ApiError::unavailable(format_args!("S3 GetObject {key}: {e}")))?;
    Ok(bytes.into_bytes().to_vec())
}

/// Brings `users` back into `target`'s pool, then their books to their new `sub`s.
pub async fn restore(target: &Target<'_>, users: &[ExportedUser]) -> Result<Restored, ApiError> {
    let mut done = Restored::default();
    let mut subs = HashMap::new();
    let pause = Duration::from_secs(1) / target.per_second.max(1);
    for user in users {
        if user.status.eq_ignore_ascii_case("UNCONFIRMED") {
            done.skipped_unconfirmed += 1;
            continue;
        }
        let started = tokio::time::Instant::now();
        let restored = auth::backup::Restored {
            username: &user.username,
            email: user.email.as_deref(),
            email_verified: user.email_verified,
            name: user.name.as_deref(),
        };
        if target
            .cognito
            .admin_create_restored(target.pool_id, &restored)
            .await?
        {
            target
                .cognito
                .admin_set_unknown_password(target.pool_id, &user.username)
                .await?;
            done.created += 1;
        } else {
            done.existing += 1;
        }
        for group in &user.groups {
            target
                .cognito
                .admin_set_group(target.pool_id, &user.username, group, true)
                .await?;
            done.memberships += 1;
        }
        if !user.enabled {
            target
                .cognito
                .admin_set_enabled(target.pool_id, &user.username, false)
                .await?;
            done.disabled += 1;
        }
        if user.totp_enabled {
            target.recovery.delete(&user.username).await?;
            done.codes_forgotten += 1;
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
