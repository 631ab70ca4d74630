//! `POST /register`: creates an account in the Cognito user pool (SignUp).

use auth::client::CodeDelivery;
use auth::{normalize_username, password};
use platform::{ApiError, JsonObject, Reply, Request, Route, route};
use serde::Serialize;

pub use auth::Cognito as State;

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[route!(POST "/register" => register)];

/// The longest e-mail address (RFC 5321 path limit).

#[derive(Debug, PartialEq)]
struct Registration<'a> {
    username: String,
    password: &'a str,
    email: Option<String>,
}

impl<'a> Registration<'a> {
    fn parse(body: &'a JsonObject) -> Result<Self, ApiError> {
        let username = normalize_username(body.string("username")?)?;
        let password = password(body, "password")?;
        let email = match body.optional_string("email")? {
            Some(email) => Some(auth::email(email)?),
            // An e-mail-like user name doubles as the address the code is sent to.
            None if username.contains('@') => Some(auth::email(&username)?),
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
    let out = state
        .sign_up(
            &auth::Caller::of(req),
            &input.username,
            input.password,
            input.email.as_deref(),
        )
        .await?;
    let message = if out.user_confirmed {
        "Account created and confirmed. You can sign in."
    } else {
        "Account created. Confirm it with the code sent to you."
    };
    Reply::ok(&Registered {
        message,
        username: input.username,
        user_confirmed: out.user_confirmed,
        code_delivery: out.code_delivery,
    })
}

#[cfg(test)]
mod tests;
