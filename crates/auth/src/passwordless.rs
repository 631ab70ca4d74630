//! Choice-based sign-in (InitiateAuth with `USER_AUTH`: a password, an e-mail code or a
//! passkey) and the signed-in user's passkeys (Start/CompleteWebAuthnRegistration,
//! ListWebAuthnCredentials, DeleteWebAuthnCredential, GetUserAuthFactors).
//!
//! Both need the pool on Cognito's Essentials plan or above, and no MFA required of every user
//! (Cognito offers no passwordless sign-in to a user with MFA on); where the deployment has
//! them off ([`Passwordless`]) every method here answers `501 feature_unavailable` before
//! calling Cognito.

use aws_sdk_cognitoidentityprovider::config::Config as ClientConfig;
use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ChallengeNameType};
use aws_smithy_types::{Document, Number};
use platform::sdk::no_retries;
use platform::{ApiError, ClientContext};
use serde::Serialize;

use crate::client::{Cognito, Op, user_context};
use crate::errors::map;
use crate::sign_in::{SignIn, outcome};

/// The variable saying whether the deployment offers passwordless sign-in: `true` where the
/// stack's pool is on Essentials or Plus and its MFA is not ON.
pub const PASSWORDLESS_VAR: &str = "PASSWORDLESS";

/// Whether the deployment offers choice-based sign-in and passkeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passwordless {
    On,
    Off,
}

impl Passwordless {
    /// [`PASSWORDLESS_VAR`] as the stack sets it; unset is on (Cognito's default plan for a
    /// new pool is Essentials).
    pub fn from_env(env: &platform::Env) -> Self {
        match env.get(PASSWORDLESS_VAR) {
            Some(v) if v.eq_ignore_ascii_case("false") => Passwordless::Off,
            _ => Passwordless::On,
        }
    }
}

/// The answer where it is off.
const OFF: &str = "passwordless sign-in and passkeys are off in this deployment: they need the user pool on Cognito's Essentials or Plus plan (UserPoolTier) and Mfa OPTIONAL";

/// A way to sign in, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Password,
    EmailOtp,
    Passkey,
}

impl Method {
    /// Every method, as a client names it.
    pub const NAMES: &[&str] = &["password", "email_otp", "passkey"];

    /// The optional `field` of `body`, one of [`Method::NAMES`] (trimmed).
    pub fn from_body(
        body: &platform::JsonObject,
        field: &'static str,
    ) -> Result<Option<Method>, ApiError> {
        let Some(name) = body.optional_string(field)? else {
            return Ok(None);
        };
        Method::parse(name.trim())
            .map(Some)
            .ok_or_else(|| ApiError::InvalidField {
                field,
                reason: format!("must be one of {}", Method::NAMES.join(", ")),
            })
    }

    pub fn parse(name: &str) -> Option<Method> {
        match name {
            "password" => Some(Method::Password),
            "email_otp" => Some(Method::EmailOtp),
            "passkey" => Some(Method::Passkey),
            _ => None,
        }
    }

    /// Cognito's name of the first factor (`PREFERRED_CHALLENGE`, `ANSWER`).
    pub fn challenge(self) -> &'static str {
        match self {
            Method::Password => "PASSWORD",
            Method::EmailOtp => "EMAIL_OTP",
            Method::Passkey => "WEB_AUTHN",
        }
    }

    /// The method a Cognito challenge or factor name stands for.
    pub fn of_challenge(name: &str) -> Option<Method> {
        match name {
            "PASSWORD" | "PASSWORD_SRP" => Some(Method::Password),
            "EMAIL_OTP" => Some(Method::EmailOtp),
            "WEB_AUTHN" => Some(Method::Passkey),
            _ => None,
        }
    }

    /// The methods Cognito's names stand for, each once, in Cognito's order.
    pub fn all_of<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<Method> {
        let mut out = Vec::new();
        for m in names.into_iter().filter_map(Method::of_challenge) {
            if !out.contains(&m) {
                out.push(m);
            }
        }
        out
    }
}

