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
//! - revocation: a token of a revoked family is refused on every operation that takes one;
//! - GetTokensFromRefreshToken (which moto lacks) and refresh-token rotation as the app
//!   client's `RefreshTokenRotation` says: a new refresh token at each exchange, the one given
//!   good for the client's grace and then `RefreshTokenReuseException`; REFRESH_TOKEN_AUTH
//!   refused on a client that rotates, or whose ExplicitAuthFlows leave it out;
//! - challenge sessions bound to their user and challenge, claimed before an answer is
//!   checked, answered once within the client's AuthSessionValidity, ended by three wrong
//!   codes; MFA_SETUP when the pool's MFA is ON; a TOTP secret of each user's own, each code
//!   good once;
//! - the administrator's AdminUserGlobalSignOut, AdminDeleteUser (families revoked),
//!   AdminUpdateUserAttributes (a new e-mail address awaiting its code) and
//!   AdminDeleteSoftwareToken (which moto lacks: MFA_SETUP next where the pool's MFA is ON);
//! - SES v2's SendEmail ([`ses`]), into the mailbox as kind `alert`;
//! - the [`trail`]: CloudTrail's record of AdminDeleteUser, AdminDisableUser (which revokes
//!   the user's families too, as Cognito does), AdminUserGlobalSignOut, AdminResetUserPassword
//!   and AdminRemoveUserFromGroup, as EventBridge delivers it, for the operator function;
//! - `email_verified` set on confirmation, the pool's required attributes on SignUp, the
//!   client's WriteAttributes and PreventUserExistenceErrors honoured.
//!
//! How it is built, one module per concern: [`protocol`] (the [`protocol::Target`] an
//! `X-Amz-Target` names, typed requests, Cognito's errors), `moto` (the pass-through, and the
//! one reader of moto's answers), `directory` (app clients and users), [`codes`] and
//! [`mailbox`], `tokens` (families, revocation and rotation), `sessions` (challenge sessions, MFA_SETUP
//! set-ups), `mfa` and [`totp`] (authenticator secrets), `clock` (the one clock), and `ops`:
//! one file per operation. Each store owns its own lock. docs/local-cognito.md is the
//! reference, and says how to add an operation.

mod clock;
pub mod codes;
mod directory;
pub mod mailbox;
mod mfa;
mod moto;
mod ops;
pub mod passkeys;
pub mod protocol;
pub mod ses;
mod sessions;
mod sign_in_codes;
mod tokens;
pub mod totp;
pub mod trail;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;

pub use codes::{
    MAX_WRONG_CODES, RESET_CODE_LIFETIME, SIGN_UP_CODE_LIFETIME, VERIFY_CODE_LIFETIME,
};
pub use mailbox::{Mailbox, Message};
pub use ops::user_auth::EMAIL_OTP_DIGITS;
pub use passkeys::{CHALLENGE_LIFETIME as PASSKEY_CHALLENGE_LIFETIME, MAX_PASSKEYS};
pub use sessions::MAX_WRONG_MFA_CODES;

use crate::clock::Clock;
use crate::codes::Codes;
use crate::directory::Directory;
use crate::mfa::Authenticators;
use crate::moto::Moto;
use crate::passkeys::Passkeys;
use crate::protocol::{Call, Target};
use crate::sessions::{Sessions, Setups};
use crate::sign_in_codes::SignInCodes;
use crate::tokens::Tokens;
use crate::trail::Trail;

/// The layer. [`Layer::router`] serves it.
pub struct Layer {
    moto: Moto,
    directory: Directory,
    codes: Codes,
    mailbox: Arc<Mailbox>,
    tokens: Tokens,
    sessions: Sessions,
    setups: Setups,
    authenticators: Authenticators,
    passkeys: Passkeys,
    sign_in_codes: SignInCodes,
    trail: Trail,
    clock: Clock,
}

