//! The user pools' app clients and users, as moto holds them: an app client is looked up in
//! moto once (one look-up of an unknown client at a time, so that a burst of first calls asks
//! moto once) and kept until UpdateUserPoolClient changes it through the layer; users are read
//! and written with moto's admin operations. Also the e-mail addresses awaiting verification,
//! which moto has nowhere to keep.
//!
//! What the layer enforces of a client and moto does not, it reads from moto's
//! DescribeUserPoolClient, which answers every setting the client was created with: its
//! ExplicitAuthFlows (`ALLOW_USER_AUTH`, `ALLOW_REFRESH_TOKEN_AUTH`) and its
//! `RefreshTokenRotation`, which moto keeps but ignores.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_cognitoidentityprovider as cognito;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, FeatureType, RefreshTokenRotationType, UserStatusType,
};
use subtle::ConstantTimeEq;

use crate::protocol::{Error, ErrorType};

/// An app client and its pool's settings, as moto describes them. `Debug` leaves the secret
/// out.
#[derive(Clone)]
pub struct App {
    pub pool_id: String,
    pub secret: Option<String>,
    pub prevent_user_existence_errors: bool,
    /// The pool's required attributes, which SignUp must give.
    pub required: Vec<String>,
    /// Attributes whose new value takes effect only once verified
    /// (`AttributesRequireVerificationBeforeUpdate`).
    pub verify_before_update: Vec<String>,
    /// The client's WriteAttributes; `None`: every attribute.
    pub writable: Option<Vec<String>>,
    /// How long a challenge's session may be answered (the client's AuthSessionValidity).
    pub session_validity: Duration,
    /// The pool's MFA is ON: a user without an authenticator sets one up at sign-in.
    pub mfa_on: bool,
    /// The pool's feature plan (`UserPoolTier`): `LITE`, `ESSENTIALS` (Cognito's default for a
    /// new pool) or `PLUS`. Choice-based sign-in needs `ESSENTIALS` or above.
    pub tier: String,
    /// The pool's `SignInPolicy.AllowedFirstAuthFactors` (`PASSWORD` alone when unset).
    pub first_factors: Vec<String>,
    /// The client allows choice-based sign-in (`ALLOW_USER_AUTH` in its ExplicitAuthFlows).
    pub user_auth: bool,
    /// The client allows `REFRESH_TOKEN_AUTH`: `ALLOW_REFRESH_TOKEN_AUTH` in its
    /// ExplicitAuthFlows, or no `ALLOW_` flows at all (Cognito's default for a client created
    /// without ExplicitAuthFlows includes it, and the legacy values never gated refresh).
    pub refresh_token_auth: bool,
    /// The client's `RefreshTokenRotation`: `Some(RetryGracePeriodSeconds)` when ENABLED (how
    /// long a refresh token stays good after its first exchange), `None` when DISABLED.
    pub rotation: Option<Duration>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("pool_id", &self.pool_id)
            .field("has_secret", &self.secret.is_some())
            .field("mfa_on", &self.mfa_on)
            .field("rotation", &self.rotation)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Cognito's SECRET_HASH rule for `client_id`: a client with a secret needs the hash of
    /// `username`, one without takes none.
    pub fn check_hash(
        &self,
        client_id: &str,
        username: &str,
        given: Option<&str>,
    ) -> Result<(), Error> {
        let Some(secret) = &self.secret else {
            return Ok(());
        };
        let Some(given) = given else {
            return Err(Error::not_authorized(format!(
                "Client {client_id} is configured with secret but SECRET_HASH was not received"
            )));
        };
        let expected = auth::secret_hash(username, client_id, secret);
        if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(Error::not_authorized(format!(
                "Unable to verify secret hash for client {client_id}"
            )));
        }
        Ok(())
    }

    /// The client secret a call gave (`ClientSecret`, on RevokeToken and
    /// GetTokensFromRefreshToken) is the client's: compared in constant time; a client with a
    /// secret needs it, and one without takes none.
    pub fn secret_matches(&self, given: Option<&str>) -> bool {
        match (&self.secret, given) {
            (Some(secret), Some(given)) => secret.as_bytes().ct_eq(given.as_bytes()).into(),
            (None, None) => true,
            _ => false,
        }
    }

    /// A user that does not exist, as the client's PreventUserExistenceErrors wants it told:
    /// `hidden` with it, `UserNotFoundException` without.
    pub fn unknown_user(&self, hidden: Error) -> Error {
        if self.prevent_user_existence_errors {
            hidden
        } else {
            Error::new(
                ErrorType::UserNotFound,
                "Username/client id combination not found.",
            )
        }
    }
}

