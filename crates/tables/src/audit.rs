//! The audit log: one item per auth fact ([`Event`]), append-only, kept `AuditRetentionDays`
//! (a TTL). It is written in the request's path, once per event, and nothing else: its stream
//! carries every new item to the consumers (the events function: the event bus and the e-mail
//! alerts), which never slow a request nor lose an event when they fail.
//!
//! Items: `pk` is `user#<sub>`, or `name#<username>` for a user name no account answers to (a
//! failed sign-in of an unknown user); `sk` is `<time in ms, 13 digits>#<event id>`, so that a
//! partition reads in time order; `type` keys the `by_type` index; `event` is the event as the
//! JSON the schema (`docs/events.schema.json`) describes, the same that reaches the bus.
//!
//! An event never holds a password, code, token, secret, credential or recovery code: its fields
//! are ids, names, enumerations, the source IP and the device as the User-Agent parser reads it.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use platform::{ApiError, ClientContext};
use serde::{Deserialize, Serialize};

use crate::error::failure;

/// The schema version every event carries (`schema_version`): a field's meaning never changes
/// within a version; new optional fields may be added.
pub const SCHEMA_VERSION: u32 = 1;
/// The days an event is kept when `AUDIT_RETENTION_DAYS` is not set.
pub const DEFAULT_RETENTION_DAYS: u64 = 365;
/// The index by event type (`GET /admin/audit?type=`).
pub const BY_TYPE_INDEX: &str = "by_type";
/// The most events one page holds.
pub const MAX_PAGE: i32 = 100;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// An account was created (`/register`).
    SignUp,
    /// Its address was confirmed (`/confirm_user`).
    SignUpConfirmed,
    /// Tokens were issued; `detail.method` says how.
    SignIn,
    /// A sign-in was refused; `detail.reason` says why (never with what).
    SignInFailed,
    /// A sign-out; `detail.scope` is `session`, `all` or `others`.
    SignOut,
    /// A session ended other than by a sign-out; `detail.reason`: `refresh_token_reused`,
    /// `idle_timeout`, `session_limit`, `ended_by_user`, `credentials_changed`.
    SessionEnded,
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    EmailChangeRequested,
    EmailChanged,
    TotpEnabled,
    TotpDisabled,
    RecoveryCodeUsed,
    PasskeyAdded,
    PasskeyRemoved,
    AccountDeleted,
    /// An administrator (or an operator, outside the API) disabled the account.
    AccountDisabled,
    AccountEnabled,
    /// An administrator turned the user's second factor off.
    MfaReset,
    /// `detail.group` was added or removed.
    GroupAdded,
    GroupRemoved,
    /// An operator made the user reset their password at the next sign-in.
    PasswordResetRequired,
}

impl EventType {
    /// Every type, in the schema's order.
    pub const ALL: &'static [EventType] = &[
        Self::SignUp,
        Self::SignUpConfirmed,
        Self::SignIn,
        Self::SignInFailed,
        Self::SignOut,
        Self::SessionEnded,
        Self::PasswordChanged,
        Self::PasswordResetRequested,
        Self::PasswordReset,
        Self::EmailChangeRequested,
        Self::EmailChanged,
        Self::TotpEnabled,
        Self::TotpDisabled,
        Self::RecoveryCodeUsed,
        Self::PasskeyAdded,
        Self::PasskeyRemoved,
        Self::AccountDeleted,
        Self::AccountDisabled,
        Self::AccountEnabled,
        Self::MfaReset,
        Self::GroupAdded,
        Self::GroupRemoved,
        Self::PasswordResetRequired,
    ];

    /// Its name in events, on the bus and in `?type=`.
    pub fn as_str(self) -> &'static str {
        // The variants are declared in the order of ALL and NAMES.
        Self::NAMES[self as usize]
    }

    const NAMES: &'static [&'static str] = &[
        "sign_up",
        "sign_up_confirmed",
        "sign_in",
        "sign_in_failed",
        "sign_out",
        "session_ended",
        "password_changed",
        "password_reset_requested",
        "password_reset",
        "email_change_requested",
        "email_changed",
        "totp_enabled",
        "totp_disabled",
        "recovery_code_used",
        "passkey_added",
        "passkey_removed",
        "account_deleted",
        "account_disabled",
        "account_enabled",
        "mfa_reset",
        "group_added",
        "group_removed",
        "password_reset_required",
    ];

    /// The type named `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self::ALL[i])
    }
}

/// Whether the fact happened or was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