impl Layer {
    /// The layer in front of the moto at `moto`, which `sdk` points at too, delivering to
    /// `mailbox`.
    pub fn new(moto: &str, sdk: &SdkConfig, mailbox: Arc<Mailbox>) -> Self {
        let moto = Moto::new(moto, sdk);
        Self {
            directory: Directory::new(moto.admin.clone()),
            moto,
            codes: Codes::default(),
            mailbox,
            tokens: Tokens::default(),
            sessions: Sessions::default(),
            setups: Setups::default(),
            authenticators: Authenticators::default(),
            passkeys: Passkeys::default(),
            sign_in_codes: SignInCodes::default(),
            trail: Trail::default(),
            clock: Clock::default(),
        }
    }

    pub fn mailbox(&self) -> &Arc<Mailbox> {
        &self.mailbox
    }

    /// What CloudTrail would record of the administrator's operations on users.
    pub fn trail(&self) -> &Trail {
        &self.trail
    }

    /// Moves the layer's clock forward, so that tests can let codes and challenge sessions
    /// expire. TOTP codes are checked at the layer's time too ([`Layer::now`]).
    pub fn advance_clock(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// The layer's time: the machine's, moved forward by [`Layer::advance_clock`].
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The axum app: every Cognito call is a POST to `/` with an `X-Amz-Target`; SES v2's
    /// SendEmail is a POST to [`ses::SEND_EMAIL_PATH`].
    pub fn router(self: Arc<Self>) -> axum::Router {
        axum::Router::new()
            .route(
                ses::SEND_EMAIL_PATH,
                axum::routing::post(|State(layer): State<Arc<Layer>>, body: Bytes| async move {
                    ses::send_email(&layer, &body)
                }),
            )
            .fallback(
                |State(layer): State<Arc<Layer>>, headers: HeaderMap, body: Bytes| async move {
                    layer.serve(headers, body).await
                },
            )
            .with_state(self)
    }

    async fn serve(&self, headers: HeaderMap, body: Bytes) -> Response {
        let Some(target) = Target::of(&headers) else {
            return self.moto.relay(&headers, body).await;
        };
        let answered = match Call::new(target, headers, body) {
            Ok(call) => {
                let trailed = trail::TRAILED.contains(&call.target);
                let user = match trailed {
                    true => ops::trailed_user(self, &call).await,
                    false => None,
                };
                let answered = ops::dispatch(self, &call).await;
                if trailed && answered.is_ok() {
                    let name = format!("{:?}", call.target);
                    self.trail.record(&call, &name, user.as_ref(), self.now());
                }
                answered
            }
            Err(err) => Err(err),
        };
        match answered {
            Ok(out) => protocol::answer(&out),
            Err(err) => err.into_response(),
        }
    }
}

/// The layer serving on `listener` until the runtime stops; its endpoint.
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

/// The local Cognito ([`Layer`]) serving on `endpoint`.
#[derive(Clone)]
pub struct LocalCognito {
    pub endpoint: String,
    pub layer: Arc<Layer>,
}

impl std::fmt::Debug for LocalCognito {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCognito")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl LocalCognito {
    /// Starts the local Cognito on a free loopback port, in front of the emulator at `emulator`
    /// (which `sdk` points at too).
    pub async fn start(emulator: &str, sdk: &SdkConfig) -> std::io::Result<Self> {
        let layer = Arc::new(Layer::new(emulator, sdk, Arc::new(Mailbox::default())));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let endpoint = spawn(listener, layer.clone()).await?;
        Ok(Self { endpoint, layer })
    }

    pub fn mailbox(&self) -> &Arc<Mailbox> {
        self.layer.mailbox()
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use serde_json::{Value, json};
    use tower::ServiceExt;

    use super::*;

    fn sdk() -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .build()
    }

    /// A layer whose moto is nowhere: what it answers, it answers before calling moto.
    fn app() -> axum::Router {
        Arc::new(Layer::new("http://127.0.0.1:9", &sdk(), Arc::default())).router()
    }

    async fn call(op: &str, body: &str) -> (u16, Value) {
        let req = http::Request::post("/")
            .header("content-type", protocol::CONTENT_TYPE)
            .header(
                "x-amz-target",
                format!("AWSCognitoIdentityProviderService.{op}"),
            )
            .body(Body::from(body.to_owned()))
            .unwrap();
        let res = app().oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        assert_eq!(res.headers()["content-type"], protocol::CONTENT_TYPE);
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap())
    }

