//! `local-api`: the whole API on this machine. See the README's "Run it locally".

use std::net::SocketAddr;

use local_api::{Config, bootstrap, serve};
use local_cognito::LocalCognito;
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
    if let Some(emulator) = config.jwks_base.clone() {
        // The local Cognito, in front of the emulator's: real codes, the mailbox, SECRET_HASH
        // checks. Each message is printed here as it arrives, the code with it (an alert, with
        // its subject): that is what the console is for locally.
        let local = LocalCognito::start(&emulator, &sdk).await?;
        let mut mail = local.mailbox().subscribe();
        tokio::spawn(async move {
            while let Ok(m) = mail.recv().await {
                match &m.subject {
                    // A security alert sent through SES: no code, a subject.
                    Some(subject) if m.kind == local_cognito::mailbox::ALERT => {
                        println!("mail to {} (alert): {subject}", m.to)
                    }
                    _ => println!(
                        "mail to {} ({} for {}): code {}",
                        m.to, m.kind, m.username, m.code
                    ),
                }
            }
        });
        tracing::info!(endpoint = %local.endpoint, "local Cognito in front of the emulator; mailbox at {}", local_api::gateway::MAILBOX_PATH);
        config = config.with_cognito_layer(local);
    }

    let gateway = local_api::gateway(&config, &sdk).await?;
    // Each auth event, as the audit stream delivers it to the event bus and the alerts.
    if let Some(log) = gateway.events() {
        let mut feed = log.subscribe();
        tokio::spawn(async move {
            while let Ok(e) = feed.recv().await {
                let user = e.user.username.as_deref().or(e.user.sub.as_deref());
                let detail = serde_json::to_string(&e.detail).unwrap_or_default();
                println!(
                    "event {} ({:?}) for {} from {}: {detail}",
                    e.kind.as_str(),
                    e.outcome,
                    user.unwrap_or("-"),
                    e.ip.as_deref().unwrap_or("-"),
                );
            }
        });
        tracing::info!(
            "auth events from the audit stream at {}",
            local_api::gateway::EVENTS_PATH
        );
    }
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
