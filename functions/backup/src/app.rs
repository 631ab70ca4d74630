//! The backup function, composed once: by `main`, the tests and the restore's own tests alike.

use aws_config::SdkConfig;
use platform::{ConfigError, Env};
use tables::{DynamoDb, RecoveryCodes};

use crate::State;

/// The pool, the recovery codes table and the export bucket from `env`; the Cognito client,
/// one DynamoDB client and one S3 client over `sdk`.
pub async fn app(env: &Env, sdk: &SdkConfig) -> Result<State, ConfigError> {
    let settings = platform::sdk::SdkSettings::from_env(env);
    let cognito =
        auth::Cognito::connect(sdk, &settings, auth::config::CognitoConfig::from_env(env)?).await?;
    Ok(State {
        cognito,
        pool_id: env.require(&["COGNITO_USER_POOL_ID"])?.to_owned(),
        recovery: RecoveryCodes::new(DynamoDb::new(sdk), tables::recovery::table_from_env(env)?),
        s3: s3_client(sdk),
        bucket: env.require(&["USER_EXPORT_BUCKET"])?.to_owned(),
        now: std::time::SystemTime::now,
    })
}

/// S3 over `sdk`; path-style addressing where an endpoint is given (a local emulator, which has
/// no per-bucket host names).
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}
