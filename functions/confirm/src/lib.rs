//! `POST /confirm_user`: confirms an account with the code Cognito sent (ConfirmSignUp), and
//! its `sign_up_confirmed` event (the user's `sub` read with AdminGetUser).

use auth::{Code, Username};
use aws_config::SdkConfig;
use platform::{
    Api, ApiError, ClientContext, ConfigError, Env, JsonObject, Reply, Request, Route, route,
};

use tables::Audit;
use tables::audit::{Event, EventType};

/// What the function works with, built once at start-up ([`app`]).
#[derive(Debug, Clone)]
pub struct State {
    pub cognito: auth::Cognito,
    /// Where the confirmation is recorded.
    pub audit: Audit,
    /// `COGNITO_USER_POOL_ID`: the pool the user's `sub` is read from.
    pub pool_id: String,
}

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[route!(POST "/confirm_user" => confirm)];

/// The function, composed once (by `main`, the local API, the tests and the bench): the app
/// client's configuration, the pool and the audit table from `env`, the Cognito client and a
/// DynamoDB client over `sdk`.
pub async fn app(env: &Env, sdk: &SdkConfig) -> Result<Api<State>, ConfigError> {
    let audit = tables::audit::from_env(env, tables::DynamoDb::new(sdk))?;
    let pool_id = env.require(&["COGNITO_USER_POOL_ID"])?.to_owned();
    let config = auth::Config::from_env(env)?;
    let cognito = auth::Cognito::connect(sdk, &config.api.sdk, config.cognito).await?;
    let state = State {
        cognito,
        audit,
        pool_id,
    };
    Ok(Api::new(config.api.cors, state, ROUTES))
}

#[tracing::instrument(name = "confirm", skip_all)]
async fn confirm(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    let username = Username::from_body(&body, "username")?;
    let code = Code::from_body(&body)?;
    let context = ClientContext::of(req);
    state
        .cognito
        .confirm_sign_up(&context, &username, &code)
        .await?;
    // The account is confirmed: a sub that cannot be read leaves the event out, not the answer.
    match state.cognito.admin_sub(&state.pool_id, &username).await {
        Ok(sub) => {
            let event = Event::new(EventType::SignUpConfirmed, &context).of(&sub, &username);
            state.audit.record(&event).await;
        }
        Err(err) => tracing::error!(
            error = err.code(),
            cause = err.cause().map(tracing::field::display),
            "a confirmation's sub could not be read: its event is not recorded"
        ),
    }
    Reply::message("Account confirmed. You can sign in.")
}

#[cfg(test)]
mod tests;
