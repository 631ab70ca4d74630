//! The one place where the AWS SDK is configured: HTTP client, TLS, timeouts and retries.
//!
//! Region and credentials come from the standard environment (in Lambda, the runtime sets them),
//! and `AWS_ENDPOINT_URL` points every client at a local emulator such as moto.
//!
//! Start-up is part of every cold start, so in Lambda the config is read from the variables the
//! runtime sets and nothing else is probed (no profile files, no instance metadata), and
//! [`prewarm`] opens each client's connection while the function initialises.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::{ApiError, Env};

/// Connecting to a regional endpoint takes milliseconds; a longer wait means it is unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// One attempt of one call, connection included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// One call, all retries included: the function answers 504 well before its own Lambda timeout.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(6);
/// Attempts per call, the first included, for calls that are safe to repeat.
pub const MAX_ATTEMPTS: u32 = 3;

/// How long start-up waits for [`prewarm`]: a TLS handshake to a regional endpoint takes tens of
/// milliseconds, and an unreachable one must not hold up the cold start for long.
pub const PREWARM_TIMEOUT: Duration = Duration::from_millis(250);
/// Set to `false` to skip [`prewarm`].
pub const PREWARM_VAR: &str = "PREWARM_CONNECTIONS";

/// The roots that every AWS service endpoint's certificate chains to: Amazon Root CA 1 to 4 of
/// Amazon Trust Services, and the Starfield Services root that cross-signs them.
pub const AMAZON_TRUST_SERVICES_PEM: &str = include_str!("../certs/amazon-trust-services.pem");
/// Set to `system` to trust the operating system's roots in Lambda too (an HTTPS
/// `AWS_ENDPOINT_URL` whose certificate is not from Amazon Trust Services needs it).
pub const TRUST_STORE_VAR: &str = "TLS_TRUST_STORE";

/// The SDK's settings, read once at start-up with the rest of a function's configuration.
#[derive(Debug, Clone, Default)]
pub struct SdkSettings {
    /// Whether this is a Lambda execution environment (`AWS_LAMBDA_FUNCTION_NAME` is set).
    pub in_lambda: bool,
    /// `AWS_REGION`, which the Lambda runtime sets.
    pub region: Option<String>,
    /// Whether `AWS_ACCESS_KEY_ID` is set: in Lambda, the execution role's credentials.
    pub env_credentials: bool,
    /// `TLS_TRUST_STORE=system`: trust the operating system's roots in Lambda too.
    pub system_trust_store: bool,
    /// `PREWARM_CONNECTIONS` (on unless `false`): see [`prewarm`].
    pub prewarm: bool,
}

impl SdkSettings {
    pub fn from_env(env: &Env) -> Self {
        Self {
            in_lambda: env.get("AWS_LAMBDA_FUNCTION_NAME").is_some(),
            region: env.get("AWS_REGION").map(str::to_owned),
            env_credentials: env.get("AWS_ACCESS_KEY_ID").is_some(),
            system_trust_store: env
                .get(TRUST_STORE_VAR)
                .is_some_and(|v| v.eq_ignore_ascii_case("system")),
            prewarm: env.enabled(PREWARM_VAR),
        }
    }
}

/// The SDK config loader with our HTTP client, timeouts and retry policy. The local API and the
/// tests add an endpoint, region and credentials to it.
///
/// In Lambda, the region is `AWS_REGION` and the credentials are the execution role's, which
/// the runtime puts in `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`:
/// reading them directly spares the default chains' look-ups of profile files and instance
/// metadata.
pub fn loader(settings: &SdkSettings) -> ConfigLoader {
    let loader = base_loader(settings);
    if !settings.in_lambda {
        return loader;
    }
    let loader = match &settings.region {
        Some(region) => loader.region(Region::new(region.clone())),
        None => loader,
    };
    if settings.env_credentials {
        loader.credentials_provider(EnvironmentVariableCredentialsProvider::new())
    } else {
        loader
    }
}

