//! The admin API, for the members of the `admin` group only. Each route declares the group in
//! the route table; the platform refuses everyone else (`403 forbidden`) before a handler runs,
//! by the token's `cognito:groups` and by the user's groups now (AdminListGroupsForUser), so
//! that an administrator taken out of the group loses the API at once.
//!
//! | route | Cognito | also |
//! |---|---|---|
//! | `GET /admin/users` | ListUsers (`?username=` or `?email=` prefix) | |
//! | `GET /admin/users/{username}` | AdminGetUser, AdminListGroupsForUser | the live sessions |
//! | `POST /admin/users/{username}/disable` | AdminDisableUser, AdminUserGlobalSignOut | every session ends |
//! | `POST /admin/users/{username}/enable` | AdminEnableUser | |
//! | `POST /admin/users/{username}/sign_out` | AdminUserGlobalSignOut | every session ends |
//! | `POST /admin/users/{username}/reset_mfa` | AdminSetUserMFAPreference | the recovery codes go; the user is told |
//! | `DELETE /admin/users/{username}` | AdminDeleteUser | what `DELETE /me` removes |
//! | `PUT /admin/users/{username}/groups/{group}` | AdminAddUserToGroup | |
//! | `DELETE /admin/users/{username}/groups/{group}` | AdminRemoveUserFromGroup, AdminUserGlobalSignOut | every session ends |
//! | `GET /admin/audit` | | the audit table |
//!
//! Every action (each route but the three reads) needs a sign-in within the re-authentication
//! window (`403 reauthentication_required`), as the account's own sensitive changes do. An
//! administrator cannot disable, delete, demote or sign out themselves, nor reset their own
//! MFA (`409 cannot_act_on_self`: `/logout` and `/mfa/totp/disable` with its proofs are theirs). Every action
//! is an event with the administrator as its actor.

mod app;

use auth::admin::{AdminUser, Search};
use auth::{Cognito, Username};
use platform::{ApiError, Caller, ClientContext, Reply, Request, Route, route};
use serde::Serialize;
use sessions::{Event, EventType, Scope, Session, Sessions};
use tables::audit::{self, Audit, Partition};
use tables::{Books, RecoveryCodes};

pub use crate::app::app;

/// What the admin routes work with, built once at start-up ([`app`]).
#[derive(Debug, Clone)]
pub struct State {
    pub cognito: Cognito,
    /// `COGNITO_USER_POOL_ID`: the pool every call acts on, and no other.
    pub pool_id: String,
    pub sessions: Sessions,
    /// A deleted user's books.
    pub books: Books,
    /// A deleted or reset user's recovery codes.
    pub recovery: RecoveryCodes,
    /// Every action recorded; `GET /admin/audit` reads it.
    pub audit: Audit,
    /// An action needs a sign-in within it (`REAUTH_WINDOW_SECONDS`): a stolen administrator's
    /// token, or a console left open, reads but does not act.
    pub reauth_window: std::time::Duration,
}

/// The routes of this function, as `template.yaml` routes them to it, each for the admins.
pub static ROUTES: &[Route<State>] = &[
    route!(GET "/admin/users" => list_users, group "admin"),
    route!(GET "/admin/users/{username}" => get_user, group "admin"),
    route!(DELETE "/admin/users/{username}" => delete_user, group "admin"),
    route!(POST "/admin/users/{username}/disable" => disable, group "admin"),
    route!(POST "/admin/users/{username}/enable" => enable, group "admin"),
    route!(POST "/admin/users/{username}/sign_out" => sign_out, group "admin"),
    route!(POST "/admin/users/{username}/reset_mfa" => reset_mfa, group "admin"),
    route!(PUT "/admin/users/{username}/groups/{group}" => add_to_group, group "admin"),
    route!(DELETE "/admin/users/{username}/groups/{group}" => remove_from_group, group "admin"),
    route!(GET "/admin/audit" => query_audit, group "admin"),
];

/// An administrator acting on their own account where it would lock them out.
pub const CANNOT_ACT_ON_SELF: ApiError = ApiError::Conflict {
    code: "cannot_act_on_self",
    message: "an administrator cannot disable, delete, demote, sign out or reset the MFA of themselves: ask another, or use /logout",
};

/// The most users a search page holds (ListUsers' limit).
const MAX_USERS: i64 = 60;
/// The longest search text taken.
const MAX_SEARCH_CHARS: usize = 128;
/// The longest group name (Cognito's limit).
const MAX_GROUP_CHARS: usize = 128;

