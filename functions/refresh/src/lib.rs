//! `POST /refresh`: swaps a refresh token for fresh tokens (InitiateAuth, REFRESH_TOKEN_AUTH).

use platform::body::check_len;
use platform::{ApiError, JsonObject, Reply, Request, Route, route};

pub use auth::Cognito as State;

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[route!(POST "/refresh" => refresh)];

/// Refresh tokens are opaque to us; this bounds what is forwarded to Cognito.
const MAX_REFRESH_TOKEN_CHARS: usize = 8192;

#[tracing::instrument(name = "refresh", skip_all)]
async fn refresh(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    // The `username` that /login returned: Cognito's internal user name.
    let username = auth::normalize_username(body.string("username")?)?;
    let refresh_token = body.string("refresh_token")?.trim();
    check_len("refresh_token", refresh_token, MAX_REFRESH_TOKEN_CHARS)?;
    let caller = auth::Caller::of(req);
    Reply::ok(&state.refresh(&caller, &username, refresh_token).await?)
}

#[cfg(test)]
mod tests;
