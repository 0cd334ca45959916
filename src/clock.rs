//! The daemon's one clock: what "now" is, and when a moment of it comes.
//!
//! Everything that reads the time in the runtime — edges, checks, holds, throttles, the traffic
//! stream's minutes — reads it from one [`Clock`] passed down from [`crate::daemon::run_with`].
//! In production it is the system clock; in tests and `replay` a virtual clock that follows
//! tokio's (pausable) time from a fixed origin, so a simulated week passes in well under a second
//! and a DST change or a holiday is an ordinary instant; in the demo, a clock running faster.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// Wall-clock time for the schedule. In production the system clock; in tests a clock that
/// follows tokio's (pausable) time from a fixed origin, so a day passes in milliseconds; in the
/// demo, traffic minutes on a clock that runs `factor` times faster than real time.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    Virtual {
        origin: DateTime<Utc>,
        started: Instant,
        /// Virtual seconds per real (tokio) second.
        factor: u32,
    },
}

impl Clock {
    /// A virtual clock reading `origin` now, at the pace of tokio's time.
    pub fn virtual_at(origin: DateTime<Utc>) -> Clock {
        Clock::Virtual {
            origin,
            started: Instant::now(),
            factor: 1,
        }
    }

    /// A clock reading the system time now and then running `factor` times faster.
    pub fn faster(factor: u32) -> Clock {
        Clock::Virtual {
            origin: Utc::now(),
            started: Instant::now(),
            factor: factor.max(1),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Virtual {
                origin,
                started,
                factor,
            } => {
                *origin
                    + chrono::Duration::from_std(started.elapsed() * *factor)
                        .unwrap_or(chrono::Duration::MAX)
            }
        }
    }

    /// How long `d` of this clock's time takes in real time.
    pub fn to_real(&self, d: Duration) -> Duration {
        match self {
            Clock::Virtual { factor, .. } => d / (*factor).max(1),
            Clock::System => d,
        }
    }

    /// The tokio instant at which this clock reads `at` (now, if `at` is past).
    pub fn instant_of(&self, at: DateTime<Utc>) -> Instant {
        let wait = (at - self.now()).to_std().unwrap_or_default();
        Instant::now() + self.to_real(wait)
    }

    /// Sleeps until this clock reads `at` (returns at once if it is past).
    pub async fn sleep_until(&self, at: DateTime<Utc>) {
        tokio::time::sleep_until(self.instant_of(at)).await;
    }

    /// Whether this clock follows tokio's time from an origin of its own (tests, replay, demo)
    /// rather than the system's.
    pub fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_virtual_clock_follows_paused_time_from_its_origin() {
        let clock = Clock::virtual_at(at("2026-03-29T00:59:00Z"));
        assert_eq!(clock.now(), at("2026-03-29T00:59:00Z"));
        assert!(clock.is_virtual());
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(clock.now(), at("2026-03-29T01:00:30Z"));
        let before = Instant::now();
        clock.sleep_until(at("2026-03-29T02:00:30Z")).await;
        assert_eq!(Instant::now() - before, Duration::from_secs(3600));
        assert_eq!(clock.now(), at("2026-03-29T02:00:30Z"));
        // A moment already past does not wait.
        let before = Instant::now();
        clock.sleep_until(at("2026-03-29T00:00:00Z")).await;
        assert_eq!(Instant::now(), before);
    }

    #[tokio::test(start_paused = true)]
    async fn a_faster_clock_takes_a_fraction_of_the_real_time() {
        let clock = Clock::faster(30);
        let start = clock.now();
        assert_eq!(
            clock.to_real(Duration::from_secs(60)),
            Duration::from_secs(2)
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(clock.now() - start, chrono::Duration::seconds(60));
        assert_eq!(
            clock.instant_of(start + chrono::Duration::seconds(120)) - Instant::now(),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn the_system_clock_is_real() {
        assert!(!Clock::System.is_virtual());
        assert_eq!(
            Clock::System.to_real(Duration::from_secs(5)),
            Duration::from_secs(5)
        );
        let d = (Clock::System.now() - Utc::now()).num_seconds().abs();
        assert!(d < 5);
    }
}
