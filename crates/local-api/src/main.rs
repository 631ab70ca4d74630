//! `local-api`: the whole API on this machine. See the README's "Run it locally".

use std::net::SocketAddr;

use local_api::{Config, bootstrap, serve};
use platform::Env;
use platform::sdk::SdkSettings;
use tracing_subscriber::EnvFilter;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_target(false)
        .init();

    let env = Env::process();
    let addr: SocketAddr = env
        .get("LOCAL_API_ADDR")
        .unwrap_or("127.0.0.1:3000")
        .parse()?;
    let mut config = Config::from_env(&env);
    let sdk = platform::sdk::loader(&SdkSettings::from_env(&env))
        .region(aws_config::Region::new(config.region.clone()))
        .load()
        .await;

    if env.get("LOCAL_BOOTSTRAP") == Some("1") {
        // A fresh emulator: create the pool, client and table as the template defines them.
        if config.jwks_base.is_none() {
            return Err("LOCAL_BOOTSTRAP=1 needs AWS_ENDPOINT_URL (the emulator)".into());
        }
        let created = bootstrap::create(&config.load_template()?, &sdk, "local").await?;
        tracing::info!(pool_id = %created.pool_id, client_id = %created.client_id, table = %created.table, "created the user pool, app client and books table");
        config = config.with_backend(&created);
    }

    let gateway = local_api::gateway(&config, &sdk).await?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(
        "local API on http://{} (stage prefix /{} optional), {} routes from {}",
        listener.local_addr()?,
        gateway.template().stage,
        gateway.template().routes.len(),
        config.template.display()
    );
    serve(listener, gateway, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
