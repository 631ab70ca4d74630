use platform::{Api, Env, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), platform::Error> {
    lambda::init_tracing();
    let config = auth::Config::from_env(&Env::process())?;
    let cognito = auth::Cognito::connect(&config.api.sdk, config.cognito).await?;
    lambda::run(&Api::new(config.api.cors, cognito, refresh::ROUTES)).await
}
