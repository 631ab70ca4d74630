//! A moto server on a free loopback port, stopped by PID when dropped, and the SDK config that
//! points at it.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider::config::Credentials;

/// A moto server, started on 127.0.0.1 with a free port and killed when dropped.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A port the OS just handed out on loopback, free when this returns.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Makes moto check TOTP codes (it does not by default); `make dev` and the tests set it.
pub const TOTP_VAR: &str = "MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP";

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
            // moto checks authenticator (TOTP) codes only when told to.
            .env(TOTP_VAR, "true")
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
        sdk_config_for(&self.endpoint).await
    }
}

/// SDK config for any endpoint on this machine, as [`Moto::sdk_config`] makes it.
pub async fn sdk_config_for(endpoint: &str) -> SdkConfig {
    platform::sdk::loader(&platform::sdk::SdkSettings::default())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
