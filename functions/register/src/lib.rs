//! `POST /register`: creates an account in the Cognito user pool (SignUp).

use auth::body::check_len;
use auth::cognito::MAX_PASSWORD_CHARS;
use auth::cognito::map_error;
use auth::{ApiError, CognitoOp, JsonObject, RequestMeta, normalize_username, respond};
use aws_sdk_cognitoidentityprovider::config::Config;
use aws_sdk_cognitoidentityprovider::types::AttributeType;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

pub use auth::CognitoState as State;

/// The longest e-mail address (RFC 5321 path limit).
const MAX_EMAIL_CHARS: usize = 254;

#[derive(Debug, PartialEq)]
struct Registration<'a> {
    username: String,
    password: &'a str,
    email: Option<String>,
}

impl<'a> Registration<'a> {
    fn parse(body: &'a JsonObject) -> Result<Self, ApiError> {
        let username = normalize_username(body.string("username")?)?;
        let password = body.string("password")?;
        check_len("password", password, MAX_PASSWORD_CHARS)?;
        let email = match body.optional_string("email")? {
            Some(email) => Some(parse_email(email)?),
            // An e-mail-like user name doubles as the address the code is sent to.
            None if username.contains('@') => Some(parse_email(&username)?),
            None => None,
        };
        Ok(Self {
            username,
            password,
            email,
        })
    }
}

fn parse_email(raw: &str) -> Result<String, ApiError> {
    let email = raw.trim().to_lowercase();
    check_len("email", &email, MAX_EMAIL_CHARS)?;
    let well_formed = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if !well_formed {
        return Err(ApiError::InvalidField {
            field: "email",
            reason: "must be an e-mail address".into(),
        });
    }
    Ok(email)
}

#[derive(Debug, Serialize)]
struct Registered {
    message: &'static str,
    username: String,
    user_confirmed: bool,
    code_delivery: Option<CodeDelivery>,
}

#[derive(Debug, Serialize)]
struct CodeDelivery {
    destination: Option<String>,
    medium: Option<String>,
}

#[tracing::instrument(name = "register", skip_all)]
pub async fn handle(state: &State, req: Request) -> Result<Response<Body>, auth::Error> {
    let meta = RequestMeta::of(&req);
    let outcome = register(state, &req).await;
    Ok(respond(&state.cors, &meta, outcome))
}

async fn register(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let body = JsonObject::from_request(req)?;
    let input = Registration::parse(&body)?;
    let email = input
        .email
        .map(|email| {
            AttributeType::builder()
                .name("email")
                .value(email)
                .build()
                .expect("name is set")
        })
        .into_iter()
        .collect();
    let out = state
        .cognito
        .sign_up()
        .client_id(&state.app.client_id)
        .username(&input.username)
        .password(input.password)
        .set_secret_hash(state.app.secret_hash(&input.username))
        .set_user_attributes(Some(email))
        .customize()
        // SignUp is not idempotent: a retry after a lost answer would report username_exists
        // for an account this very request created.
        .config_override(Config::builder().retry_config(auth::sdk::no_retries()))
        .send()
        .await
        .map_err(|e| map_error(CognitoOp::SignUp, e))?;

    let code_delivery = out.code_delivery_details().map(|d| CodeDelivery {
        destination: d.destination().map(str::to_owned),
        medium: d.delivery_medium().map(|m| m.as_str().to_owned()),
    });
    let message = if out.user_confirmed() {
        "Account created and confirmed. You can sign in."
    } else {
        "Account created. Confirm it with the code sent to you."
    };
    Ok(state.cors.json(
        StatusCode::OK,
        &Registered {
            message,
            username: input.username,
            user_confirmed: out.user_confirmed(),
            code_delivery,
        },
    ))
}

#[cfg(test)]
mod tests;