/// The user the path names, as the pool has them; 404 when there is none.
async fn target(state: &State, req: &Request) -> Result<AdminUser, ApiError> {
    let raw = path_param(req, "username").ok_or(ApiError::NotFound("user"))?;
    let username = Username::parse(&raw).map_err(|_| ApiError::NotFound("user"))?;
    state
        .cognito
        .admin_user(&state.pool_id, &username)
        .await?
        .ok_or(ApiError::NotFound("user"))
}

/// A path parameter, percent-decoded.
fn path_param(req: &Request, name: &str) -> Option<String> {
    use lambda_http::RequestExt;
    let raw = req.path_parameters_ref()?.first(name)?.to_owned();
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = raw.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().filter(|s| !s.is_empty())
}

/// The administrator's event about `user`.
fn admin_event(caller: &Caller, kind: EventType, user: &AdminUser, req: &Request) -> Event {
    let event = Event::new(kind, &ClientContext::of(req))
        .by_admin(caller.sub(), caller.username().unwrap_or_default());
    match &user.sub {
        Some(sub) => event.of(sub, &user.username),
        None => event.of_unknown(&user.username),
    }
}

/// The administrator making a change: signed in within the window.
fn actor<'r>(state: &State, req: &'r Request) -> Result<&'r Caller, ApiError> {
    let caller = Caller::of(req)?;
    reauth::require_recent(caller, state.reauth_window)?;
    Ok(caller)
}

/// Refused when `user` is the caller.
fn not_self(caller: &Caller, user: &AdminUser) -> Result<(), ApiError> {
    match user.sub.as_deref() == Some(caller.sub()) {
        true => Err(CANNOT_ACT_ON_SELF),
        false => Ok(()),
    }
}

/// What `GET /admin/users` answers.
#[derive(Debug, Serialize)]
pub struct Users {
    pub users: Vec<AdminUser>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `?username=` or `?email=` (a prefix), `?limit=` (1 to 60), `?cursor=`.
#[tracing::instrument(name = "admin_list_users", skip_all)]
async fn list_users(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let params = platform::request::QueryParams::of(req);
    let text = |name: &'static str| -> Result<Option<&str>, ApiError> {
        let Some(value) = params.string(name) else {
            return Ok(None);
        };
        let bad = value.chars().count() > MAX_SEARCH_CHARS
            || value
                .chars()
                .any(|c| c == '"' || c == '\\' || c.is_control());
        match bad {
            true => Err(ApiError::InvalidQuery {
                param: name,
                reason: format!("must be 1-{MAX_SEARCH_CHARS} characters, no quotes"),
            }),
            false => Ok(Some(value)),
        }
    };
    let search = match (text("username")?, text("email")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::InvalidQuery {
                param: "email",
                reason: "search by username or by email, not both".into(),
            });
        }
        (Some(prefix), None) => Some(Search::Username(prefix)),
        (None, Some(prefix)) => Some(Search::Email(prefix)),
        (None, None) => None,
    };
    let limit = params.int("limit", 1, MAX_USERS)?.unwrap_or(20);
    let cursor = params.string("cursor");
    if cursor.is_some_and(|c| c.len() > 2048) {
        return Err(ApiError::InvalidQuery {
            param: "cursor",
            reason: "not a cursor this listing gave".into(),
        });
    }
    let page = state
        .cognito
        .admin_find_users(
            &state.pool_id,
            search,
            i32::try_from(limit).unwrap_or(20),
            cursor,
        )
        .await?;
    Reply::ok(&Users {
        users: page.users,
        next_cursor: page.next,
    })
}

/// What `GET /admin/users/{username}` answers.
#[derive(Debug, Serialize)]
pub struct UserDetail {
    #[serde(flatten)]
    pub user: AdminUser,
    pub groups: Vec<String>,
    pub sessions: Vec<Session>,
}

#[tracing::instrument(name = "admin_get_user", skip_all)]
async fn get_user(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let user = target(state, req).await?;
    let groups = state
        .cognito
        .admin_groups(&state.pool_id, &user.username)
        .await?;
    let sessions = match &user.sub {
        Some(sub) => state.sessions.list(sub, None).await?,
        None => Vec::new(),
    };
    Reply::ok(&UserDetail {
        user,
        groups,
        sessions,
    })
}