/// A passkey of the user's, as `GET /passkeys` lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Passkey {
    pub id: String,
    /// Cognito's name for it (it names passkeys itself).
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    /// `platform` (built into a device) or `cross-platform` (a security key), if the browser
    /// said.
    pub authenticator_attachment: Option<String>,
    pub transports: Vec<String>,
    pub relying_party_id: String,
}

/// JSON to the SDK's document.
pub fn to_document(value: &serde_json::Value) -> Document {
    use serde_json::Value;
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Document::Number(Number::PosInt(u)),
            (None, Some(i)) => Document::Number(Number::NegInt(i)),
            _ => Document::Number(Number::Float(n.as_f64().unwrap_or_default())),
        },
        Value::String(s) => Document::String(s.clone()),
        Value::Array(a) => Document::Array(a.iter().map(to_document).collect()),
        Value::Object(o) => {
            Document::Object(o.iter().map(|(k, v)| (k.clone(), to_document(v))).collect())
        }
    }
}

/// The SDK's document as JSON.
pub fn from_document(doc: &Document) -> serde_json::Value {
    use serde_json::{Value, json};
    match doc {
        Document::Null => Value::Null,
        Document::Bool(b) => json!(b),
        Document::Number(Number::PosInt(u)) => json!(u),
        Document::Number(Number::NegInt(i)) => json!(i),
        Document::Number(Number::Float(f)) => json!(f),
        Document::String(s) => json!(s),
        Document::Array(a) => Value::Array(a.iter().map(from_document).collect()),
        Document::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), from_document(v)))
                .collect(),
        ),
    }
}

impl Cognito {
    /// `501 feature_unavailable` where the deployment has passwordless sign-in off.
    pub fn require_passwordless(&self) -> Result<(), ApiError> {
        match self.passwordless {
            Passwordless::Off => Err(ApiError::FeatureUnavailable(OFF)),
            Passwordless::On => Ok(()),
        }
    }

