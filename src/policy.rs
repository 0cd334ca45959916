//! Decide: where every scaling decision is made. A pure function of the trigger, the current
//! quantity, the schedule's floor at now, the thresholds and the check streaks — no I/O, no clock.

use std::fmt;

use crate::probe::Outcome;

/// The limits one target is scaled within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// What an unhealthy app is scaled out to.
    pub max: u32,
    /// Consecutive down|slow checks before scaling out.
    pub scale_out_after: u32,
    /// Consecutive fast checks (since the last scale) before scaling in; None = never.
    pub scale_in_after: Option<u32>,
}

/// What the checks have said lately. Owned by the scaler; updated before each decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Streaks {
    /// Consecutive down|slow checks, up to the latest.
    pub unhealthy: u32,
    /// Consecutive fast checks since the last scale.
    pub fast_since_scale: u32,
    /// The latest outcome, if any check ran yet.
    pub last: Option<Outcome>,
    /// A scale-in edge was held because the app was unhealthy, and no scale happened since.
    pub held_scale_in: bool,
}

impl Streaks {
    /// Counts one check.
    pub fn record(&mut self, outcome: Outcome) {
        if outcome.is_unhealthy() {
            self.unhealthy += 1;
        } else {
            self.unhealthy = 0;
        }
        if outcome == Outcome::Fast {
            self.fast_since_scale += 1;
        } else {
            self.fast_since_scale = 0;
        }
        self.last = Some(outcome);
    }

    /// A scale happened: calm is counted again from here, so a scale-in never follows a
    /// scale-out (or an edge) without AUTOSCALE_SCALE_IN_AFTER fresh fast checks.
    pub fn scaled(&mut self) {
        self.fast_since_scale = 0;
        self.held_scale_in = false;
    }

    pub fn last_unhealthy(&self) -> bool {
        self.last.is_some_and(Outcome::is_unhealthy)
    }
}

/// Why the scaler was woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The daemon started.
    Startup,
    /// A schedule entry fired; `quantity` is the schedule's quantity at that instant.
    Edge { quantity: u32 },
    /// A check finished (already recorded in the streaks).
    Check(Outcome),
    /// The interval passed with checks off: only the floor is held.
    Tick,
}