/// What an action answers.
#[derive(Debug, Serialize)]
pub struct Done {
    pub message: &'static str,
    /// Sessions the action ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions_ended: Option<usize>,
}

/// Ends every session of `user`: Cognito's sign-out (every refresh token), then each session
/// in the table (their tokens refused by this API at once).
async fn end_everything(state: &State, user: &AdminUser) -> Result<usize, ApiError> {
    state
        .cognito
        .admin_sign_out_everywhere(&state.pool_id, &user.username)
        .await?;
    match &user.sub {
        Some(sub) => sessions::end_all(&state.cognito, &state.sessions, sub, None)
            .await
            .into_result(),
        None => Ok(0),
    }
}

/// Disables the account: it signs in no more, and every session ends at once.
#[tracing::instrument(name = "admin_disable", skip_all)]
async fn disable(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = actor(state, req)?;
    let user = target(state, req).await?;
    not_self(caller, &user)?;
    state
        .cognito
        .admin_set_enabled(&state.pool_id, &user.username, false)
        .await?;
    let ended = end_everything(state, &user).await?;
    let event = admin_event(caller, EventType::AccountDisabled, &user, req).sessions_ended(ended);
    state.audit.record(&event).await;
    Reply::ok(&Done {
        message: "Disabled: the account signs in no more, and every session of it has ended.",
        sessions_ended: Some(ended),
    })
}

#[tracing::instrument(name = "admin_enable", skip_all)]
async fn enable(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = actor(state, req)?;
    let user = target(state, req).await?;
    state
        .cognito
        .admin_set_enabled(&state.pool_id, &user.username, true)
        .await?;
    let event = admin_event(caller, EventType::AccountEnabled, &user, req);
    state.audit.record(&event).await;
    Reply::ok(&Done {
        message: "Enabled: the account may sign in again.",
        sessions_ended: None,
    })
}

#[tracing::instrument(name = "admin_sign_out", skip_all)]
async fn sign_out(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = actor(state, req)?;
    let user = target(state, req).await?;
    // Their own sessions end with POST /logout; here it would end the console they act from.
    not_self(caller, &user)?;
    let ended = end_everything(state, &user).await?;
    let event = admin_event(caller, EventType::SignOut, &user, req).scope(Scope::All, ended);
    state.audit.record(&event).await;
    Reply::ok(&Done {
        message: "Signed out: every session of the account has ended.",
        sessions_ended: Some(ended),
    })
}

/// TOTP off and the recovery codes gone; the user is told by e-mail (the event's alert).
#[tracing::instrument(name = "admin_reset_mfa", skip_all)]
async fn reset_mfa(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = actor(state, req)?;
    let user = target(state, req).await?;
    not_self(caller, &user)?;
    state
        .cognito
        .admin_totp_off(&state.pool_id, &user.username)
        .await?;
    state.recovery.delete(&user.username).await?;
    let event = admin_event(caller, EventType::MfaReset, &user, req);
    state.audit.record(&event).await;
    Reply::ok(&Done {
        message: "Two-factor sign-in is off for the account, and its recovery codes are gone.",
        sessions_ended: None,
    })
}

/// Everything `DELETE /me` removes: the user's books, recovery codes and sessions, then the
/// user.
#[tracing::instrument(name = "admin_delete_user", skip_all)]
async fn delete_user(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = actor(state, req)?;
    let user = target(state, req).await?;
    not_self(caller, &user)?;
    if let Some(sub) = &user.sub {
        state.books.delete_owned_by(sub).await?;
    }
    state.recovery.delete(&user.username).await?;
    let ended = end_everything(state, &user).await?;
    state
        .cognito
        .admin_delete_user(&state.pool_id, &user.username)
        .await?;
    let event = admin_event(caller, EventType::AccountDeleted, &user, req).sessions_ended(ended);
    state.audit.record(&event).await;
    Ok(Reply::no_content())
}

