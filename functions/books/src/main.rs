use std::sync::Arc;

use platform::{Api, Env, lambda};
use sessions::Sessions;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), platform::Error> {
    lambda::init_tracing();
    let config = books::Config::from_env(&Env::process())?;
    // The store's start-up opens the connection the sessions table's checks use too.
    let store = books::State::connect(&config.api.sdk, config.table).await;
    let sessions = Arc::new(Sessions::new(store.client().clone(), config.sessions_table));
    lambda::run(&Api::new(config.api.cors, store, books::ROUTES).with_revocations(sessions)).await
}
