//! `POST /register`: creates an account in the Cognito user pool (SignUp), and its `sign_up`
//! event.

use auth::{CodeDelivery, Email, Password, Username};
use aws_config::SdkConfig;
use platform::{
    Api, ApiError, ClientContext, ConfigError, Env, JsonObject, Reply, Request, Route, route,
};
use serde::Serialize;
use tables::Audit;
use tables::audit::{Event, EventType};

/// What the function works with, built once at start-up ([`app`]).
#[derive(Debug, Clone)]
pub struct State {
    pub cognito: auth::Cognito,
    /// Where the sign-up is recorded.
    pub audit: Audit,
}

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[route!(POST "/register" => register)];

/// The function, composed once (by `main`, the local API, the tests and the bench): the app
/// client's configuration and the audit table from `env`, the Cognito client and a DynamoDB
/// client over `sdk`.
pub async fn app(env: &Env, sdk: &SdkConfig) -> Result<Api<State>, ConfigError> {
    let audit = tables::audit::from_env(env, tables::DynamoDb::new(sdk))?;
    let config = auth::Config::from_env(env)?;
    let cognito = auth::Cognito::connect(sdk, &config.api.sdk, config.cognito).await?;
    Ok(Api::new(config.api.cors, State { cognito, audit }, ROUTES))
}

#[derive(Debug, PartialEq)]
struct Registration<'a> {
    username: Username,
    password: Password<'a>,
    email: Option<Email>,
}

impl<'a> Registration<'a> {
    fn parse(body: &'a JsonObject) -> Result<Self, ApiError> {
        let username = Username::from_body(body, "username")?;
        let password = Password::from_body(body, "password")?;
        let email = match body.optional_string("email")? {
            Some(email) => Some(Email::parse(email)?),
            // An e-mail-like user name doubles as the address the code is sent to.
            None if username.contains('@') => Some(Email::parse(&username)?),
            None => None,
        };
        Ok(Self {
            username,
            password,
            email,
        })
    }
}

#[derive(Debug, Serialize)]
struct Registered {
    message: &'static str,
    username: String,
    user_confirmed: bool,
    code_delivery: Option<CodeDelivery>,
}

#[tracing::instrument(name = "register", skip_all)]
async fn register(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    let input = Registration::parse(&body)?;
    let context = ClientContext::of(req);
    let out = state
        .cognito
        .sign_up(
            &context,
            &input.username,
            &input.password,
            input.email.as_deref(),
        )
        .await?;
    let event = Event::new(EventType::SignUp, &context).of(&out.user_sub, &input.username);
    state.audit.record(&event).await;
    let message = if out.user_confirmed {
        "Account created and confirmed. You can sign in."
    } else {
        "Account created. Confirm it with the code sent to you."
    };
    Reply::ok(&Registered {
        message,
        username: input.username.into_string(),
        user_confirmed: out.user_confirmed,
        code_delivery: out.code_delivery,
    })
}

#[cfg(test)]
mod tests;
