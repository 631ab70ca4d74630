#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), platform::Error> {
    platform::lambda::init_tracing();
    let config = books::Config::from_env(&platform::Env::process())?;
    let store = books::State::connect(&config.api.sdk, config.table).await;
    platform::lambda::run(&platform::Api::new(config.api.cors, store, books::ROUTES)).await
}
