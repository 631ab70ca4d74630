//! Configuration, read once at start-up from the environment Lambda (or the local API) gives a
//! function. One rule for every variable: surrounding white space is trimmed, and a blank value
//! is the same as an unset one.

use std::collections::HashMap;

use crate::Cors;
use crate::cors::InvalidOrigin;
use crate::sdk::SdkSettings;

/// A function's environment: the process's own in Lambda, or one the local API and the tests
/// give it, with the same variable names `template.yaml` sets.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

/// Why a function cannot start. Each names the variable to fix.
#[derive(thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
    /// What the variable names (a stored secret) could not be read.
    #[error("{name} could not be read: {reason}")]
    Unreadable { name: &'static str, reason: String },
}

// `main` returns it, and Rust prints a returned error with `Debug`: the sentence that names the
// variable, not the variant.
impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl From<InvalidOrigin> for ConfigError {
    fn from(e: InvalidOrigin) -> Self {
        ConfigError::Invalid {
            name: "ALLOWED_ORIGIN",
            reason: e.to_string(),
        }
    }
}

impl Env {
    /// The process's environment. Variables whose name or value is not UTF-8 are left out.
    pub fn process() -> Self {
        Self::from_pairs(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// This environment with `name` set to `value`.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.insert(name.to_owned(), value.into());
        self
    }

    /// A variable's trimmed value; unset and blank are both `None`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The first of several names that is set: the current name first, then older ones.
    pub fn first(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.get(n))
    }

    /// The first of `names` that is set; if none is, an error naming the first.
    pub fn require(&self, names: &[&'static str]) -> Result<&str, ConfigError> {
        self.first(names)
            .ok_or(ConfigError::Missing(names.first().copied().unwrap_or("?")))
    }

    /// A switch: `false`, `0`, `no` or `off` (any case) turn it off; anything else, or unset,
    /// leaves it on.
    pub fn enabled(&self, name: &str) -> bool {
        !self.get(name).is_some_and(|v| {
            ["false", "0", "no", "off"]
                .iter()
                .any(|off| v.eq_ignore_ascii_case(off))
        })
    }
}

/// What every function's platform needs: the CORS origin and the AWS SDK's settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub cors: Cors,
    pub sdk: SdkSettings,
}

impl ApiConfig {
    /// Reads `ALLOWED_ORIGIN` (default `*`) and the SDK's settings.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            cors: Cors::new(env.get("ALLOWED_ORIGIN").unwrap_or("*"))?,
            sdk: SdkSettings::from_env(env),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_unset_and_values_are_trimmed() {
        let env = Env::from_pairs([("A", " x "), ("B", "  "), ("C", "")]);
        assert_eq!(env.get("A"), Some("x"));
        assert_eq!(env.get("B"), None);
        assert_eq!(env.get("C"), None);
        assert_eq!(env.get("D"), None);
    }

    #[test]
    fn the_first_name_set_wins_and_a_missing_one_is_named() {
        let env = Env::from_pairs([("OLD", "1"), ("NEW", " ")]);
        assert_eq!(env.require(&["NEW", "OLD"]).unwrap(), "1");
        let err = env.require(&["ABSENT", "ALSO_ABSENT"]).unwrap_err();
        assert_eq!(err.to_string(), "ABSENT is not set");
    }

    #[test]
    fn switches_are_on_unless_turned_off() {
        let env = Env::from_pairs([("A", "false"), ("B", "0"), ("C", "true"), ("D", "OFF")]);
        assert!(!env.enabled("A"));
        assert!(!env.enabled("B"));
        assert!(env.enabled("C"));
        assert!(!env.enabled("D"));
        assert!(env.enabled("UNSET"));
    }

    #[test]
    fn an_origin_that_is_no_header_value_stops_the_start_naming_the_variable() {
        let env = Env::from_pairs([("ALLOWED_ORIGIN", "https://a.example\u{7f}")]);
        let err = ApiConfig::from_env(&env).unwrap_err();
        assert!(err.to_string().starts_with("ALLOWED_ORIGIN"), "{err}");
    }
}
