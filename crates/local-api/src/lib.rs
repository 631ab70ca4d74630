//! The local API Gateway twin. It reads `template.yaml`, serves exactly the routes it declares,
//! runs the Cognito authorizer on protected ones, and serves each function as its Lambda does:
//! built by the function's own `app`, invoked through `platform::lambda::invoke` with
//! lambda_http's own event conversion, in this process.

pub mod authorizer;
pub mod bootstrap;
pub mod gateway;
pub mod stream;
pub mod template;
pub mod trail;

use local_cognito::LocalCognito;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use aws_config::SdkConfig;
use platform::{ConfigError, Env};

use crate::authorizer::{Authorizer, AuthorizerConfig};
use crate::bootstrap::Created;
use crate::gateway::{Gateway, HandlerFn, handler};
use crate::template::Template;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// What the local API reads at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TEMPLATE` (default `template.yaml`).
    pub template: PathBuf,
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`: the pool's region, which the
    /// tokens' issuer names.
    pub region: String,
    /// `AWS_ENDPOINT_URL`: where the JWKS is served when not at the AWS URL (moto serves it).
    pub jwks_base: Option<String>,
    /// `JWKS_URL` and `TOKEN_ISSUER`: overrides for the authorizer's keys and expected issuer.
    pub jwks_url: Option<String>,
    pub issuer: Option<String>,
    /// The environment the functions get, as `template.yaml` gives it to each Lambda
    /// (`ALLOWED_ORIGIN`, `COGNITO_USER_POOL_ID`, `COGNITO_CLIENT_ID`,
    /// `COGNITO_CLIENT_SECRET_ARN`, `BOOKS_TABLE`, `SESSIONS_TABLE`, `RECOVERY_CODES_TABLE`,
    /// `MFA_ISSUER`). Each function reads what it needs in its own `app`.
    pub functions: Env,
    /// The local Cognito the functions call instead of the emulator's own, with its mailbox.
    pub cognito_layer: Option<LocalCognito>,
    /// Values for the template's parameters, as `sam deploy --parameter-overrides` gives them
    /// (`AllowedOrigin` follows `ALLOWED_ORIGIN`).
    pub parameters: HashMap<String, String>,
}

impl Config {
    /// Reads the local API's own variables from `env`; the functions get all of `env`.
    pub fn from_env(env: &Env) -> Self {
        Self {
            template: env
                .get("TEMPLATE")
                .map_or_else(|| "template.yaml".into(), PathBuf::from),
            region: env
                .first(&["AWS_REGION", "AWS_DEFAULT_REGION"])
                .unwrap_or("us-east-1")
                .to_owned(),
            jwks_base: env.get("AWS_ENDPOINT_URL").map(str::to_owned),
            jwks_url: env.get("JWKS_URL").map(str::to_owned),
            issuer: env.get("TOKEN_ISSUER").map(str::to_owned),
            functions: env.clone(),
            cognito_layer: None,
            parameters: HashMap::new(),
        }
    }

    /// Sends the functions' Cognito calls to `local`, and serves its mailbox.
    pub fn with_cognito_layer(mut self, local: LocalCognito) -> Self {
        self.cognito_layer = Some(local);
        self
    }

    /// Points the functions at the pool, client and table `bootstrap` created.
    pub fn with_backend(mut self, created: &Created) -> Self {
        let mut functions = self
            .functions
            .with("COGNITO_USER_POOL_ID", &created.pool_id)
            .with("COGNITO_CLIENT_ID", &created.client_id)
            .with("BOOKS_TABLE", &created.table)
            .with("SESSIONS_TABLE", &created.sessions_table)
            .with("RECOVERY_CODES_TABLE", &created.recovery_table)
            .with(
                auth::stored_secret::RECOVERY_CODE_PEPPER.var,
                &created.recovery_pepper_arn,
            )
            .with("LIMITS_TABLE", &created.limits_table)
            .with("AUDIT_TABLE", &created.audit_table)
            .with("EVENT_BUS_NAME", &created.event_bus);
        if let Some(arn) = &created.client_secret_arn {
            functions = functions.with(auth::config::SECRET_ARN_VAR, arn);
        }
        self.functions = functions;
        self
    }

    /// Allows `origin` (or `*`): the template's `AllowedOrigin` and the functions' CORS origin.
    pub fn allow_origin(&mut self, origin: &str) {
        self.functions = std::mem::take(&mut self.functions).with("ALLOWED_ORIGIN", origin);
    }

    /// The authorizer's settings: the pool's keys and issuer.
    pub fn authorizer(&self) -> Result<AuthorizerConfig, ConfigError> {
        let pool_id = self.functions.require(&["COGNITO_USER_POOL_ID"])?;
        let mut c = AuthorizerConfig::for_pool(&self.region, pool_id, self.jwks_base.as_deref());
        if let Some(url) = &self.jwks_url {
            c.jwks_url = url.clone();
        }
        if let Some(iss) = &self.issuer {
            c.issuer = iss.clone();
        }
        Ok(c)
    }

    pub fn load_template(&self) -> Result<Template, template::TemplateError> {
        let mut overrides = self.parameters.clone();
        // Passkeys are on locally unless a run says otherwise: the page is served at
        // http://localhost (scripts/dev), a secure context for browsers.
        overrides
            .entry(PASSKEY_RELYING_PARTY_PARAMETER.to_owned())
            .or_insert_with(|| LOCAL_RELYING_PARTY.to_owned());
        if let Some(origin) = self.functions.get("ALLOWED_ORIGIN") {
            overrides.insert("AllowedOrigin".to_owned(), origin.to_owned());
        }
        Template::load(&self.template, &overrides)
    }
}

/// The variables each function takes from its own part of the template, where the
/// environment does not set them.
pub const FUNCTION_VARIABLES: &[&str] = &[
    auth::passwordless::PASSWORDLESS_VAR,
    "REAUTH_WINDOW_SECONDS",
    "REFRESH_TOKEN_GRACE_SECONDS",
    "SESSION_IDLE_TIMEOUT_SECONDS",
];

/// The template parameter naming the passkeys' relying party.
pub const PASSKEY_RELYING_PARTY_PARAMETER: &str = "PasskeyRelyingPartyId";
/// The relying party of local runs: the page at `http://localhost:<port>`.
pub const LOCAL_RELYING_PARTY: &str = "localhost";