    fn kind(answer: &(u16, Value)) -> (u16, &str) {
        (answer.0, answer.1["__type"].as_str().unwrap_or_default())
    }

    #[tokio::test]
    async fn a_missing_required_member_is_invalid_parameter_never_an_empty_string() {
        for (op, body) in [
            (
                "ConfirmSignUp",
                json!({"ClientId": "c", "ConfirmationCode": "123456"}),
            ),
            (
                "ConfirmSignUp",
                json!({"Username": "u", "ConfirmationCode": "123456"}),
            ),
            ("ForgotPassword", json!({"ClientId": null, "Username": "u"})),
            (
                "SignUp",
                json!({"ClientId": "c", "Username": null, "Password": "p"}),
            ),
            ("RevokeToken", json!({"ClientId": "c"})),
            ("GetTokensFromRefreshToken", json!({"ClientId": "c"})),
            ("GetTokensFromRefreshToken", json!({"RefreshToken": "r"})),
            ("UpdateUserPoolClient", json!({"UserPoolId": "p"})),
            ("AdminDeleteSoftwareToken", json!({"UserPoolId": "p"})),
        ] {
            let answer = call(op, &body.to_string()).await;
            assert_eq!(
                kind(&answer),
                (400, "InvalidParameterException"),
                "{op} {body}: {answer:?}"
            );
        }
    }

    #[tokio::test]
    async fn the_administrators_sign_in_is_refused_since_moto_would_take_any_proof() {
        for op in ["AdminInitiateAuth", "AdminRespondToAuthChallenge"] {
            let body = json!({"UserPoolId": "p", "ClientId": "c", "AuthFlow": "ADMIN_NO_SRP_AUTH",
                              "ChallengeName": "PASSWORD_VERIFIER",
                              "ChallengeResponses": {"USERNAME": "victim"}});
            let answer = call(op, &body.to_string()).await;
            assert_eq!(
                kind(&answer),
                (400, "UnsupportedOperationException"),
                "{op}"
            );
        }
        let body = json!({"ClientId": "c", "ChallengeName": "PASSWORD_VERIFIER", "Session": "s",
                          "ChallengeResponses": {"USERNAME": "victim",
                                                 "PASSWORD_CLAIM_SECRET_BLOCK": "s"}});
        let answer = call("RespondToAuthChallenge", &body.to_string()).await;
        assert_eq!(kind(&answer), (400, "NotAuthorizedException"));
    }

    #[tokio::test]
    async fn a_rotation_cognito_does_not_allow_is_refused_before_moto_is_asked() {
        for rotation in [
            json!({"Feature": "SOMETIMES"}),
            json!({"Feature": "ENABLED", "RetryGracePeriodSeconds": 61}),
            json!({"Feature": "ENABLED", "RetryGracePeriodSeconds": -1}),
            json!({"RetryGracePeriodSeconds": 10}),
        ] {
            for op in ["CreateUserPoolClient", "UpdateUserPoolClient"] {
                let body = json!({"UserPoolId": "p", "ClientId": "c", "ClientName": "n",
                                  "RefreshTokenRotation": rotation});
                let answer = call(op, &body.to_string()).await;
                assert_eq!(
                    kind(&answer),
                    (400, "InvalidParameterException"),
                    "{op} {rotation}"
                );
            }
        }
        // One Cognito allows goes on to moto, which is nowhere here.
        for grace in [0, 60] {
            let rotation = json!({"Feature": "ENABLED", "RetryGracePeriodSeconds": grace});
            let body = json!({"UserPoolId": "p", "ClientName": "n",
                              "RefreshTokenRotation": rotation});
            let answer = call("CreateUserPoolClient", &body.to_string()).await;
            assert_eq!(kind(&answer), (500, "InternalErrorException"), "{grace}");
        }
    }

    #[tokio::test]
    async fn a_missing_key_of_a_map_member_is_invalid_parameter() {
        for (op, body) in [
            (
                "InitiateAuth",
                json!({"ClientId": "c", "AuthFlow": "USER_PASSWORD_AUTH",
                       "AuthParameters": {"PASSWORD": "p"}}),
            ),
            (
                "InitiateAuth",
                json!({"ClientId": "c", "AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": {}}),
            ),
            (
                "RespondToAuthChallenge",
                json!({"ClientId": "c", "ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": "s",
                       "ChallengeResponses": {"SOFTWARE_TOKEN_MFA_CODE": "123456"}}),
            ),
        ] {
            let answer = call(op, &body.to_string()).await;
            assert_eq!(
                kind(&answer),
                (400, "InvalidParameterException"),
                "{op} {body}"
            );
        }
    }

