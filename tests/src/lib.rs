//! Helpers for the end-to-end tests: the local API over moto on a free loopback port, a test
//! JWKS, and the sign-up and sign-in steps most tests begin with. The moto server itself is
//! test-support's.

use std::net::Ipv4Addr;

use aws_sdk_cognitoidentityprovider as cognito;
use platform::Env;

pub use test_support::authenticator;

pub use local_cognito::totp::totp;

/// The authenticator code of the next 30-second step. The local Cognito, as Cognito, takes a
/// code once: a test that used one moves the layer's clock a step on and computes the next code
/// at the layer's time.
pub fn next_totp(api: &LocalApi, secret: &str) -> String {
    api.cognito()
        .advance_clock(std::time::Duration::from_secs(30));
    totp(secret, api.cognito().now())
}

/// Turns on the authenticator app of the user `access_token` names, through the local Cognito
/// (AssociateSoftwareToken, VerifySoftwareToken with the current code, SetUserMFAPreference);
/// returns its secret.
pub async fn enrol_totp(api: &LocalApi, access_token: &serde_json::Value) -> String {
    use serde_json::json;
    let (s, b) = api
        .cognito_call(
            "AssociateSoftwareToken",
            json!({"AccessToken": access_token}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let secret = b["SecretCode"].as_str().unwrap().to_owned();
    let verify = json!({"AccessToken": access_token, "UserCode": totp(&secret, api.cognito().now()),
                        "FriendlyDeviceName": "phone"});
    let (s, b) = api.cognito_call("VerifySoftwareToken", verify).await;
    assert_eq!(s, 200, "{b}");
    let prefer = json!({"AccessToken": access_token,
                        "SoftwareTokenMfaSettings": {"Enabled": true, "PreferredMfa": true}});
    let (s, b) = api.cognito_call("SetUserMFAPreference", prefer).await;
    assert_eq!(s, 200, "{b}");
    secret
}

pub use test_support::{Moto, free_port, sdk_config_for, workspace_root};

/// A user pool and an app client with a secret, set up as `template.yaml` sets them up.
pub struct Pool {
    pub pool_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// The Secrets Manager secret holding `client_secret`, as the stack stores it.
    pub client_secret_arn: String,
}

/// The stack's template, as the local API reads it.
pub fn template() -> local_api::template::Template {
    local_api::template::Template::load(
        &workspace_root().join("template.yaml"),
        &std::collections::HashMap::new(),
    )
    .expect("template.yaml parses")
}

/// Creates the user pool and app client at `sdk`'s endpoint, as `template.yaml` defines them,
/// and stores the client secret in Secrets Manager there.
pub async fn create_pool(sdk: &aws_config::SdkConfig, name: &str) -> Pool {
    let (pool_id, client_id, client_secret) =
        local_api::bootstrap::create_pool(&template(), &cognito::Client::new(sdk), name)
            .await
            .expect("create the user pool and app client");
    let client_secret = client_secret.expect("the template's app client has a secret");
    let client_secret_arn = local_api::bootstrap::store_client_secret(sdk, name, &client_secret)
        .await
        .expect("store the client secret");
    Pool {
        pool_id,
        client_id,
        client_secret,
        client_secret_arn,
    }
}

/// The local API's configuration from `vars`, read as `local-api` reads its environment, with
/// the repository's template and the region the tests use.
pub fn local_config(vars: &[(&str, &str)]) -> local_api::Config {
    let template = workspace_root().join("template.yaml");
    let env = Env::from_pairs(vars.iter().copied())
        .with("TEMPLATE", template.to_string_lossy())
        .with("AWS_REGION", "us-east-1");
    local_api::Config::from_env(&env)
}

/// The local API (the API Gateway twin) serving `template.yaml` on a free loopback port, with
/// its pool, client and table created in `moto` from the template. Stopped when dropped.
pub struct LocalApi {
    pub base: String,
    pub created: local_api::bootstrap::Created,
    /// The settings the gateway runs with.
    pub config: local_api::Config,
    paths: Vec<String>,
    http: reqwest::Client,
    /// The emulator's SDK configuration, for tests that read a table or a secret directly.
    pub sdk: aws_config::SdkConfig,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// Records a session of `sub` whose tokens carry `origin_jti` in the sessions table `table`, as
/// a sign-in would: for tokens a test signs itself, or an event fixture's claims, which no
/// sign-in recorded. `refresh_token` is the session's (any text the test picks).
pub async fn record_session(
    sdk: &aws_config::SdkConfig,
    table: &str,
    sub: &str,
    origin_jti: &str,
    refresh_token: &str,
) {
    sessions::Sessions::new(aws_sdk_dynamodb::Client::new(sdk), table.to_owned())
        .start(sessions::NewSession {
            sub,
            origin_jti,
            refresh_token,
            sealed: None,
            method: sessions::SignInMethod::Password,
            ip: None,
            device: None,
        })
        .await
        .expect("the session is recorded");
}

impl LocalApi {
    /// Records the session of the test-signed tokens of [`TestJwks`] (`TEST_SUB`, its
    /// `origin_jti`), as a sign-in would have.
    pub async fn record_test_session(&self) {
        record_session(
            &self.sdk,
            &self.created.sessions_table,
            TEST_SUB,
            TEST_SESSION,
            "test-refresh-token",
        )
        .await;
    }

    /// `configure` may change the gateway's settings (CORS origin, JWKS, issuer) before it
    /// starts.
    pub async fn start(moto: &Moto, configure: impl FnOnce(&mut local_api::Config)) -> Self {
        Self::start_with(moto, &[], configure).await
    }

    /// [`LocalApi::start`] with the template's `parameters` overridden, as a deploy would.
    pub async fn start_with(
        moto: &Moto,
        parameters: &[(&str, &str)],
        configure: impl FnOnce(&mut local_api::Config),
    ) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let sdk = moto.sdk_config().await;
        let mut config = local_config(&[("AWS_ENDPOINT_URL", &moto.endpoint)]);
        config.parameters = parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let prefix = format!(
            "t{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        // The emulator's first calls load its services: the set-up waits for them.
        let patient = test_support::patient(&sdk);
        let created =
            local_api::bootstrap::create(&config.load_template().unwrap(), &patient, &prefix)
                .await
                .expect("create the pool, client and table from template.yaml");
        let local = local_cognito::LocalCognito::start(&moto.endpoint, &sdk)
            .await
            .expect("the local Cognito starts");
        let mut config = config.with_backend(&created).with_cognito_layer(local);
        configure(&mut config);

        let gateway = local_api::gateway(&config, &sdk)
            .await
            .expect("the gateway starts");
        let (base, shutdown) = serve_gateway(gateway).await;
        let mut paths: Vec<String> = crate::template()
            .routes
            .iter()
            .map(|r| r.path.clone())
            .collect();
        paths.sort();
        paths.dedup();
        Self {
            base,
            created,
            config,
            paths,
            http: reqwest::Client::new(),
            sdk,
            _shutdown: shutdown,
        }
    }

    /// The local Cognito in front of moto.
    pub fn cognito(&self) -> &local_cognito::Layer {
        &self
            .config
            .cognito_layer
            .as_ref()
            .expect("the local API runs the local Cognito")
            .layer
    }

    /// A call on the local Cognito's own protocol (what the SDK sends), for what no route
    /// calls: (status, the answer, or `{"__type","message"}`).
    pub async fn cognito_call(
        &self,
        op: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let endpoint = &self.config.cognito_layer.as_ref().unwrap().endpoint;
        let res = self
            .http
            .post(endpoint)
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                format!("AWSCognitoIdentityProviderService.{op}"),
            )
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        json_of(res).await
    }

    /// The newest code the local mailbox holds for `username`.
    pub fn code_for(&self, username: &str) -> String {
        self.cognito()
            .mailbox()
            .messages(Some(username))
            .into_iter()
            .find(|m| m.kind != local_cognito::mailbox::ALERT)
            .map(|m| m.code)
            .unwrap_or_else(|| panic!("no mail for {username}"))
    }

    /// The distinct resource paths the template declares.
    pub fn paths(&self) -> Vec<String> {
        self.paths.clone()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Any request: method, path, headers and raw body bytes.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, self.url(path)).body(body);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.send().await.unwrap()
    }

    /// `method` on `path` with `token` (a JSON string) as the bearer token and `body` as JSON:
    /// the status and the answer.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: &serde_json::Value,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let bearer = format!("Bearer {}", token.as_str().expect("a token"));
        let mut headers = vec![("authorization", bearer.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        json_of(self.send(method, path, &headers, body).await).await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// GET with `authorization` as the `Authorization` header value.
    pub async fn get_auth(&self, path: &str, authorization: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header("authorization", authorization)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.post_text(path, &body.to_string()).await
    }

    pub async fn post_text(&self, path: &str, body: &str) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// POST with `authorization` as the `Authorization` header value.
    pub async fn post_auth(
        &self,
        path: &str,
        body: serde_json::Value,
        authorization: &str,
    ) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("content-type", "application/json")
            .header("authorization", authorization)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    pub async fn delete_auth(&self, path: &str, authorization: &str) -> reqwest::Response {
        self.http
            .delete(self.url(path))
            .header("authorization", authorization)
            .send()
            .await
            .unwrap()
    }

    /// A browser's CORS preflight for a POST with `Authorization`.
    pub async fn preflight(&self, path: &str) -> reqwest::Response {
        self.http
            .request(reqwest::Method::OPTIONS, self.url(path))
            .header("origin", "http://app.test:8080")
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
            .await
            .unwrap()
    }
}

/// Serves `gateway` on a free loopback port; it stops when the returned sender is dropped.
pub async fn serve_gateway(
    gateway: local_api::gateway::Gateway,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(local_api::serve(listener, gateway, async {
        let _ = rx.await;
    }));
    (base, tx)
}

/// The `sub` of tokens [`TestJwks`] signs.
pub const TEST_SUB: &str = "7d9c2a10-3b4e-4f5a-9c8d-112233445566";
/// The `origin_jti` of [`TestJwks::sign_id_token`]'s tokens.
pub const TEST_SESSION: &str = "test-session";

/// A JWKS endpoint with a test key (tests/fixtures/test-jwks.json), and tokens signed with it:
/// lets tests make tokens moto cannot, such as expired ones.
pub struct TestJwks {
    pub url: String,
    pub issuer: String,
    key: jsonwebtoken::EncodingKey,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestJwks {
    pub async fn start() -> Self {
        let fixtures = workspace_root().join("tests/fixtures");
        let jwks = std::fs::read_to_string(fixtures.join("test-jwks.json")).unwrap();
        let pem = std::fs::read(fixtures.join("test-signing-key.pem")).unwrap();
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let jwks = jwks.clone();
                async move { ([("content-type", "application/json")], jwks) }
            }),
        );
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
        });
        Self {
            url,
            issuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool".into(),
            key: jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap(),
            _shutdown: tx,
        }
    }

    /// Makes the local API trust this key (and issuer) instead of the pool's: for
    /// [`LocalApi::start`]'s `configure`.
    pub fn trusted_by(&self, config: &mut local_api::Config) {
        config.jwks_url = Some(self.url.clone());
        config.issuer = Some(self.issuer.clone());
    }

    /// An id token for `client_id` expiring `expires_in` seconds from now (negative: expired).
    pub fn sign_id_token(&self, client_id: &str, expires_in: i64) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let claims = serde_json::json!({
            "sub": TEST_SUB, "cognito:username": "tester", "email": "tester@example.com",
            "email_verified": true, "aud": client_id, "iss": self.issuer, "token_use": "id",
            "iat": now - 3600, "auth_time": now - 3600, "exp": now + expires_in,
            "origin_jti": TEST_SESSION,
        });
        self.sign(&claims, "test-key-1")
    }

    /// Signs a payload given as JSON text (which a claims map could not hold: a key twice, say)
    /// with the test key, under header `kid`.
    pub fn sign_raw(&self, payload: &str, kid: &str) -> String {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        let message = format!(
            "{}.{}",
            B64.encode(serde_json::to_string(&header).unwrap()),
            B64.encode(payload)
        );
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &self.key, header.alg).unwrap();
        format!("{message}.{signature}")
    }

    /// Signs any claims with the test key, under header `kid`.
    pub fn sign(&self, claims: &serde_json::Value, kid: &str) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }
}