    /// InitiateAuth with `USER_AUTH` for `username`: with `method`, that first factor at once
    /// (a password sign-in with `password` completes here, or goes on to its second factor);
    /// without, `SELECT_CHALLENGE` with the methods this user has.
    pub async fn start_sign_in(
        &self,
        context: &ClientContext,
        username: &str,
        method: Option<Method>,
        password: Option<&str>,
    ) -> Result<SignIn, ApiError> {
        self.require_passwordless()?;
        let mut call = self
            .client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::UserAuth)
            .auth_parameters("USERNAME", username)
            .set_user_context_data(user_context(context));
        if let Some(method) = method {
            call = call.auth_parameters("PREFERRED_CHALLENGE", method.challenge());
        }
        if let Some(password) = password {
            call = call.auth_parameters("PASSWORD", password);
        }
        if let Some(hash) = self.hash(username).await? {
            call = call.auth_parameters("SECRET_HASH", hash);
        }
        // Never retried: each call may mail a code.
        let out = call
            .customize()
            .config_override(ClientConfig::builder().retry_config(no_retries()))
            .send()
            .await
            .map_err(|e| map(Op::Login, e))?;
        outcome(
            Op::Login,
            out.authentication_result(),
            out.challenge_name(),
            out.session(),
            out.challenge_parameters(),
            out.available_challenges(),
            username,
        )
    }

    /// StartWebAuthnRegistration: the options `navigator.credentials.create()` takes, for the
    /// user `access_token` names.
    pub async fn start_passkey_registration(
        &self,
        access_token: &str,
    ) -> Result<serde_json::Value, ApiError> {
        self.require_passwordless()?;
        let out = self
            .client
            .start_web_authn_registration()
            .access_token(access_token)
            .send()
            .await
            .map_err(|e| map(Op::StartPasskey, e))?;
        Ok(from_document(out.credential_creation_options()))
    }

    /// CompleteWebAuthnRegistration with the browser's `credential` (its JSON); never retried.
    pub async fn complete_passkey_registration(
        &self,
        access_token: &str,
        credential: &serde_json::Value,
    ) -> Result<(), ApiError> {
        self.require_passwordless()?;
        self.client
            .complete_web_authn_registration()
            .access_token(access_token)
            .credential(to_document(credential))
            .customize()
            .config_override(ClientConfig::builder().retry_config(no_retries()))
            .send()
            .await
            .map_err(|e| map(Op::CompletePasskey, e))?;
        Ok(())
    }

    /// ListWebAuthnCredentials, every page: the passkeys of the user `access_token` names.
    pub async fn passkeys(&self, access_token: &str) -> Result<Vec<Passkey>, ApiError> {
        self.require_passwordless()?;
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .list_web_authn_credentials()
                .access_token(access_token)
                .max_results(20)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| map(Op::ListPasskeys, e))?;
            for c in page.credentials() {
                out.push(Passkey {
                    id: c.credential_id().to_owned(),
                    name: c.friendly_credential_name().to_owned(),
                    created_at: c
                        .created_at()
                        .fmt(aws_smithy_types::date_time::Format::DateTime)
                        .unwrap_or_default(),
                    authenticator_attachment: c.authenticator_attachment().map(str::to_owned),
                    transports: c.authenticator_transports().to_vec(),
                    relying_party_id: c.relying_party_id().to_owned(),
                });
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => return Ok(out),
            }
        }
    }

    /// DeleteWebAuthnCredential: `404 not_found` when the user holds no passkey `id`.
    pub async fn delete_passkey(&self, access_token: &str, id: &str) -> Result<(), ApiError> {
        self.require_passwordless()?;
        self.client
            .delete_web_authn_credential()
            .access_token(access_token)
            .credential_id(id)
            .send()
            .await
            .map_err(|e| map(Op::DeletePasskey, e))?;
        Ok(())
    }

    /// GetUserAuthFactors: the ways the user `access_token` names can sign in now.
    pub async fn sign_in_methods(&self, access_token: &str) -> Result<Vec<Method>, ApiError> {
        self.require_passwordless()?;
        let out = self
            .client
            .get_user_auth_factors()
            .access_token(access_token)
            .send()
            .await
            .map_err(|e| map(Op::AuthFactors, e))?;
        Ok(Method::all_of(
            out.configured_user_auth_factors()
                .iter()
                .map(|f| f.as_str()),
        ))
    }
}

/// The challenge names `/login/challenge` answers for choice-based sign-in.
pub const CHALLENGES: &[&str] = &["SELECT_CHALLENGE", "EMAIL_OTP", "WEB_AUTHN", "PASSWORD"];

/// Cognito's names of `available`, as methods.
pub(crate) fn methods(available: &[ChallengeNameType]) -> Vec<Method> {
    Method::all_of(available.iter().map(ChallengeNameType::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cognitos_factor_names_become_the_apis_methods_each_once() {
        let names = [
            "PASSWORD",
            "PASSWORD_SRP",
            "WEB_AUTHN",
            "EMAIL_OTP",
            "SMS_OTP",
        ];
        assert_eq!(
            Method::all_of(names),
            vec![Method::Password, Method::Passkey, Method::EmailOtp]
        );
        for name in Method::NAMES {
            let method = Method::parse(name).unwrap();
            assert_eq!(Method::of_challenge(method.challenge()), Some(method));
        }
        assert_eq!(Method::parse("PASSWORD"), None);
    }

    #[test]
    fn a_json_credential_survives_the_sdks_document_both_ways() {
        let credential = serde_json::json!({
            "id": "AbC-_", "type": "public-key", "n": -7, "big": 180000, "f": 0.5,
            "response": {"transports": ["internal", "hybrid"], "userHandle": null},
            "clientExtensionResults": {"credProps": {"rk": true}},
        });
        assert_eq!(from_document(&to_document(&credential)), credential);
    }
}
