//! `POST /login`: signs in with user name and password (InitiateAuth, USER_PASSWORD_AUTH).
//! When Cognito puts a challenge instead (the user's authenticator code, a new password for an
//! account an administrator created, or an authenticator to set up), `/login` answers it with
//! the session to answer it in; `POST /login/challenge` (functions/mfa) takes the answer.

use auth::Caller;
use platform::{ApiError, JsonObject, Reply, Request, Route, route};

pub use auth::Cognito as State;

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[route!(POST "/login" => login)];

#[tracing::instrument(name = "login", skip_all)]
async fn login(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    let username = auth::normalize_username(body.string("username")?)?;
    let password = auth::password(&body, "password")?;
    state
        .password_sign_in(&Caller::of(req), &username, password)
        .await?
        .into_reply()
}

#[cfg(test)]
mod tests;
