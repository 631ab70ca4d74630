//! `local-api`: the whole API on this machine. See the README's "Run it locally".

use std::net::SocketAddr;
use std::path::PathBuf;

use local_api::{Config, bootstrap, serve};
use tracing_subscriber::EnvFilter;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn required(names: &[&str]) -> Result<String, Error> {
    names
        .iter()
        .find_map(|n| var(n))
        .ok_or_else(|| format!("{} is not set", names[0]).into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_target(false)
        .init();

    let addr: SocketAddr = var("LOCAL_API_ADDR")
        .unwrap_or_else(|| "127.0.0.1:3000".into())
        .parse()?;
    let endpoint = var("AWS_ENDPOINT_URL");
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".into());
    let sdk = auth::sdk::loader()
        .region(aws_config::Region::new(region.clone()))
        .load()
        .await;

    let mut config = Config {
        template: var("TEMPLATE")
            .map(PathBuf::from)
            .unwrap_or_else(|| "template.yaml".into()),
        allowed_origin: var("ALLOWED_ORIGIN"),
        region,
        pool_id: String::new(),
        client_id: String::new(),
        client_secret: None,
        books_table: String::new(),
        jwks_base: endpoint.clone(),
        jwks_url: var("JWKS_URL"),
        issuer: var("TOKEN_ISSUER"),
    };

    if var("LOCAL_BOOTSTRAP").as_deref() == Some("1") {
        // A fresh emulator: create the pool, client and table as the template defines them.
        if endpoint.is_none() {
            return Err("LOCAL_BOOTSTRAP=1 needs AWS_ENDPOINT_URL (the emulator)".into());
        }
        let created = bootstrap::create(&config.load_template()?, &sdk, "local").await?;
        tracing::info!(pool_id = %created.pool_id, client_id = %created.client_id, table = %created.table, "created the user pool, app client and books table");
        config.pool_id = created.pool_id;
        config.client_id = created.client_id;
        config.client_secret = created.client_secret;
        config.books_table = created.table;
    } else {
        config.pool_id = required(&["COGNITO_USER_POOL_ID"])?;
        config.client_id = required(&["COGNITO_CLIENT_ID", "CLIENT_ID"])?;
        config.client_secret = var("COGNITO_CLIENT_SECRET").or_else(|| var("CLIENT_SECRET"));
        config.books_table = required(&["BOOKS_TABLE"])?;
    }

    let gateway = local_api::gateway(&config, &sdk)?;
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
