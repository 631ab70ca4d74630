//! The Cognito user pool authorizer, as API Gateway runs it: the `Authorization` header holds a
//! token (raw, or `Bearer <token>`), whose RS256 signature is checked against the pool's JWKS,
//! and whose issuer, use, scopes and lifetime are checked. On success its claims are handed to
//! the function as strings. Like API Gateway's, it does not check which app client of the pool
//! a token was issued to (an id token's `aud`, an access token's `client_id`): the functions'
//! boundary does (`platform::Api::protected`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use tokio::sync::RwLock;

/// Where the keys are and whom the tokens must come from and be for.
#[derive(Debug, Clone)]
pub struct AuthorizerConfig {
    /// The pool's JWKS. Against a real pool,
    /// `https://cognito-idp.<region>.amazonaws.com/<pool id>/.well-known/jwks.json`.
    pub jwks_url: String,
    /// The expected `iss`: `https://cognito-idp.<region>.amazonaws.com/<pool id>`. moto issues
    /// tokens with this real AWS URL while serving the JWKS locally, hence two settings.
    pub issuer: String,
}

impl AuthorizerConfig {
    /// The settings for a pool in `region`; `jwks_base` replaces the AWS endpoint (moto).
    pub fn for_pool(region: &str, pool_id: &str, jwks_base: Option<&str>) -> Self {
        let issuer = format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}");
        let jwks_url = match jwks_base {
            Some(base) => format!(
                "{}/{pool_id}/.well-known/jwks.json",
                base.trim_end_matches('/')
            ),
            None => format!("{issuer}/.well-known/jwks.json"),
        };
        Self { jwks_url, issuer }
    }
}

/// Which token a route wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Required {
    /// An id token (`token_use` = `id`, `aud` = the client): routes without scopes.
    IdToken,
    /// An access token of the client carrying one of these scopes: routes with
    /// `AuthorizationScopes`.
    AccessToken { scopes: Vec<String> },
}

/// Why a token was refused. The caller only ever sees 401 `Unauthorized`; this is for the log.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Rejected {
    #[error("no Authorization header")]
    Missing,
    #[error("malformed token")]
    Malformed,
    #[error("algorithm {0:?} is not RS256")]
    Algorithm(String),
    #[error("unknown key id")]
    UnknownKey,
    #[error("the JWKS could not be fetched")]
    Jwks,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("token_use is not {0}")]
    WrongUse(&'static str),
    #[error("the token lacks the required scope")]
    Scope,
    #[error("a claim appears twice")]
    DuplicateClaim,
    #[error("the claims are not shaped as Cognito issues them: {0}")]
    Shape(&'static str),
}

/// How often an unknown `kid` may trigger a JWKS refetch.
const REFETCH_INTERVAL: Duration = Duration::from_secs(10);

pub struct Authorizer {
    config: AuthorizerConfig,
    keys: RwLock<Keys>,
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<axum::body::Bytes>>,
}

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
}

