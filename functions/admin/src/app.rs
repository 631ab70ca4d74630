//! The admin function, composed once: by `main`, the local API, the tests and the bench alike.

use std::sync::Arc;

use aws_config::SdkConfig;
use platform::{Api, ApiError, BoxFuture, Caller, ConfigError, Env, Membership};
use tables::{Books, DynamoDb, RecoveryCodes, Sessions};

use crate::{ROUTES, State};

/// Who is in a group now: the pool's own answer (AdminListGroupsForUser), asked on every
/// request to a route that needs a group.
pub(crate) struct InGroup {
    pub(crate) cognito: auth::Cognito,
    pub(crate) pool_id: String,
}

impl Membership for InGroup {
    fn is_member<'a>(
        &'a self,
        caller: &'a Caller,
        group: &'a str,
    ) -> BoxFuture<'a, Result<bool, ApiError>> {
        Box::pin(async move {
            let username = caller.username()?;
            let groups = self.cognito.admin_groups(&self.pool_id, username).await?;
            Ok(groups.iter().any(|g| g == group))
        })
    }
}

/// The app client's configuration, the pool and the four tables from `env`; the Cognito client
/// and one DynamoDB client over `sdk`. Every route is checked against the sessions, and against
/// the caller's groups now.
pub async fn app(env: &Env, sdk: &SdkConfig) -> Result<Api<State>, ConfigError> {
    let config = auth::Config::from_env(env)?;
    let dynamodb = DynamoDb::new(sdk);
    let sessions = Sessions::new(dynamodb.clone(), tables::sessions::table_from_env(env)?);
    let books = Books::new(dynamodb.clone(), tables::books::table_from_env(env)?);
    let recovery = RecoveryCodes::new(dynamodb.clone(), tables::recovery::table_from_env(env)?);
    let audit = tables::audit::from_env(env, dynamodb)?;
    let pool_id = env.require(&["COGNITO_USER_POOL_ID"])?.to_owned();
    let audience = config.cognito.client_id.clone();
    let prewarm = sessions.prewarm(&config.api.sdk);
    let cognito =
        auth::Cognito::connect_alongside(sdk, &config.api.sdk, config.cognito, prewarm).await?;
    let revocations = Arc::new(sessions.clone());
    let membership = Arc::new(InGroup {
        cognito: cognito.clone(),
        pool_id: pool_id.clone(),
    });
    let state = State {
        reauth_window: reauth::window_from_env(env)?,
        cognito,
        pool_id,
        sessions,
        books,
        recovery,
        audit,
    };
    Ok(Api::new(config.api.cors, state, ROUTES)
        .protected(&audience, revocations)
        .with_membership(membership))
}
