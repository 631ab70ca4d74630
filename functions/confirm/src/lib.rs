//! `POST /confirm_user`: confirms an account with the code Cognito sent (ConfirmSignUp).

use auth::{Code, Username};
use aws_config::SdkConfig;
use platform::{
    Api, ApiError, ClientContext, ConfigError, Env, JsonObject, Reply, Request, Route, route,
};

pub use auth::Cognito as State;

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[route!(POST "/confirm_user" => confirm)];

/// The function, composed once (by `main`, the local API, the tests and the bench): the app
/// client's configuration from `env`, and the Cognito client over `sdk`.
pub async fn app(env: &Env, sdk: &SdkConfig) -> Result<Api<State>, ConfigError> {
    auth::api(env, sdk, ROUTES).await
}

#[tracing::instrument(name = "confirm", skip_all)]
async fn confirm(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    let username = Username::from_body(&body, "username")?;
    let code = Code::from_body(&body)?;
    state
        .confirm_sign_up(&ClientContext::of(req), &username, &code)
        .await?;
    Reply::message("Account confirmed. You can sign in.")
}

#[cfg(test)]
mod tests;
