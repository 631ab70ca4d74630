//! The mfa function, composed once: by `main`, the local API, the tests and the bench alike.

use std::sync::Arc;

use aws_config::SdkConfig;
use platform::{Api, ConfigError, Env};
use tables::{DynamoDb, Limits, RecoveryCodes, Sessions};

use crate::{DEFAULT_ISSUER, MFA_CONFIGURATION_VAR, ROUTES, State};

/// The app client's configuration, the pool and its MFA setting (`MFA_CONFIGURATION`), the
/// issuer (`MFA_ISSUER`) and the three tables from
/// `env`; the Cognito client (its secret read while its connection opens, and the recovery codes'
/// pepper beside it) and one DynamoDB
/// client over `sdk`, both connections opened at once during start-up. Every protected route is
/// checked against the sessions.
pub async fn app(env: &Env, sdk: &SdkConfig) -> Result<Api<State>, ConfigError> {
    let config = auth::Config::from_env(env)?;
    let dynamodb = DynamoDb::new(sdk);
    let sessions = Sessions::new(dynamodb.clone(), tables::sessions::table_from_env(env)?);
    let codes_table = tables::recovery::table_from_env(env)?;
    let limits = Limits::new(dynamodb.clone(), tables::limits::table_from_env(env)?);
    let audit = tables::audit::from_env(env, dynamodb.clone())?;
    let audience = config.cognito.client_id.clone();
    let pool_id = env.require(&["COGNITO_USER_POOL_ID"])?.to_owned();
    let issuer = env.get("MFA_ISSUER").unwrap_or(DEFAULT_ISSUER).to_owned();
    let mfa_required = env
        .get(MFA_CONFIGURATION_VAR)
        .is_some_and(|m| m.eq_ignore_ascii_case("ON"));
    let prewarm = sessions.prewarm(&config.api.sdk);
    // The recovery codes' pepper is read while the Cognito client connects.
    let (cognito, pepper) = tokio::try_join!(
        auth::Cognito::connect_alongside(sdk, &config.api.sdk, config.cognito, prewarm),
        auth::stored_secret::pepper_from_env(env, sdk),
    )?;
    let codes = RecoveryCodes::new(dynamodb.clone(), codes_table).peppered(pepper);
    let revocations = Arc::new(sessions.clone());
    let reauth = reauth::Reauth::new(cognito.clone(), codes.clone(), limits.clone())
        .within(reauth::window_from_env(env)?);
    let state = State {
        audit,
        cognito,
        codes,
        sessions,
        limits,
        reauth,
        pool_id,
        issuer,
        mfa_required,
    };
    Ok(Api::new(config.api.cors, state, ROUTES).protected(&audience, revocations))
}
