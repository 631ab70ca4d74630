//! The session centre, over the sessions table ([`tables::sessions`]) and Cognito:
//!
//! - [`signed_in`]: every sign-in that issues tokens records its session (how the user signed
//!   in, the address and device it came from); tokens whose session could not be recorded are
//!   revoked, since every protected route would refuse them.
//! - [`refresh`]: `/refresh` exchanges a refresh token with GetTokensFromRefreshToken (the app
//!   client rotates its refresh tokens), and goes beyond Cognito: a token exchanged already and
//!   presented again after the grace period is a theft or a leak, and ends its whole session
//!   (`401 refresh_token_reused`); a session idle for longer than the idle timeout ends too
//!   (`401 session_timed_out`).
//! - [`end`], [`end_all`], [`end_others`]: a session ends in the table (its tokens refused by
//!   this API at once) and at Cognito (its refresh token revoked, and with it the access tokens
//!   Cognito's own API would still take). After a change of password or second factor, and a
//!   sign-in with a recovery code, the user's other sessions end, unless the request says
//!   `"keep_other_sessions": true`.
//!
//! Each sign-in is an event (`sign_in`, with its method and whether the device is new to the
//! account), as is each session [`refresh`] ends (`session_ended`, with the reason), in the
//! audit log ([`tables::audit`]).
//!
//! The refresh token each session holds is kept sealed ([`auth::Cognito::seal`]), bound to its
//! record, so that an ending can revoke it; only its SHA-256 finds it.

use std::time::Duration;

use auth::{Cognito, SignIn, Tokens};
use platform::{ApiError, Caller, ClientContext, ConfigError, Env, JsonObject};
use tables::Audit;
pub use tables::audit::{Event, EventType, Scope};
pub use tables::sessions::{Ended, NewSession, Session, Sessions, SignInMethod, session_id};

/// The request field that keeps the other sessions after a change.
pub const KEEP_OTHER_SESSIONS: &str = "keep_other_sessions";

/// How `/refresh` treats a session, read once at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The app client's RetryGracePeriodSeconds: how long a rotated-out refresh token may be
    /// presented again (a client's retry) before it counts as reused.
    pub grace: Duration,
    /// A session not refreshed for this long ends at its next refresh; `None`: no idle timeout.
    pub idle: Option<Duration>,
}

impl Policy {
    /// `REFRESH_TOKEN_GRACE_SECONDS` (0 to 60, as Cognito allows) and
    /// `SESSION_IDLE_TIMEOUT_SECONDS` (0 or unset: none).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let seconds = |name: &'static str, max: u64| -> Result<u64, ConfigError> {
            let Some(value) = env.get(name) else {
                return Ok(0);
            };
            value
                .parse::<u64>()
                .ok()
                .filter(|v| *v <= max)
                .ok_or(ConfigError::Invalid {
                    name,
                    reason: format!("must be a number of seconds from 0 to {max}"),
                })
        };
        let idle = seconds("SESSION_IDLE_TIMEOUT_SECONDS", u64::from(u32::MAX))?;
        Ok(Self {
            grace: Duration::from_secs(seconds("REFRESH_TOKEN_GRACE_SECONDS", 60)?),
            idle: (idle > 0).then(|| Duration::from_secs(idle)),
        })
    }
}

