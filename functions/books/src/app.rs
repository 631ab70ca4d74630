//! The books function, composed once: by `main`, the local API, the tests and the bench alike.

use std::sync::Arc;

use aws_config::SdkConfig;
use platform::{Api, ApiConfig, ConfigError, Env};
use tables::{Books, DynamoDb, Sessions};

use crate::{ROUTES, State};

/// `BOOKS_TABLE`, `SESSIONS_TABLE` and the app client (`COGNITO_CLIENT_ID`) from `env`, one DynamoDB client over `sdk` for both, its
/// connection opened during start-up; every protected route checked against the sessions.
pub async fn app(env: &Env, sdk: &SdkConfig) -> Result<Api<State>, ConfigError> {
    let api = ApiConfig::from_env(env)?;
    let dynamodb = DynamoDb::new(sdk);
    let books = Books::new(dynamodb.clone(), tables::books::table_from_env(env)?);
    let sessions = Sessions::new(dynamodb, tables::sessions::table_from_env(env)?);
    // One client: the books table's pre-warm opens the connection the sessions check uses too.
    books.prewarm(&api.sdk).await;
    let revocations = Arc::new(sessions.clone());
    let state = State { books, sessions };
    let audience = env.require(&["COGNITO_CLIENT_ID"])?;
    Ok(Api::new(api.cors, state, ROUTES).protected(audience, revocations))
}
