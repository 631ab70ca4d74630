//! The layer's one clock: codes, challenge sessions and TOTP codes all read it, and the tests
//! move it ([`crate::Layer::advance_clock`]) to let codes and sessions expire.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// The machine's time, moved forward by as much as the tests asked.
#[derive(Debug, Default)]
pub struct Clock {
    ahead_ms: AtomicU64,
}

impl Clock {
    /// The layer's time: when a code was sent and expires, when a session was issued, which
    /// TOTP step a user's code must be of.
    pub fn now(&self) -> SystemTime {
        SystemTime::now() + Duration::from_millis(self.ahead_ms.load(Ordering::Relaxed))
    }

    /// Moves [`Clock::now`] forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.ahead_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// moto's time, which [`Clock::advance`] cannot move: moto checks the codes of its own
    /// TOTP secret against the machine's clock.
    pub fn moto_now(&self) -> SystemTime {
        SystemTime::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_the_layers_time_and_not_motos() {
        let clock = Clock::default();
        clock.advance(Duration::from_secs(3600));
        let ahead = clock.now().duration_since(clock.moto_now()).unwrap();
        assert!(ahead >= Duration::from_secs(3599), "{ahead:?}");
    }
}