/// Records the session `sign_in` began, when it issued tokens, and its `sign_in` event; a
/// challenge passes through. Where the record cannot be written the tokens are revoked and the
/// sign-in fails (503 or 429): tokens without a session would be refused on every protected
/// route.
pub async fn signed_in(
    cognito: &Cognito,
    sessions: &Sessions,
    audit: &Audit,
    sign_in: SignIn,
    method: SignInMethod,
    context: &ClientContext,
) -> Result<SignIn, ApiError> {
    let SignIn::Tokens(tokens) = &sign_in else {
        return Ok(sign_in);
    };
    let (Some(sub), Some(origin_jti), Some(refresh_token)) = (
        tokens.subject(),
        tokens.session(),
        tokens.refresh_token.as_deref(),
    ) else {
        return Err(ApiError::unavailable(
            "Cognito: a sign-in's tokens without sub, origin_jti or refresh token",
        ));
    };
    let device = context.device();
    let bound_to = NewSession::sealed_for(&sub, &session_id(&origin_jti));
    let sealed = cognito.seal(refresh_token, &bound_to).await?;
    let new = NewSession {
        sub: &sub,
        origin_jti: &origin_jti,
        refresh_token,
        sealed: sealed.as_deref(),
        method,
        ip: context.ip.as_deref(),
        device: device.as_deref(),
    };
    let id = match sessions.start(new).await {
        Ok(id) => id,
        Err(err) => {
            revoke(cognito, refresh_token).await;
            return Err(err);
        }
    };
    let new_device = match keep_within_limit(cognito, sessions, audit, &sub, &id).await {
        Ok(others) => Some(!others.iter().any(|s| s.device == device)),
        Err(err) => {
            tracing::warn!(
                error = err.code(),
                cause = err.cause().map(tracing::field::display),
                "the sessions over the limit could not be ended"
            );
            None
        }
    };
    let event = Event::new(EventType::SignIn, context);
    let event = match tokens.owner() {
        Some(username) => event.of(&sub, &username),
        None => event.of_sub(&sub),
    };
    let mut event = event.in_session(Some(&id)).method(method.as_str());
    if let Some(new) = new_device {
        event = event.new_device(new);
    }
    audit.record(&event).await;
    Ok(sign_in)
}

/// An event `kind` about and by the signed-in `caller`, in the session their token names, from
/// the client `context`.
pub fn caller_event(caller: &Caller, kind: EventType, context: &ClientContext) -> Event {
    let session = caller.origin_jti().map(session_id);
    let event = Event::new(kind, context);
    let event = match caller.username() {
        Ok(username) => event.of(caller.sub(), username),
        Err(_) => event.of_sub(caller.sub()),
    };
    event.in_session(session.as_deref())
}

/// Records a refused sign-in of `username` as `sign_in_failed`, with the refusal's code as the
/// reason (never what was tried), under the account's `sub` where one answers to the name
/// (AdminGetUser in `pool_id`). Refusals of the request's shape (400s), throttling (429) and
/// the service's own failures (5xx) are no sign-in attempts and are not recorded.
pub async fn sign_in_failed(
    cognito: &Cognito,
    audit: &Audit,
    pool_id: &str,
    username: &str,
    err: &ApiError,
    context: &ClientContext,
) {
    let attempt = matches!(
        err,
        ApiError::InvalidCredentials
            | ApiError::NotAuthorized
            | ApiError::UserNotConfirmed
            | ApiError::PasswordResetRequired
            | ApiError::CodeMismatch
            | ApiError::ExpiredCode
            | ApiError::InvalidCode
            | ApiError::SessionExpired
    );
    if !attempt {
        return;
    }
    let event = Event::new(EventType::SignInFailed, context);
    let event = match cognito.admin_sub(pool_id, username).await {
        Ok(sub) => event.of(&sub, username),
        Err(_) => event.of_unknown(username),
    };
    audit.record(&event.failed(err.code())).await;
}

/// The most sessions one account keeps at once. A sign-in past it ends the sessions least
/// recently active (by their last refresh), at once and at Cognito, as an ending from the
/// session list does; the new one always stays.
pub const MAX_SESSIONS: usize = 50;

/// Ends `sub`'s least recently active sessions beyond [`MAX_SESSIONS`], never `newest`; the
/// user's other live sessions before that.
async fn keep_within_limit(
    cognito: &Cognito,
    sessions: &Sessions,
    audit: &Audit,
    sub: &str,
    newest: &str,
) -> Result<Vec<Session>, ApiError> {
    let mut live = sessions.list(sub, None).await?;
    live.retain(|s| s.id != newest);
    if live.len() < MAX_SESSIONS {
        return Ok(live);
    }
    live.sort_by_key(|s| (s.last_refreshed_at, s.started_at));
    let over = live.len() + 1 - MAX_SESSIONS;
    for oldest in &live[..over] {
        end(cognito, sessions, sub, &oldest.id).await?;
        let event = Event::new(EventType::SessionEnded, &ClientContext::default())
            .of_sub(sub)
            .in_session(Some(&oldest.id))
            .reason("session_limit");
        audit.record(&event).await;
    }
    Ok(live)
}