/// The From of the alerts in local runs.
pub const LOCAL_ALERT_FROM: &str = "Books <no-reply@localhost>";

/// The handler of every function binary in the workspace, by binary name, each function built
/// by its own `app` (the composition its Lambda `main` runs) from the variables `config` gives
/// the functions, over `sdk`. With the local Cognito in front of the emulator, the functions'
/// Cognito client is pointed at it through the SDK's own variable for Cognito's endpoint.
pub async fn handlers(
    config: &Config,
    sdk: &SdkConfig,
) -> Result<HashMap<String, HandlerFn>, Error> {
    let env = shared_env(config);
    handlers_over(config, sdk, env).await
}

/// What every function gets: `config`'s variables, pointed at the local Cognito (whose server
/// also takes SES's SendEmail: the alerts land in its mailbox).
fn shared_env(config: &Config) -> Env {
    match &config.cognito_layer {
        Some(local) => {
            let env = config
                .functions
                .clone()
                .with(auth::config::ENDPOINT_VAR, &local.endpoint)
                .with(alerts::ENDPOINT_VAR, &local.endpoint);
            match env.get(alerts::FROM_VAR) {
                Some(_) => env,
                None => env.with(alerts::FROM_VAR, LOCAL_ALERT_FROM),
            }
        }
        None => config.functions.clone(),
    }
}

