//! Cognito's own admin operations on this pool, made outside the API: an operator in the AWS
//! console, the CLI, a script. CloudTrail records each; EventBridge delivers the record to the
//! default bus ("AWS API Call via CloudTrail"), where the stack's rule (`template.yaml`:
//! `OperatorActionsRule`) sends the five that change who may hold a session here:
//!
//! | operation | what this function does | event |
//! |---|---|---|
//! | AdminDeleteUser | every session ends; the user's books and recovery codes go | `account_deleted` |
//! | AdminDisableUser | every session ends | `account_disabled` |
//! | AdminUserGlobalSignOut | every session ends | `sign_out` (scope `all`) |
//! | AdminResetUserPassword | every session ends (Cognito leaves them) | `password_reset_required` |
//! | AdminRemoveUserFromGroup | every session ends (its tokens name the group) | `group_removed` |
//!
//! Without this, Cognito's operations leave this API's sessions alive: the signature and expiry
//! of an id token do not change when its user is deleted. The record names the user by `sub`
//! (`additionalEventData.sub`), and by the user name where it is not hidden; a user still in
//! the pool is read again for their name. The event's actor is the operator: the IAM
//! principal's ARN, the operation, the address and the client the call came from.
//!
//! Calls made by the stack's own functions (`OWN_ROLE_ARNS`: the admin API, the account
//! function's sign-out after a reset) are passed over: they have ended the
//! sessions and recorded their own event already. Calls that failed, on another pool, or of
//! another operation are passed over too.
//!
//! Delivery is at least once, and acting twice is harmless: only the sessions started by the
//! call's time end (one a sign-in began since, before the record arrived, stays), and the
//! event's key comes from the record (its `eventID` and time), so a second delivery writes
//! nothing. A deleted user's recovery codes, kept by user name, go only while no user has the
//! name again. What cannot be done now (a table or Cognito failing) fails the invocation:
//! Lambda tries it again, then hands it to the dead-letter queue, whose alarm tells the
//! operator.

mod app;

use auth::admin::Search;
use platform::{ApiError, BoxFuture, ClientContext};
use serde::{Deserialize, Serialize};
use sessions::{Event, EventType, Scope};
use tables::audit::{self, Audit};
use tables::{Books, RecoveryCodes, Sessions};

pub use crate::app::app;

/// What the function works with, built once at start-up ([`app`]).
#[derive(Debug, Clone)]
pub struct State {
    pub cognito: auth::Cognito,
    /// `COGNITO_USER_POOL_ID`: records of any other pool are passed over.
    pub pool_id: String,
    pub sessions: Sessions,
    /// A deleted user's books.
    pub books: Books,
    /// A deleted user's recovery codes.
    pub recovery: RecoveryCodes,
    pub audit: Audit,
    /// `OWN_ROLE_ARNS`: the roles of the stack's own functions, whose calls are passed over.
    pub own_roles: Vec<String>,
}

/// The operations acted on, as CloudTrail names them.
pub const OPERATIONS: &[&str] = &[
    "AdminDeleteUser",
    "AdminDisableUser",
    "AdminUserGlobalSignOut",
    "AdminResetUserPassword",
    "AdminRemoveUserFromGroup",
];

/// What Cognito writes in a record's field it will not show.
const HIDDEN: &[&str] = &[
    "HIDDEN_DUE_TO_SECURITY_REASONS",
    "HIDDEN_FOR_SECURITY_REASONS",
];

/// An EventBridge event: what the function reads of it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct TrailEvent {
    #[serde(rename = "detail-type", default)]
    pub detail_type: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub detail: ApiCall,
}

/// CloudTrail's record of one call.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiCall {
    #[serde(rename = "eventID", default)]
    pub event_id: String,
    #[serde(default)]
    pub event_time: String,
    #[serde(default)]
    pub event_source: String,
    #[serde(default)]
    pub event_name: String,
    #[serde(rename = "sourceIPAddress", default)]
    pub source_ip_address: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub user_identity: UserIdentity,
    #[serde(default)]
    pub request_parameters: Option<RequestParameters>,
    #[serde(default)]
    pub additional_event_data: Option<AdditionalEventData>,
    /// Set when the call failed.
    #[serde(default)]
    pub error_code: Option<String>,
}

/// Who made the call.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default)]
    pub session_context: Option<SessionContext>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext {
    #[serde(default)]
    pub session_issuer: Option<SessionIssuer>,
}

