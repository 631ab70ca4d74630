//! The sweeper function, composed once: by `main` and the tests alike.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use platform::{ConfigError, Env};

use crate::{PACE, State};

/// The most deletions a run makes unless `SWEEP_MAX_DELETIONS` says otherwise: 200 seconds at
/// [`PACE`].
pub const DEFAULT_MAX_DELETIONS: usize = 1000;

/// The longest `UNCONFIRMED_MAX_AGE_HOURS`: a year.
const MAX_AGE_HOURS: u64 = 24 * 366;

/// The pool, the age limit and the run's limit from `env`; the Cognito client over `sdk`.
pub async fn app(env: &Env, sdk: &SdkConfig) -> Result<State, ConfigError> {
    let pool_id = env.require(&["COGNITO_USER_POOL_ID"])?.to_owned();
    let max_age = max_age(env)?;
    let max_deletions = max_deletions(env)?;
    let settings = platform::sdk::SdkSettings::from_env(env);
    let cognito =
        auth::Cognito::connect(sdk, &settings, auth::config::CognitoConfig::from_env(env)?).await?;
    Ok(State {
        cognito,
        pool_id,
        max_age,
        max_deletions,
        pace: PACE,
        now: SystemTime::now,
    })
}

/// `UNCONFIRMED_MAX_AGE_HOURS`: required, whole hours from 1 to a year.
fn max_age(env: &Env) -> Result<Duration, ConfigError> {
    const NAME: &str = "UNCONFIRMED_MAX_AGE_HOURS";
    let value = env.require(&[NAME])?;
    value
        .parse::<u64>()
        .ok()
        .filter(|hours| (1..=MAX_AGE_HOURS).contains(hours))
        .map(|hours| Duration::from_secs(hours * 3600))
        .ok_or_else(|| ConfigError::Invalid {
            name: NAME,
            reason: format!("{value:?} is not a whole number of hours from 1 to {MAX_AGE_HOURS}"),
        })
}

/// `SWEEP_MAX_DELETIONS`: a whole number from 1, or [`DEFAULT_MAX_DELETIONS`].
fn max_deletions(env: &Env) -> Result<usize, ConfigError> {
    const NAME: &str = "SWEEP_MAX_DELETIONS";
    let Some(value) = env.get(NAME) else {
        return Ok(DEFAULT_MAX_DELETIONS);
    };
    value
        .parse::<usize>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| ConfigError::Invalid {
            name: NAME,
            reason: format!("{value:?} is not a whole number from 1"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_age_limit_is_required_in_whole_hours_from_one_to_a_year() {
        let env = |v: &str| Env::from_pairs([("UNCONFIRMED_MAX_AGE_HOURS", v)]);
        assert_eq!(max_age(&env("48")).unwrap(), Duration::from_secs(48 * 3600));
        assert_eq!(max_age(&env(" 1 ")).unwrap(), Duration::from_secs(3600));
        let err = max_age(&Env::default()).unwrap_err();
        assert_eq!(err.to_string(), "UNCONFIRMED_MAX_AGE_HOURS is not set");
        for bad in ["0", "-1", "1.5", "24h", "8785"] {
            let err = max_age(&env(bad)).unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        name: "UNCONFIRMED_MAX_AGE_HOURS",
                        ..
                    }
                ),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn the_run_limit_defaults_to_a_thousand_and_is_at_least_one() {
        assert_eq!(max_deletions(&Env::default()).unwrap(), 1000);
        let env = |v: &str| Env::from_pairs([("SWEEP_MAX_DELETIONS", v)]);
        assert_eq!(max_deletions(&env("")).unwrap(), 1000);
        assert_eq!(max_deletions(&env("25")).unwrap(), 25);
        for bad in ["0", "-3", "many"] {
            assert!(max_deletions(&env(bad)).is_err(), "{bad}");
        }
    }
}
