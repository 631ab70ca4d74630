//! The local Cognito: a layer in front of moto that answers as Cognito does where moto does not.
//! The functions' Cognito client calls it (`make dev`, the tests, `make bench`); it speaks
//! Cognito's JSON protocol and passes on to moto whatever moto does faithfully.
//!
//! What it adds:
//! - codes as Cognito issues them: six digits, kept for Cognito's lifetimes (24 hours for
//!   sign-up and e-mail verification, 1 hour for a password reset), five wrong tries at most,
//!   a new code superseding the last; `CodeMismatchException`, `ExpiredCodeException`, and
//!   `NotAuthorizedException` for confirming a confirmed user;
//! - the [`Mailbox`]: every message Cognito would send, with its code;
//! - the SECRET_HASH, checked on every operation that takes it, over the internal user name on
//!   refresh;
//! - the operations moto lacks: ResendConfirmationCode, RevokeToken, DeleteUser,
//!   GetUserAttributeVerificationCode and VerifyUserAttribute, over moto's admin operations;
//! - `email_verified` set on confirmation, and the client's PreventUserExistenceErrors honoured.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider as cognito;
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, UserStatusType};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;

/// How long a sign-up (or resent) confirmation code is good for.
pub const SIGN_UP_CODE_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// How long a password-reset code is good for.
pub const RESET_CODE_LIFETIME: Duration = Duration::from_secs(3600);
/// How long an attribute-verification code is good for.
pub const VERIFY_CODE_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Wrong codes tried before the code is void and the next try is refused.
pub const MAX_WRONG_CODES: u32 = 5;

const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";

/// Every message Cognito would have sent, newest last, and a feed of new ones.
#[derive(Debug)]
pub struct Mailbox {
    messages: Mutex<Vec<Message>>,
    feed: broadcast::Sender<Message>,
}

/// One message: to whom, for which user, why, and its code.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    pub username: String,
    /// `sign_up`, `resend_code`, `forgot_password` or `verify_email`.
    pub kind: &'static str,
    pub code: String,
    /// RFC 3339, UTC.
    pub sent_at: String,
}

impl Default for Mailbox {
    fn default() -> Self {
        Self {
            messages: Mutex::default(),
            feed: broadcast::channel(64).0,
        }
    }
}

impl Mailbox {
    /// The messages, newest first; only `username`'s when given.
    pub fn messages(&self, username: Option<&str>) -> Vec<Message> {
        let messages = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        messages
            .iter()
            .rev()
            .filter(|m| username.is_none_or(|u| m.username.eq_ignore_ascii_case(u)))
            .cloned()
            .collect()
    }

    /// The newest code sent to `username`.
    pub fn last_code(&self, username: &str) -> Option<String> {
        self.messages(Some(username))
            .first()
            .map(|m| m.code.clone())
    }

    /// New messages as they arrive (`make dev` prints them).
    pub fn subscribe(&self) -> broadcast::Receiver<Message> {
        self.feed.subscribe()
    }

    fn deliver(&self, message: Message) {
        self.messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message.clone());
        // Nobody listening is fine.
        let _ = self.feed.send(message);
    }
}

/// What a code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Purpose {
    SignUp,
    ResetPassword,
    VerifyEmail,
}

impl Purpose {
    fn lifetime(self) -> Duration {
        match self {
            Purpose::SignUp => SIGN_UP_CODE_LIFETIME,
            Purpose::ResetPassword => RESET_CODE_LIFETIME,
            Purpose::VerifyEmail => VERIFY_CODE_LIFETIME,
        }
    }
}

#[derive(Debug)]
struct Code {
    code: String,
    expires: SystemTime,
    wrong: u32,
    /// Codes this one replaced, and this one once used: trying them is "expired".
    spent: Vec<String>,
}

/// An app client, as moto describes it.
#[derive(Debug, Clone)]
struct App {
    pool_id: String,
    secret: Option<String>,
    prevent_user_existence_errors: bool,
    /// The pool's required attributes, which SignUp must give.
    required: Vec<String>,
    /// Attributes whose new value takes effect only once verified
    /// (`AttributesRequireVerificationBeforeUpdate`).
    verify_before_update: Vec<String>,
    /// The client's WriteAttributes; `None`: every attribute.
    writable: Option<Vec<String>>,
    /// How long a challenge's session may be answered (the client's AuthSessionValidity).
    session_validity: Duration,
    /// The pool's MFA is ON: a user without an authenticator sets one up at sign-in.
    mfa_on: bool,
}

/// A user's authenticator secrets.
#[derive(Debug, Clone, Default)]
struct UserSecret {
    pending: Option<String>,
    active: Option<String>,
}

/// An MFA_SETUP challenge moto does not put: the sign-in's tokens, held until the user's
/// authenticator is set up and verified.
#[derive(Debug, Clone)]
struct Setup {
    result: Value,
    access_token: String,
    verified: bool,
}

/// A refresh token's family: the user it was issued to and its `origin_jti`, which every token
/// issued from it carries.
#[derive(Debug, Clone)]
struct Family {
    username: String,
    origin_jti: String,
}

#[derive(Debug, Default)]
struct Codes {
    live: HashMap<(String, String, Purpose), Code>,
    families: HashMap<String, Family>,
    revoked: HashSet<String>,
    apps: HashMap<String, App>,
    /// E-mail addresses awaiting verification, by (pool, user).
    pending_email: HashMap<(String, String), String>,
    /// Challenge sessions, by session: when each was issued, and whether it was answered.
    sessions: HashMap<String, (SystemTime, bool)>,
    /// MFA_SETUP challenges, by session.
    setups: HashMap<String, Setup>,
    /// Each user's authenticator secret, by (pool, user): one awaiting its first code, and the
    /// one in use. moto has one secret for all.
    secrets: HashMap<(String, String), UserSecret>,
    /// moto's one secret, as its AssociateSoftwareToken gives it: what moto checks codes with.
    moto_secret: Option<String>,
    clock_offset: Duration,
}