async fn handlers_over(
    config: &Config,
    sdk: &SdkConfig,
    env: Env,
) -> Result<HashMap<String, HandlerFn>, Error> {
    // The pool's MFA setting, as the template passes it to the mfa function.
    let template = config.load_template()?;
    let env = match template.parameters.get("Mfa") {
        Some(mfa) if env.get(mfa::MFA_CONFIGURATION_VAR).is_none() => {
            env.with(mfa::MFA_CONFIGURATION_VAR, mfa)
        }
        _ => env,
    };
    // The pool's passkey relying party, which only the local Cognito keeps.
    if let Some(local) = &config.cognito_layer {
        let layer = aws_sdk_cognitoidentityprovider::config::Builder::from(sdk)
            .endpoint_url(&local.endpoint)
            .build();
        let idp = aws_sdk_cognitoidentityprovider::Client::from_conf(layer);
        let pool_id = env.require(&["COGNITO_USER_POOL_ID"])?;
        bootstrap::configure_passkeys(&template, &idp, pool_id).await?;
    }
    // Each function's own settings, as the template gives them to it (its conditions, and the
    // parameters, overridden as a deploy would): set in the environment, a variable wins, so
    // that a local run can shorten the re-authentication window or the idle timeout.
    let own = |binary: &str| {
        FUNCTION_VARIABLES.iter().fold(env.clone(), |own, var| {
            match template.function_variable(binary, var) {
                Some(value) if env.get(var).is_none() => own.with(var, &value),
                _ => own,
            }
        })
    };
    let (login_env, mfa_env, passkeys_env) = (own("login"), own("mfa"), own("passkeys"));
    let (refresh_env, account_env, admin_env) = (own("refresh"), own("account"), own("admin"));
    let (account_sdk, admin_sdk) = (
        as_role(config, sdk, "account"),
        as_role(config, sdk, "admin"),
    );
    let env = &env;
    // Each composition on the heap: side by side, unoptimised, they would take more of the
    // caller's stack than a test thread has.
    let (register, confirm, login, refresh, account, mfa, passkeys, books, admin) = tokio::try_join!(
        Box::pin(register::app(env, sdk)),
        Box::pin(confirm::app(env, sdk)),
        Box::pin(login::app(&login_env, sdk)),
        Box::pin(refresh::app(&refresh_env, sdk)),
        Box::pin(account::app(&account_env, &account_sdk)),
        Box::pin(mfa::app(&mfa_env, sdk)),
        Box::pin(passkeys::app(&passkeys_env, sdk)),
        Box::pin(books::app(env, sdk)),
        Box::pin(admin::app(&admin_env, &admin_sdk)),
    )?;
    Ok(HashMap::from([
        ("register".to_owned(), handler(register)),
        ("confirm".to_owned(), handler(confirm)),
        ("login".to_owned(), handler(login)),
        ("refresh".to_owned(), handler(refresh)),
        ("account".to_owned(), handler(account)),
        ("mfa".to_owned(), handler(mfa)),
        ("passkeys".to_owned(), handler(passkeys)),
        ("books".to_owned(), handler(books)),
        ("admin".to_owned(), handler(admin)),
    ]))
}

/// The functions whose own calls of Cognito's admin operations the operator function passes
/// over: each calls with an identity of its own ([`as_role`]), as each Lambda has its role.
pub const OWN_ROLES: &[&str] = &["account", "admin"];

/// The role the local Cognito's trail names for the function `binary`.
pub fn role_arn(binary: &str) -> String {
    format!(
        "arn:aws:iam::{}:role/local-{binary}-function",
        local_cognito::trail::ACCOUNT
    )
}

