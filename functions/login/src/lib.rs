//! `POST /login`: signs in with user name and password (InitiateAuth, USER_PASSWORD_AUTH).

use platform::{ApiError, JsonObject, Reply, Request, Route, route};

pub use auth::Cognito as State;

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[route!(POST "/login" => login)];

#[tracing::instrument(name = "login", skip_all)]
async fn login(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    let username = auth::normalize_username(body.string("username")?)?;
    let password = auth::password(&body, "password")?;
    let caller = auth::Caller::of(req);
    let mut tokens = state.password_sign_in(&caller, &username, password).await?;
    tokens.message = Some("Signed in.");
    Reply::ok(&tokens)
}

#[cfg(test)]
mod tests;