/// The layer. [`Layer::router`] serves it.
pub struct Layer {
    moto: String,
    http: HttpClient<HttpConnector, Full<Bytes>>,
    admin: cognito::Client,
    state: Mutex<Codes>,
    mailbox: Arc<Mailbox>,
    /// One look-up of an unknown client at a time: a burst of first calls asks moto once.
    lookups: tokio::sync::Mutex<()>,
}

/// A Cognito error answer: its `__type` and message.
type Failure = Box<Response>;

fn failure(kind: &str, message: impl Into<String>) -> Failure {
    let status = if kind == "InternalErrorException" {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = json!({"__type": kind, "message": message.into()});
    Box::new(
        Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amzn-errortype", kind)
            .body(Body::from(body.to_string()))
            .unwrap_or_default(),
    )
}

fn answer(body: Value) -> Response {
    Response::builder()
        .header("content-type", "application/x-amz-json-1.1")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

/// A moto admin call's failure as Cognito's answer.
fn upstream<E: ProvideErrorMetadata>(err: E) -> Failure {
    failure(
        err.code().unwrap_or("InternalErrorException"),
        err.message().unwrap_or("moto refused the call"),
    )
}

fn field<'a>(req: &'a Value, name: &str) -> Option<&'a str> {
    req.get(name).and_then(Value::as_str)
}

fn required<'a>(req: &'a Value, name: &str) -> Result<&'a str, Failure> {
    field(req, name).ok_or_else(|| {
        failure(
            "InvalidParameterException",
            format!("1 validation error detected: Value at '{name}' failed to satisfy constraint: Member must not be null"),
        )
    })
}

/// The payload of a JWT, unverified: moto checks the tokens it issued; this only reads them.
fn claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// `a***@e***`, as Cognito masks a destination.
fn mask(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    format!("{}***@{}***", first(local), first(domain))
}

fn delivery(email: &str) -> Value {
    json!({"CodeDeliveryDetails": {
        "Destination": mask(email),
        "DeliveryMedium": "EMAIL",
        "AttributeName": "email",
    }})
}

fn six_digits() -> String {
    let n = u32::from_le_bytes(
        uuid::Uuid::new_v4().as_bytes()[..4]
            .try_into()
            .unwrap_or_default(),
    );
    format!("{:06}", n % 1_000_000)
}