impl Authorizer {
    /// Fails only when the system has no CA certificates to check the JWKS host with.
    pub fn new(config: AuthorizerConfig) -> std::io::Result<Self> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            config,
            keys: RwLock::new(Keys::default()),
            http: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    /// Checks the `Authorization` header value and returns the claims as API Gateway passes
    /// them to the function: every value a string.
    pub async fn authorize(
        &self,
        header: Option<&str>,
        required: &Required,
    ) -> Result<Map<String, Value>, Rejected> {
        let token =
            platform::request::bearer(header.ok_or(Rejected::Missing)?).ok_or(Rejected::Missing)?;
        let head = jsonwebtoken::decode_header(token).map_err(|_| Rejected::Malformed)?;
        // Only RS256: `none`, HS256 signed with the public key and friends go no further.
        if head.alg != Algorithm::RS256 {
            return Err(Rejected::Algorithm(format!("{:?}", head.alg)));
        }
        let kid = head.kid.ok_or(Rejected::UnknownKey)?;
        // Two values for one claim: which one a reader takes is up to its JSON parser.
        let payload = token.split('.').nth(1).ok_or(Rejected::Malformed)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| Rejected::Malformed)?;
        if has_duplicate_keys(&payload)? {
            return Err(Rejected::DuplicateClaim);
        }
        let key = self.key(&kid).await?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "token_use"]);
        // API Gateway takes a token of any app client of the pool.
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| Rejected::Invalid(e.kind_name()))?
            .claims;
        cognito_shape(&claims, required)?;

        let token_use = claims.get("token_use").and_then(Value::as_str);
        match required {
            Required::IdToken if token_use != Some("id") => return Err(Rejected::WrongUse("id")),
            Required::AccessToken { scopes } => {
                if token_use != Some("access") {
                    return Err(Rejected::WrongUse("access"));
                }
                let granted: Vec<&str> = claims
                    .get("scope")
                    .and_then(Value::as_str)
                    .map(|s| s.split(' ').collect())
                    .unwrap_or_default();
                if !scopes.iter().any(|s| granted.contains(&s.as_str())) {
                    return Err(Rejected::Scope);
                }
            }
            _ => {}
        }
        Ok(stringify_claims(claims))
    }

    /// The key for `kid`, fetching the JWKS when it is unknown (at most every few seconds).
    async fn key(&self, kid: &str) -> Result<DecodingKey, Rejected> {
        {
            let keys = self.keys.read().await;
            if let Some(key) = keys.by_kid.get(kid) {
                return Ok(key.clone());
            }
            if keys
                .fetched_at
                .is_some_and(|t| t.elapsed() < REFETCH_INTERVAL)
            {
                return Err(Rejected::UnknownKey);
            }
        }
        let mut keys = self.keys.write().await;
        if !keys.by_kid.contains_key(kid)
            && keys
                .fetched_at
                .is_none_or(|t| t.elapsed() >= REFETCH_INTERVAL)
        {
            let fetched = self.fetch_jwks().await;
            keys.fetched_at = Some(Instant::now());
            keys.by_kid = fetched?;
        }
        keys.by_kid.get(kid).cloned().ok_or(Rejected::UnknownKey)
    }

    async fn fetch_jwks(&self) -> Result<HashMap<String, DecodingKey>, Rejected> {
        let uri = self.config.jwks_url.parse().map_err(|_| Rejected::Jwks)?;
        let res = tokio::time::timeout(Duration::from_secs(5), self.http.get(uri))
            .await
            .map_err(|_| Rejected::Jwks)?
            .map_err(|e| {
                tracing::error!(error = %e, url = %self.config.jwks_url, "JWKS fetch failed");
                Rejected::Jwks
            })?;
        if !res.status().is_success() {
            tracing::error!(status = %res.status(), url = %self.config.jwks_url, "JWKS fetch failed");
            return Err(Rejected::Jwks);
        }
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|_| Rejected::Jwks)?
            .to_bytes();
        let set: JwkSet = serde_json::from_slice(&body).map_err(|_| Rejected::Jwks)?;
        Ok(set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
            })
            .collect())
    }
}

/// How far in the future `iat` may be: clocks differ a little, never by minutes.
const IAT_LEEWAY_SECS: u64 = 60;

