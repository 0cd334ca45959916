//! When the store is lost and when it is back: the one decision behind `event=history
//! state=lost` (once per outage) and `state=ok` (once when it ends), and the reconnect backoff.
//!
//! Pure: the writer reports what happened; this says what to log and how long to wait.

use std::time::Duration;

/// A line the writer logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// The outage starts: why, and the rows dropped by the failure that started it.
    Lost { reason: String, dropped: u64 },
    /// It ended: the rows dropped during it.
    Ok { dropped: u64 },
}

/// The writer's view of the store, between outages and during one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outage {
    lost: bool,
    /// Rows dropped since the outage started.
    dropped: u64,
    /// Failed reconnect attempts in a row (sets the backoff).
    attempts: u32,
}

impl Outage {
    pub fn is_lost(&self) -> bool {
        self.lost
    }

    /// A write or connection failed, or rows had to be dropped (`dropped` of them). Only the
    /// first failure of an outage is logged.
    pub fn failed(&mut self, reason: &str, dropped: u64) -> Option<Transition> {
        self.dropped += dropped;
        if self.lost {
            return None;
        }
        self.lost = true;
        Some(Transition::Lost {
            reason: reason.to_owned(),
            dropped: self.dropped,
        })
    }

    /// Rows dropped while the store is known lost (not a new failure).
    pub fn dropped(&mut self, rows: u64) {
        self.dropped += rows;
    }

    /// A reconnect attempt failed: the next one waits longer.
    pub fn retry_failed(&mut self) {
        self.attempts = self.attempts.saturating_add(1);
    }

    /// Reconnect attempts that have failed in a row.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// A write or a reconnect succeeded: ends an outage (logged with what it dropped).
    pub fn succeeded(&mut self) -> Option<Transition> {
        self.attempts = 0;
        if !self.lost {
            return None;
        }
        self.lost = false;
        Some(Transition::Ok {
            dropped: std::mem::take(&mut self.dropped),
        })
    }
}

/// How long to wait before reconnect attempt `attempt` (0-based): `min` doubled per attempt,
/// capped at `max`, then "equal jitter": half of it fixed, half scaled by `unit` (a random number
/// in `[0, 1]`), so that shards that lost the database together do not return in step.
pub fn backoff(attempt: u32, min: Duration, max: Duration, unit: f64) -> Duration {
    let base = min
        .checked_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX))
        .unwrap_or(max)
        .min(max);
    let unit = if unit.is_finite() {
        unit.clamp(0.0, 1.0)
    } else {
        0.0
    };
    base / 2 + (base / 2).mul_f64(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_is_told_once_per_outage_and_ok_once_with_what_was_dropped() {
        let mut outage = Outage::default();
        assert!(!outage.is_lost());
        assert_eq!(outage.succeeded(), None, "no outage, nothing to say");
        assert_eq!(
            outage.failed("connect: refused", 12),
            Some(Transition::Lost {
                reason: "connect: refused".into(),
                dropped: 12
            })
        );
        assert!(outage.is_lost());
        assert_eq!(outage.failed("timeout", 3), None, "still the same outage");
        outage.dropped(5);
        outage.retry_failed();
        outage.retry_failed();
        assert_eq!(outage.attempts(), 2);
        assert_eq!(outage.succeeded(), Some(Transition::Ok { dropped: 20 }));
        assert_eq!(outage.attempts(), 0);
        assert!(!outage.is_lost());
        assert_eq!(outage.succeeded(), None);
        // The next outage counts from zero.
        assert_eq!(
            outage.failed("queue_full", 1),
            Some(Transition::Lost {
                reason: "queue_full".into(),
                dropped: 1
            })
        );
        assert_eq!(outage.succeeded(), Some(Transition::Ok { dropped: 1 }));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_equal_jitter() {
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(60));
        let fixed: Vec<u64> = (0..9)
            .map(|a| backoff(a, min, max, 1.0).as_millis() as u64)
            .collect();
        assert_eq!(
            fixed,
            [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]
        );
        assert_eq!(backoff(3, min, max, 0.0), Duration::from_secs(4));
        assert_eq!(backoff(3, min, max, 0.5), Duration::from_secs(6));
        assert_eq!(backoff(40, min, max, 1.0), max);
        assert_eq!(backoff(u32::MAX, min, max, 0.0), max / 2);
        // A bad random number cannot stretch or break the wait.
        assert_eq!(backoff(0, min, max, f64::NAN), Duration::from_millis(500));
        assert_eq!(backoff(0, min, max, 7.0), min);
        assert_eq!(backoff(0, min, max, -1.0), Duration::from_millis(500));
    }
}
