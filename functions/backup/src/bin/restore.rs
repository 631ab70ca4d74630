//! `restore`: an export back into an empty pool (docs/deploy.md, disaster recovery). Run with
//! AWS credentials that may call the pool's admin operations and write the tables:
//!
//! ```sh
//! cargo run --release -p backup --bin restore -- --bucket <UserExportBucketName> \
//!   --export exports/<time>/ --user-pool-id <UserPoolId> --client-id <UserPoolClientId> \
//!   --books-table <BooksTableName> --recovery-codes-table <RecoveryCodesTableName>
//! ```
//!
//! It prints what it did as JSON.

use std::collections::HashMap;

use platform::Env;

const USAGE: &str = "restore --bucket B --export exports/<time>/ --user-pool-id P --client-id C \
                     --books-table T --recovery-codes-table R [--per-second N]";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let mut args: HashMap<String, String> = HashMap::new();
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let name = flag
            .strip_prefix("--")
            .ok_or_else(|| format!("{flag}? usage: {USAGE}"))?;
        let value = given
            .next()
            .ok_or_else(|| format!("--{name} wants a value"))?;
        args.insert(name.to_owned(), value);
    }
    let arg = |name: &str| {
        args.get(name)
            .cloned()
            .ok_or_else(|| format!("--{name} is missing; usage: {USAGE}"))
    };
    let per_second = match args.get("per-second") {
        Some(n) => n
            .parse()
            .map_err(|_| "--per-second wants a number".to_owned())?,
        None => 20,
    };
    let pool_id = arg("user-pool-id")?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let env = Env::from_pairs([("COGNITO_CLIENT_ID", arg("client-id")?)]);
    let config = auth::config::CognitoConfig::from_env(&env).map_err(|e| e.to_string())?;
    let settings = platform::sdk::SdkSettings::from_env(&env);
    let cognito = auth::Cognito::connect(&sdk, &settings, config)
        .await
        .map_err(|e| e.to_string())?;
    let dynamodb = tables::DynamoDb::new(&sdk);
    let books = tables::Books::new(dynamodb.clone(), arg("books-table")?);
    let recovery = tables::RecoveryCodes::new(dynamodb, arg("recovery-codes-table")?);
    let s3 = backup::s3_client(&sdk);
    let (manifest, users) = backup::restore::read_export(&s3, &arg("bucket")?, &arg("export")?)
        .await
        .map_err(|e| format!("reading the export: {e:?}"))?;
    eprintln!(
        "restoring {} users of {} (pool {}) into {pool_id}",
        manifest.users, manifest.created_at, manifest.pool_id
    );
    let target = backup::restore::Target {
        cognito: &cognito,
        pool_id: &pool_id,
        books: &books,
        recovery: &recovery,
        per_second,
    };
    let restored = backup::restore::restore(&target, &manifest, &users)
        .await
        .map_err(|e| format!("restoring: {e:?}"))?;
    println!(
        "{}",
        serde_json::to_string_pretty(&restored).map_err(|e| e.to_string())?
    );
    Ok(())
}
