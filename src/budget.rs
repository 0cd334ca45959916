//! The API budget: how often each app's formation may be re-read so that this daemon spends at
//! most `AUTOSCALE_API_BUDGET` calls an hour (Heroku allows 4,500 per account, shared with the
//! CLI, deploys and every other tool).
//!
//! The arithmetic is pure ([`plan`]); [`Budget`] holds the plan and halves the reads (doubles the
//! interval) while Heroku's `RateLimit-Remaining` is low, as the client last saw it.
//!
//! Writes are not rationed: a PATCH is always preceded by a fresh read, and both are reserved
//! for out of the budget before reads are planned — schedule edges (known in advance) twice
//! over, plus a tenth of the budget for what health and humans make happen.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::event::{BudgetState, Event};
use crate::heroku::{Calls, RATE_LIMIT_WARNING};

/// Below RATE_LIMIT_WARNING remaining the reads are halved; they come back above this.
pub const RATE_LIMIT_RECOVERED: u64 = 1000;
/// Share of the budget kept for health scale-outs, manual changes and release look-ups.
pub const RESERVE_SHARE: f64 = 0.1;

/// One app as the budget sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AppLoad {
    /// How often the app would be read with an unlimited budget: its shortest check interval
    /// (a read per check, as a single target always did).
    pub round: Duration,
    /// Schedule edges per hour over its targets (each costs a read and a PATCH).
    pub edges_per_hour: f64,
}

/// The planned spending.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// Every app's round is multiplied by this (1 when the budget is enough).
    pub stretch: f64,
    /// Reads an hour at that stretch.
    pub reads_per_hour: f64,
    /// Reads plus what is reserved for writes: what the daemon expects to spend.
    pub calls_per_hour: f64,
}

/// How far every app's reads must be stretched to fit `budget` calls an hour.
pub fn plan(budget: u32, apps: &[AppLoad]) -> Plan {
    let budget = f64::from(budget);
    let writes: f64 = apps.iter().map(|a| 2.0 * a.edges_per_hour).sum();
    let reserve = writes + RESERVE_SHARE * budget;
    let wanted: f64 = apps
        .iter()
        .map(|a| 3600.0 / a.round.as_secs_f64().max(1.0))
        .sum();
    // At least a tenth of the budget goes to reads, whatever the schedules ask for.
    let available = (budget - reserve).max(budget * 0.1);
    let stretch = if wanted > available {
        wanted / available
    } else {
        1.0
    };
    let reads_per_hour = wanted / stretch;
    Plan {
        stretch,
        reads_per_hour,
        calls_per_hour: reads_per_hour + writes,
    }
}

/// The plan in force, shared by every app's reconciler.
#[derive(Debug)]
pub struct Budget {
    pub per_hour: u32,
    pub plan: Plan,
    calls: Arc<Calls>,
    /// Reads are halved while Heroku says few calls remain.
    low: AtomicBool,
}

impl Budget {
    pub fn new(per_hour: u32, apps: &[AppLoad], calls: Arc<Calls>) -> Budget {
        Budget {
            per_hour,
            plan: plan(per_hour, apps),
            calls,
            low: AtomicBool::new(false),
        }
    }

    /// How long an app whose unlimited round is `round` waits between formation reads.
    pub fn read_interval(&self, round: Duration) -> Duration {
        let halved = self.check_rate_limit();
        let factor = self.plan.stretch * if halved { 2.0 } else { 1.0 };
        round.mul_f64(factor)
    }