/// Revokes tokens no session holds; a failure is logged (their every use is refused anyway).
async fn revoke(cognito: &Cognito, refresh_token: &str) {
    if let Err(err) = cognito.revoke_token(refresh_token).await {
        tracing::warn!(
            error = err.code(),
            cause = err.cause().map(tracing::field::display),
            "tokens without a session could not be revoked"
        );
    }
}

/// `/refresh`: fresh tokens and a new refresh token for `refresh_token`, whose session must be
/// live. A token this API never gave, or whose session has ended, is `401
/// invalid_refresh_token`; one exchanged already, presented after the grace period, ends its
/// session and is `401 refresh_token_reused`; a session idle for longer than the policy allows
/// ends and is `401 session_timed_out`.
pub async fn refresh(
    cognito: &Cognito,
    sessions: &Sessions,
    audit: &Audit,
    policy: Policy,
    refresh_token: &str,
    context: &ClientContext,
) -> Result<Tokens, ApiError> {
    let ended = |sub: &str, session: &str, reason: &ApiError| {
        Event::new(EventType::SessionEnded, context)
            .of_sub(sub)
            .in_session(Some(session))
            .reason(reason.code())
    };
    let Some(record) = sessions.refresh_token(refresh_token).await? else {
        return Err(ApiError::InvalidRefreshToken);
    };
    let at = tables::epoch_seconds();
    match record.spent_at {
        Some(spent) if at.saturating_sub(spent) > policy.grace.as_secs() => {
            end(cognito, sessions, &record.sub, &record.session).await?;
            tracing::warn!(
                session = %record.session,
                "a spent refresh token was presented again: its session has ended"
            );
            let err = ApiError::RefreshTokenReused;
            audit
                .record(&ended(&record.sub, &record.session, &err))
                .await;
            return Err(err);
        }
        None => {
            if let Some(idle) = policy.idle
                && at.saturating_sub(record.issued_at) > idle.as_secs()
            {
                end(cognito, sessions, &record.sub, &record.session).await?;
                let err = ApiError::SessionTimedOut;
                audit
                    .record(&ended(&record.sub, &record.session, &err))
                    .await;
                return Err(err);
            }
        }
        Some(_) => {}
    }
    let tokens = match cognito.refresh(refresh_token).await {
        Ok(tokens) => tokens,
        Err(ApiError::RefreshTokenReused) => {
            end(cognito, sessions, &record.sub, &record.session).await?;
            let err = ApiError::RefreshTokenReused;
            audit
                .record(&ended(&record.sub, &record.session, &err))
                .await;
            return Err(err);
        }
        Err(err) => return Err(err),
    };
    let (Some(new_token), Some(origin_jti)) = (tokens.refresh_token.as_deref(), tokens.session())
    else {
        return Err(ApiError::internal(
            "Cognito GetTokensFromRefreshToken: no new refresh token (is the app client's \
             refresh-token rotation on?)",
        ));
    };
    let bound_to = NewSession::sealed_for(&record.sub, &record.session);
    let sealed = cognito.seal(new_token, &bound_to).await?;
    match sessions
        .rotate(&record, new_token, sealed.as_deref(), &origin_jti)
        .await
    {
        Ok(true) => {}
        // The session ended between the check and the exchange.
        Ok(false) => {
            revoke(cognito, new_token).await;
            return Err(ApiError::InvalidRefreshToken);
        }
        // Tokens no record holds would be refused: revoked rather than handed out.
        Err(err) => {
            revoke(cognito, new_token).await;
            return Err(err);
        }
    }
    Ok(tokens)
}

/// Whether `body` asks to keep the other sessions (`"keep_other_sessions": true`).
pub fn keep_others(body: Option<&JsonObject>) -> Result<bool, ApiError> {
    Ok(match body {
        Some(body) => body.optional_bool(KEEP_OTHER_SESSIONS)?.unwrap_or(false),
        None => false,
    })
}

