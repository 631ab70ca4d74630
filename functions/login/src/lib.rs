//! `POST /login`: signs in with user name and password (InitiateAuth, USER_PASSWORD_AUTH).
//! When Cognito puts a challenge instead (the user's authenticator code, a new password for an
//! account an administrator created, or an authenticator to set up), `/login` answers it with
//! the session to answer it in; `POST /login/challenge` (functions/mfa) takes the answer.

use auth::{Password, Username};
use aws_config::SdkConfig;
use platform::{
    Api, ApiError, ClientContext, ConfigError, Env, JsonObject, Reply, Request, Route, route,
};

pub use auth::Cognito as State;

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[route!(POST "/login" => login)];

/// The function, composed once (by `main`, the local API, the tests and the bench): the app
/// client's configuration from `env`, and the Cognito client over `sdk`.
pub async fn app(env: &Env, sdk: &SdkConfig) -> Result<Api<State>, ConfigError> {
    auth::api(env, sdk, ROUTES).await
}

#[tracing::instrument(name = "login", skip_all)]
async fn login(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    let username = Username::from_body(&body, "username")?;
    let password = Password::from_body(&body, "password")?;
    state
        .password_sign_in(&ClientContext::of(req), &username, &password)
        .await?
        .into_reply()
}

#[cfg(test)]
mod tests;