/// The `{group}` path parameter: 1 to 128 letters, digits, `-`, `_`, `.`.
fn group_of(req: &Request) -> Result<String, ApiError> {
    path_param(req, "group")
        .filter(|g| {
            g.len() <= MAX_GROUP_CHARS
                && g.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .ok_or(ApiError::NotFound("group"))
}

#[tracing::instrument(name = "admin_add_to_group", skip_all)]
async fn add_to_group(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = actor(state, req)?;
    let group = group_of(req)?;
    let user = target(state, req).await?;
    state
        .cognito
        .admin_set_group(&state.pool_id, &user.username, &group, true)
        .await?;
    let event = admin_event(caller, EventType::GroupAdded, &user, req).group(&group);
    state.audit.record(&event).await;
    Reply::ok(&Done {
        message: "Added to the group: the user's next sign-in carries it.",
        sessions_ended: None,
    })
}

#[tracing::instrument(name = "admin_remove_from_group", skip_all)]
async fn remove_from_group(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = actor(state, req)?;
    let group = group_of(req)?;
    let user = target(state, req).await?;
    // Out of any group, every session of the user ends: their own, the console's included.
    not_self(caller, &user)?;
    state
        .cognito
        .admin_set_group(&state.pool_id, &user.username, &group, false)
        .await?;
    // The user's tokens name the group until they expire, and a route that reads the group
    // from the token (an admin's book powers) would take it: every session ends, as it does
    // for an operator's AdminRemoveUserFromGroup.
    let ended = end_everything(state, &user).await?;
    let event = admin_event(caller, EventType::GroupRemoved, &user, req)
        .group(&group)
        .sessions_ended(ended);
    state.audit.record(&event).await;
    Reply::ok(&Done {
        message: "Removed from the group, at once: every session of the user has ended.",
        sessions_ended: Some(ended),
    })
}

/// What `GET /admin/audit` answers.
#[derive(Debug, Serialize)]
pub struct AuditPage {
    pub events: Vec<Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A time of `?from=` or `?to=`: milliseconds since the epoch, an RFC 3339 time in UTC
/// (`2026-12-03T12:54:51Z`, milliseconds optional) or a date (`2026-12-03`, its start).
fn time_param(
    params: &platform::request::QueryParams,
    name: &'static str,
) -> Result<Option<u64>, ApiError> {
    let Some(value) = params.string(name) else {
        return Ok(None);
    };
    let invalid = || ApiError::InvalidQuery {
        param: name,
        reason: "must be milliseconds since the epoch, 2026-12-03T12:54:51Z or 2026-12-03".into(),
    };
    if !value.is_ascii() {
        return Err(invalid());
    }
    if value.len() <= 15 && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().map(Some).map_err(|_| invalid());
    }
    let full = match value.len() {
        10 => format!("{value}T00:00:00.000Z"),
        20 => format!("{}.000Z", &value[..19]),
        _ => value.to_owned(),
    };
    let ms = audit::parse_rfc3339_millis(&full);
    match audit::rfc3339(ms) == full {
        true => Ok(Some(ms)),
        false => Err(invalid()),
    }
}

/// `?username=` (that user's events) and/or `?type=` (every user's of that type), `?from=`,
/// `?to=`, `?limit=` (1 to 100), `?cursor=`; newest first.
#[tracing::instrument(name = "admin_audit", skip_all)]
async fn query_audit(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let params = platform::request::QueryParams::of(req);
    let kind = match params.string("type") {
        Some(name) => Some(
            EventType::parse(name).ok_or_else(|| ApiError::InvalidQuery {
                param: "type",
                reason: "not an event type (docs/events.md)".into(),
            })?,
        ),
        None => None,
    };
    let (from_ms, to_ms) = (time_param(&params, "from")?, time_param(&params, "to")?);
    let partition = match (params.string("username"), kind) {
        (Some(raw), _) => {
            let username = Username::parse(raw).map_err(|_| ApiError::InvalidQuery {
                param: "username",
                reason: "not a user name".into(),
            })?;
            match state.cognito.admin_user(&state.pool_id, &username).await? {
                Some(AdminUser { sub: Some(sub), .. }) => Partition::User(sub),
                _ => Partition::Name(username.to_string()),
            }
        }
        (None, Some(kind)) => Partition::Type(kind),
        (None, None) => return Err(ApiError::MissingField("username or type")),
    };
    let limit = params
        .int("limit", 1, i64::from(audit::MAX_PAGE))?
        .unwrap_or(25);
    let page = state
        .audit
        .query(&audit::Query {
            partition,
            from_ms,
            to_ms,
            kind,
            limit: i32::try_from(limit).unwrap_or(25),
            cursor: params.string("cursor").map(str::to_owned),
        })
        .await?;
    Reply::ok(&AuditPage {
        events: page.events,
        next_cursor: page.next,
    })
}

#[cfg(test)]
mod tests;
