use std::sync::Arc;

use platform::{Api, Env, lambda};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), platform::Error> {
    lambda::init_tracing();
    let config = mfa::Config::from_env(&Env::process())?;
    let cors = config.api.cors.clone();
    let state = mfa::State::connect(config).await?;
    let revocations = Arc::new(state.sessions.clone());
    lambda::run(&Api::new(cors, state, mfa::ROUTES).with_revocations(revocations)).await
}
