//! The local API Gateway twin. It reads `template.yaml`, serves exactly the routes it declares,
//! runs the Cognito authorizer on protected ones, and calls the same `handle` functions the
//! Lambdas run, in-process, through lambda_http's own event conversion.

pub mod authorizer;
pub mod bootstrap;
pub mod gateway;
pub mod template;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use auth::{AppClient, CognitoState, Cors};
use aws_config::SdkConfig;

use crate::authorizer::{Authorizer, AuthorizerConfig};
use crate::gateway::{Gateway, HandlerFn};
use crate::template::Template;

/// Everything the local API needs to know, read once at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    pub template: PathBuf,
    /// `ALLOWED_ORIGIN`: the template's `AllowedOrigin` parameter and the functions' CORS origin.
    pub allowed_origin: Option<String>,
    pub region: String,
    pub pool_id: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub books_table: String,
    /// Where the JWKS is served, when not at the AWS URL (moto serves it itself).
    pub jwks_base: Option<String>,
    /// Overrides for the authorizer's JWKS URL and expected issuer.
    pub jwks_url: Option<String>,
    pub issuer: Option<String>,
}

impl Config {
    pub fn authorizer(&self) -> AuthorizerConfig {
        let mut c = AuthorizerConfig::for_pool(
            &self.region,
            &self.pool_id,
            &self.client_id,
            self.jwks_base.as_deref(),
        );
        if let Some(url) = &self.jwks_url {
            c.jwks_url = url.clone();
        }
        if let Some(iss) = &self.issuer {
            c.issuer = iss.clone();
        }
        c
    }

    pub fn load_template(&self) -> Result<Template, template::TemplateError> {
        let mut overrides = HashMap::new();
        if let Some(origin) = &self.allowed_origin {
            overrides.insert("AllowedOrigin".to_owned(), origin.clone());
        }
        Template::load(&self.template, &overrides)
    }

    pub fn cors(&self) -> Result<Cors, auth::http::InvalidOrigin> {
        Cors::new(self.allowed_origin.as_deref().unwrap_or("*"))
    }
}

/// The handler of every function binary in the workspace, by binary name, each with its
/// state built once, as each Lambda's `main` builds it.
pub fn handlers(
    config: &Config,
    sdk: &SdkConfig,
) -> Result<HashMap<String, HandlerFn>, Box<dyn std::error::Error + Send + Sync>> {
    let cors = config.cors()?;
    let cognito = CognitoState::new(
        aws_sdk_cognitoidentityprovider::Client::new(sdk),
        AppClient::new(&config.client_id, config.client_secret.clone()),
        cors,
    );
    Ok(HashMap::from([
        ("register".to_owned(), handler!(register, cognito.clone())),
        ("confirm".to_owned(), handler!(confirm, cognito.clone())),
        ("login".to_owned(), handler!(login, cognito.clone())),
        ("refresh".to_owned(), handler!(refresh, cognito.clone())),
        ("account".to_owned(), handler!(account, cognito)),
        (
            "books".to_owned(),
            handler!(
                books,
                books::State::new(
                    aws_sdk_dynamodb::Client::new(sdk),
                    &config.books_table,
                    config.cors()?
                )
            ),
        ),
    ]))
}

/// The gateway for `config`, its functions calling AWS (or moto) through `sdk`.
pub fn gateway(
    config: &Config,
    sdk: &SdkConfig,
) -> Result<Gateway, Box<dyn std::error::Error + Send + Sync>> {
    let template = config.load_template()?;
    let authorizer = Arc::new(Authorizer::new(config.authorizer())?);
    Ok(Gateway::new(
        template,
        handlers(config, sdk)?,
        Some(authorizer),
    )?)
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
        Config {
            template: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml"),
            allowed_origin: None,
            region: "us-east-1".into(),
            pool_id: "us-east-1_test".into(),
            client_id: "client".into(),
            client_secret: Some("secret".into()),
            books_table: "books".into(),
            jwks_base: None,
            jwks_url: None,
            issuer: None,
        }
    }

    #[test]
    fn the_route_table_of_template_yaml_equals_the_handler_map() {
        let config = config();
        let template = config.load_template().expect("template.yaml parses");
        let sdk = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        let handlers = handlers(&config, &sdk).unwrap();
        let routed: std::collections::BTreeSet<&str> = template.binaries();
        let handled: std::collections::BTreeSet<&str> =
            handlers.keys().map(String::as_str).collect();
        assert_eq!(routed, handled, "every function routed, none left over");
    }
}
