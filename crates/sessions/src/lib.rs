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
//! - [`end_others`]: after a change of password or second factor, and a sign-in with a recovery
//!   code, the user's other sessions end, unless the request says `"keep_other_sessions": true`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth::{Cognito, SignIn, Tokens};
use platform::{ApiError, Caller, ClientContext, ConfigError, Env, JsonObject};
pub use tables::sessions::{NewSession, Session, Sessions, SignInMethod, session_id};

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

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Records the session `sign_in` began, when it issued tokens; a challenge passes through.
/// Where the record cannot be written the tokens are revoked and the sign-in fails (503 or
/// 429): tokens without a session would be refused on every protected route.
pub async fn signed_in(
    cognito: &Cognito,
    sessions: &Sessions,
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
    let new = NewSession {
        sub: &sub,
        origin_jti: &origin_jti,
        refresh_token,
        method,
        ip: context.ip.as_deref(),
        device: device.as_deref(),
    };
    if let Err(err) = sessions.start(new).await {
        revoke(cognito, refresh_token).await;
        return Err(err);
    }
    Ok(sign_in)
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
    policy: Policy,
    refresh_token: &str,
) -> Result<Tokens, ApiError> {
    let Some(record) = sessions.refresh_token(refresh_token).await? else {
        return Err(ApiError::InvalidRefreshToken);
    };
    let at = now();
    match record.spent_at {
        Some(spent) if at.saturating_sub(spent) > policy.grace.as_secs() => {
            sessions.end(&record.sub, &record.session).await?;
            tracing::warn!(
                session = %record.session,
                "a spent refresh token was presented again: its session has ended"
            );
            return Err(ApiError::RefreshTokenReused);
        }
        None => {
            if let Some(idle) = policy.idle
                && at.saturating_sub(record.issued_at) > idle.as_secs()
            {
                sessions.end(&record.sub, &record.session).await?;
                return Err(ApiError::SessionTimedOut);
            }
        }
        Some(_) => {}
    }
    let tokens = match cognito.refresh(refresh_token).await {
        Ok(tokens) => tokens,
        Err(ApiError::RefreshTokenReused) => {
            sessions.end(&record.sub, &record.session).await?;
            return Err(ApiError::RefreshTokenReused);
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
    if !sessions.rotate(&record, new_token, &origin_jti).await? {
        // The session ended between the check and the exchange.
        revoke(cognito, new_token).await;
        return Err(ApiError::InvalidRefreshToken);
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

/// Ends every session of the caller's but the caller's own, unless `keep`; how many ended.
pub async fn end_others(
    sessions: &Sessions,
    caller: &Caller,
    keep: bool,
) -> Result<usize, ApiError> {
    if keep {
        return Ok(0);
    }
    let own = sessions.current(caller).await?;
    sessions.end_all(caller.sub(), own.as_deref()).await
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
