//! Helpers for the end-to-end tests: a moto server on a free loopback port, stopped by PID when
//! dropped, and SDK clients pointed at it.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider as cognito;
use aws_sdk_cognitoidentityprovider::config::Credentials;
use aws_sdk_cognitoidentityprovider::types::{
    AliasAttributeType, AttributeDataType, ExplicitAuthFlowsType, SchemaAttributeType,
    UsernameConfigurationType, VerifiedAttributeType,
};

/// A moto server, started on 127.0.0.1 with a free port and killed when dropped.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A port the OS just handed out on loopback, free when this returns.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Moto {
    /// Starts `moto_server` from `MOTO_SERVER`, or from the venv `make test` creates.
    pub fn start() -> Self {
        let bin = std::env::var_os("MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join(".venv/bin/moto_server"));
        assert!(
            bin.exists(),
            "{} is missing: run the tests with `make test`, which installs moto",
            bin.display()
        );
        let port = free_port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    /// SDK config for this server: our loader (timeouts, retries, TLS) plus endpoint, a region
    /// and dummy credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        auth::sdk::loader()
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .load()
            .await
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A user pool and an app client with a secret, set up as `template.yaml` sets them up.
pub struct Pool {
    pub pool_id: String,
    pub client_id: String,
    pub client_secret: String,
}

/// Creates the pool and app client on `client`'s endpoint.
pub async fn create_pool(client: &cognito::Client, name: &str) -> Pool {
    let pool = client
        .create_user_pool()
        .pool_name(name)
        .username_configuration(
            UsernameConfigurationType::builder()
                .case_sensitive(false)
                .build()
                .unwrap(),
        )
        .auto_verified_attributes(VerifiedAttributeType::Email)
        .set_alias_attributes(None::<Vec<AliasAttributeType>>)
        .schema(
            SchemaAttributeType::builder()
                .name("email")
                .attribute_data_type(AttributeDataType::String)
                .required(true)
                .mutable(true)
                .build(),
        )
        .send()
        .await
        .expect("create the user pool");
    let pool_id = pool.user_pool().and_then(|p| p.id()).unwrap().to_owned();
    let app = client
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("app")
        .generate_secret(true)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("create the app client");
    let app = app.user_pool_client().unwrap();
    Pool {
        pool_id,
        client_id: app.client_id().unwrap().to_owned(),
        client_secret: app.client_secret().unwrap().to_owned(),
    }
}

/// The books table as `template.yaml` declares it: key `id` (S), on-demand, and the two
/// indexes the books function queries (see `books::store`).
pub async fn create_books_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType,
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let index = |name: &str, partition: &str| {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(partition, KeyType::Hash))
            .key_schema(key("created_at", KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("id"))
        .attribute_definitions(attr("catalog"))
        .attribute_definitions(attr("category"))
        .attribute_definitions(attr("created_at"))
        .key_schema(key("id", KeyType::Hash))
        .global_secondary_indexes(index(books::store::BY_CREATED, "catalog"))
        .global_secondary_indexes(index(books::store::BY_CATEGORY, "category"))
        .send()
        .await
        .expect("create the books table");
}
