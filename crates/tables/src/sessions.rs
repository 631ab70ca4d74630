//! The sessions table: one record per sign-in, the only proof that a session is live. API
//! Gateway's Cognito authorizer checks a token's signature and expiry only, so a signed-out
//! session's tokens would keep working until they expire; here a token is accepted only while
//! its session's record exists, and a sign-out, a deletion or a detected theft deletes it.
//!
//! Items (`pk`, `sk`):
//!
//! - `(<sub>, session#<id>)`: a session. `id` is [`session_id`] of the sign-in's `origin_jti`
//!   (every token of one sign-in carries it), so [`Sessions::is_live`] finds it from the
//!   caller's claims with one consistent GetItem. It holds when and how the user signed in,
//!   from which address and device, when it was last refreshed, the hash of its newest refresh
//!   token (`refresh`) and that token sealed (`sealed`: encrypted by the caller, so that an
//!   ending can revoke it at Cognito), and expires (TTL) with the refresh token,
//!   [`SESSION_LIFETIME`] after the sign-in.
//! - `(<sub>, session#<alias>)` with `alias_of`: where a refresh issued tokens with another
//!   `origin_jti`, that one's id, pointing at the session, for as long as those tokens live.
//! - `(refresh#<hash>, refresh)`: a refresh token the session was given: `current`, or
//!   `spent` (exchanged, or superseded by a newer one) with when. `/refresh` finds its session
//!   here by the hash alone, and a spent token presented again after the grace period is a
//!   reuse. Tokens are stored as SHA-256 only, never in plain form.
//!
//! Ending a session deletes the session, its aliases and its current refresh token at once
//! (one transaction): its tokens are refused from the next request on, and its refresh token
//! at `/refresh`. A session that starts later has a record of its own, which no earlier
//! sign-out touches.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use platform::{ApiError, BoxFuture, Caller, ConfigError, Env, LiveSession, Revocations};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::epoch_seconds as now;
use crate::error::failure;

/// The longest an id or access token lives: `template.yaml`'s `IdTokenValidity` and
/// `AccessTokenValidity` (a test holds them equal).
pub const LONGEST_TOKEN: Duration = Duration::from_secs(60 * 60);
/// How long a session's record lives: `template.yaml`'s `RefreshTokenValidity` (30 days; a test
/// holds them equal). Rotation does not extend it: a session signs in again after 30 days.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// Clocks differ a little: an alias outlives the tokens it admits by this much.
const MARGIN: Duration = Duration::from_secs(5 * 60);
/// How many times a refresh or an ending is tried when another changed the session between
/// its read and its write.
const ATTEMPTS: usize = 5;
/// The most aliases a session holds at once (tokens of another `origin_jti` issued within the
/// hour): a refresh past it is refused (429), so that an ending stays one transaction (at most
/// 100 items).
pub const MAX_ALIASES: usize = 20;

/// How a session signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    /// The password alone (also a new password replacing a temporary one).
    Password,
    /// The password and the authenticator app's code.
    Totp,
    /// The password and a recovery code.
    RecoveryCode,
    /// A passkey.
    Passkey,
    /// A code mailed to the user's address.
    EmailCode,
}

impl SignInMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::Password => "password",
            SignInMethod::Totp => "totp",
            SignInMethod::RecoveryCode => "recovery_code",
            SignInMethod::Passkey => "passkey",
            SignInMethod::EmailCode => "email_code",
        }
    }
}

/// The id of the session whose tokens carry `origin_jti`: a digest, so that the id a session
/// list shows is no token identifier.
pub fn session_id(origin_jti: &str) -> String {
    let digest = Sha256::digest(origin_jti.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// How a refresh token is stored: its SHA-256, never the token.
fn token_hash(refresh_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(refresh_token.as_bytes()))
}

/// A new session, as a sign-in gives it.
#[derive(Clone, Copy)]
pub struct NewSession<'a> {
    pub sub: &'a str,
    pub origin_jti: &'a str,
    pub refresh_token: &'a str,
    /// The refresh token sealed for this session's record ([`NewSession::sealed_for`]), kept to
    /// revoke it when the session ends; never the token in plain form.
    pub sealed: Option<&'a str>,
    pub method: SignInMethod,
    pub ip: Option<&'a str>,
    pub device: Option<&'a str>,
}

