//! `POST /refresh`: swaps a refresh token for fresh tokens (InitiateAuth, REFRESH_TOKEN_AUTH).

use auth::{RefreshToken, Username};
use aws_config::SdkConfig;
use platform::{
    Api, ApiError, ClientContext, ConfigError, Env, JsonObject, Reply, Request, Route, route,
};

pub use auth::Cognito as State;

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[route!(POST "/refresh" => refresh)];

/// The function, composed once (by `main`, the local API, the tests and the bench): the app
/// client's configuration from `env`, and the Cognito client over `sdk`.
pub async fn app(env: &Env, sdk: &SdkConfig) -> Result<Api<State>, ConfigError> {
    auth::api(env, sdk, ROUTES).await
}

#[tracing::instrument(name = "refresh", skip_all)]
async fn refresh(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    // The `username` that /login returned: Cognito's internal user name.
    let username = Username::from_body(&body, "username")?;
    let refresh_token = RefreshToken::from_body(&body)?;
    let context = ClientContext::of(req);
    Reply::ok(&state.refresh(&context, &username, &refresh_token).await?)
}

#[cfg(test)]
mod tests;