/// The claims as Cognito always issues them: `iss` and `sub` strings, `iat` a time not in the
/// future, `exp` a number; an id token's `aud` one string (the client), an access token's
/// `client_id` one string.
fn cognito_shape(claims: &Map<String, Value>, required: &Required) -> Result<(), Rejected> {
    let string = |name| claims.get(name).is_some_and(Value::is_string);
    if !string("iss") {
        return Err(Rejected::Shape("iss is not one string"));
    }
    if !string("sub") {
        return Err(Rejected::Shape("sub is not one string"));
    }
    if !claims.get("exp").is_some_and(Value::is_u64) {
        return Err(Rejected::Shape("exp is not a time"));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    match claims.get("iat").and_then(Value::as_u64) {
        Some(iat) if iat <= now + IAT_LEEWAY_SECS => {}
        Some(_) => return Err(Rejected::Shape("iat is in the future")),
        None => return Err(Rejected::Shape("iat is missing or not a time")),
    }
    let client = match required {
        Required::IdToken => "aud",
        Required::AccessToken { .. } => "client_id",
    };
    if !string(client) {
        return Err(Rejected::Shape(
            "the client claim is missing or not one string",
        ));
    }
    Ok(())
}

/// Whether a JSON object has a key twice (at its top level, where the claims are).
fn has_duplicate_keys(json: &[u8]) -> Result<bool, Rejected> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut seen = std::collections::HashSet::new();
            let mut duplicate = false;
            while let Some(key) = map.next_key::<String>()? {
                duplicate |= !seen.insert(key);
                map.next_value::<IgnoredAny>()?;
            }
            Ok(duplicate)
        }
    }
    serde_json::Deserializer::from_slice(json)
        .deserialize_map(Keys)
        .map_err(|_| Rejected::Malformed)
}

/// API Gateway REST passes every claim as a string; lists (`cognito:groups`) comma-separated.
fn stringify_claims(claims: Map<String, Value>) -> Map<String, Value> {
    claims
        .into_iter()
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s,
                Value::Array(items) => items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| i.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            (k, Value::String(s))
        })
        .collect()
}

trait KindName {
    fn kind_name(&self) -> String;
}

impl KindName for jsonwebtoken::errors::Error {
    fn kind_name(&self) -> String {
        format!("{:?}", self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_claims_are_found_at_the_top_level() {
        assert!(has_duplicate_keys(br#"{"sub":"a","sub":"b"}"#).unwrap());
        assert!(!has_duplicate_keys(br#"{"sub":"a","x":{"sub":"b"}}"#).unwrap());
        assert!(has_duplicate_keys(b"[1]").is_err());
    }

    #[test]
    fn claims_must_be_shaped_as_cognito_issues_them() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let good =
            serde_json::json!({"iss": "i", "sub": "s", "exp": now + 60, "iat": now, "aud": "c"});
        let check = |v: Value| cognito_shape(v.as_object().unwrap(), &Required::IdToken);
        assert!(check(good.clone()).is_ok());
        let with = |k: &str, v: Value| {
            let mut c = good.clone();
            c[k] = v;
            c
        };
        assert!(check(with("iss", serde_json::json!(["i", "j"]))).is_err());
        assert!(check(with("iat", serde_json::json!(now + 3600))).is_err());
        assert!(check(with("aud", serde_json::json!(["c"]))).is_err());
        let mut no_aud = good.clone();
        no_aud.as_object_mut().unwrap().remove("aud");
        assert!(check(no_aud).is_err());
    }

    #[test]
    fn claims_become_strings_and_groups_a_comma_separated_list() {
        let claims = serde_json::json!({
            "sub": "s", "exp": 1700000000, "email_verified": true,
            "cognito:groups": ["admin", "editors"]
        });
        let out = stringify_claims(claims.as_object().unwrap().clone());
        assert_eq!(out["exp"], "1700000000");
        assert_eq!(out["email_verified"], "true");
        assert_eq!(out["cognito:groups"], "admin,editors");
        assert_eq!(out["sub"], "s");
    }

    #[test]
    fn a_real_pool_derives_issuer_and_jwks_from_region_and_pool_id() {
        let c = AuthorizerConfig::for_pool("eu-west-1", "eu-west-1_abc", None);
        assert_eq!(
            c.issuer,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
        );
        assert_eq!(
            c.jwks_url,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json"
        );
        let m =
            AuthorizerConfig::for_pool("us-east-1", "us-east-1_x", Some("http://127.0.0.1:5000/"));
        assert_eq!(
            m.jwks_url,
            "http://127.0.0.1:5000/us-east-1_x/.well-known/jwks.json"
        );
        assert_eq!(
            m.issuer,
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x"
        );
    }
}