impl NewSession<'_> {
    /// What a sealed refresh token of the session `id` of `sub` is bound to.
    pub fn sealed_for(sub: &str, id: &str) -> String {
        format!("{sub}/{id}")
    }
}

/// What an ending leaves to do outside the table: the session's current refresh token, sealed,
/// to revoke at Cognito.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub sub: String,
    pub id: String,
    pub sealed: Option<String>,
}

/// What an ending of several sessions did: the sessions it ended, and its first failure.
#[derive(Debug, Default)]
pub struct EndedAll {
    pub ended: Vec<Ended>,
    pub failed: Option<ApiError>,
}

impl EndedAll {
    /// The sessions ended, or the failure (for callers that end the rest elsewhere).
    pub fn into_result(self) -> Result<Vec<Ended>, ApiError> {
        match self.failed {
            Some(e) => Err(e),
            None => Ok(self.ended),
        }
    }
}

/// A session, as `GET /me/sessions` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    pub id: String,
    /// When it signed in, and when it last refreshed its tokens (seconds since the epoch).
    pub started_at: u64,
    pub last_refreshed_at: u64,
    pub method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The session of the request that lists it.
    pub current: bool,
    /// The ids its tokens may carry besides `id` (aliases), for [`Session::current`].
    #[serde(skip)]
    aliases: Vec<String>,
}

/// A refresh token's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    pub sub: String,
    pub session: String,
    /// When it was issued: the session's last refresh (or its sign-in) when it is the current.
    pub issued_at: u64,
    /// When it was exchanged or superseded; `None` while it is the session's current.
    pub spent_at: Option<u64>,
    hash: String,
}

/// The sessions table of a function.
#[derive(Debug, Clone)]
pub struct Sessions {
    client: Client,
    table: String,
}

/// `SESSIONS_TABLE`, read once at start-up.
pub fn table_from_env(env: &Env) -> Result<String, ConfigError> {
    Ok(env.require(&["SESSIONS_TABLE"])?.to_owned())
}

type Item = HashMap<String, AttributeValue>;

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn number(item: &Item, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Whether a record is still within its lifetime: DynamoDB deletes expired items lazily (within
/// days), so a read may still find one.
fn unexpired(item: &Item) -> bool {
    number(item, "expires_at").is_none_or(|at| at > now())
}

fn session_key(sub: &str, id: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(sub)),
        ("sk".to_owned(), s(format!("session#{id}"))),
    ])
}

fn refresh_key(hash: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(format!("refresh#{hash}"))),
        ("sk".to_owned(), s("refresh")),
    ])
}

