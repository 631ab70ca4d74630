use platform::{Api, Env, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), platform::Error> {
    lambda::init_tracing();
    let config = books::Config::from_env(&Env::process())?;
    let store = books::State::connect(&config.api.sdk, config.table).await;
    lambda::run(&Api::new(config.api.cors, store, books::ROUTES)).await
}