/// Why a scale happens: the `reason=` of `event=scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Startup,
    Schedule,
    Down,
    Slow,
    Floor,
    ScaleIn,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Startup => "startup",
            Reason::Schedule => "schedule",
            Reason::Down => "down",
            Reason::Slow => "slow",
            Reason::Floor => "floor",
            Reason::ScaleIn => "scale_in",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why nothing is done although a trigger asked: the `reason=` of `event=scale_skip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Already at the quantity asked for.
    AtTarget,
    /// A scale-in edge while the latest check was unhealthy: scale-in does it later.
    Unhealthy,
    /// Startup above the floor: a manual scale-out survives a restart.
    AboveFloor,
    /// Nothing in the schedule fired in the lookback window: no floor to hold.
    NoFloor,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::AtTarget => "at_target",
            Skip::Unhealthy => "unhealthy",
            Skip::AboveFloor => "above_floor",
            Skip::NoFloor => "no_floor",
        }
    }
}

/// The decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Scale {
        to: u32,
        reason: Reason,
    },
    Skip(Skip),
    /// Nothing to do and nothing worth a line (e.g. a healthy check at the right quantity).
    Nothing,
}

/// The policy. `floor` is the schedule's quantity at now (None when nothing fired lately).
pub fn decide(
    trigger: Trigger,
    current: u32,
    floor: Option<u32>,
    streaks: &Streaks,
    limits: &Thresholds,
) -> Action {
    match trigger {
        Trigger::Startup => match floor {
            None => Action::Skip(Skip::NoFloor),
            Some(f) if current < f => Action::Scale {
                to: f,
                reason: Reason::Startup,
            },
            Some(f) if current == f => Action::Skip(Skip::AtTarget),
            Some(_) => Action::Skip(Skip::AboveFloor),
        },
        Trigger::Edge { quantity } => {
            if quantity == current {
                Action::Skip(Skip::AtTarget)
            } else if quantity < current && streaks.last_unhealthy() {
                Action::Skip(Skip::Unhealthy)
            } else {
                Action::Scale {
                    to: quantity,
                    reason: Reason::Schedule,
                }
            }
        }
        Trigger::Tick => match floor {
            Some(f) if current < f => Action::Scale {
                to: f,
                reason: Reason::Floor,
            },
            _ => Action::Nothing,
        },
        Trigger::Check(outcome) => {
            if outcome.is_unhealthy() && streaks.unhealthy >= limits.scale_out_after {
                // Out at once, no cool-down; at max there is nothing more to do.
                if current < limits.max {
                    let reason = if outcome == Outcome::Slow {
                        Reason::Slow
                    } else {
                        Reason::Down
                    };
                    return Action::Scale {
                        to: limits.max,
                        reason,
                    };
                }
                return Action::Nothing;
            }
            match floor {
                Some(f) if current < f => Action::Scale {
                    to: f,
                    reason: Reason::Floor,
                },
                Some(f)
                    if current > f
                        && limits
                            .scale_in_after
                            .is_some_and(|n| streaks.fast_since_scale >= n) =>
                {
                    Action::Scale {
                        to: f,
                        reason: Reason::ScaleIn,
                    }
                }
                // Without scale-in (AUTOSCALE_FAST=off) a held scale-in edge is done at the first
                // healthy check, or the app would stay at the maximum until the next edge.
                Some(f)
                    if current > f
                        && streaks.held_scale_in
                        && limits.scale_in_after.is_none()
                        && !outcome.is_unhealthy() =>
                {
                    Action::Scale {
                        to: f,
                        reason: Reason::Schedule,
                    }
                }
                _ => Action::Nothing,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Outcome::*;

    const LIMITS: Thresholds = Thresholds {
        max: 5,
        scale_out_after: 1,
        scale_in_after: Some(3),
    };

    fn streaks(outcomes: &[Outcome]) -> Streaks {
        let mut s = Streaks::default();
        for &o in outcomes {
            s.record(o);
        }
        s
    }

    /// name, check history, current, floor, thresholds, expected action.
    type Case = (
        &'static str,
        &'static [Outcome],
        u32,
        Option<u32>,
        Thresholds,
        Action,
    );

    fn scale(to: u32, reason: Reason) -> Action {
        Action::Scale { to, reason }
    }

    #[test]
    fn startup_only_scales_up_to_the_floor() {
        let s = Streaks::default();
        let table = [
            (1, Some(3), scale(3, Reason::Startup)),
            (3, Some(3), Action::Skip(Skip::AtTarget)),
            (4, Some(3), Action::Skip(Skip::AboveFloor)),
            (0, None, Action::Skip(Skip::NoFloor)),
        ];
        for (current, floor, want) in table {
            assert_eq!(
                decide(Trigger::Startup, current, floor, &s, &LIMITS),
                want,
                "{current} {floor:?}"
            );
        }
    }

    #[test]
    fn edges_scale_to_the_entry_unless_at_target_or_held_by_trouble() {
        let table: [(u32, u32, &[Outcome], Action); 7] = [
            (3, 1, &[], scale(3, Reason::Schedule)),
            (2, 3, &[], scale(2, Reason::Schedule)),
            (2, 2, &[], Action::Skip(Skip::AtTarget)),
            // scale-in edge held while the latest check was unhealthy
            (2, 5, &[Down], Action::Skip(Skip::Unhealthy)),
            (2, 5, &[Fast, Slow], Action::Skip(Skip::Unhealthy)),
            // ... but not once it recovered, and scale-out edges are never held
            (2, 5, &[Down, Ok], scale(2, Reason::Schedule)),
            (3, 1, &[Down], scale(3, Reason::Schedule)),
        ];
        for (quantity, current, history, want) in table {
            let got = decide(
                Trigger::Edge { quantity },
                current,
                Some(1),
                &streaks(history),
                &LIMITS,
            );
            assert_eq!(got, want, "edge {quantity} at {current} after {history:?}");
        }
    }

    #[test]
    fn checks_scale_out_heal_the_floor_and_scale_in_calmly() {
        let two = Thresholds {
            scale_out_after: 2,
            ..LIMITS
        };
        let off = Thresholds {
            scale_in_after: None,
            ..LIMITS
        };
        #[rustfmt::skip]
        let table: [Case; 14] = [
            ("down scales out at once", &[Down], 2, Some(2), LIMITS, scale(5, Reason::Down)),
            ("slow scales out at once", &[Slow], 2, Some(2), LIMITS, scale(5, Reason::Slow)),
            ("down at max: nothing", &[Down], 5, Some(2), LIMITS, Action::Nothing),
            ("above max (manual): nothing", &[Down], 7, Some(2), LIMITS, Action::Nothing),
            ("one failure ignored with after=2", &[Fast, Down], 2, Some(2), two, Action::Nothing),
            ("two failures with after=2", &[Down, Slow], 2, Some(2), two, scale(5, Reason::Slow)),
            ("one failure under floor heals floor", &[Down], 1, Some(2), two, scale(2, Reason::Floor)),
            ("below floor healed", &[Ok], 1, Some(3), LIMITS, scale(3, Reason::Floor)),
            ("at floor and fast: nothing", &[Fast, Fast, Fast], 2, Some(2), LIMITS, Action::Nothing),
            ("two fast: not yet", &[Fast, Fast], 5, Some(2), LIMITS, Action::Nothing),
            ("three fast: scale in to floor", &[Fast, Fast, Fast], 5, Some(2), LIMITS, scale(2, Reason::ScaleIn)),
            ("ok breaks the calm", &[Fast, Fast, Ok], 5, Some(2), LIMITS, Action::Nothing),
            ("fast=off never scales in", &[Fast, Fast, Fast, Fast], 5, Some(2), off, Action::Nothing),
            ("no floor: no scale-in", &[Fast, Fast, Fast], 5, None, LIMITS, Action::Nothing),
        ];
        for (name, history, current, floor, limits, want) in table {
            let s = streaks(history);
            let outcome = *history.last().unwrap();
            assert_eq!(
                decide(Trigger::Check(outcome), current, floor, &s, &limits),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn with_checks_off_a_tick_only_heals_the_floor() {
        let s = streaks(&[Fast, Fast, Fast]);
        assert_eq!(
            decide(Trigger::Tick, 1, Some(3), &s, &LIMITS),
            scale(3, Reason::Floor)
        );
        assert_eq!(
            decide(Trigger::Tick, 5, Some(3), &s, &LIMITS),
            Action::Nothing
        );
        assert_eq!(decide(Trigger::Tick, 0, None, &s, &LIMITS), Action::Nothing);
    }

    #[test]
    fn a_held_scale_in_edge_without_scale_in_is_done_at_the_first_healthy_check() {
        let off = Thresholds {
            scale_in_after: None,
            ..LIMITS
        };
        let mut s = streaks(&[Down]);
        s.held_scale_in = true;
        assert_eq!(
            decide(Trigger::Check(Down), 5, Some(2), &s, &off),
            Action::Nothing
        );
        s.record(Ok);
        assert_eq!(
            decide(Trigger::Check(Ok), 5, Some(2), &s, &off),
            scale(2, Reason::Schedule)
        );
        // With scale-in on, calm decides instead.
        assert_eq!(
            decide(Trigger::Check(Ok), 5, Some(2), &s, &LIMITS),
            Action::Nothing
        );
        s.scaled();
        assert!(!s.held_scale_in);
    }

    #[test]
    fn calm_is_counted_since_the_last_scale() {
        let mut s = streaks(&[Fast, Fast]);
        s.scaled();
        s.record(Fast);
        s.record(Fast);
        assert_eq!(
            decide(Trigger::Check(Fast), 5, Some(2), &s, &LIMITS),
            Action::Nothing
        );
        s.record(Fast);
        assert_eq!(
            decide(Trigger::Check(Fast), 5, Some(2), &s, &LIMITS),
            scale(2, Reason::ScaleIn)
        );
    }

    #[test]
    fn streaks_count_consecutive_outcomes() {
        let s = streaks(&[Down, Slow, Down]);
        assert_eq!((s.unhealthy, s.fast_since_scale), (3, 0));
        let s = streaks(&[Down, Fast, Fast]);
        assert_eq!((s.unhealthy, s.fast_since_scale), (0, 2));
        assert!(!s.last_unhealthy());
    }
}