/// A user as the layer needs it.
#[derive(Debug, Clone)]
pub struct User {
    /// The internal user name.
    pub username: String,
    /// The `sub` attribute.
    pub sub: Option<String>,
    pub confirmed: bool,
    pub email: Option<String>,
    pub email_verified: bool,
    /// moto has an MFA method on for the user (its `UserMFASettingList`).
    pub mfa: bool,
}

/// App clients and users.
pub struct Directory {
    admin: cognito::Client,
    /// By client id.
    apps: Mutex<HashMap<String, App>>,
    /// One look-up of an unknown client at a time: a burst of first calls asks moto once.
    lookups: tokio::sync::Mutex<()>,
    /// New e-mail addresses awaiting their code, by (pool, user in lower case).
    pending_email: Mutex<HashMap<(String, String), String>>,
}

impl Directory {
    pub fn new(admin: cognito::Client) -> Self {
        Self {
            admin,
            apps: Mutex::default(),
            lookups: tokio::sync::Mutex::default(),
            pending_email: Mutex::default(),
        }
    }

    fn known(&self, client_id: &str) -> Option<App> {
        let apps = self.apps.lock().unwrap_or_else(|e| e.into_inner());
        apps.get(client_id).cloned()
    }

    /// The app client `client_id`, looked up in moto once.
    pub async fn app(&self, client_id: &str) -> Result<App, Error> {
        if let Some(app) = self.known(client_id) {
            return Ok(app);
        }
        let _one_at_a_time = self.lookups.lock().await;
        if let Some(app) = self.known(client_id) {
            return Ok(app);
        }
        let app = self.look_up(client_id).await?;
        self.apps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(client_id.to_owned(), app.clone());
        Ok(app)
    }

    /// The call's app client, with its SECRET_HASH (`given`) checked over `username`.
    pub async fn client(
        &self,
        client_id: &str,
        username: &str,
        given: Option<&str>,
    ) -> Result<App, Error> {
        let app = self.app(client_id).await?;
        app.check_hash(client_id, username, given)?;
        Ok(app)
    }

    /// Forgets the app client `client_id`, changed through the layer: its next call reads it
    /// from moto again.
    pub fn forget(&self, client_id: &str) {
        self.apps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(client_id);
    }

    async fn look_up(&self, client_id: &str) -> Result<App, Error> {
        let pools = self
            .admin
            .list_user_pools()
            .max_results(60)
            .send()
            .await
            .map_err(Error::admin)?;
        for pool in pools.user_pools() {
            let Some(pool_id) = pool.id() else { continue };
            let described = self
                .admin
                .describe_user_pool_client()
                .user_pool_id(pool_id)
                .client_id(client_id)
                .send()
                .await;
            let Some(client) = described.ok().and_then(|d| d.user_pool_client) else {
                continue;
            };
            let pool = self.pool(pool_id).await?;
            let minutes = client.auth_session_validity().unwrap_or(3).clamp(3, 15);
            let flows = client.explicit_auth_flows();
            let flow = |name: &str| flows.iter().any(|f| f.as_str() == name);
            return Ok(App {
                pool_id: pool_id.to_owned(),
                secret: client.client_secret().map(str::to_owned),
                prevent_user_existence_errors: client
                    .prevent_user_existence_errors()
                    .is_some_and(|p| p.as_str() == "ENABLED"),
                writable: Some(client.write_attributes().to_vec()).filter(|w| !w.is_empty()),
                session_validity: Duration::from_secs(60 * u64::from(minutes.unsigned_abs())),
                user_auth: flow("ALLOW_USER_AUTH"),
                refresh_token_auth: flow("ALLOW_REFRESH_TOKEN_AUTH")
                    || !flows.iter().any(|f| f.as_str().starts_with("ALLOW_")),
                rotation: client.refresh_token_rotation().and_then(rotation),
                ..pool
            });
        }
        Err(Error::new(
            ErrorType::ResourceNotFound,
            format!("User pool client {client_id} does not exist."),
        ))
    }