    /// Updates the halving from the last `RateLimit-Remaining`, with hysteresis; logs a change.
    fn check_rate_limit(&self) -> bool {
        let was = self.low.load(Ordering::Relaxed);
        let Some(remaining) = self.calls.remaining() else {
            return was;
        };
        let now = if was {
            remaining < RATE_LIMIT_RECOVERED
        } else {
            remaining < RATE_LIMIT_WARNING
        };
        if now != was && self.low.swap(now, Ordering::Relaxed) == was {
            let reads = self.plan.reads_per_hour / if now { 2.0 } else { 1.0 };
            Event::BudgetRate {
                state: if now {
                    BudgetState::Halved
                } else {
                    BudgetState::Normal
                },
                remaining,
                reads_per_hour: reads.round() as u64,
                budget: u64::from(self.per_hour),
            }
            .emit(tracing::Level::WARN);
        }
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apps(n: usize, round_secs: u64, edges_per_hour: f64) -> Vec<AppLoad> {
        vec![
            AppLoad {
                round: Duration::from_secs(round_secs),
                edges_per_hour,
            };
            n
        ]
    }

    #[test]
    fn few_apps_read_every_round() {
        // One app checked every 3 minutes: 20 reads an hour, far below 2000.
        let p = plan(2000, &apps(1, 180, 0.125));
        assert_eq!(p.stretch, 1.0);
        assert!((p.reads_per_hour - 20.0).abs() < 1e-9);
        assert!((p.calls_per_hour - 20.25).abs() < 1e-9);
    }

    #[test]
    fn many_apps_are_stretched_to_fit_the_budget() {
        // 500 apps at 3 minutes want 10,000 reads an hour; the default schedule has 3 edges a
        // day per target, two targets an app: 500 × 2 × 3/24 × 2 = 250 write calls an hour.
        let p = plan(2000, &apps(500, 180, 0.25));
        let reserve = 250.0 + 200.0;
        assert!(
            (p.reads_per_hour - (2000.0 - reserve)).abs() < 1e-6,
            "{p:?}"
        );
        assert!((p.stretch - 10_000.0 / 1550.0).abs() < 1e-9, "{p:?}");
        assert!(p.calls_per_hour <= 2000.0 - 200.0 + 1e-9, "{p:?}");
        // Per target-hour: (1550 + 250) / 1000 targets = 1.8 calls.
        assert!(p.calls_per_hour / 1000.0 <= 2.0);
    }

    #[test]
    fn the_issue_s_low_budget_case_fits() {
        // AUTOSCALE_API_BUDGET=60, 20 apps checked every second.
        let p = plan(60, &apps(20, 1, 0.0));
        assert!(p.reads_per_hour <= 54.0 + 1e-9, "{p:?}");
        assert!((p.stretch - 72_000.0 / 54.0).abs() < 1e-6);
    }

    #[test]
    fn writes_never_take_all_of_the_budget() {
        // Schedules that change every minute on 100 apps would reserve more than the budget:
        // reads keep a tenth.
        let p = plan(1000, &apps(100, 60, 60.0));
        assert!((p.reads_per_hour - 100.0).abs() < 1e-6, "{p:?}");
    }

    #[test]
    fn a_low_rate_limit_halves_reads_until_it_recovers() {
        let calls = Arc::new(Calls::default());
        let budget = Budget::new(2000, &apps(1, 180, 0.0), calls.clone());
        let round = Duration::from_secs(180);
        assert_eq!(budget.read_interval(round), round, "no answer seen yet");
        calls.set_remaining(4000);
        assert_eq!(budget.read_interval(round), round);
        calls.set_remaining(499);
        assert_eq!(budget.read_interval(round), round * 2);
        calls.set_remaining(800);
        assert_eq!(
            budget.read_interval(round),
            round * 2,
            "hysteresis: not yet recovered"
        );
        calls.set_remaining(1000);
        assert_eq!(budget.read_interval(round), round);
        calls.set_remaining(500);
        assert_eq!(budget.read_interval(round), round, "500 is not below 500");
    }

    #[test]
    fn a_change_of_halving_is_logged_once_with_the_reads_it_leaves() {
        let calls = Arc::new(Calls::default());
        // 20 reads an hour as planned.
        let budget = Budget::new(2000, &apps(1, 180, 0.0), calls.clone());
        let round = Duration::from_secs(180);
        let lines = |remaining: u64| {
            calls.set_remaining(remaining);
            crate::logfmt::captured(|| {
                budget.read_interval(round);
                budget.read_interval(round);
            })
        };
        let halved = lines(499);
        assert_eq!(halved.lines().count(), 1, "{halved}");
        let line = crate::logfmt::Line::parse(halved.trim()).unwrap();
        assert_eq!(line.event(), Some("budget"));
        assert_eq!(line.get("state"), Some("halved"));
        assert_eq!(line.get("remaining"), Some("499"));
        assert_eq!(line.get("reads_per_hour"), Some("10"));
        assert_eq!(lines(800), "", "no change, no line");
        let back = lines(1000);
        assert_eq!(back.lines().count(), 1, "{back}");
        let line = crate::logfmt::Line::parse(back.trim()).unwrap();
        assert_eq!(line.get("state"), Some("normal"));
        assert_eq!(line.get("reads_per_hour"), Some("20"));
    }
}