fn rfc3339(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    cognito::primitives::DateTime::from_secs(secs as i64)
        .fmt(cognito::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default()
}

/// A user as the layer needs it.
struct User {
    username: String,
    confirmed: bool,
    email: Option<String>,
    email_verified: bool,
}

impl Layer {
    /// The layer in front of the moto at `moto`, which `sdk` points at too.
    pub fn new(moto: &str, sdk: &SdkConfig, mailbox: Arc<Mailbox>) -> Self {
        Self {
            moto: moto.trim_end_matches('/').to_owned(),
            http: HttpClient::builder(TokioExecutor::new()).build_http(),
            admin: cognito::Client::new(sdk),
            state: Mutex::default(),
            mailbox,
            lookups: tokio::sync::Mutex::default(),
        }
    }

    pub fn mailbox(&self) -> &Arc<Mailbox> {
        &self.mailbox
    }

    /// Moves the layer's clock forward, so that tests can let codes expire.
    pub fn advance_clock(&self, by: Duration) {
        self.state().clock_offset += by;
    }

    fn state(&self) -> MutexGuard<'_, Codes> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> SystemTime {
        SystemTime::now() + self.state().clock_offset
    }

    /// The axum app: every Cognito call is a POST to `/` with an `X-Amz-Target`.
    pub fn router(self: Arc<Self>) -> axum::Router {
        axum::Router::new()
            .fallback(
                |State(layer): State<Arc<Layer>>, headers: HeaderMap, body: Bytes| async move {
                    layer.serve(&headers, body).await
                },
            )
            .with_state(self)
    }

    async fn serve(&self, headers: &HeaderMap, body: Bytes) -> Response {
        let target = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let Some(op) = target.strip_prefix(TARGET_PREFIX) else {
            return self.forward(headers, body).await;
        };
        let req: Value = match serde_json::from_slice(&body) {
            Ok(req) => req,
            Err(_) => return *failure("SerializationException", "the body is not JSON"),
        };
        let handled = match op {
            "SignUp" => self.sign_up(headers, body, &req).await,
            "ConfirmSignUp" => self.confirm_sign_up(&req).await,
            "ResendConfirmationCode" => self.resend_code(&req).await,
            "ForgotPassword" => self.forgot_password(&req).await,
            "ConfirmForgotPassword" => self.confirm_forgot_password(&req).await,
            "InitiateAuth" => self.initiate_auth(headers, body, &req).await,
            "AssociateSoftwareToken" if self.setup_of(&req).is_some() => {
                self.associate_in_setup(&req).await
            }
            "VerifySoftwareToken" if self.setup_of(&req).is_some() => {
                self.verify_in_setup(&req).await
            }
            "AssociateSoftwareToken" if req.get("AccessToken").is_some() => {
                self.associate(&req).await
            }
            // A session that is no challenge's (moto would answer ResourceNotFound).
            "AssociateSoftwareToken" | "VerifySoftwareToken" if req.get("Session").is_some() => {
                Err(failure(
                    "NotAuthorizedException",
                    "Invalid session for the user, session is expired.",
                ))
            }
            "VerifySoftwareToken" if req.get("AccessToken").is_some() => {
                self.verify_secret(&req).await
            }
            "RespondToAuthChallenge" => self.respond_to_challenge(headers, body, &req).await,
            "RevokeToken" => self.revoke_token(&req).await,
            "DeleteUser" => self.delete_user(&req).await,
            "GetUserAttributeVerificationCode" => self.attribute_code(&req).await,
            "VerifyUserAttribute" => self.verify_attribute(&req).await,
            "GlobalSignOut" => self.global_sign_out(headers, body, &req).await,
            "UpdateUserAttributes" => self.update_attributes(&req).await,
            _ if req.get("AccessToken").is_some() => match self.access_token_user(&req).await {
                Ok(_) => Ok(self.forward(headers, body).await),
                Err(e) => Err(e),
            },
            _ => Ok(self.forward(headers, body).await),
        };
        handled.unwrap_or_else(|failure| *failure)
    }

    /// Sends the call to moto as it came, and moto's answer back as it is.
    async fn forward(&self, headers: &HeaderMap, body: Bytes) -> Response {
        let mut req = http::Request::post(format!("{}/", self.moto));
        for (name, value) in headers {
            if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
                req = req.header(name, value);
            }
        }
        let Ok(req) = req.body(Full::new(body)) else {
            return *failure("InternalErrorException", "the call could not be passed on");
        };
        match self.http.request(req).await {
            Ok(res) => {
                let (parts, body) = res.into_parts();
                let bytes = body
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                Response::from_parts(parts, Body::from(bytes))
            }
            Err(e) => *failure(
                "InternalErrorException",
                format!("moto is unreachable: {e}"),
            ),
        }
    }

    /// The app client `client_id`, looked up in moto once.
    async fn app(&self, client_id: &str) -> Result<App, Failure> {
        if let Some(app) = self.state().apps.get(client_id) {
            return Ok(app.clone());
        }
        let _one_at_a_time = self.lookups.lock().await;
        if let Some(app) = self.state().apps.get(client_id) {
            return Ok(app.clone());
        }
        let pools = self
            .admin
            .list_user_pools()
            .max_results(60)
            .send()
            .await
            .map_err(|e| upstream(e.into_service_error()))?;
        for pool in pools.user_pools() {
            let Some(pool_id) = pool.id() else { continue };
            let described = self
                .admin
                .describe_user_pool_client()
                .user_pool_id(pool_id)
                .client_id(client_id)
                .send()
                .await;
            let Ok(described) = described else { continue };
            let Some(client) = described.user_pool_client() else {
                continue;
            };
            let pool = self
                .admin
                .describe_user_pool()
                .user_pool_id(pool_id)
                .send()
                .await
                .map_err(|e| upstream(e.into_service_error()))?;
            let pool = pool.user_pool();
            let required = pool
                .map(|p| {
                    p.schema_attributes()
                        .iter()
                        .filter(|a| a.required() == Some(true))
                        .filter_map(|a| a.name().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let verify_before_update = pool
                .and_then(|p| p.user_attribute_update_settings())
                .map(|s| {
                    s.attributes_require_verification_before_update()
                        .iter()
                        .map(|a| a.as_str().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            let writable = Some(client.write_attributes().to_vec()).filter(|w| !w.is_empty());
            let minutes = client.auth_session_validity().unwrap_or(3).clamp(3, 15);
            let session_validity = Duration::from_secs(60 * minutes as u64);
            let mfa_on = pool
                .and_then(|p| p.mfa_configuration())
                .is_some_and(|m| m.as_str() == "ON");
            let app = App {
                mfa_on,
                session_validity,
                verify_before_update,
                writable,
                required,
                pool_id: pool_id.to_owned(),
                secret: client.client_secret().map(str::to_owned),
                prevent_user_existence_errors: client
                    .prevent_user_existence_errors()
                    .is_some_and(|p| p.as_str() == "ENABLED"),
            };
            self.state().apps.insert(client_id.to_owned(), app.clone());
            return Ok(app);
        }
        Err(failure(
            "ResourceNotFoundException",
            format!("User pool client {client_id} does not exist."),
        ))
    }

    /// The call's app client, its SECRET_HASH checked over `username` as Cognito checks it.
    async fn client(&self, req: &Value, username: &str) -> Result<App, Failure> {
        let client_id = required(req, "ClientId")?;
        let app = self.app(client_id).await?;
        let given = field(req, "SecretHash").or_else(|| {
            ["AuthParameters", "ChallengeResponses"]
                .iter()
                .find_map(|p| req.get(p).and_then(|p| field(p, "SECRET_HASH")))
        });
        check_hash(&app, client_id, username, given)?;
        Ok(app)
    }

    async fn user(&self, app: &App, username: &str) -> Result<Option<User>, Failure> {
        let out = self
            .admin
            .admin_get_user()
            .user_pool_id(&app.pool_id)
            .username(username)
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                let e = e.into_service_error();
                if e.is_user_not_found_exception() {
                    return Ok(None);
                }
                return Err(upstream(e));
            }
        };
        let attribute = |name: &str| {
            out.user_attributes()
                .iter()
                .find(|a| a.name() == name)
                .and_then(|a| a.value())
                .map(str::to_owned)
        };
        Ok(Some(User {
            username: out.username().to_owned(),
            confirmed: out.user_status() != Some(&UserStatusType::Unconfirmed),
            email: attribute("email"),
            email_verified: attribute("email_verified").as_deref() == Some("true"),
        }))
    }

    /// A code sent to a user that does not exist: with PreventUserExistenceErrors, the answer
    /// of a code sent (to nowhere); without, UserNotFoundException.
    fn unknown_user_delivery(app: &App, username: &str) -> Result<Response, Failure> {
        if app.prevent_user_existence_errors {
            Ok(answer(delivery(&format!("{username}@example.com"))))
        } else {
            Err(Self::unknown_user(
                app,
                failure("UserNotFoundException", ""),
            ))
        }
    }

    /// A user that does not exist, as the client's PreventUserExistenceErrors wants it told.
    fn unknown_user(app: &App, hidden: Failure) -> Failure {
        if app.prevent_user_existence_errors {
            hidden
        } else {
            failure(
                "UserNotFoundException",
                "Username/client id combination not found.",
            )
        }
    }

    /// A new code for `user`, which supersedes the last, delivered to `to`.
    fn issue(&self, app: &App, user: &str, purpose: Purpose, kind: &'static str, to: &str) {
        let code = six_digits();
        let now = self.now();
        let key = (app.pool_id.clone(), user.to_lowercase(), purpose);
        let mut state = self.state();
        let spent = match state.live.remove(&key) {
            Some(old) => {
                let mut spent = old.spent;
                spent.push(old.code);
                spent
            }
            None => Vec::new(),
        };
        state.live.insert(
            key,
            Code {
                code: code.clone(),
                expires: now + purpose.lifetime(),
                wrong: 0,
                spent,
            },
        );
        drop(state);
        self.mailbox.deliver(Message {
            to: to.to_owned(),
            username: user.to_owned(),
            kind,
            code,
            sent_at: rfc3339(now),
        });
    }

    /// Checks `given` against `user`'s code for `purpose`; `consume` spends it.
    fn check_code(
        &self,
        app: &App,
        user: &str,
        purpose: Purpose,
        given: &str,
        consume: bool,
    ) -> Result<(), Failure> {
        let now = self.now();
        let key = (app.pool_id.clone(), user.to_lowercase(), purpose);
        let mut state = self.state();
        let expired = || {
            failure(
                "ExpiredCodeException",
                "Invalid code provided, please request a code again.",
            )
        };
        let Some(code) = state.live.get_mut(&key) else {
            return Err(expired());
        };
        if code.wrong >= MAX_WRONG_CODES {
            return Err(failure(
                "LimitExceededException",
                "Attempt limit exceeded, please try after some time.",
            ));
        }
        if code.spent.iter().any(|c| c == given) || now > code.expires && code.code == given {
            return Err(expired());
        }
        if code.code != given {
            code.wrong += 1;
            return Err(code_mismatch());
        }
        if consume {
            let used = std::mem::take(&mut code.code);
            code.spent.push(used);
            code.expires = now;
        }
        Ok(())
    }

    async fn sign_up(
        &self,
        headers: &HeaderMap,
        body: Bytes,
        req: &Value,
    ) -> Result<Response, Failure> {
        let username = required(req, "Username")?;
        let app = self.client(req, username).await?;
        let given: Vec<&str> = req
            .get("UserAttributes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| field(a, "Name"))
            .collect();
        if let Some(missing) = app.required.iter().find(|r| !given.contains(&r.as_str())) {
            return Err(failure(
                "InvalidParameterException",
                format!(
                    "Attributes did not conform to the schema: {missing}: The attribute is required"
                ),
            ));
        }
        let res = self.forward(headers, body).await;
        if !res.status().is_success() {
            return Ok(res);
        }
        let bytes = res
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let mut out: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({}));
        let email = req
            .get("UserAttributes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|a| field(a, "Name") == Some("email"))
            .and_then(|a| field(a, "Value"));
        if let Some(email) = email {
            self.issue(&app, username, Purpose::SignUp, "sign_up", email);
            out["UserConfirmed"] = json!(false);
            out["CodeDeliveryDetails"] = delivery(email)["CodeDeliveryDetails"].clone();
        }
        Ok(answer(out))
    }

    async fn confirm_sign_up(&self, req: &Value) -> Result<Response, Failure> {
        let username = required(req, "Username")?;
        let code = required(req, "ConfirmationCode")?;
        let app = self.client(req, username).await?;
        let Some(user) = self.user(&app, username).await? else {
            return Err(Self::unknown_user(&app, code_mismatch()));
        };
        if user.confirmed {
            return Err(failure(
                "NotAuthorizedException",
                "User cannot be confirmed. Current status is CONFIRMED",
            ));
        }
        self.check_code(&app, &user.username, Purpose::SignUp, code, true)?;
        self.admin
            .admin_confirm_sign_up()
            .user_pool_id(&app.pool_id)
            .username(&user.username)
            .send()
            .await
            .map_err(|e| upstream(e.into_service_error()))?;
        let verified = [("email_verified".to_owned(), "true".to_owned())];
        self.set_attributes(&app, &user.username, &verified).await?;
        Ok(answer(json!({})))
    }

    async fn resend_code(&self, req: &Value) -> Result<Response, Failure> {
        let username = required(req, "Username")?;
        let app = self.client(req, username).await?;
        let Some(user) = self.user(&app, username).await? else {
            return Self::unknown_user_delivery(&app, username);
        };
        if user.confirmed {
            return Err(failure(
                "InvalidParameterException",
                "User is already confirmed.",
            ));
        }
        let Some(email) = user.email else {
            return Err(failure(
                "InvalidParameterException",
                "The user has no e-mail address.",
            ));
        };
        self.issue(&app, &user.username, Purpose::SignUp, "resend_code", &email);
        Ok(answer(delivery(&email)))
    }

    async fn forgot_password(&self, req: &Value) -> Result<Response, Failure> {
        let username = required(req, "Username")?;
        let app = self.client(req, username).await?;
        let Some(user) = self.user(&app, username).await? else {
            return Self::unknown_user_delivery(&app, username);
        };
        let (Some(email), true) = (user.email, user.email_verified) else {
            return Err(failure(
                "InvalidParameterException",
                "Cannot reset password for the user as there is no registered/verified email or phone_number",
            ));
        };
        self.issue(
            &app,
            &user.username,
            Purpose::ResetPassword,
            "forgot_password",
            &email,
        );
        Ok(answer(delivery(&email)))
    }

    async fn confirm_forgot_password(&self, req: &Value) -> Result<Response, Failure> {
        let username = required(req, "Username")?;
        let code = required(req, "ConfirmationCode")?;
        let password = required(req, "Password")?;
        let app = self.client(req, username).await?;
        let Some(user) = self.user(&app, username).await? else {
            return Err(Self::unknown_user(&app, code_mismatch()));
        };
        // The password is set before the code is spent: a password the policy refuses leaves the
        // code good for another try, as on Cognito.
        self.check_code(&app, &user.username, Purpose::ResetPassword, code, false)?;
        self.admin
            .admin_set_user_password()
            .user_pool_id(&app.pool_id)
            .username(&user.username)
            .password(password)
            .permanent(true)
            .send()
            .await
            .map_err(|e| upstream(e.into_service_error()))?;
        self.check_code(&app, &user.username, Purpose::ResetPassword, code, true)?;
        Ok(answer(json!({})))
    }

    async fn initiate_auth(
        &self,
        headers: &HeaderMap,
        body: Bytes,
        req: &Value,
    ) -> Result<Response, Failure> {
        let params = req.get("AuthParameters").cloned().unwrap_or_default();
        let flow = required(req, "AuthFlow")?;
        if matches!(flow, "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN") {
            let token = field(&params, "REFRESH_TOKEN").unwrap_or_default();
            let family = self.state().families.get(token).cloned();
            if let Some(family) = family {
                if self.state().revoked.contains(&family.origin_jti) {
                    return Err(failure(
                        "NotAuthorizedException",
                        "Refresh Token has been revoked",
                    ));
                }
                // Cognito checks the refresh's hash over the internal user name.
                self.client(req, &family.username).await?;
            }
            return Ok(self.forward(headers, body).await);
        }
        let username = field(&params, "USERNAME").unwrap_or_default();
        let app = self.client(req, username).await?;
        let internal = self.user(&app, username).await?.map(|u| u.username);
        let res = self.forward(headers, body).await;
        let res = match (&internal, app.mfa_on) {
            (Some(internal), true) => self.setup_if_needed(res, internal).await?,
            _ => res,
        };
        Ok(self.signed_in(res, internal.as_deref()).await)
    }

    /// The setup an MFA_SETUP session of this layer's holds, if `req` names one.
    fn setup_of(&self, req: &Value) -> Option<Setup> {
        let session = field(req, "Session")?;
        self.state().setups.get(session).cloned()
    }

    /// A pool whose MFA is ON: a sign-in of a user without an authenticator becomes the
    /// MFA_SETUP challenge, as Cognito puts it; the tokens wait until the setup is done.
    async fn setup_if_needed(&self, res: Response, username: &str) -> Result<Response, Failure> {
        if !res.status().is_success() {
            return Ok(res);
        }
        let (parts, body) = res.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let out: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let result = out["AuthenticationResult"].clone();
        let Some(access_token) = field(&result, "AccessToken").map(str::to_owned) else {
            return Ok(Response::from_parts(parts, Body::from(bytes)));
        };
        let user = self
            .admin
            .get_user()
            .access_token(&access_token)
            .send()
            .await
            .map_err(|e| upstream(e.into_service_error()))?;
        if user
            .user_mfa_setting_list()
            .iter()
            .any(|m| m == "SOFTWARE_TOKEN_MFA")
        {
            return Ok(Response::from_parts(parts, Body::from(bytes)));
        }
        let session = uuid::Uuid::new_v4().to_string();
        self.state().setups.insert(
            session.clone(),
            Setup {
                result,
                access_token,
                verified: false,
            },
        );
        Ok(answer(json!({
            "ChallengeName": "MFA_SETUP",
            "Session": session,
            "ChallengeParameters": {
                "MFAS_CAN_SETUP": "[\"SOFTWARE_TOKEN_MFA\"]",
                "USER_ID_FOR_SRP": username,
            },
        })))
    }

    /// AssociateSoftwareToken on an MFA_SETUP session: the user's new secret.
    async fn associate_in_setup(&self, req: &Value) -> Result<Response, Failure> {
        let session = required(req, "Session")?.to_owned();
        let setup = self
            .setup_of(req)
            .ok_or_else(|| failure("NotAuthorizedException", "Invalid session"))?;
        let secret = self.new_user_secret(&setup.access_token).await?;
        Ok(answer(json!({"SecretCode": secret, "Session": session})))
    }

    /// AssociateSoftwareToken with the user's access token: a secret of the user's own.
    async fn associate(&self, req: &Value) -> Result<Response, Failure> {
        let token = required(req, "AccessToken")?.to_owned();
        self.access_token_user(req).await?;
        let secret = self.new_user_secret(&token).await?;
        Ok(answer(json!({"SecretCode": secret})))
    }

    /// VerifySoftwareToken with the user's access token: the first code of the new secret.
    async fn verify_secret(&self, req: &Value) -> Result<Response, Failure> {
        let token = required(req, "AccessToken")?.to_owned();
        let code = required(req, "UserCode")?.to_owned();
        self.access_token_user(req).await?;
        self.confirm_user_secret(&token, &code).await?;
        Ok(answer(json!({"Status": "SUCCESS"})))
    }

    /// The (pool, user) an access token is of, from its claims (moto checked it already).
    async fn secret_key(&self, access_token: &str) -> Result<(String, String), Failure> {
        let refused = || failure("NotAuthorizedException", "Invalid Access Token");
        let claims = claims(access_token).ok_or_else(refused)?;
        let app = self
            .app(field(&claims, "client_id").ok_or_else(refused)?)
            .await?;
        let username = field(&claims, "username").ok_or_else(refused)?;
        Ok((app.pool_id, username.to_lowercase()))
    }

    /// A new secret for the access token's user, pending until a first code of it is checked.
    /// moto is asked too (it wants its own association), and its one secret noted.
    async fn new_user_secret(&self, access_token: &str) -> Result<String, Failure> {
        let out = self
            .admin
            .associate_software_token()
            .access_token(access_token)
            .send()
            .await
            .map_err(|e| upstream(e.into_service_error()))?;
        let key = self.secret_key(access_token).await?;
        let secret = crate::totp::new_secret();
        let mut state = self.state();
        state.moto_secret = out.secret_code().map(str::to_owned);
        state.secrets.entry(key).or_default().pending = Some(secret.clone());
        Ok(secret)
    }

    /// Checks `code` against the user's pending secret, which then takes over; moto is told
    /// with a code of its own secret.
    async fn confirm_user_secret(&self, access_token: &str, code: &str) -> Result<(), Failure> {
        let key = self.secret_key(access_token).await?;
        let (pending, moto_secret) = {
            let state = self.state();
            let pending = state.secrets.get(&key).and_then(|s| s.pending.clone());
            (pending, state.moto_secret.clone())
        };
        let (Some(pending), Some(moto_secret)) = (pending, moto_secret) else {
            return Err(failure(
                "InvalidParameterException",
                "No software token is associated.",
            ));
        };
        if !crate::totp::check(&pending, code, SystemTime::now()) {
            return Err(failure(
                "EnableSoftwareTokenMFAException",
                "Code mismatch and fail enable Software Token MFA",
            ));
        }
        self.admin
            .verify_software_token()
            .access_token(access_token)
            .user_code(crate::totp::totp(&moto_secret, SystemTime::now()))
            .send()
            .await
            .map_err(|e| upstream(e.into_service_error()))?;
        let mut state = self.state();
        let user = state.secrets.entry(key).or_default();
        user.active = user.pending.take();
        Ok(())
    }

    /// VerifySoftwareToken on an MFA_SETUP session: the first code, then TOTP on.
    async fn verify_in_setup(&self, req: &Value) -> Result<Response, Failure> {
        let session = required(req, "Session")?.to_owned();
        let code = required(req, "UserCode")?;
        let setup = self
            .setup_of(req)
            .ok_or_else(|| failure("NotAuthorizedException", "Invalid session"))?;
        self.confirm_user_secret(&setup.access_token, code).await?;
        self.admin
            .set_user_mfa_preference()
            .access_token(&setup.access_token)
            .software_token_mfa_settings(
                aws_sdk_cognitoidentityprovider::types::SoftwareTokenMfaSettingsType::builder()
                    .enabled(true)
                    .preferred_mfa(true)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| upstream(e.into_service_error()))?;
        if let Some(setup) = self.state().setups.get_mut(&session) {
            setup.verified = true;
        }
        Ok(answer(json!({"Status": "SUCCESS", "Session": session})))
    }

    async fn respond_to_challenge(
        &self,
        headers: &HeaderMap,
        body: Bytes,
        req: &Value,
    ) -> Result<Response, Failure> {
        let responses = req.get("ChallengeResponses").cloned().unwrap_or_default();
        let username = field(&responses, "USERNAME").unwrap_or_default();
        let app = self.client(req, username).await?;
        if field(req, "ChallengeName") == Some("MFA_SETUP")
            && let Some(setup) = self.setup_of(req)
        {
            let session = field(req, "Session").unwrap_or_default().to_owned();
            let issued = self.state().sessions.get(&session).copied();
            if issued.is_some_and(|(at, used)| used || self.now() > at + app.session_validity) {
                return Err(failure(
                    "NotAuthorizedException",
                    "Invalid session for the user, session is expired.",
                ));
            }
            if !setup.verified {
                return Err(failure(
                    "EnableSoftwareTokenMFAException",
                    "Software token MFA has not been set up.",
                ));
            }
            self.state().setups.remove(&session);
            if let Some(entry) = self.state().sessions.get_mut(&session) {
                entry.1 = true;
            }
            let done =
                answer(json!({"AuthenticationResult": setup.result, "ChallengeParameters": {}}));
            return Ok(self.signed_in(done, Some(username)).await);
        }
        // A session is answered once, within the client's AuthSessionValidity.
        let session = field(req, "Session").unwrap_or_default().to_owned();
        let issued = self.state().sessions.get(&session).copied();
        let expired = || {
            failure(
                "NotAuthorizedException",
                "Invalid session for the user, session is expired.",
            )
        };
        // Every challenge's session passed through here: one that did not is no session.
        match issued {
            None | Some((_, true)) => return Err(expired()),
            Some((at, false)) if self.now() > at + app.session_validity => return Err(expired()),
            _ => {}
        }
        // The code is checked against the user's own secret; moto gets one of its own.
        let mut body = body;
        if field(req, "ChallengeName") == Some("SOFTWARE_TOKEN_MFA") {
            let key = (app.pool_id.clone(), username.to_lowercase());
            let (active, moto_secret) = {
                let state = self.state();
                let active = state.secrets.get(&key).and_then(|s| s.active.clone());
                (active, state.moto_secret.clone())
            };
            if let (Some(active), Some(moto_secret)) = (active, moto_secret) {
                let code = field(&responses, "SOFTWARE_TOKEN_MFA_CODE").unwrap_or_default();
                if !crate::totp::check(&active, code, SystemTime::now()) {
                    return Err(failure(
                        "CodeMismatchException",
                        "Invalid code received for user",
                    ));
                }
                let mut rewritten = req.clone();
                rewritten["ChallengeResponses"]["SOFTWARE_TOKEN_MFA_CODE"] =
                    json!(crate::totp::totp(&moto_secret, SystemTime::now()));
                body = Bytes::from(rewritten.to_string());
            }
        }
        let res = self.forward(headers, body).await;
        if res.status().is_success()
            && let Some(entry) = self.state().sessions.get_mut(&session)
        {
            entry.1 = true;
        }
        Ok(self.signed_in(res, Some(username)).await)
    }

    /// Notes the refresh token of a successful sign-in, with its user and family; or, for a
    /// challenge, its session, and names the user as Cognito does (`USER_ID_FOR_SRP`, the
    /// internal user name `username`).
    async fn signed_in(&self, res: Response, username: Option<&str>) -> Response {
        if !res.status().is_success() {
            return res;
        }
        let (parts, body) = res.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if let Ok(mut out) = serde_json::from_slice::<Value>(&bytes)
            && let Some(session) = field(&out, "Session").map(str::to_owned)
            && field(&out, "ChallengeName").is_some()
        {
            let now = self.now();
            self.state().sessions.insert(session, (now, false));
            if let Some(username) = username {
                out["ChallengeParameters"]["USER_ID_FOR_SRP"] = json!(username);
            }
            let mut parts = parts;
            parts.headers.remove(http::header::CONTENT_LENGTH);
            return Response::from_parts(parts, Body::from(out.to_string()));
        }
        if let Ok(out) = serde_json::from_slice::<Value>(&bytes) {
            let result = &out["AuthenticationResult"];
            let id = field(result, "IdToken").and_then(claims);
            if let (Some(refresh), Some(id)) = (field(result, "RefreshToken"), id) {
                let username = field(&id, "cognito:username")
                    .unwrap_or_default()
                    .to_owned();
                let origin_jti = field(&id, "origin_jti").unwrap_or_default().to_owned();
                self.state().families.insert(
                    refresh.to_owned(),
                    Family {
                        username,
                        origin_jti,
                    },
                );
            }
        }
        Response::from_parts(parts, Body::from(bytes))
    }

    /// The user an access token belongs to, as moto knows it; refused when its family is
    /// revoked.
    async fn access_token_user(&self, req: &Value) -> Result<(App, User), Failure> {
        let token = required(req, "AccessToken")?;
        let refused = || failure("NotAuthorizedException", "Invalid Access Token");
        let claims = claims(token).ok_or_else(refused)?;
        if field(&claims, "origin_jti").is_some_and(|jti| self.state().revoked.contains(jti)) {
            return Err(failure(
                "NotAuthorizedException",
                "Access Token has been revoked",
            ));
        }
        let client_id = field(&claims, "client_id").ok_or_else(refused)?;
        let app = self.app(client_id).await?;
        let out = self
            .admin
            .get_user()
            .access_token(token)
            .send()
            .await
            .map_err(|e| upstream(e.into_service_error()))?;
        let user = self.user(&app, out.username()).await?.ok_or_else(refused)?;
        Ok((app, user))
    }

    async fn revoke_token(&self, req: &Value) -> Result<Response, Failure> {
        let token = required(req, "Token")?;
        let client_id = required(req, "ClientId")?;
        let app = self.app(client_id).await?;
        if app.secret.as_deref() != field(req, "ClientSecret") {
            return Err(failure("UnauthorizedException", "Invalid client secret."));
        }
        // Only this token's family: the user's other sessions stay signed in.
        let mut state = self.state();
        if let Some(jti) = state.families.get(token).map(|f| f.origin_jti.clone()) {
            state.revoked.insert(jti);
        }
        Ok(answer(json!({})))
    }

    async fn global_sign_out(
        &self,
        headers: &HeaderMap,
        body: Bytes,
        req: &Value,
    ) -> Result<Response, Failure> {
        let (_, user) = self.access_token_user(req).await?;
        let res = self.forward(headers, body).await;
        if res.status().is_success() {
            self.revoke_every_session(&user.username);
        }
        Ok(res)
    }

    /// Ends every session of `username` this layer has seen.
    fn revoke_every_session(&self, username: &str) {
        let mut state = self.state();
        let families: Vec<String> = state
            .families
            .values()
            .filter(|f| f.username == username)
            .map(|f| f.origin_jti.clone())
            .collect();
        state.revoked.extend(families);
    }

    async fn delete_user(&self, req: &Value) -> Result<Response, Failure> {
        let (app, user) = self.access_token_user(req).await?;
        self.admin
            .admin_delete_user()
            .user_pool_id(&app.pool_id)
            .username(&user.username)
            .send()
            .await
            .map_err(|e| upstream(e.into_service_error()))?;
        self.revoke_every_session(&user.username);
        Ok(answer(json!({})))
    }

    async fn attribute_code(&self, req: &Value) -> Result<Response, Failure> {
        let (app, user) = self.access_token_user(req).await?;
        if required(req, "AttributeName")? != "email" {
            return Err(failure(
                "InvalidParameterException",
                "Only email is verified here.",
            ));
        }
        let pending = self.pending_email(&app, &user.username);
        let Some(email) = pending.or(user.email) else {
            return Err(failure(
                "InvalidParameterException",
                "The user has no e-mail address.",
            ));
        };
        self.issue(
            &app,
            &user.username,
            Purpose::VerifyEmail,
            "verify_email",
            &email,
        );
        Ok(answer(delivery(&email)))
    }

    /// The new address a user gave, until its code is confirmed.
    fn pending_email(&self, app: &App, username: &str) -> Option<String> {
        let key = (app.pool_id.clone(), username.to_lowercase());
        self.state().pending_email.get(&key).cloned()
    }

    async fn verify_attribute(&self, req: &Value) -> Result<Response, Failure> {
        let (app, user) = self.access_token_user(req).await?;
        if required(req, "AttributeName")? != "email" {
            return Err(failure(
                "InvalidParameterException",
                "Only email is verified here.",
            ));
        }
        let code = required(req, "Code")?;
        self.check_code(&app, &user.username, Purpose::VerifyEmail, code, true)?;
        let key = (app.pool_id.clone(), user.username.to_lowercase());
        let pending = self.state().pending_email.remove(&key);
        let mut verified = vec![("email_verified".to_owned(), "true".to_owned())];
        if let Some(email) = pending {
            verified.push(("email".to_owned(), email));
        }
        self.set_attributes(&app, &user.username, &verified).await?;
        Ok(answer(json!({})))
    }

    /// UpdateUserAttributes: only the client's WriteAttributes. A new e-mail address, where the
    /// pool wants it verified first, waits for its code while the old one stays; otherwise it
    /// replaces the old one at once, unverified.
    async fn update_attributes(&self, req: &Value) -> Result<Response, Failure> {
        let (app, user) = self.access_token_user(req).await?;
        let given: Vec<(String, String)> = req
            .get("UserAttributes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| Some((field(a, "Name")?.to_owned(), field(a, "Value")?.to_owned())))
            .collect();
        if let Some(writable) = &app.writable
            && let Some((name, _)) = given.iter().find(|(n, _)| !writable.contains(n))
        {
            return Err(failure(
                "NotAuthorizedException",
                format!("A client attempted to write unauthorized attribute {name}"),
            ));
        }
        let mut now = Vec::new();
        let mut deliveries = Vec::new();
        for (name, value) in given {
            if name != "email" {
                now.push((name, value));
                continue;
            }
            if user.email.as_deref() == Some(value.as_str()) {
                continue;
            }
            if app.verify_before_update.iter().any(|a| a == "email") {
                let key = (app.pool_id.clone(), user.username.to_lowercase());
                self.state().pending_email.insert(key, value.clone());
            } else {
                now.push(("email".to_owned(), value.clone()));
                now.push(("email_verified".to_owned(), "false".to_owned()));
            }
            self.issue(
                &app,
                &user.username,
                Purpose::VerifyEmail,
                "verify_email",
                &value,
            );
            deliveries.push(delivery(&value)["CodeDeliveryDetails"].clone());
        }
        if !now.is_empty() {
            self.set_attributes(&app, &user.username, &now).await?;
        }
        Ok(answer(json!({"CodeDeliveryDetailsList": deliveries})))
    }

    async fn set_attributes(
        &self,
        app: &App,
        username: &str,
        attributes: &[(String, String)],
    ) -> Result<(), Failure> {
        let attributes = attributes
            .iter()
            .map(|(n, v)| AttributeType::builder().name(n).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| failure("InternalErrorException", e.to_string()))?;
        self.admin
            .admin_update_user_attributes()
            .user_pool_id(&app.pool_id)
            .username(username)
            .set_user_attributes(Some(attributes))
            .send()
            .await
            .map_err(|e| upstream(e.into_service_error()))?;
        Ok(())
    }
}

/// A wrong code, as Cognito answers it.
fn code_mismatch() -> Failure {
    failure(
        "CodeMismatchException",
        "Invalid verification code provided, please try again.",
    )
}

/// Cognito's SECRET_HASH rule: a client with a secret needs the hash of `username`, one without
/// takes none.
fn check_hash(
    app: &App,
    client_id: &str,
    username: &str,
    given: Option<&str>,
) -> Result<(), Failure> {
    let Some(secret) = &app.secret else {
        return Ok(());
    };
    let Some(given) = given else {
        return Err(failure(
            "NotAuthorizedException",
            format!(
                "Client {client_id} is configured with secret but SECRET_HASH was not received"
            ),
        ));
    };
    if given != auth::secret_hash(username, client_id, secret) {
        return Err(failure(
            "NotAuthorizedException",
            format!("Unable to verify secret hash for client {client_id}"),
        ));
    }
    Ok(())
}

/// The layer serving on `listener`, in front of the moto at `moto`, until the runtime stops.
pub async fn spawn(
    listener: tokio::net::TcpListener,
    layer: Arc<Layer>,
) -> std::io::Result<String> {
    let endpoint = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, layer.router()).await;
    });
    Ok(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_masked_as_cognito_masks_them() {
        assert_eq!(mask("alice@example.com"), "a***@e***");
    }

    #[test]
    fn codes_have_six_digits() {
        for _ in 0..100 {
            let code = six_digits();
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        }
    }

    #[test]
    fn the_hash_is_required_and_checked_when_the_client_has_a_secret() {
        let app = App {
            pool_id: "p".into(),
            secret: Some("s3".into()),
            prevent_user_existence_errors: true,
            required: Vec::new(),
            verify_before_update: Vec::new(),
            writable: None,
            session_validity: Duration::from_secs(180),
            mfa_on: false,
        };
        let good = auth::secret_hash("alice", "cid", "s3");
        assert!(check_hash(&app, "cid", "alice", Some(&good)).is_ok());
        assert!(check_hash(&app, "cid", "bob", Some(&good)).is_err());
        assert!(check_hash(&app, "cid", "alice", None).is_err());
        let open = App {
            secret: None,
            ..app
        };
        assert!(check_hash(&open, "cid", "alice", None).is_ok());
    }

    #[test]
    fn the_mailbox_lists_newest_first_and_filters_by_user() {
        let mailbox = Mailbox::default();
        for (user, code) in [("alice", "111111"), ("bob", "222222"), ("Alice", "333333")] {
            mailbox.deliver(Message {
                to: format!("{user}@example.com"),
                username: user.into(),
                kind: "sign_up",
                code: code.into(),
                sent_at: rfc3339(SystemTime::now()),
            });
        }
        let codes: Vec<_> = mailbox.messages(None).into_iter().map(|m| m.code).collect();
        assert_eq!(codes, ["333333", "222222", "111111"]);
        assert_eq!(mailbox.messages(Some("alice")).len(), 2);
        assert_eq!(mailbox.last_code("bob").as_deref(), Some("222222"));
    }
}
