#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), platform::Error> {
    platform::lambda::init_tracing();
    let config = auth::Config::from_env(&platform::Env::process())?;
    let cognito = auth::Cognito::connect(&config.api.sdk, config.cognito).await?;
    platform::lambda::run(&platform::Api::new(
        config.api.cors,
        cognito,
        register::ROUTES,
    ))
    .await
}
