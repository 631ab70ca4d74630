//! `POST /confirm_user`: confirms an account with the code Cognito sent (ConfirmSignUp).

use platform::{ApiError, JsonObject, Reply, Request, Route, route};

pub use auth::Cognito as State;

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[route!(POST "/confirm_user" => confirm)];

#[tracing::instrument(name = "confirm", skip_all)]
async fn confirm(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    let username = auth::normalize_username(body.string("username")?)?;
    let caller = auth::Caller::of(req);
    state
        .confirm_sign_up(&caller, &username, auth::code(&body)?)
        .await?;
    Reply::message("Account confirmed. You can sign in.")
}

#[cfg(test)]
mod tests;