fn base_loader(settings: &SdkSettings) -> ConfigLoader {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls_context(settings))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
}

/// The roots TLS connections are checked against. In Lambda, only Amazon Trust Services': the
/// functions talk to Cognito and DynamoDB and nothing else, and reading and parsing the system's
/// whole bundle (about 140 roots, from a file and a directory of them) was the largest part of a
/// cold start's init. Elsewhere, and with `TLS_TRUST_STORE=system`, the system's roots.
fn tls_context(settings: &SdkSettings) -> TlsContext {
    let store = if settings.in_lambda && !settings.system_trust_store {
        TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_PEM.as_bytes())
    } else {
        TrustStore::default()
    };
    // Building a context from a trust store alone has no failure path today; should one appear,
    // the SDK's own default context is the safe fallback.
    TlsContext::builder()
        .with_trust_store(store)
        .build()
        .unwrap_or_default()
}

/// Loads the SDK config, once, at start-up.
pub async fn load(settings: &SdkSettings) -> SdkConfig {
    loader(settings).load().await
}

/// Opens a client's connection during start-up, so that the first request finds it in the
/// pool and pays for no connect, TLS handshake or loading of root certificates. `call` is one
/// cheap, harmless call through that client (with retries off); its answer, even an error, is
/// ignored. It is given [`PREWARM_TIMEOUT`] at most, and fails at once when the network is
/// down; `PREWARM_CONNECTIONS=false` skips it.
pub async fn prewarm<F: Future>(settings: &SdkSettings, service: &'static str, call: F) {
    if !settings.prewarm {
        return;
    }
    let started = Instant::now();
    let done = tokio::time::timeout(PREWARM_TIMEOUT, call).await.is_ok();
    tracing::debug!(
        service,
        done,
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "connection pre-warmed"
    );
}

/// The retry policy for calls that must not run twice, such as SignUp: a retry after a lost
/// answer would turn a success into a confusing `username_exists`.
pub fn no_retries() -> RetryConfig {
    RetryConfig::disabled()
}

/// Splits a failed SDK call into the service's own typed error, for the caller to map by
/// variant, or the API's answer to a transport failure: 504 for a time-out, 503 when the service
/// is unreachable or answered something unreadable, 500 when the request could not be built.
/// The cause rides in the error to the request's log line; it never reaches a response body.
pub fn service_error<E>(
    call: &dyn std::fmt::Debug,
    err: SdkError<E, HttpResponse>,
) -> Result<E, ApiError>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(ctx) => Ok(ctx.into_err()),
        SdkError::TimeoutError(_) => Err(ApiError::timeout(format_args!("{call:?}: timed out"))),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            Err(ApiError::timeout(format_args!("{call:?}: timed out")))
        }
        SdkError::DispatchFailure(failure) => Err(ApiError::unavailable(format_args!(
            "{call:?}: unreachable: {:?}",
            failure.as_connector_error()
        ))),
        SdkError::ConstructionFailure(_) => Err(ApiError::internal(format_args!(
            "{call:?}: the request could not be built"
        ))),
        other => Err(ApiError::unavailable(format_args!(
            "{call:?}: unreadable answer: {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    use super::*;

    /// The SDK parses the store the same way when it first connects, and panics on a certificate
    /// it cannot read: in Lambda that would be every function's first call.
    #[test]
    fn lambda_trust_store_holds_the_five_amazon_roots() {
        let ders = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_PEM.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("valid PEM");
        assert_eq!(ders.len(), 5);
        let mut roots = rustls::RootCertStore::empty();
        for der in ders {
            roots.add(der).expect("a usable trust anchor");
        }
        assert_eq!(roots.len(), 5);
        let subjects: Vec<String> = roots
            .roots
            .iter()
            .map(|a| String::from_utf8_lossy(a.subject.as_ref()).into_owned())
            .collect();
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            assert!(
                subjects.iter().any(|s| s.contains(name)),
                "{name} missing from {subjects:?}"
            );
        }
    }
}