/// Who acted: the user themselves, an administrator through the admin API, or an operator
/// outside it (the AWS console or CLI, seen through CloudTrail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    Admin,
    Operator,
}

/// The actor of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The user name, or for an operator the IAM identity that made the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// The user an event is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// `None` for a user name no account answers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// How a sign-out reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The caller's own session.
    Session,
    /// Every session of the user.
    All,
    /// Every session but the caller's.
    Others,
}

/// What an event type adds; every field is optional, and none holds free text from a caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    /// How a sign-in was made (`password`, `totp`, `recovery_code`, `passkey`, `email_code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Why it failed or ended: an error code of the API's (`invalid_credentials`,
    /// `refresh_token_reused`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// Sessions a sign-out or change ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions_ended: Option<u32>,
    /// A sign-in from a device none of the user's other live sessions has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_device: Option<bool>,
    /// The group of `group_added` and `group_removed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The Cognito operation an operator called outside the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
}

impl Detail {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One auth fact, as the schema `docs/events.schema.json` (version [`SCHEMA_VERSION`])
/// describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub schema_version: u32,
    /// A random UUID (v4): consumers deduplicate on it, since delivery is at least once.
    pub id: String,
    /// When, RFC 3339 in UTC with milliseconds.
    pub time: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub outcome: Outcome,
    pub user: Subject,
    /// The session (as `GET /me/sessions` names it) the event happened in or ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The source IP API Gateway saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The device, as the User-Agent parser reads it ("Firefox on Linux"); never the raw
    /// User-Agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Detail::is_empty")]
    pub detail: Detail,
}

impl Event {
    /// A successful `kind` now, from the caller `ctx`, about and by nobody yet: name the user
    /// with [`Event::of`] (or [`Event::of_unknown`]).
    pub fn new(kind: EventType, ctx: &ClientContext) -> Self {
        let ms = epoch_millis();
        Self {
            schema_version: SCHEMA_VERSION,
            id: uuid::Uuid::new_v4().to_string(),
            time: rfc3339(ms),
            kind,
            outcome: Outcome::Success,
            user: Subject::default(),
            session: None,
            ip: ctx.ip.clone(),
            device: ctx.device(),
            actor: Actor {
                kind: ActorKind::User,
                sub: None,
                username: None,
            },
            detail: Detail::default(),
        }
    }

    /// About (and by) the user `sub`, `username`.
    pub fn of(mut self, sub: &str, username: &str) -> Self {
        self.user = Subject {
            sub: Some(sub.to_owned()),
            username: Some(username.to_owned()),
        };
        if self.actor.kind == ActorKind::User {
            self.actor.sub = Some(sub.to_owned());
            self.actor.username = Some(username.to_owned());
        }
        self
    }

    /// About (and by) the user `sub`, whose user name the caller does not know.
    pub fn of_sub(mut self, sub: &str) -> Self {
        self.user = Subject {
            sub: Some(sub.to_owned()),
            username: None,
        };
        if self.actor.kind == ActorKind::User {
            self.actor.sub = Some(sub.to_owned());
        }
        self
    }

    /// About a user name no account answers to.
    pub fn of_unknown(mut self, username: &str) -> Self {
        self.user = Subject {
            sub: None,
            username: Some(username.to_owned()),
        };
        self.actor.username = Some(username.to_owned());
        self
    }

    /// Acted by the administrator `sub`, `username`.
    pub fn by_admin(mut self, sub: &str, username: &str) -> Self {
        self.actor = Actor {
            kind: ActorKind::Admin,
            sub: Some(sub.to_owned()),
            username: Some(username.to_owned()),
        };
        self
    }

    /// Acted by an operator outside the API (`identity`: the IAM principal), through
    /// `operation`.
    pub fn by_operator(mut self, identity: Option<&str>, operation: &str) -> Self {
        self.actor = Actor {
            kind: ActorKind::Operator,
            sub: None,
            username: identity.map(str::to_owned),
        };
        self.detail.operation = Some(operation.to_owned());
        self
    }

    /// Refused, for `reason` (an error code).
    pub fn failed(mut self, reason: &str) -> Self {
        self.outcome = Outcome::Failure;
        self.detail.reason = Some(reason.to_owned());
        self
    }

    pub fn in_session(mut self, session: Option<&str>) -> Self {
        self.session = session.map(str::to_owned);
        self
    }

    pub fn method(mut self, method: &str) -> Self {
        self.detail.method = Some(method.to_owned());
        self
    }

