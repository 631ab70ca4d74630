//! `POST /login`: signs in with user name and password (InitiateAuth, USER_PASSWORD_AUTH).
//! When Cognito puts a challenge instead (the user's authenticator code, a new password for an
//! account an administrator created, or an authenticator to set up), `/login` answers it with
//! the session to answer it in; `POST /login/challenge` (functions/mfa) takes the answer.
//!
//! `POST /login/start`: choice-based sign-in (InitiateAuth, USER_AUTH): a password, a code
//! mailed to the user's verified address, or a passkey. With `method`, that way at once (the
//! password's sign-in completes here when `password` is given); without, `SELECT_CHALLENGE`
//! with the ways this user has. `/login/challenge` takes every answer that follows. On a pool
//! on Cognito's Lite plan it answers `501 feature_unavailable`.

use auth::{Method, Password, SignIn, Username};
use aws_config::SdkConfig;
use platform::{
    Api, ApiError, ClientContext, ConfigError, Env, JsonObject, Reply, Request, Route, route,
};
use sessions::{Sessions, SignInMethod};
use tables::Audit;
use tables::limits::{self, Limits};

/// What the routes work with, built once ([`app`]).
#[derive(Debug, Clone)]
pub struct State {
    pub cognito: auth::Cognito,
    /// The sign-in codes mailed per user ([`limits::SIGN_IN_CODE`]).
    pub limits: Limits,
    /// Where every sign-in records its session.
    pub sessions: Sessions,
    /// Where sign-ins and refused sign-ins are recorded.
    pub audit: Audit,
    /// `COGNITO_USER_POOL_ID`: where a refused sign-in's user is looked up, for its event.
    pub pool_id: String,
}

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[
    route!(POST "/login" => login),
    route!(POST "/login/start" => start),
];

/// The function, composed once (by `main`, the local API, the tests and the bench): the app
/// client's configuration, the limits and sessions tables from `env`, the Cognito client (its
/// secret read while its connection opens) and one DynamoDB client over `sdk`, whose
/// connection the sessions table's pre-warm opens at start-up.
pub async fn app(env: &Env, sdk: &SdkConfig) -> Result<Api<State>, ConfigError> {
    let config = auth::Config::from_env(env)?;
    let dynamodb = tables::DynamoDb::new(sdk);
    let limits = Limits::new(dynamodb.clone(), tables::limits::table_from_env(env)?);
    let sessions = Sessions::new(dynamodb.clone(), tables::sessions::table_from_env(env)?);
    let audit = tables::audit::from_env(env, dynamodb)?;
    let pool_id = env.require(&["COGNITO_USER_POOL_ID"])?.to_owned();
    let prewarm = sessions.prewarm(&config.api.sdk);
    let cognito =
        auth::Cognito::connect_alongside(sdk, &config.api.sdk, config.cognito, prewarm).await?;
    let state = State {
        cognito,
        limits,
        sessions,
        audit,
        pool_id,
    };
    Ok(Api::new(config.api.cors, state, ROUTES))
}

#[tracing::instrument(name = "login", skip_all)]
async fn login(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    let username = Username::from_body(&body, "username")?;
    let password = Password::from_body(&body, "password")?;
    let context = ClientContext::of(req);
    let sign_in = state
        .cognito
        .password_sign_in(&context, &username, &password)
        .await;
    let sign_in = failed_if(state, &username, sign_in, &context).await?;
    answer(state, sign_in, &context).await
}

/// `result`, a refused sign-in of `username` recorded as its event.
async fn failed_if(
    state: &State,
    username: &str,
    result: Result<SignIn, ApiError>,
    context: &ClientContext,
) -> Result<SignIn, ApiError> {
    if let Err(err) = &result {
        let (cognito, audit) = (&state.cognito, &state.audit);
        sessions::sign_in_failed(cognito, audit, &state.pool_id, username, err, context).await;
    }
    result
}

/// The tokens of a password sign-in, its session recorded, or the challenge put to it.
async fn answer(
    state: &State,
    sign_in: SignIn,
    context: &ClientContext,
) -> Result<Reply, ApiError> {
    let how = SignInMethod::Password;
    sessions::signed_in(
        &state.cognito,
        &state.sessions,
        &state.audit,
        sign_in,
        how,
        context,
    )
    .await?
    .into_reply()
}

/// `{"username", "method"?, "password"?}`: `password` only with the method `password`.
#[tracing::instrument(name = "login_start", skip_all)]
async fn start(state: &State, req: &Request) -> Result<Reply, ApiError> {
    state.cognito.require_passwordless()?;
    let body = JsonObject::from_request(req)?;
    body.deny_unknown_fields(&["username", "method", "password"])?;
    let username = Username::from_body(&body, "username")?;
    let method = Method::from_body(&body, "method")?;
    let password = match body.get("password") {
        Some(_) => Some(Password::from_body(&body, "password")?),
        None => None,
    };
    match (method, password) {
        (Some(Method::Password), None) => return Err(ApiError::MissingField("password")),
        (Some(Method::Password), Some(_)) | (_, None) => {}
        (_, Some(_)) => {
            return Err(ApiError::InvalidField {
                field: "password",
                reason: "is taken only with the method `password`".into(),
            });
        }
    }
    // A code is mailed only for the method email_otp: counted first, by the name asked for.
    if method == Some(Method::EmailOtp) {
        state.limits.take(&limits::SIGN_IN_CODE, &username).await?;
    }
    let context = ClientContext::of(req);
    let sign_in = state
        .cognito
        .start_sign_in(
            &context,
            &username,
            method,
            password.as_ref().map(|p| p.as_str()),
        )
        .await;
    let sign_in = failed_if(state, &username, sign_in, &context).await?;
    // Only the password completes a sign-in here; every other way answers a challenge.
    answer(state, sign_in, &context).await
}

#[cfg(test)]
mod tests;