/// The role an assumed-role session belongs to.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct SessionIssuer {
    #[serde(default)]
    pub arn: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestParameters {
    #[serde(default)]
    pub user_pool_id: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub group_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct AdditionalEventData {
    #[serde(default)]
    pub sub: Option<String>,
}

/// What became of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Acted on: the sessions ended, and the event (written now, or by an earlier delivery).
    Acted {
        event_id: String,
        sessions_ended: usize,
    },
    /// Not one to act on, and why.
    Passed { reason: &'static str },
}

impl ApiCall {
    /// The role that made the call, for an assumed role (a Lambda function's); else the
    /// principal's own ARN.
    fn issuer(&self) -> Option<&str> {
        let identity = &self.user_identity;
        (identity.session_context.as_ref())
            .and_then(|c| c.session_issuer.as_ref())
            .and_then(|i| i.arn.as_deref())
            .or(identity.arn.as_deref())
    }

    /// The user name the call gave, unless hidden.
    fn username(&self) -> Option<&str> {
        (self.request_parameters.as_ref())
            .and_then(|p| p.username.as_deref())
            .filter(|u| !u.is_empty() && !HIDDEN.contains(u))
    }

    fn sub(&self) -> Option<&str> {
        (self.additional_event_data.as_ref())
            .and_then(|d| d.sub.as_deref())
            .filter(|s| is_uuid(s))
    }
}

/// A UUID, in hex and dashes: a `sub` as Cognito makes them (it goes into a ListUsers filter),
/// and CloudTrail's `eventID`.
fn is_uuid(value: &str) -> bool {
    value.len() == 36 && value.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// Acts on one record. `Err` when it could not be acted on now: the invocation fails, and
/// Lambda tries again.
pub fn handle(state: &State, event: TrailEvent) -> BoxFuture<'_, Result<Outcome, ApiError>> {
    Box::pin(async move {
        let outcome = act(state, &event.detail, &event).await?;
        match &outcome {
            Outcome::Acted {
                event_id,
                sessions_ended,
            } => tracing::info!(
                operation = %event.detail.event_name,
                event_id = %event_id,
                sessions_ended,
                "an operator's action acted on"
            ),
            Outcome::Passed { reason } => tracing::info!(
                operation = %event.detail.event_name,
                reason,
                "a record passed over"
            ),
        }
        Ok(outcome)
    })
}

async fn act(state: &State, call: &ApiCall, event: &TrailEvent) -> Result<Outcome, ApiError> {
    let passed = |reason| Ok(Outcome::Passed { reason });
    if event.source != "aws.cognito-idp"
        || event.detail_type != "AWS API Call via CloudTrail"
        || call.event_source != "cognito-idp.amazonaws.com"
    {
        return passed("not a Cognito call");
    }
    let Some(operation) = OPERATIONS.iter().find(|op| **op == call.event_name) else {
        return passed("not an operation acted on");
    };
    // Cognito's successful records may carry an empty `errorCode`.
    if call.error_code.as_deref().is_some_and(|c| !c.is_empty()) {
        return passed("the call failed");
    }
    let pool = (call.request_parameters.as_ref()).and_then(|p| p.user_pool_id.as_deref());
    if pool != Some(state.pool_id.as_str()) {
        return passed("another pool");
    }
    if call
        .issuer()
        .is_some_and(|arn| state.own_roles.iter().any(|own| own == arn))
    {
        return passed("the stack's own call");
    }
    let deleted = *operation == "AdminDeleteUser";
    let at = recorded_at(call);
    let Some((sub, username)) = user_of(state, call, deleted, at).await? else {
        if deleted {
            // A deleted user's sessions cannot be found without the `sub`: the record goes to
            // the dead-letter queue, whose alarm tells the operator.
            return Err(ApiError::unavailable(
                "an AdminDeleteUser record without the user's sub: their sessions cannot be found",
            ));
        }
        tracing::warn!(
            operation,
            "the record names no user this pool knows: nothing to end"
        );
        return passed("no user named");
    };
    if deleted {
        state.books.delete_owned_by(&sub).await?;
        // Recovery codes are kept by user name: only while no user has the name again.
        if let Some(username) = &username {
            let username = username.to_lowercase();
            if state
                .cognito
                .admin_user(&state.pool_id, &username)
                .await?
                .is_none()
            {
                state.recovery.delete(&username).await?;
            }
        }
    }
    // The sessions the action could have meant: those started by its time (CloudTrail's, to
    // the second). One a sign-in began since (the user reset their password and signed in
    // again before the record arrived) stays.
    let ended = match at {
        Some(at) => sessions::end_started_by(&state.cognito, &state.sessions, &sub, at + 1).await,
        None => sessions::end_all(&state.cognito, &state.sessions, &sub, None).await,
    }
    .into_result()?;
    let record = operator_event(call, operation, &sub, username.as_deref(), ended);
    state.audit.put_once(&record).await?;
    Ok(Outcome::Acted {
        event_id: record.id,
        sessions_ended: ended,
    })
}

/// The user the call acted on: their `sub`, and their user name where known. A user still in
/// the pool is read (by name, else by `sub`) and must match the record's `sub` where it has
/// one; a deleted user is known by the record alone.
async fn user_of(
    state: &State,
    call: &ApiCall,
    deleted: bool,
    at: Option<u64>,
) -> Result<Option<(String, Option<String>)>, ApiError> {
    let named = call.username().map(str::to_owned);
    if deleted {
        return Ok(call.sub().map(|sub| (sub.to_owned(), named)));
    }
    let user = match (&named, call.sub()) {
        (Some(username), _) => state.cognito.admin_user(&state.pool_id, username).await?,
        (None, Some(sub)) => (state.cognito)
            .admin_find_users(&state.pool_id, Some(Search::Sub(sub)), 1, None)
            .await?
            .users
            .into_iter()
            .next(),
        (None, None) => None,
    };
    Ok(match (user, call.sub()) {
        // Renamed or deleted and taken again since: the record's user is the one acted on.
        (Some(user), Some(sub)) if user.sub.as_deref() != Some(sub) => {
            Some((sub.to_owned(), named))
        }
        // No `sub` in the record: the user the name belongs to now, unless the account was
        // made after the call (the name deleted and taken again since).
        (Some(user), None)
            if at.is_some_and(|at| user.created_at.is_some_and(|made| made > at as i64)) =>
        {
            None
        }
        (Some(user), _) => user.sub.map(|sub| (sub, Some(user.username))),
        (None, sub) => sub.map(|sub| (sub.to_owned(), named)),
    })
}

/// When the call was made, in epoch seconds: the record's `eventTime`.
fn recorded_at(call: &ApiCall) -> Option<u64> {
    cloudtrail_time(&call.event_time).map(|time| audit::parse_rfc3339_millis(&time) / 1000)
}

/// The event of the operator's action: its key (time and id) from the record, so that a
/// record delivered twice makes one event.
fn operator_event(
    call: &ApiCall,
    operation: &str,
    sub: &str,
    username: Option<&str>,
    ended: usize,
) -> Event {
    let kind = match operation {
        "AdminDeleteUser" => EventType::AccountDeleted,
        "AdminDisableUser" => EventType::AccountDisabled,
        "AdminUserGlobalSignOut" => EventType::SignOut,
        "AdminResetUserPassword" => EventType::PasswordResetRequired,
        _ => EventType::GroupRemoved,
    };
    let context = ClientContext {
        ip: call.source_ip_address.clone(),
        user_agent: call.user_agent.clone(),
    };
    let mut event = Event::new(kind, &context).by_operator(call.issuer(), operation);
    event = match username {
        Some(username) => event.of(sub, username),
        None => event.of_sub(sub),
    };
    event = match kind {
        EventType::SignOut => event.scope(Scope::All, ended),
        _ => event.sessions_ended(ended),
    };
    if kind == EventType::GroupRemoved
        && let Some(group) =
            (call.request_parameters.as_ref()).and_then(|p| p.group_name.as_deref())
    {
        event = event.group(group);
    }
    if is_uuid(&call.event_id) {
        event.id = call.event_id.to_ascii_lowercase();
    }
    if let Some(time) = cloudtrail_time(&call.event_time) {
        event.time = time;
    }
    event
}

/// CloudTrail's `eventTime` (`2026-12-03T16:20:31Z`) in the events' form, with milliseconds.
fn cloudtrail_time(value: &str) -> Option<String> {
    let full = match value.len() {
        20 => format!("{}.000Z", &value[..19]),
        _ => value.to_owned(),
    };
    let ms = audit::parse_rfc3339_millis(&full);
    (audit::rfc3339(ms) == full).then_some(full)
}

#[cfg(test)]
mod tests;