    /// The pool `pool_id` as an administrator's call (IAM, no app client) meets it: its
    /// settings, read from moto at each call, with no secret and every attribute writable. An
    /// app client's [`App`] is this with the client's own settings over it.
    pub async fn pool(&self, pool_id: &str) -> Result<App, Error> {
        let described = self
            .admin
            .describe_user_pool()
            .user_pool_id(pool_id)
            .send()
            .await
            .map_err(Error::admin)?;
        let pool = described.user_pool();
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
        let first_factors = pool
            .and_then(|p| p.policies())
            .and_then(|p| p.sign_in_policy())
            .map(|s| {
                (s.allowed_first_auth_factors().iter())
                    .map(|f| f.as_str().to_owned())
                    .collect()
            })
            .unwrap_or_else(|| vec!["PASSWORD".to_owned()]);
        let tier = pool
            .and_then(|p| p.user_pool_tier())
            .map_or("ESSENTIALS", |t| t.as_str())
            .to_owned();
        Ok(App {
            pool_id: pool_id.to_owned(),
            secret: None,
            prevent_user_existence_errors: false,
            required,
            verify_before_update,
            writable: None,
            session_validity: Duration::from_secs(180),
            mfa_on: pool
                .and_then(|p| p.mfa_configuration())
                .is_some_and(|m| m.as_str() == "ON"),
            tier,
            first_factors,
            user_auth: false,
            refresh_token_auth: true,
            rotation: None,
        })
    }

    /// `username` (any alias the pool signs in with) in `app`'s pool; `None` if there is none.
    pub async fn user(&self, app: &App, username: &str) -> Result<Option<User>, Error> {
        self.user_in(&app.pool_id, username).await
    }

    /// `username` (any alias) in the pool `pool_id`; `None` if there is none.
    pub async fn user_in(&self, pool_id: &str, username: &str) -> Result<Option<User>, Error> {
        let out = self
            .admin
            .admin_get_user()
            .user_pool_id(pool_id)
            .username(username)
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                if e.as_service_error()
                    .is_some_and(|e| e.is_user_not_found_exception())
                {
                    return Ok(None);
                }
                return Err(Error::admin(e));
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
            sub: attribute("sub"),
            confirmed: out.user_status() != Some(&UserStatusType::Unconfirmed),
            email: attribute("email"),
            email_verified: attribute("email_verified").as_deref() == Some("true"),
            mfa: !out.user_mfa_setting_list().is_empty(),
        }))
    }

    /// Sets `attributes` of the internal user name `username`, through moto's admin operation.
    pub async fn set_attributes(
        &self,
        app: &App,
        username: &str,
        attributes: &[(&str, &str)],
    ) -> Result<(), Error> {
        let attributes = attributes
            .iter()
            .map(|(n, v)| AttributeType::builder().name(*n).value(*v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::internal(e.to_string()))?;
        self.admin
            .admin_update_user_attributes()
            .user_pool_id(&app.pool_id)
            .username(username)
            .set_user_attributes(Some(attributes))
            .send()
            .await
            .map_err(Error::admin)?;
        Ok(())
    }

    /// The new address `username` gave, until its code is confirmed.
    pub fn pending_email(&self, app: &App, username: &str) -> Option<String> {
        let pending = self.pending_email.lock().unwrap_or_else(|e| e.into_inner());
        pending.get(&pending_key(app, username)).cloned()
    }

    /// Holds `email` for `username` until its code is confirmed.
    pub fn hold_email(&self, app: &App, username: &str, email: &str) {
        self.pending_email
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pending_key(app, username), email.to_owned());
    }

    /// The address `username` gave, its code confirmed: no longer pending.
    pub fn take_pending_email(&self, app: &App, username: &str) -> Option<String> {
        self.pending_email
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&pending_key(app, username))
    }
}