/// The books table, as `template.yaml` declares it, named `name`.
pub async fn create_books_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    local_api::bootstrap::create_table(
        &template(),
        client,
        local_api::bootstrap::BOOKS_TABLE,
        name,
    )
    .await
    .expect("create the books table");
}

/// The password the end-to-end tests register with; the pool's policy accepts it.
pub const PASSWORD: &str = "Correct-Horse-9!";

/// Status and body of an answer; a body that is not JSON becomes a JSON string.
pub async fn json_of(res: reqwest::Response) -> (u16, serde_json::Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// Registers `user` with [`PASSWORD`] and confirms the account with the code the local mailbox
/// got.
pub async fn register_and_confirm(api: &LocalApi, user: &str) {
    let body = serde_json::json!({"username": user, "password": PASSWORD});
    let (s, b) = json_of(api.post("/register", body).await).await;
    assert_eq!(s, 200, "{b}");
    let username = b["username"]
        .as_str()
        .expect("the user name /register kept");
    let code = api.code_for(username);
    let body = serde_json::json!({"username": user, "confirmation_code": code});
    let (s, b) = json_of(api.post("/confirm_user", body).await).await;
    assert_eq!(s, 200, "{b}");
}

/// `/login`'s status and answer.
pub async fn login(api: &LocalApi, user: &str, password: &str) -> (u16, serde_json::Value) {
    let body = serde_json::json!({"username": user, "password": password});
    json_of(api.post("/login", body).await).await
}

/// An answer's error code (empty for a success).
pub fn error_code(body: &serde_json::Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

/// Registers, confirms and signs in `user`; returns /login's answer.
pub async fn signed_in(api: &LocalApi, user: &str) -> serde_json::Value {
    register_and_confirm(api, user).await;
    let (s, tokens) = login(api, user, PASSWORD).await;
    assert_eq!(s, 200, "{tokens}");
    tokens
}