/// The ids of a session's aliases (the map `aliases`: id → when it was made).
fn aliases(item: &Item) -> Vec<(String, u64)> {
    match item.get("aliases") {
        Some(AttributeValue::M(map)) => map
            .iter()
            .map(|(id, at)| {
                (
                    id.clone(),
                    at.as_n().ok().and_then(|n| n.parse().ok()).unwrap_or(0),
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a transaction was cancelled by a condition or by a conflict with another request
/// on the same items (another request changed the session): worth reading again.
fn cancelled(err: &TransactWriteItemsError) -> bool {
    match err {
        TransactWriteItemsError::TransactionCanceledException(e) => {
            e.cancellation_reasons().iter().any(|r| {
                matches!(
                    r.code(),
                    Some("ConditionalCheckFailed" | "TransactionConflict")
                )
            })
        }
        _ => false,
    }
}

/// A pause before attempt `attempt` (from 1) of a write that met another: 10, 20, 40 ms and so
/// on, with up to as much again at random, so that two writers do not meet again.
async fn backoff(attempt: usize) {
    let base = 10u64 << attempt.min(6);
    let jitter = platform::random::bytes::<1>().map_or(0, |b| u64::from(b[0])) * base / 255;
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

impl Sessions {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    /// Records the session a sign-in began, with its refresh token (hashed): both or neither.
    /// Returns the session's id.
    pub async fn start(&self, new: NewSession<'_>) -> Result<String, ApiError> {
        let id = session_id(new.origin_jti);
        let at = now();
        let expires = at + SESSION_LIFETIME.as_secs();
        let hash = token_hash(new.refresh_token);
        let mut session = session_key(new.sub, &id);
        session.extend([
            ("started_at".to_owned(), n(at)),
            ("refreshed_at".to_owned(), n(at)),
            ("method".to_owned(), s(new.method.as_str())),
            ("refresh".to_owned(), s(hash.clone())),
            ("expires_at".to_owned(), n(expires)),
        ]);
        if let Some(ip) = new.ip {
            session.insert("ip".to_owned(), s(ip));
        }
        if let Some(device) = new.device {
            session.insert("device".to_owned(), s(device));
        }
        if let Some(sealed) = new.sealed {
            session.insert("sealed".to_owned(), s(sealed));
        }
        let mut token = refresh_key(&hash);
        token.extend([
            ("sub".to_owned(), s(new.sub)),
            ("session".to_owned(), s(id.clone())),
            ("issued_at".to_owned(), n(at)),
            ("expires_at".to_owned(), n(expires)),
        ]);
        self.client
            .transact_write_items()
            .transact_items(put(&self.table, session, Some("attribute_not_exists(pk)"))?)
            .transact_items(put(&self.table, token, None)?)
            .send()
            .await
            .map_err(|e| failure("DynamoDB TransactWriteItems (sessions: sign-in)", e))?;
        Ok(id)
    }

    /// The caller's session, if it is live: one consistent GetItem of its record (or alias),
    /// with when it signed in. The check fails closed: a table that cannot be read refuses the
    /// request (429, 500 or 503).
    pub async fn live(&self, caller: &Caller) -> Result<Option<LiveSession>, ApiError> {
        let Some(jti) = caller.origin_jti() else {
            return Ok(None);
        };
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(session_key(caller.sub(), &session_id(jti))))
            .projection_expression("started_at, expires_at")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failure("DynamoDB GetItem (sessions)", e))?;
        Ok(out.item.filter(unexpired).map(|item| LiveSession {
            signed_in_at: number(&item, "started_at"),
        }))
    }

    /// The caller's session's id (the session an alias points at), if it is live.
    pub async fn current(&self, caller: &Caller) -> Result<Option<String>, ApiError> {
        let Some(jti) = caller.origin_jti() else {
            return Ok(None);
        };
        let id = session_id(jti);
        let Some(item) = self.read(caller.sub(), &id).await? else {
            return Ok(None);
        };
        Ok(Some(text(&item, "alias_of").unwrap_or(id)))
    }

    async fn read(&self, sub: &str, id: &str) -> Result<Option<Item>, ApiError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(session_key(sub, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failure("DynamoDB GetItem (sessions)", e))?;
        Ok(out.item)
    }

    /// Every live session of `sub`, newest first; `current` marks the caller's.
    pub async fn list(&self, sub: &str, caller: Option<&Caller>) -> Result<Vec<Session>, ApiError> {
        let own = caller.and_then(Caller::origin_jti).map(session_id);
        let mut sessions: Vec<Session> = self
            .records(sub)
            .await?
            .iter()
            .filter(|item| !item.contains_key("alias_of") && unexpired(item))
            .filter_map(|item| {
                let id = text(item, "sk")?.strip_prefix("session#")?.to_owned();
                let started_at = number(item, "started_at")?;
                let aliases = aliases(item).into_iter().map(|(id, _)| id).collect();
                Some(Session {
                    id,
                    started_at,
                    last_refreshed_at: number(item, "refreshed_at").unwrap_or(started_at),
                    method: text(item, "method").unwrap_or_default(),
                    ip: text(item, "ip"),
                    device: text(item, "device"),
                    current: false,
                    aliases,
                })
            })
            .collect();
        for session in &mut sessions {
            session.current = own
                .as_ref()
                .is_some_and(|own| &session.id == own || session.aliases.contains(own));
        }
        sessions.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(a.id.cmp(&b.id)));
        Ok(sessions)
    }

    /// The user's session records and aliases, every page, read consistently.
    async fn records(&self, sub: &str) -> Result<Vec<Item>, ApiError> {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :sub AND begins_with(sk, :session)")
            .expression_attribute_values(":sub", s(sub))
            .expression_attribute_values(":session", s("session#"))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| failure("DynamoDB Query (sessions)", e))
    }

    /// Ends the session `id` of `sub` at once: its record, its aliases and its current refresh
    /// token, in one transaction, whatever refreshes run meanwhile (a thief refreshing in a loop
    /// cannot keep it alive: the ending does not wait for the session to hold still, and a
    /// refresh that comes after it finds no session and fails). Aliases a refresh added between
    /// the read and the ending are swept after it. `None` when there is no such live session
    /// (another user's, an alias, or one ended already).
    pub async fn end(&self, sub: &str, id: &str) -> Result<Option<Ended>, ApiError> {
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
            }
            let Some(item) = self.read(sub, id).await? else {
                return Ok(None);
            };
            if item.contains_key("alias_of") {
                return Ok(None);
            }
            let refresh = text(&item, "refresh").unwrap_or_default();
            let session = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(session_key(sub, id)))
                .condition_expression("attribute_exists(pk)")
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::None)
                .build()
                .map_err(ApiError::internal)?;
            let mut call = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().delete(session).build());
            for (alias, _) in aliases(&item) {
                call = call.transact_items(delete(&self.table, session_key(sub, &alias))?);
            }
            if !refresh.is_empty() {
                call = call.transact_items(delete(&self.table, refresh_key(&refresh))?);
            }
            match call.send().await {
                Ok(_) => {
                    // The ending stands: a sweep that fails leaves aliases that expire within
                    // the hour, and is logged.
                    if let Err(e) = self.sweep_aliases(sub, id).await {
                        tracing::warn!(
                            error = e.code(),
                            cause = e.cause().map(tracing::field::display),
                            "the aliases of an ended session could not be swept"
                        );
                    }
                    return Ok(Some(Ended {
                        sub: sub.to_owned(),
                        id: id.to_owned(),
                        sealed: text(&item, "sealed"),
                    }));
                }
                // Ended by another request meanwhile, or in conflict with a refresh: read again.
                Err(e) if e.as_service_error().is_some_and(cancelled) => last = Some(e),
                Err(e) => return Err(failure("DynamoDB TransactWriteItems (sessions: end)", e)),
            }
        }
        Err(match last {
            Some(e) => failure("DynamoDB TransactWriteItems (sessions: end)", e),
            None => ApiError::unavailable("DynamoDB TransactWriteItems (sessions: end)"),
        })
    }

    /// Deletes the aliases left pointing at the ended session `id` (a refresh that committed
    /// between an ending's read and its transaction).
    async fn sweep_aliases(&self, sub: &str, id: &str) -> Result<(), ApiError> {
        for item in self.records(sub).await? {
            if text(&item, "alias_of").as_deref() != Some(id) {
                continue;
            }
            let Some(key) = text(&item, "sk") else {
                continue;
            };
            let key = HashMap::from([("pk".to_owned(), s(sub)), ("sk".to_owned(), s(key))]);
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .send()
                .await
                .map_err(|e| failure("DynamoDB DeleteItem (sessions: alias)", e))?;
        }
        Ok(())
    }

    /// Ends every live session of `sub` but `except` (the caller's, where it keeps its own):
    /// those that exist now; one that starts meanwhile is not touched. Every session is tried,
    /// whatever fails: the answer has those it ended, and the first failure.
    pub async fn end_all(&self, sub: &str, except: Option<&str>) -> EndedAll {
        self.end_where(sub, except, None).await
    }

    /// Ends every live session of `sub` that started at or before `cutoff` (epoch seconds):
    /// those an action taken then could have meant, not one a sign-in began since.
    pub async fn end_started_by(&self, sub: &str, cutoff: u64) -> EndedAll {
        self.end_where(sub, None, Some(cutoff)).await
    }

    async fn end_where(&self, sub: &str, except: Option<&str>, cutoff: Option<u64>) -> EndedAll {
        let mut all = EndedAll::default();
        let records = match self.records(sub).await {
            Ok(records) => records,
            Err(e) => {
                all.failed = Some(e);
                return all;
            }
        };
        for item in records {
            if item.contains_key("alias_of") {
                continue;
            }
            let Some(id) =
                text(&item, "sk").and_then(|k| k.strip_prefix("session#").map(str::to_owned))
            else {
                continue;
            };
            if Some(id.as_str()) == except {
                continue;
            }
            let started = number(&item, "started_at").unwrap_or(0);
            if cutoff.is_some_and(|cutoff| started > cutoff) {
                continue;
            }
            match self.end(sub, &id).await {
                Ok(Some(one)) => all.ended.push(one),
                Ok(None) => {}
                Err(e) => {
                    all.failed.get_or_insert(e);
                }
            }
        }
        all
    }

    /// The record of `refresh_token`, found by its hash; `None` for a token this table never
    /// gave, or whose session has ended.
    pub async fn refresh_token(
        &self,
        refresh_token: &str,
    ) -> Result<Option<RefreshRecord>, ApiError> {
        let hash = token_hash(refresh_token);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(refresh_key(&hash)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failure("DynamoDB GetItem (sessions: refresh token)", e))?;
        let Some(item) = out.item.filter(unexpired) else {
            return Ok(None);
        };
        let (Some(sub), Some(session), Some(issued_at)) = (
            text(&item, "sub"),
            text(&item, "session"),
            number(&item, "issued_at"),
        ) else {
            return Ok(None);
        };
        Ok(Some(RefreshRecord {
            sub,
            session,
            issued_at,
            spent_at: number(&item, "spent_at"),
            hash,
        }))
    }

    /// Records a refresh of `old`'s session: `new_token` becomes its current refresh token,
    /// `old` and the one it replaces are spent (from now, unless spent already), and tokens that
    /// carry another `origin_jti` than the session's get an alias. `false` when the session has
    /// ended meanwhile: the new tokens must then be revoked.
    pub async fn rotate(
        &self,
        old: &RefreshRecord,
        new_token: &str,
        new_sealed: Option<&str>,
        new_origin_jti: &str,
    ) -> Result<bool, ApiError> {
        let new_hash = token_hash(new_token);
        let alias = session_id(new_origin_jti);
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
            }
            let Some(item) = self.read(&old.sub, &old.session).await? else {
                return Ok(false);
            };
            // The same new token again (an answer Cognito repeated): recorded already.
            if text(&item, "refresh").as_deref() == Some(new_hash.as_str()) {
                return Ok(true);
            }
            let at = now();
            let expires = number(&item, "expires_at").unwrap_or(at + SESSION_LIFETIME.as_secs());
            let current = text(&item, "refresh").unwrap_or_default();
            // Aliases whose tokens have expired are dropped from the session (their items expire
            // by themselves).
            let stale: Vec<String> = aliases(&item)
                .into_iter()
                .filter(|(_, made)| made + (LONGEST_TOKEN + MARGIN).as_secs() < at)
                .map(|(id, _)| id)
                .collect();
            let mut update = String::from("SET #refresh = :new, refreshed_at = :at");
            let mut names = HashMap::from([("#refresh".to_owned(), "refresh".to_owned())]);
            let mut values = HashMap::from([
                (":new".to_owned(), s(new_hash.clone())),
                (":at".to_owned(), n(at)),
                (":current".to_owned(), s(current.clone())),
            ]);
            if let Some(sealed) = new_sealed {
                update.push_str(", sealed = :sealed");
                values.insert(":sealed".to_owned(), s(sealed));
            }
            let new_alias = alias != old.session;
            let live_aliases = aliases(&item).len() - stale.len();
            if new_alias && live_aliases >= MAX_ALIASES {
                return Err(ApiError::TooManyRequests { retry_after: 60 });
            }
            if new_alias {
                if item.contains_key("aliases") {
                    update.push_str(", aliases.#alias = :at");
                    names.insert("#alias".to_owned(), alias.clone());
                } else {
                    update.push_str(", aliases = :first");
                    values.insert(
                        ":first".to_owned(),
                        AttributeValue::M(HashMap::from([(alias.clone(), n(at))])),
                    );
                }
            }
            let removed: Vec<String> = stale
                .iter()
                .filter(|id| **id != alias)
                .enumerate()
                .map(|(i, id)| {
                    names.insert(format!("#stale{i}"), id.clone());
                    format!("aliases.#stale{i}")
                })
                .collect();
            if !removed.is_empty() {
                update.push_str(&format!(" REMOVE {}", removed.join(", ")));
            }
            let session = Update::builder()
                .table_name(&self.table)
                .set_key(Some(session_key(&old.sub, &old.session)))
                .update_expression(update)
                .condition_expression("#refresh = :current")
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .build()
                .map_err(ApiError::internal)?;
            let mut token = refresh_key(&new_hash);
            token.extend([
                ("sub".to_owned(), s(old.sub.clone())),
                ("session".to_owned(), s(old.session.clone())),
                ("issued_at".to_owned(), n(at)),
                ("expires_at".to_owned(), n(expires)),
            ]);
            let mut call = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(session).build())
                .transact_items(put(&self.table, token, None)?)
                .transact_items(spend(&self.table, &old.hash, at)?);
            if !current.is_empty() && current != old.hash {
                call = call.transact_items(spend(&self.table, &current, at)?);
            }
            if new_alias {
                let mut pointer = session_key(&old.sub, &alias);
                if let Some(started) = item.get("started_at") {
                    pointer.insert("started_at".to_owned(), started.clone());
                }
                pointer.extend([
                    ("alias_of".to_owned(), s(old.session.clone())),
                    (
                        "expires_at".to_owned(),
                        n(at + (LONGEST_TOKEN + MARGIN).as_secs()),
                    ),
                ]);
                call = call.transact_items(put(&self.table, pointer, None)?);
            }
            match call.send().await {
                Ok(_) => return Ok(true),
                Err(e) if e.as_service_error().is_some_and(cancelled) => last = Some(e),
                Err(e) => {
                    return Err(failure(
                        "DynamoDB TransactWriteItems (sessions: refresh)",
                        e,
                    ));
                }
            }
        }
        Err(match last {
            Some(e) => failure("DynamoDB TransactWriteItems (sessions: refresh)", e),
            None => ApiError::unavailable("DynamoDB TransactWriteItems (sessions: refresh)"),
        })
    }

    /// Opens the table's connection during start-up, so that the first protected request's
    /// check pays no handshake: one GetItem of a session that is none.
    pub async fn prewarm(&self, settings: &platform::sdk::SdkSettings) {
        let call = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(session_key("prewarm", "prewarm")))
            .customize()
            .config_override(
                aws_sdk_dynamodb::config::Config::builder()
                    .retry_config(platform::sdk::no_retries()),
            )
            .send();
        platform::sdk::prewarm(settings, "DynamoDB (sessions)", call).await;
    }
}