/// A client's `RefreshTokenRotation` as [`App::rotation`] holds it: the grace when ENABLED. A
/// grace left out is 0 (AWS states no default; 0 is the value that turns the grace off), and
/// one outside Cognito's 0 to 60 seconds is brought within them.
fn rotation(setting: &RefreshTokenRotationType) -> Option<Duration> {
    if *setting.feature() != FeatureType::Enabled {
        return None;
    }
    let seconds = setting
        .retry_grace_period_seconds()
        .unwrap_or(0)
        .clamp(0, 60);
    Some(Duration::from_secs(u64::from(seconds.unsigned_abs())))
}

fn pending_key(app: &App, username: &str) -> (String, String) {
    (app.pool_id.clone(), username.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(secret: Option<&str>) -> App {
        App {
            pool_id: "p".into(),
            secret: secret.map(str::to_owned),
            prevent_user_existence_errors: true,
            required: Vec::new(),
            verify_before_update: Vec::new(),
            writable: None,
            session_validity: Duration::from_secs(180),
            mfa_on: false,
            tier: "ESSENTIALS".into(),
            first_factors: vec!["PASSWORD".into()],
            user_auth: false,
            refresh_token_auth: true,
            rotation: None,
        }
    }

    #[test]
    fn the_hash_is_required_and_checked_when_the_client_has_a_secret() {
        let app = app(Some("s3"));
        let good = auth::secret_hash("alice", "cid", "s3");
        assert!(app.check_hash("cid", "alice", Some(&good)).is_ok());
        assert!(app.check_hash("cid", "bob", Some(&good)).is_err());
        assert!(app.check_hash("cid", "alice", Some("")).is_err());
        let missing = app.check_hash("cid", "alice", None).unwrap_err();
        assert_eq!(missing.kind(), Some(&ErrorType::NotAuthorized));
    }

    #[test]
    fn the_client_secret_must_be_the_clients_own_and_none_without_one() {
        let with = app(Some("s3"));
        assert!(with.secret_matches(Some("s3")));
        assert!(!with.secret_matches(Some("s4")));
        assert!(!with.secret_matches(Some("")));
        assert!(!with.secret_matches(None));
        let without = app(None);
        assert!(without.secret_matches(None));
        assert!(!without.secret_matches(Some("s3")));
    }

    #[test]
    fn rotation_is_read_with_its_grace_within_cognitos_bounds() {
        let setting = |feature: FeatureType, grace: Option<i32>| {
            RefreshTokenRotationType::builder()
                .feature(feature)
                .set_retry_grace_period_seconds(grace)
                .build()
                .unwrap()
        };
        let secs = Duration::from_secs;
        assert_eq!(rotation(&setting(FeatureType::Disabled, Some(10))), None);
        let enabled = |grace| rotation(&setting(FeatureType::Enabled, grace));
        assert_eq!(enabled(Some(10)), Some(secs(10)));
        assert_eq!(enabled(None), Some(secs(0)));
        assert_eq!(enabled(Some(600)), Some(secs(60)));
        assert_eq!(enabled(Some(-1)), Some(secs(0)));
    }

    #[test]
    fn a_client_without_a_secret_takes_no_hash() {
        assert!(app(None).check_hash("cid", "alice", None).is_ok());
    }

    #[test]
    fn an_unknown_user_is_hidden_only_with_prevent_user_existence_errors() {
        let hidden = app(None).unknown_user(Error::code_mismatch());
        assert_eq!(hidden.kind(), Some(&ErrorType::CodeMismatch));
        let told = App {
            prevent_user_existence_errors: false,
            ..app(None)
        }
        .unknown_user(Error::code_mismatch());
        assert_eq!(told.kind(), Some(&ErrorType::UserNotFound));
    }
}