    pub fn reason(mut self, reason: &str) -> Self {
        self.detail.reason = Some(reason.to_owned());
        self
    }

    pub fn scope(mut self, scope: Scope, ended: usize) -> Self {
        self.detail.scope = Some(scope);
        self.detail.sessions_ended = Some(u32::try_from(ended).unwrap_or(u32::MAX));
        self
    }

    pub fn sessions_ended(mut self, ended: usize) -> Self {
        self.detail.sessions_ended = Some(u32::try_from(ended).unwrap_or(u32::MAX));
        self
    }

    pub fn new_device(mut self, new: bool) -> Self {
        self.detail.new_device = Some(new);
        self
    }

    pub fn group(mut self, group: &str) -> Self {
        self.detail.group = Some(group.to_owned());
        self
    }

    /// The partition the event is kept in.
    pub fn partition(&self) -> String {
        match (&self.user.sub, &self.user.username) {
            (Some(sub), _) => user_partition(sub),
            (None, Some(name)) => name_partition(name),
            (None, None) => "none".to_owned(),
        }
    }

    /// The sort key: its time in milliseconds, then its id.
    fn sort_key(&self) -> String {
        format!("{:013}#{}", parse_rfc3339_millis(&self.time), self.id)
    }
}

/// The partition of the account `sub`.
pub fn user_partition(sub: &str) -> String {
    format!("user#{sub}")
}

/// The partition of a user name no account answered to. User names are not case-sensitive
/// (the pool's `UsernameConfiguration`): `Alice` and `alice` share one.
pub fn name_partition(username: &str) -> String {
    format!("name#{}", username.to_lowercase())
}

fn epoch_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

/// `ms` since the epoch as RFC 3339 in UTC (`2026-12-03T12:54:51.123Z`).
pub fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// The milliseconds of an RFC 3339 time this module wrote (0 for anything else).
pub fn parse_rfc3339_millis(time: &str) -> u64 {
    let num = |range: std::ops::Range<usize>| time.get(range).and_then(|s| s.parse::<i64>().ok());
    let parts = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
        num(20..23),
    );
    let (Some(y), Some(m), Some(d), Some(h), Some(mi), Some(s), Some(ms)) = parts else {
        return 0;
    };
    let days = days_from_civil(y, m, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + s;
    u64::try_from(secs * 1000 + ms).unwrap_or(0)
}

// Howard Hinnant's algorithms between days since 1970-01-01 and the proleptic Gregorian date.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The audit table.
#[derive(Debug, Clone)]
pub struct Audit {
    client: Client,
    table: String,
    retention_days: u64,
}

/// `AUDIT_TABLE`.
pub fn table_from_env(env: &platform::Env) -> Result<String, platform::ConfigError> {
    Ok(env.require(&["AUDIT_TABLE"])?.to_owned())
}

/// The audit table of `AUDIT_TABLE`, kept `AUDIT_RETENTION_DAYS`, over `client`.
pub fn from_env(env: &platform::Env, client: Client) -> Result<Audit, platform::ConfigError> {
    Ok(Audit::new(
        client,
        table_from_env(env)?,
        retention_from_env(env)?,
    ))
}

/// `AUDIT_RETENTION_DAYS` (default [`DEFAULT_RETENTION_DAYS`]).
pub fn retention_from_env(env: &platform::Env) -> Result<u64, platform::ConfigError> {
    match env.get("AUDIT_RETENTION_DAYS") {
        None => Ok(DEFAULT_RETENTION_DAYS),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|d| (1..=36_500).contains(d))
            .ok_or_else(|| platform::ConfigError::Invalid {
                name: "AUDIT_RETENTION_DAYS",
                reason: format!("{v:?} is not a number of days from 1 to 36500"),
            }),
    }
}

/// Which events a query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partition {
    /// The account `sub`'s.
    User(String),
    /// A user name no account answered to.
    Name(String),
    /// Every event of a type (the `by_type` index).
    Type(EventType),
}

/// A query: a partition, a time range (ms, inclusive), a page.
#[derive(Debug, Clone)]
pub struct Query {
    pub partition: Partition,
    pub from_ms: Option<u64>,
    pub to_ms: Option<u64>,
    /// Only events of this type (with a user partition).
    pub kind: Option<EventType>,
    pub limit: i32,
    /// Where the last page ended ([`Page::next`]).
    pub cursor: Option<String>,
}

/// A page of events, newest first, and where the next one starts.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub events: Vec<Event>,
    pub next: Option<String>,
}

