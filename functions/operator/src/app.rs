//! The operator function, composed once: by `main`, the local API and the tests alike.

use aws_config::SdkConfig;
use platform::{ConfigError, Env};
use tables::{Books, DynamoDb, RecoveryCodes, Sessions};

use crate::State;

/// The pool, the tables and the stack's own roles from `env`; the Cognito client and one
/// DynamoDB client over `sdk`.
pub async fn app(env: &Env, sdk: &SdkConfig) -> Result<State, ConfigError> {
    let dynamodb = DynamoDb::new(sdk);
    let settings = platform::sdk::SdkSettings::from_env(env);
    let cognito =
        auth::Cognito::connect(sdk, &settings, auth::config::CognitoConfig::from_env(env)?).await?;
    let own_roles = env
        .get("OWN_ROLE_ARNS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|arn| !arn.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(State {
        cognito,
        pool_id: env.require(&["COGNITO_USER_POOL_ID"])?.to_owned(),
        sessions: Sessions::new(dynamodb.clone(), tables::sessions::table_from_env(env)?),
        books: Books::new(dynamodb.clone(), tables::books::table_from_env(env)?),
        recovery: RecoveryCodes::new(dynamodb.clone(), tables::recovery::table_from_env(env)?),
        audit: tables::audit::from_env(env, dynamodb)?,
        own_roles,
    })
}