    #[tokio::test]
    async fn a_body_that_is_not_json_or_of_the_wrong_types_is_a_serialization_error() {
        for (op, body) in [
            ("SignUp", "{"),
            ("SignUp", r#"{"ClientId": 1, "Username": "u"}"#),
        ] {
            let answer = call(op, body).await;
            assert_eq!(kind(&answer), (400, "SerializationException"), "{body}");
        }
    }

    #[tokio::test]
    async fn a_session_or_a_token_that_is_nobodys_is_refused_before_moto_is_asked() {
        for (op, body) in [
            (
                "AssociateSoftwareToken",
                json!({"Session": "no-such-session"}),
            ),
            (
                "VerifySoftwareToken",
                json!({"Session": "no-such-session", "UserCode": "123456"}),
            ),
            ("GetUser", json!({"AccessToken": "not-a-token"})),
        ] {
            let answer = call(op, &body.to_string()).await;
            assert_eq!(kind(&answer), (400, "NotAuthorizedException"), "{op}");
        }
    }

    async fn send_email(body: Value) -> (u16, Value, Vec<Message>, Option<String>) {
        let layer = Arc::new(Layer::new("http://127.0.0.1:9", &sdk(), Arc::default()));
        let req = http::Request::post(ses::SEND_EMAIL_PATH)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let res = layer.clone().router().oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let error_type =
            (res.headers().get("x-amzn-errortype")).map(|v| v.to_str().unwrap().to_owned());
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let mail = layer.mailbox().alerts(None);
        (
            status,
            serde_json::from_slice(&body).unwrap(),
            mail,
            error_type,
        )
    }

    #[tokio::test]
    async fn ses_send_email_puts_one_alert_per_recipient_in_the_mailbox() {
        let (status, out, mail, _) = send_email(json!({
            "FromEmailAddress": "security@example.com",
            "Destination": {"ToAddresses": ["alice@example.com"], "BccAddresses": ["audit@example.com"]},
            "Content": {"Simple": {"Subject": {"Data": "Your password was changed"},
                                   "Body": {"Text": {"Data": "If it was not you, reset it."}}}},
        }))
        .await;
        assert_eq!(status, 200);
        assert!(
            out["MessageId"].as_str().is_some_and(|id| !id.is_empty()),
            "{out}"
        );
        let to: Vec<&str> = mail.iter().map(|m| m.to.as_str()).collect();
        assert_eq!(to, ["audit@example.com", "alice@example.com"]);
        assert_eq!(mail[1].kind, "alert");
        assert_eq!(
            mail[1].subject.as_deref(),
            Some("Your password was changed")
        );
        assert_eq!(
            mail[1].body.as_deref(),
            Some("If it was not you, reset it.")
        );
    }

    #[tokio::test]
    async fn ses_send_email_without_a_recipient_or_simple_content_is_a_bad_request() {
        let simple =
            json!({"Simple": {"Subject": {"Data": "s"}, "Body": {"Html": {"Data": "<p>b</p>"}}}});
        for body in [
            json!({"Content": simple}),
            json!({"Destination": {"ToAddresses": ["a@example.com"]}, "Content": {"Raw": {"Data": "x"}}}),
            json!({"Destination": {"ToAddresses": ["a@example.com"]}}),
        ] {
            let (status, _, mail, error_type) = send_email(body.clone()).await;
            assert_eq!(
                (status, error_type.as_deref()),
                (400, Some("BadRequestException")),
                "{body}"
            );
            assert!(mail.is_empty());
        }
    }

    #[tokio::test]
    async fn moto_out_of_reach_is_an_internal_error() {
        let answer = call("ListUserPools", r#"{"MaxResults": 1}"#).await;
        assert_eq!(kind(&answer), (500, "InternalErrorException"));
    }
}