/// `sdk`, calling as the function `binary`'s own role: an access key of its own, which the
/// local Cognito's trail records as that role. Without the local Cognito, `sdk` as it is.
fn as_role(config: &Config, sdk: &SdkConfig, binary: &str) -> SdkConfig {
    use aws_sdk_cognitoidentityprovider::config::{Credentials, SharedCredentialsProvider};
    let Some(local) = &config.cognito_layer else {
        return sdk.clone();
    };
    let key = format!("LOCAL{}FUNCTION", binary.to_ascii_uppercase());
    local.layer.trail().assume_role(&key, &role_arn(binary));
    let credentials = Credentials::new(key, "local", None, None, "local-api");
    sdk.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build()
}

/// The gateway for `config`, its functions calling AWS (or moto) through `sdk`.
pub async fn gateway(config: &Config, sdk: &SdkConfig) -> Result<Gateway, Error> {
    let template = config.load_template()?;
    let authorizer = Arc::new(Authorizer::new(config.authorizer()?)?);
    let gateway = Gateway::new(template, handlers(config, sdk).await?, Some(authorizer))?;
    let gateway = match &config.cognito_layer {
        Some(local) => gateway.with_mailbox(local.mailbox().clone()),
        None => gateway,
    };
    // The audit table's stream, read as Lambda reads it, when the run has the table and a bus
    // (a bootstrapped emulator).
    let env = shared_env(config);
    let gateway = match (env.get("AUDIT_TABLE"), env.get("EVENT_BUS_NAME")) {
        (Some(table), Some(_)) => {
            let consumer = events::app(&env, sdk).await?;
            let log = Arc::new(stream::EventLog::default());
            let reader = stream::start(sdk, table, consumer, log.clone());
            gateway.with_events(log, reader)
        }
        _ => gateway,
    };
    // The operator's actions outside the API, from the local Cognito's trail.
    Ok(match (&config.cognito_layer, env.get("AUDIT_TABLE")) {
        (Some(local), Some(_)) => {
            let roles: Vec<String> = OWN_ROLES.iter().map(|b| role_arn(b)).collect();
            let env = env.with("OWN_ROLE_ARNS", roles.join(","));
            let operator = operator::app(&env, sdk).await?;
            gateway.with_trail(trail::start(&local.layer, operator))
        }
        _ => gateway,
    })
}

/// Serves `gateway` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    gateway: Gateway,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Arc::new(gateway).router();
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_env(&Env::from_pairs([
            (
                "TEMPLATE",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml"),
            ),
            ("COGNITO_USER_POOL_ID", "us-east-1_test"),
            ("COGNITO_CLIENT_ID", "client"),
            ("COGNITO_CLIENT_SECRET", "secret"),
            ("BOOKS_TABLE", "books"),
            ("SESSIONS_TABLE", "sessions"),
            ("RECOVERY_CODES_TABLE", "recovery-codes"),
            // The recovery codes' key, given as it is: these runs have no Secrets Manager to read it from.
            (
                "RECOVERY_CODE_PEPPER",
                "a-test-pepper-of-at-least-thirty-two-bytes",
            ),
            ("LIMITS_TABLE", "limits"),
            ("AUDIT_TABLE", "audit"),
            // Building the functions opens no connection: nothing to call here.
            ("PREWARM_CONNECTIONS", "false"),
        ]))
    }

    #[tokio::test]
    async fn the_route_table_of_template_yaml_equals_the_handler_map() {
        let config = config();
        let template = config.load_template().expect("template.yaml parses");
        let sdk = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            // Loopback, should anything call out after all.
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let handlers = handlers(&config, &sdk).await.unwrap();
        let routed: std::collections::BTreeSet<&str> = template.binaries();
        let handled: std::collections::BTreeSet<&str> =
            handlers.keys().map(String::as_str).collect();
        assert_eq!(routed, handled, "every function routed, none left over");
    }

    #[test]
    fn a_missing_function_variable_is_named() {
        let config = Config::from_env(&Env::from_pairs([("COGNITO_CLIENT_ID", "client")]));
        let err = config.authorizer().unwrap_err();
        assert_eq!(err.to_string(), "COGNITO_USER_POOL_ID is not set");
    }
}