impl Audit {
    pub fn new(client: Client, table: String, retention_days: u64) -> Self {
        Self {
            client,
            table,
            retention_days,
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Appends `event`; an item is never overwritten.
    pub async fn put(&self, event: &Event) -> Result<(), ApiError> {
        self.put_once(event).await.map(|_| ())
    }

    /// Appends `event` unless an event with its time and id is there already (an event made
    /// again from the same fact, delivered twice): `false` then, and nothing is written.
    pub async fn put_once(&self, event: &Event) -> Result<bool, ApiError> {
        let json = serde_json::to_string(event)
            .map_err(|e| ApiError::internal(format_args!("event as JSON: {e}")))?;
        let expires_at = crate::epoch_seconds() + self.retention_days * 86_400;
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(event.partition()))
            .item("sk", AttributeValue::S(event.sort_key()))
            .item("type", AttributeValue::S(event.kind.as_str().to_owned()))
            .item("event", AttributeValue::S(json))
            .item("expires_at", AttributeValue::N(expires_at.to_string()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(failure("PutItem", e)),
        }
    }

    /// Appends `event`, and never fails the request it belongs to: the fact has happened, and
    /// an event that cannot be stored is logged whole (it holds no secret), where the log's
    /// retention keeps it.
    pub async fn record(&self, event: &Event) {
        match self.put(event).await {
            Ok(()) => {
                tracing::info!(event_id = %event.id, event_type = event.kind.as_str(), "event recorded");
            }
            Err(err) => {
                let json = serde_json::to_string(event).unwrap_or_default();
                tracing::error!(error = %err, event = %json, "an event could not be recorded");
            }
        }
    }

    /// A page of `query`'s events, newest first.
    pub async fn query(&self, query: &Query) -> Result<Page, ApiError> {
        let (key, value, index) = match &query.partition {
            Partition::User(sub) => ("pk", user_partition(sub), None),
            Partition::Name(name) => ("pk", name_partition(name), None),
            Partition::Type(kind) => ("type", kind.as_str().to_owned(), Some(BY_TYPE_INDEX)),
        };
        let mut condition = "#k = :k".to_owned();
        let mut values = HashMap::from([(":k".to_owned(), AttributeValue::S(value.clone()))]);
        let low = query.from_ms.map(|ms| format!("{ms:013}#"));
        // '$' sorts after '#' and every id character: the whole last millisecond is in range.
        let high = query.to_ms.map(|ms| format!("{ms:013}$"));
        match (low, high) {
            (Some(low), Some(high)) => {
                condition.push_str(" AND sk BETWEEN :lo AND :hi");
                values.insert(":lo".to_owned(), AttributeValue::S(low));
                values.insert(":hi".to_owned(), AttributeValue::S(high));
            }
            (Some(low), None) => {
                condition.push_str(" AND sk >= :lo");
                values.insert(":lo".to_owned(), AttributeValue::S(low));
            }
            (None, Some(high)) => {
                condition.push_str(" AND sk <= :hi");
                values.insert(":hi".to_owned(), AttributeValue::S(high));
            }
            (None, None) => {}
        }
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression(condition)
            .expression_attribute_names("#k", key)
            .scan_index_forward(false)
            .limit(query.limit.clamp(1, MAX_PAGE));
        if let Some(kind) = query.kind.filter(|_| index.is_none()) {
            request = request
                .filter_expression("#t = :t")
                .expression_attribute_names("#t", "type");
            values.insert(":t".to_owned(), AttributeValue::S(kind.as_str().to_owned()));
        }
        if let Some(cursor) = &query.cursor {
            let start = decode_cursor(cursor, index.is_some())?;
            // A cursor names its partition: one made for another cannot read it.
            let same = start.get(key).and_then(|v| v.as_s().ok()) == Some(&value);
            if !same {
                return Err(invalid_cursor());
            }
            request = request.set_exclusive_start_key(Some(start));
        }
        let out = request
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(|e| failure("Query", e))?;
        let events = out
            .items()
            .iter()
            .filter_map(|item| {
                let json = item.get("event")?.as_s().ok()?;
                match serde_json::from_str::<Event>(json) {
                    Ok(event) => Some(event),
                    Err(e) => {
                        tracing::warn!(error = %e, "an audit item does not parse as an event");
                        None
                    }
                }
            })
            .collect();
        let next = out
            .last_evaluated_key()
            .map(|key| encode_cursor(key, index.is_some()));
        Ok(Page { events, next })
    }
}

fn invalid_cursor() -> ApiError {
    ApiError::InvalidQuery {
        param: "cursor",
        reason: "not a cursor this listing gave".to_owned(),
    }
}

/// A page's end as an opaque string: the key's strings, base64url.
fn encode_cursor(key: &HashMap<String, AttributeValue>, indexed: bool) -> String {
    let get = |name: &str| {
        key.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let mut parts = vec![get("pk"), get("sk")];
    if indexed {
        parts.push(get("type"));
    }
    B64URL.encode(parts.join("\n"))
}

fn decode_cursor(cursor: &str, indexed: bool) -> Result<HashMap<String, AttributeValue>, ApiError> {
    let text = B64URL
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|_| cursor.len() <= 1024)
        .ok_or_else(invalid_cursor)?;
    let parts: Vec<&str> = text.split('\n').collect();
    let names: &[&str] = if indexed {
        &["pk", "sk", "type"]
    } else {
        &["pk", "sk"]
    };
    if parts.len() != names.len() || parts.iter().any(|p| p.is_empty()) {
        return Err(invalid_cursor());
    }
    Ok(names
        .iter()
        .zip(parts)
        .map(|(n, p)| ((*n).to_owned(), AttributeValue::S(p.to_owned())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_in_utc_and_read_back() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_796_302_491_123), "2026-12-03T12:54:51.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        for ms in [0, 951_782_400_000, 1_796_302_491_123, 4_102_444_799_999] {
            assert_eq!(parse_rfc3339_millis(&rfc3339(ms)), ms);
        }
        assert_eq!(parse_rfc3339_millis("yesterday"), 0);
    }

    #[test]
    fn every_type_has_its_name_both_ways() {
        for kind in EventType::ALL {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, kind.as_str());
            assert_eq!(EventType::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(EventType::ALL.len(), EventType::NAMES.len());
        assert_eq!(EventType::parse("sign_in "), None);
    }

    #[test]
    fn an_event_names_its_user_actor_and_caller_and_round_trips() {
        let ctx = ClientContext {
            ip: Some("203.0.113.9".to_owned()),
            user_agent: Some(
                "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0".to_owned(),
            ),
        };
        let event = Event::new(EventType::SignIn, &ctx)
            .of("sub-1", "alice")
            .in_session(Some("s1"))
            .method("totp")
            .new_device(true);
        assert_eq!(event.actor.kind, ActorKind::User);
        assert_eq!(event.actor.sub.as_deref(), Some("sub-1"));
        assert_eq!(event.device.as_deref(), Some("Firefox on Linux"));
        assert_eq!(event.partition(), "user#sub-1");
        assert!(event.sort_key().ends_with(&format!("#{}", event.id)));
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "sign_in");
        assert_eq!(
            json["detail"],
            serde_json::json!({"method": "totp", "new_device": true})
        );
        assert!(json.get("user_agent").is_none(), "never the raw User-Agent");
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);

        let failed = Event::new(EventType::SignInFailed, &ClientContext::default())
            .of_unknown("mallory")
            .failed("invalid_credentials");
        assert_eq!(failed.partition(), "name#mallory");
        // As typed, in whatever case: one partition, as the pool has one user.
        let shouted =
            Event::new(EventType::SignInFailed, &ClientContext::default()).of_unknown("MalLory");
        assert_eq!(shouted.partition(), "name#mallory");
        assert_eq!(failed.outcome, Outcome::Failure);
        let admin = Event::new(EventType::AccountDisabled, &ctx)
            .by_admin("sub-a", "root")
            .of("sub-1", "alice");
        assert_eq!(admin.actor.kind, ActorKind::Admin);
        assert_eq!(admin.actor.username.as_deref(), Some("root"));
        assert_eq!(admin.user.username.as_deref(), Some("alice"));
    }

    #[test]
    fn a_cursor_reads_back_and_a_forged_one_is_refused() {
        let key = HashMap::from([
            ("pk".to_owned(), AttributeValue::S("user#a".to_owned())),
            (
                "sk".to_owned(),
                AttributeValue::S("0000000000001#x".to_owned()),
            ),
        ]);
        let cursor = encode_cursor(&key, false);
        assert_eq!(decode_cursor(&cursor, false).unwrap(), key);
        assert!(decode_cursor(&cursor, true).is_err());
        assert!(decode_cursor("not base64!", false).is_err());
        assert!(decode_cursor(&B64URL.encode("only-one"), false).is_err());
    }
}
