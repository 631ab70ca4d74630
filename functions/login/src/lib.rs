//! `POST /login`: signs in with user name and password (InitiateAuth, USER_PASSWORD_AUTH).
//! When Cognito puts a challenge instead (the user's authenticator code, a new password for an
//! account an administrator created, or an authenticator to set up), `/login` answers it with
//! the session to answer it in; `POST /login/challenge` (functions/mfa) takes the answer.

use auth::{Caller, SignIn};
use platform::{ApiError, JsonObject, Reply, Request, Route, route};

pub use auth::Cognito as State;

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[route!(POST "/login" => login)];

/// The tokens, with a message, or the challenge (no tokens), as one 200 answer.
fn signed_in(outcome: SignIn) -> Result<Reply, ApiError> {
    match outcome {
        SignIn::Tokens(mut tokens) => {
            tokens.message = Some("Signed in.");
            Reply::ok(&tokens)
        }
        SignIn::Challenge(challenge) => Reply::ok(&challenge),
    }
}

#[tracing::instrument(name = "login", skip_all)]
async fn login(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    let username = auth::normalize_username(body.string("username")?)?;
    let password = auth::password(&body, "password")?;
    signed_in(
        state
            .password_sign_in(&Caller::of(req), &username, password)
            .await?,
    )
}

#[cfg(test)]
mod tests;