/// Ends the session `id` of `sub`, in the table and at Cognito; `false` when there was no such
/// live session.
pub async fn end(
    cognito: &Cognito,
    sessions: &Sessions,
    sub: &str,
    id: &str,
) -> Result<bool, ApiError> {
    match sessions.end(sub, id).await? {
        Some(ended) => {
            revoke_ended(cognito, &ended).await;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// What an ending of several sessions did: how many ended (each revoked at Cognito too), and
/// its first failure.
#[derive(Debug, Default)]
pub struct Ending {
    pub ended: usize,
    pub failed: Option<ApiError>,
}

impl Ending {
    /// An ending that could not start.
    pub fn failed(err: ApiError) -> Self {
        Self {
            ended: 0,
            failed: Some(err),
        }
    }

    /// How many ended, or the failure.
    pub fn into_result(self) -> Result<usize, ApiError> {
        match self.failed {
            Some(e) => Err(e),
            None => Ok(self.ended),
        }
    }
}

/// Ends every session of `sub` but `except`, in the table and at Cognito: every one is tried,
/// and every one ended is revoked, whatever fails.
pub async fn end_all(
    cognito: &Cognito,
    sessions: &Sessions,
    sub: &str,
    except: Option<&str>,
) -> Ending {
    revoked(cognito, sessions.end_all(sub, except).await).await
}

/// Ends every session of `sub` that started at or before `cutoff` (epoch seconds), in the table
/// and at Cognito: what an action taken at `cutoff` ends, when it is acted on later.
pub async fn end_started_by(
    cognito: &Cognito,
    sessions: &Sessions,
    sub: &str,
    cutoff: u64,
) -> Ending {
    revoked(cognito, sessions.end_started_by(sub, cutoff).await).await
}

/// The sessions the table ended, each revoked at Cognito too, as an [`Ending`].
async fn revoked(cognito: &Cognito, all: tables::sessions::EndedAll) -> Ending {
    for one in &all.ended {
        revoke_ended(cognito, one).await;
    }
    Ending {
        ended: all.ended.len(),
        failed: all.failed,
    }
}

/// Revokes at Cognito the refresh token of a session the table has ended. The table refuses
/// its tokens already: a token that cannot be opened or revoked is logged, not an error.
async fn revoke_ended(cognito: &Cognito, ended: &Ended) {
    let Some(sealed) = &ended.sealed else {
        return;
    };
    let bound_to = NewSession::sealed_for(&ended.sub, &ended.id);
    match cognito.unseal(sealed, &bound_to).await {
        Some(token) => revoke(cognito, &token).await,
        None => tracing::warn!(
            session = %ended.id,
            "an ended session's refresh token could not be opened to revoke it"
        ),
    }
}

/// What a change that ends the other sessions answers about them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OthersEnded {
    /// How many of the user's other sessions ended (none with `keep_other_sessions`).
    pub other_sessions_ended: usize,
    /// Set when some could not be ended: the change stands, and the rest can be ended from
    /// the session list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_sessions_note: Option<&'static str>,
}

/// The note of [`OthersEnded`] when some sessions could not be ended.
pub const OTHERS_NOT_ENDED: &str = "some of your other sessions could not be ended: end them from your session list (DELETE /me/sessions)";

impl OthersEnded {
    /// What `ended` (the outcome of ending the other sessions after a change the request has
    /// made already) answers: a failure is logged, not answered, since the change stands and
    /// could not be sent again.
    pub fn after_change(ending: Ending) -> Self {
        let note = ending.failed.map(|err| {
            tracing::error!(
                error = err.code(),
                cause = err.cause().map(tracing::field::display),
                "the other sessions could not all be ended after a change"
            );
            OTHERS_NOT_ENDED
        });
        Self {
            other_sessions_ended: ending.ended,
            other_sessions_note: note,
        }
    }
}

/// Ends every session of the caller's but the caller's own, unless `keep`.
pub async fn end_others(
    cognito: &Cognito,
    sessions: &Sessions,
    caller: &Caller,
    keep: bool,
) -> Ending {
    if keep {
        return Ending::default();
    }
    match sessions.current(caller).await {
        Ok(own) => end_all(cognito, sessions, caller.sub(), own.as_deref()).await,
        Err(err) => Ending::failed(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_read_from_the_environment_and_bounded_as_cognito_bounds_the_grace() {
        let env = Env::from_pairs([
            ("REFRESH_TOKEN_GRACE_SECONDS", "10"),
            ("SESSION_IDLE_TIMEOUT_SECONDS", "3600"),
        ]);
        assert_eq!(
            Policy::from_env(&env).unwrap(),
            Policy {
                grace: Duration::from_secs(10),
                idle: Some(Duration::from_secs(3600))
            }
        );
        let off = Policy::from_env(&Env::from_pairs([("SESSION_IDLE_TIMEOUT_SECONDS", "0")]));
        assert_eq!(off.unwrap().idle, None);
        for bad in ["61", "-1", "ten"] {
            let env = Env::from_pairs([("REFRESH_TOKEN_GRACE_SECONDS", bad)]);
            assert!(Policy::from_env(&env).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_sign_in_past_the_limit_ends_the_least_recently_active_session() {
        use aws_sdk_dynamodb::types::AttributeValue as V;
        use aws_smithy_mocks::mock;
        use std::collections::HashMap;
        let item = |id: &str, refreshed: u64| {
            HashMap::from([
                ("pk".to_owned(), V::S("sub-1".into())),
                ("sk".to_owned(), V::S(format!("session#{id}"))),
                ("started_at".to_owned(), V::N("100".into())),
                ("refreshed_at".to_owned(), V::N(refreshed.to_string())),
                ("refresh".to_owned(), V::S(format!("hash-{id}"))),
            ])
        };
        // The new session (refreshed at 5), 50 older ones, "stale" the least recently active.
        let listed = mock!(aws_sdk_dynamodb::Client::query).then_output(move || {
            let mut items: Vec<_> = (0..MAX_SESSIONS - 1)
                .map(|n| item(&format!("s{n}"), 1000 + n as u64))
                .collect();
            items.push(item("stale", 7));
            items.push(item("new", 5));
            aws_sdk_dynamodb::operation::query::QueryOutput::builder()
                .set_items(Some(items))
                .build()
        });
        let read = mock!(aws_sdk_dynamodb::Client::get_item)
            .match_requests(|r| {
                r.key()
                    .and_then(|k| k.get("sk"))
                    .and_then(|v| v.as_s().ok())
                    == Some(&"session#stale".to_owned())
            })
            .then_output(move || {
                aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder()
                    .set_item(Some(item("stale", 7)))
                    .build()
            });
        let ended = mock!(aws_sdk_dynamodb::Client::transact_write_items)
            .match_requests(|t| format!("{t:?}").contains("session#stale"))
            .then_output(|| {
                aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput::builder()
                    .build()
            });
        let swept = mock!(aws_sdk_dynamodb::Client::query)
            .then_output(|| aws_sdk_dynamodb::operation::query::QueryOutput::builder().build());
        let table = Sessions::new(
            test_support::dynamodb_client(&[&listed, &read, &ended, &swept]),
            "sessions".into(),
        );
        let audit = Audit::new(test_support::audit_client(), "audit".into(), 1);
        keep_within_limit(&test_support::cognito(&[]), &table, &audit, "sub-1", "new")
            .await
            .unwrap();
        assert_eq!((read.num_calls(), ended.num_calls()), (1, 1));
    }

    #[test]
    fn a_failure_to_end_the_others_after_a_change_is_told_not_answered_as_an_error() {
        let ended = OthersEnded::after_change(Ending {
            ended: 2,
            failed: None,
        });
        assert_eq!(
            (ended.other_sessions_ended, ended.other_sessions_note),
            (2, None)
        );
        let failed = OthersEnded::after_change(Ending {
            ended: 1,
            failed: Some(ApiError::unavailable("DynamoDB")),
        });
        assert_eq!(failed.other_sessions_note, Some(OTHERS_NOT_ENDED));
        let shown = serde_json::to_value(failed).unwrap();
        assert_eq!(
            shown["other_sessions_ended"], 1,
            "those ended before the failure"
        );
        assert!(shown["other_sessions_note"].is_string());
        let quiet = serde_json::to_value(ended).unwrap();
        assert!(quiet.get("other_sessions_note").is_none());
    }

    #[test]
    fn other_sessions_end_unless_the_body_keeps_them() {
        let body = |text: &str| JsonObject::from_body(&text.into()).unwrap();
        assert!(!keep_others(None).unwrap());
        assert!(!keep_others(Some(&body("{}"))).unwrap());
        assert!(keep_others(Some(&body(r#"{"keep_other_sessions": true}"#))).unwrap());
        assert!(!keep_others(Some(&body(r#"{"keep_other_sessions": false}"#))).unwrap());
        let wrong = keep_others(Some(&body(r#"{"keep_other_sessions": "yes"}"#))).unwrap_err();
        assert_eq!(wrong.code(), "invalid_type");
    }
}
