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

/// A loopback port free when this returns, that nothing else in this process is handed and that
/// no socket of this machine takes by itself: it lies below the kernel's ephemeral range, the
/// ports `bind(0)` and every outgoing connection draw from. A port from `bind(0)`, let go and
/// bound again by a server that needs a moment to start, could meanwhile become another test's
/// listener or a connection's source port, and the server would fail to bind while the test went
/// on talking to someone else's.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let (low, high) = below_ephemeral_range();
    let span = u32::from(high - low);
    // Test binaries of two checkouts may run at once: each starts where its PID says.
    let start = std::process::id().wrapping_mul(2_654_435_761) % span;
    for _ in 0..span {
        let n = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span;
        let port = low + u16::try_from(n).expect("the span fits a port");
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {low}..{high}");
}

/// The ports below the ephemeral range of `/proc/sys/net/ipv4/ip_local_port_range` (32768 by
/// default) and above the well-known and commonly configured ones.
fn below_ephemeral_range() -> (u16, u16) {
    let first_ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let low = 20_000;
    assert!(
        first_ephemeral > low + 1_000,
        "the ephemeral range starts at {first_ephemeral}: too low for test ports"
    );
    (low, first_ephemeral)
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
        // A port can still be taken between the check and moto's bind (by another program):
        // then moto exits, and it starts again on another.
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                // moto checks authenticator (TOTP) codes only when told to.
                .env(TOTP_VAR, "true")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Some(status) = child.try_wait().expect("moto's status") {
                    eprintln!("moto exited ({status}) before it listened on {addr}");
                    break;
                }
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return Self {
                        child,
                        endpoint: format!("http://{addr}"),
                    };
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("moto did not start on {addr}");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("moto did not start: each port it was given was taken");
    }

    /// SDK config for this server: our loader (timeouts, retries, TLS) plus endpoint, a region
    /// and dummy credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_for(&self.endpoint).await
    }
}

/// `sdk` with the patience a test's set-up needs: the emulator's first calls load its
/// services (a second or more, several on a loaded machine), which the functions' own timeouts
/// would not wait for.
pub fn patient(sdk: &SdkConfig) -> SdkConfig {
    sdk.to_builder()
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(10))
                .operation_attempt_timeout(std::time::Duration::from_secs(60))
                .operation_timeout(std::time::Duration::from_secs(120))
                .build(),
        )
        .build()
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
