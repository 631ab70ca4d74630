//! `POST /refresh`: swaps a refresh token for fresh tokens and a new refresh token
//! (GetTokensFromRefreshToken: the app client rotates them). The session centre
//! ([`sessions::refresh`]) finds the token's session first: a token exchanged already and
//! presented again after the grace period ends the session (`401 refresh_token_reused`), and a
//! session idle for longer than `SessionIdleTimeout` ends (`401 session_timed_out`).

use auth::{RefreshToken, Username};
use aws_config::SdkConfig;
use platform::{
    Api, ApiError, ClientContext, ConfigError, Env, JsonObject, Reply, Request, Route, route,
};
use sessions::{Policy, Sessions};

/// What the route works with, built once ([`app`]).
#[derive(Debug, Clone)]
pub struct State {
    pub cognito: auth::Cognito,
    pub sessions: Sessions,
    pub policy: Policy,
    /// Where a session ended by reuse or idleness is recorded.
    pub audit: tables::Audit,
}

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[route!(POST "/refresh" => refresh)];

/// The fields `/refresh` takes. `username` (which `/login` answers) is no longer needed, and
/// still accepted from clients that send it.
const FIELDS: &[&str] = &["refresh_token", "username"];

/// The function, composed once (by `main`, the local API, the tests and the bench): the app
/// client's configuration, the sessions table and the refresh policy from `env`, the Cognito
/// and DynamoDB clients over `sdk`.
pub async fn app(env: &Env, sdk: &SdkConfig) -> Result<Api<State>, ConfigError> {
    let config = auth::Config::from_env(env)?;
    let dynamodb = tables::DynamoDb::new(sdk);
    let sessions = Sessions::new(dynamodb.clone(), tables::sessions::table_from_env(env)?);
    let audit = tables::audit::from_env(env, dynamodb)?;
    let policy = Policy::from_env(env)?;
    let prewarm = sessions.prewarm(&config.api.sdk);
    let cognito =
        auth::Cognito::connect_alongside(sdk, &config.api.sdk, config.cognito, prewarm).await?;
    let state = State {
        cognito,
        sessions,
        policy,
        audit,
    };
    Ok(Api::new(config.api.cors, state, ROUTES))
}

#[tracing::instrument(name = "refresh", skip_all)]
async fn refresh(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    body.deny_unknown_fields(FIELDS)?;
    if body.optional_string("username")?.is_some() {
        Username::from_body(&body, "username")?;
    }
    let refresh_token = RefreshToken::from_body(&body)?;
    let tokens = sessions::refresh(
        &state.cognito,
        &state.sessions,
        &state.audit,
        state.policy,
        &refresh_token,
        &ClientContext::of(req),
    )
    .await?;
    Reply::ok(&tokens)
}

#[cfg(test)]
mod tests;