fn put(table: &str, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, ApiError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_owned))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn delete(table: &str, key: Item) -> Result<TransactWriteItem, ApiError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// Marks the refresh token `hash` spent at `at`, unless it was already (its first spending
/// starts the grace period).
fn spend(table: &str, hash: &str, at: u64) -> Result<TransactWriteItem, ApiError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(refresh_key(hash)))
        .update_expression("SET spent_at = if_not_exists(spent_at, :at)")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":at", n(at))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

impl Revocations for Sessions {
    fn check<'a>(&'a self, caller: &'a Caller) -> BoxFuture<'a, Result<LiveSession, ApiError>> {
        Box::pin(async move { self.live(caller).await?.ok_or(ApiError::TokenRevoked) })
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_smithy_mocks::{mock, mock_client};
    use serde_json::json;

    use super::*;

    /// The caller with an access token of `sub` `user-1`, of session `jti`.
    fn claims(jti: &str) -> Caller {
        let mut event = test_support::event_json("account_logout");
        let c = &mut event["requestContext"]["authorizer"]["claims"];
        c["sub"] = json!("user-1");
        c["auth_time"] = json!("1000");
        c["origin_jti"] = json!(jti);
        Caller::parse(&test_support::to_request(&event)).unwrap()
    }

    #[test]
    fn a_session_id_is_a_digest_of_the_origin_jti_and_a_token_is_stored_hashed() {
        let id = session_id("4c3b9a56-0000-4000-8000-000000000001");
        assert_eq!(id.len(), 22);
        assert!(!id.contains("4c3b9a56"));
        assert_eq!(id, session_id("4c3b9a56-0000-4000-8000-000000000001"));
        assert_ne!(id, session_id("4c3b9a56-0000-4000-8000-000000000002"));
        let hash = token_hash("eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIn0.secret");
        assert!(!hash.contains("eyJ"));
        assert_eq!(hash.len(), 43);
    }

    #[tokio::test]
    async fn the_check_is_one_consistent_read_of_the_callers_session() {
        let read = mock!(Client::get_item)
            .match_requests(|r| {
                let key = r.key().unwrap();
                r.table_name() == Some("sessions")
                    && r.consistent_read() == Some(true)
                    && key.get("pk").and_then(|v| v.as_s().ok()) == Some(&"user-1".to_owned())
                    && key.get("sk").and_then(|v| v.as_s().ok())
                        == Some(&format!("session#{}", session_id("a")))
            })
            .then_output(|| GetItemOutput::builder().build());
        let sessions = Sessions::new(mock_client!(aws_sdk_dynamodb, [&read]), "sessions".into());
        let refused = sessions.check(&claims("a")).await.unwrap_err();
        assert_eq!(refused.code(), "token_revoked");
        assert_eq!(refused.status(), 401);
        assert_eq!(read.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_session_whose_record_exists_is_live_with_its_sign_in_time() {
        let read = mock!(Client::get_item).then_output(|| {
            GetItemOutput::builder()
                .set_item(Some(HashMap::from([("started_at".to_owned(), n(1234))])))
                .build()
        });
        let sessions = Sessions::new(mock_client!(aws_sdk_dynamodb, [&read]), "sessions".into());
        let live = sessions.check(&claims("a")).await.unwrap();
        assert_eq!(live.signed_in_at, Some(1234));
    }

    #[test]
    fn aliases_are_read_with_when_they_were_made() {
        let mut item = session_key("user-1", "s");
        item.insert(
            "aliases".into(),
            AttributeValue::M(HashMap::from([("b".to_owned(), n(7))])),
        );
        assert_eq!(aliases(&item), vec![("b".to_owned(), 7)]);
        assert!(aliases(&session_key("user-1", "s")).is_empty());
    }
}
