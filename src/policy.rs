//! Decide: where every scaling decision is made. A pure function of what one target looks like
//! this round — the current quantity, the schedule's floor at now, whether an edge is pending,
//! the check streaks, a hold — no I/O, no clock. Level-triggered: asked again every round, it
//! gives the same answer until something changes, so a lost edge or a failed PATCH is simply
//! done at the next round.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::probe::Outcome;
use crate::size::Size;

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

/// Why a scale happens: the `reason=` of `event=scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Startup,
    Schedule,
    Down,
    Slow,
    Floor,
    ScaleIn,
    /// The app's traffic needs more dynos (or, for some minutes, fewer).
    Load,
    /// A worker's job queue needs more dynos (or, for some reads, fewer).
    Queue,
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
            Reason::Load => "load",
            Reason::Queue => "queue",
        }
    }

    /// The fail-safe's own reasons: the app is in trouble.
    pub fn is_scale_out(self) -> bool {
        matches!(self, Reason::Down | Reason::Slow)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why nothing is done although a rule asked: the `reason=` of `event=scale_skip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Already at the quantity asked for.
    AtTarget,
    /// A scale-in edge while the latest check was unhealthy: scale-in does it later.
    Unhealthy,
    /// Startup above the floor, set after the latest edge: kept.
    AboveFloor,
    /// Nothing in the schedule fired in the lookback window: no floor to hold.
    NoFloor,
    /// A quantity someone set by hand is kept for a while.
    Hold,
    /// An unhealthy check right after a release: a deploy starting, not an outage.
    Deploy,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::AtTarget => "at_target",
            Skip::Unhealthy => "unhealthy",
            Skip::AboveFloor => "above_floor",
            Skip::NoFloor => "no_floor",
            Skip::Hold => "hold",
            Skip::Deploy => "deploy",
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

/// A quantity someone set by hand, kept until `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    pub quantity: u32,
    pub until: DateTime<Utc>,
}

/// What the app's traffic asks for (with AUTOSCALE_CONCURRENCY set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// What the latest minute needs ([`dynos_for`]), before the floor and max are applied.
    pub desired: u32,
    /// The most any of the last SCALE_IN_AFTER minutes needed: a schedule edge or a calm check
    /// never scales in below it (a dip of one minute is no reason to drop dynos).
    pub recent: u32,
    /// The largest need of the last SCALE_IN_AFTER minutes since the last scale, when every one
    /// of them was below the current quantity: what a calm scale-in may go down to.
    pub scale_in_to: Option<u32>,
    /// What the need comes from: [`Reason::Load`] (router traffic) or [`Reason::Queue`] (a
    /// worker's job queue); the `reason=` of the scales it asks for.
    pub reason: Reason,
}

/// Dynos needed to serve `busy` requests in service at once (Little's law: the sum of service
/// times over the minute) when one dyno serves `concurrency` at once and should be busy
/// `utilization` of the time: ceil(busy / (concurrency × utilization)). Bad inputs (a NaN, a
/// negative) need nothing; the result is capped at the schedule's largest quantity.
pub fn dynos_for(busy: f64, concurrency: u32, utilization: f64) -> u32 {
    let capacity = f64::from(concurrency) * utilization;
    if !(busy.is_finite() && capacity.is_finite()) || busy <= 0.0 || capacity <= 0.0 {
        return 0;
    }
    let needed = (busy / capacity - 1e-9).ceil();
    if needed >= f64::from(crate::schedule::MAX_QUANTITY) {
        crate::schedule::MAX_QUANTITY
    } else {
        needed.max(0.0) as u32
    }
}

/// Fewer requests in a minute say too little about an app to count as a check.
pub const MIN_REQUESTS: u64 = 20;

/// A finished minute of traffic as a check: unhealthy when its share of router errors (5xx and
/// H-codes) reaches `error_rate`, or its p95 is slower than `slow`; fast when its p95 is below
/// `fast`. A minute of fewer than [`MIN_REQUESTS`] requests says too little about the app and
/// is no check at all (None): one slow export in a quiet minute must not scale out, and a quiet
/// night must not break a run of fast checks.
pub fn traffic_check(
    minute: &crate::traffic::minute::Minute,
    error_rate: f64,
    slow: std::time::Duration,
    fast: Option<std::time::Duration>,
) -> Option<crate::probe::Probe> {
    if minute.requests < MIN_REQUESTS {
        return None;
    }
    let share = minute.errors as f64 / minute.requests as f64;
    let p95 = std::time::Duration::from_millis(u64::from(minute.p95_ms.unwrap_or(0)));
    let (outcome, error) = if share >= error_rate {
        (
            Outcome::Down,
            format!(
                "{} of {} requests failed ({:.1} %: h10={} h12={} h13={})",
                minute.errors,
                minute.requests,
                100.0 * share,
                minute.h10,
                minute.h12,
                minute.h13
            ),
        )
    } else if p95 > slow {
        (
            Outcome::Slow,
            format!(
                "p95 {} ms over {} requests",
                p95.as_millis(),
                minute.requests
            ),
        )
    } else if fast.is_some_and(|f| p95 < f) {
        (Outcome::Fast, String::new())
    } else {
        (Outcome::Ok, String::new())
    };
    Some(crate::probe::Probe {
        outcome,
        status: None,
        latency: p95,
        error,
    })
}

/// What one target looks like this round: everything [`decide`] needs, nothing it has to fetch.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// The formation's quantity now.
    pub current: u32,
    /// The schedule's quantity in force now (None when nothing fired in the lookback window).
    pub floor: Option<u32>,
    /// The latest schedule edge has not been handled yet (just fired, missed while the daemon
    /// was down, or the daemon just started).
    pub edge_pending: bool,
    pub streaks: &'a Streaks,
    pub limits: &'a Thresholds,
    /// The target's checks run (a probe URL or traffic): a missed scale-in edge then waits for
    /// the first check to say the app is healthy.
    pub checks_on: bool,
    /// The daemon's first round for this target.
    pub startup: bool,
    /// A manual hold in force.
    pub hold: Option<Hold>,
    /// What the traffic asks for, when the target scales on load.
    pub load: Option<Load>,
    /// The dyno size the latest edge names, when the formation runs another one. Only the
    /// scale that carries out that edge sends it (Heroku restarts every dyno of the type).
    pub size: Option<Size>,
}

/// What to do, and what the round changes in the target's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    /// The latest edge counts as handled once this action is done.
    pub handles_edge: bool,
    /// The hold ends (safety won: an unhealthy app scales out).
    pub ends_hold: bool,
    /// The dyno size to send with the scale: only ever an edge's (see [`View::size`]).
    pub size: Option<Size>,
}

impl Decision {
    fn just(action: Action) -> Decision {
        Decision {
            action,
            handles_edge: false,
            ends_hold: false,
            size: None,
        }
    }

    fn edge(action: Action) -> Decision {
        Decision {
            action,
            handles_edge: true,
            ends_hold: false,
            size: None,
        }
    }

    /// The scale carries out an edge: it sends the edge's size, if the formation runs another.
    fn sized(self, size: Option<Size>) -> Decision {
        Decision { size, ..self }
    }
}

/// The policy, level-triggered: what one target should run now, from what it runs, the
/// schedule, the checks and the holds. Rules in order:
/// 1. the fail-safe: enough unhealthy checks in a row and below the maximum → the maximum, at
///    once (even through a hold — safety wins — unless someone set 0 on purpose, or the
///    schedule itself asks for 0: an app with no dynos cannot answer its check);
/// 2. a hold keeps the quantity set by hand: whatever else would happen is skipped;
/// 3. traffic that needs more than runs → that many at once (within the max);
/// 4. a pending schedule edge applies its quantity (never below what the traffic needs) — a
///    scale-in only while the app is healthy (held while the latest check is unhealthy; at
///    startup with checks on, after the first check) — and its size, when it names one the
///    formation does not run (at the same quantity too: a size change alone);
/// 5. below the floor → the floor;
/// 6. calm above the floor → back down: scaling on load, to the most the traffic needed in
///    its last SCALE_IN_AFTER minutes once each needed less than runs; otherwise after a run of
///    fast checks since the last scale, to the floor.
pub fn decide(view: &View) -> Decision {
    let View {
        current,
        floor,
        streaks,
        limits,
        ..
    } = *view;
    let off_on_purpose = view.hold.is_some_and(|h| h.quantity == 0)
        || (current == 0 && floor == Some(0) && view.hold.is_none());
    if streaks.last_unhealthy()
        && streaks.unhealthy >= limits.scale_out_after
        && current < limits.max
        && !off_on_purpose
    {
        let reason = if streaks.last == Some(Outcome::Slow) {
            Reason::Slow
        } else {
            Reason::Down
        };
        return Decision {
            action: Action::Scale {
                to: limits.max,
                reason,
            },
            handles_edge: false,
            ends_hold: view.hold.is_some(),
            size: None,
        };
    }
    let decision = follow_schedule(view);
    match (view.hold, decision.action) {
        (Some(_), Action::Scale { .. }) => Decision::just(Action::Skip(Skip::Hold)),
        _ => decision,
    }
}

/// Rules 3 to 6: load, the schedule and calm.
fn follow_schedule(view: &View) -> Decision {
    let View {
        current,
        floor,
        streaks,
        limits,
        startup,
        load,
        size,
        ..
    } = *view;
    // What the traffic needs, within the max; above what runs and above the schedule, it is
    // the traffic that scales out (below the schedule, the floor's own rule does).
    let needed = load.map(|l| l.desired.min(limits.max));
    let by = load.map_or(Reason::Load, |l| l.reason);
    if let Some(needed) = needed.filter(|n| *n > current && *n > floor.unwrap_or(0)) {
        return Decision::just(Action::Scale {
            to: needed,
            reason: by,
        });
    }
    let Some(schedule_floor) = floor else {
        return Decision::just(if startup {
            Action::Skip(Skip::NoFloor)
        } else {
            Action::Nothing
        });
    };
    // The floor the traffic allows: never below what its last minutes needed.
    let floor = load.map_or(schedule_floor, |l| {
        l.recent.min(limits.max).max(schedule_floor)
    });
    let up = if startup {
        Reason::Startup
    } else {
        Reason::Floor
    };
    let edge_reason = if startup { up } else { Reason::Schedule };
    if view.edge_pending {
        return if current == floor {
            match size {
                // The size alone changes.
                Some(_) => Decision::edge(Action::Scale {
                    to: current,
                    reason: edge_reason,
                })
                .sized(size),
                None => Decision::edge(Action::Skip(Skip::AtTarget)),
            }
        } else if floor > current {
            Decision::edge(Action::Scale {
                to: floor,
                reason: edge_reason,
            })
            .sized(size)
        } else if streaks.last_unhealthy() {
            Decision::edge(Action::Skip(Skip::Unhealthy))
        } else if streaks.last.is_none() && view.checks_on {
            // Missed while the daemon was down: wait for the first check to say it is healthy.
            Decision::just(Action::Nothing)
        } else {
            Decision::edge(Action::Scale {
                to: floor,
                reason: Reason::Schedule,
            })
            .sized(size)
        };
    }
    // A scale-in edge held while the app was unhealthy is carried out below, with its size.
    let held_size = size.filter(|_| streaks.held_scale_in);
    if current < floor {
        // Raised above the schedule by what the load (traffic or queue) needs: its reason.
        let reason = if !startup && floor > schedule_floor {
            by
        } else {
            up
        };
        return Decision::just(Action::Scale { to: floor, reason });
    }
    if current > floor {
        // The traffic was below what runs for SCALE_IN_AFTER minutes: down to the most any of
        // those minutes needed.
        // Never while the latest check says the app is unhealthy (its traffic is low because it
        // fails): calm is calm.
        if let Some(to) = load
            .and_then(|l| l.scale_in_to)
            .filter(|_| !streaks.last_unhealthy())
        {
            let to = to.max(floor);
            if to < current {
                return Decision::just(Action::Scale { to, reason: by });
            }
        }
        // Scaling on load, the traffic decides when to come down; otherwise a run of fast
        // checks does.
        if load.is_none()
            && limits
                .scale_in_after
                .is_some_and(|n| streaks.fast_since_scale >= n)
        {
            return Decision::just(Action::Scale {
                to: floor,
                reason: Reason::ScaleIn,
            })
            .sized(held_size);
        }
        // Without scale-in (AUTOSCALE_FAST=off) a held scale-in edge is done at the first
        // healthy check, or the app would stay at the maximum until the next edge.
        if streaks.held_scale_in
            && limits.scale_in_after.is_none()
            && streaks.last.is_some_and(|o| !o.is_unhealthy())
        {
            return Decision::just(Action::Scale {
                to: floor,
                reason: Reason::Schedule,
            })
            .sized(held_size);
        }
        if startup {
            return Decision::just(Action::Skip(Skip::AboveFloor));
        }
    }
    Decision::just(if startup && current == floor {
        Action::Skip(Skip::AtTarget)
    } else {
        Action::Nothing
    })
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

    fn scale(to: u32, reason: Reason) -> Action {
        Action::Scale { to, reason }
    }

    /// A round at `current` with the floor `floor` after the checks `history`.
    struct Round {
        current: u32,
        floor: Option<u32>,
        edge_pending: bool,
        history: &'static [Outcome],
        limits: Thresholds,
        checks_on: bool,
        startup: bool,
        hold: Option<u32>,
        load: Option<Load>,
        size: Option<Size>,
    }

    const ROUND: Round = Round {
        current: 2,
        floor: Some(2),
        edge_pending: false,
        history: &[],
        limits: LIMITS,
        checks_on: true,
        startup: false,
        hold: None,
        load: None,
        size: None,
    };

    fn run(r: &Round) -> Decision {
        run_with(r, &streaks(r.history))
    }

    fn run_with(r: &Round, s: &Streaks) -> Decision {
        let until: DateTime<Utc> = "2026-11-30T15:00:00Z".parse().unwrap();
        decide(&View {
            current: r.current,
            floor: r.floor,
            edge_pending: r.edge_pending,
            streaks: s,
            limits: &r.limits,
            checks_on: r.checks_on,
            startup: r.startup,
            hold: r.hold.map(|quantity| Hold { quantity, until }),
            load: r.load,
            size: r.size,
        })
    }

    #[test]
    fn startup_scales_up_to_the_floor_and_says_why_it_does_nothing() {
        #[rustfmt::skip]
        let table = [
            (1, Some(3), true, scale(3, Reason::Startup), true),
            (3, Some(3), true, Action::Skip(Skip::AtTarget), true),
            (0, None, false, Action::Skip(Skip::NoFloor), false),
            // The edge was handled (set after it on purpose) and no hold: kept, said.
            (4, Some(3), false, Action::Skip(Skip::AboveFloor), false),
            (3, Some(3), false, Action::Skip(Skip::AtTarget), false),
            (1, Some(3), false, scale(3, Reason::Startup), false),
        ];
        for (current, floor, edge_pending, want, handles) in table {
            let d = run(&Round {
                current,
                floor,
                edge_pending,
                startup: true,
                ..ROUND
            });
            assert_eq!(d.action, want, "{current} {floor:?} {edge_pending}");
            assert_eq!(
                d.handles_edge, handles,
                "{current} {floor:?} {edge_pending}"
            );
        }
    }

    #[test]
    fn a_pending_edge_applies_its_quantity_unless_at_target_or_the_app_is_unhealthy() {
        #[rustfmt::skip]
        let table: [(u32, u32, &'static [Outcome], Action, bool); 8] = [
            (3, 1, &[], scale(3, Reason::Schedule), true),
            (2, 3, &[Fast], scale(2, Reason::Schedule), true),
            (2, 2, &[], Action::Skip(Skip::AtTarget), true),
            // A scale-in edge is held while the latest check is unhealthy: handled, scale-in
            // does it later. (At max there is no scale-out to do first.)
            (2, 5, &[Down], Action::Skip(Skip::Unhealthy), true),
            (2, 5, &[Fast, Slow], Action::Skip(Skip::Unhealthy), true),
            // ... but not once it recovered, and scale-out edges are never held.
            (2, 5, &[Down, Ok], scale(2, Reason::Schedule), true),
            (3, 1, &[Ok], scale(3, Reason::Schedule), true),
            // Missed while down, checks on, no check yet: wait for one.
            (2, 4, &[], Action::Nothing, false),
        ];
        for (floor, current, history, want, handles) in table {
            let d = run(&Round {
                current,
                floor: Some(floor),
                edge_pending: true,
                history,
                ..ROUND
            });
            assert_eq!(
                d.action, want,
                "edge {floor} at {current} after {history:?}"
            );
            assert_eq!(
                d.handles_edge, handles,
                "edge {floor} at {current} after {history:?}"
            );
            assert!(!d.ends_hold);
        }
        // With checks off a missed scale-in edge is applied at once.
        let d = run(&Round {
            current: 4,
            edge_pending: true,
            checks_on: false,
            ..ROUND
        });
        assert_eq!(d.action, scale(2, Reason::Schedule));
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
        type Row = (&'static str, &'static [Outcome], u32, Option<u32>, Thresholds, Action);
        let table: [Row; 15] = [
            (
                "down scales out at once",
                &[Down],
                2,
                Some(2),
                LIMITS,
                scale(5, Reason::Down),
            ),
            (
                "slow scales out at once",
                &[Slow],
                2,
                Some(2),
                LIMITS,
                scale(5, Reason::Slow),
            ),
            (
                "down at max: nothing",
                &[Down],
                5,
                Some(2),
                LIMITS,
                Action::Nothing,
            ),
            (
                "above max (manual): nothing",
                &[Down],
                7,
                Some(2),
                LIMITS,
                Action::Nothing,
            ),
            (
                "one failure ignored with after=2",
                &[Fast, Down],
                2,
                Some(2),
                two,
                Action::Nothing,
            ),
            (
                "two failures with after=2",
                &[Down, Slow],
                2,
                Some(2),
                two,
                scale(5, Reason::Slow),
            ),
            (
                "one failure under floor heals floor",
                &[Down],
                1,
                Some(2),
                two,
                scale(2, Reason::Floor),
            ),
            (
                "below floor healed",
                &[Ok],
                1,
                Some(3),
                LIMITS,
                scale(3, Reason::Floor),
            ),
            (
                "at floor and fast: nothing",
                &[Fast, Fast, Fast],
                2,
                Some(2),
                LIMITS,
                Action::Nothing,
            ),
            (
                "two fast: not yet",
                &[Fast, Fast],
                5,
                Some(2),
                LIMITS,
                Action::Nothing,
            ),
            (
                "three fast: scale in to floor",
                &[Fast, Fast, Fast],
                5,
                Some(2),
                LIMITS,
                scale(2, Reason::ScaleIn),
            ),
            (
                "ok breaks the calm",
                &[Fast, Fast, Ok],
                5,
                Some(2),
                LIMITS,
                Action::Nothing,
            ),
            (
                "fast=off never scales in",
                &[Fast, Fast, Fast, Fast],
                5,
                Some(2),
                off,
                Action::Nothing,
            ),
            (
                "no floor: no scale-in",
                &[Fast, Fast, Fast],
                5,
                None,
                LIMITS,
                Action::Nothing,
            ),
            (
                "no checks yet: only the floor",
                &[],
                1,
                Some(2),
                LIMITS,
                scale(2, Reason::Floor),
            ),
        ];
        for (name, history, current, floor, limits, want) in table {
            let d = run(&Round {
                current,
                floor,
                history,
                limits,
                ..ROUND
            });
            assert_eq!(d.action, want, "{name}");
            assert!(!d.handles_edge && !d.ends_hold, "{name}");
        }
    }

    #[test]
    fn a_process_at_zero_on_purpose_is_not_healed_by_the_fail_safe() {
        // The schedule asks for 0 and the app is at 0: its check fails, as it must.
        let d = run(&Round {
            current: 0,
            floor: Some(0),
            history: &[Down],
            ..ROUND
        });
        assert_eq!(d.action, Action::Nothing);
        // At 0 when the schedule asks for more: that is an outage, out at once.
        let d = run(&Round {
            current: 0,
            floor: Some(1),
            history: &[Down],
            ..ROUND
        });
        assert_eq!(d.action, scale(5, Reason::Down));
        // Someone stopped it by hand: kept even while down.
        let d = run(&Round {
            current: 0,
            floor: Some(2),
            history: &[Down],
            hold: Some(0),
            ..ROUND
        });
        assert_eq!(d.action, Action::Skip(Skip::Hold));
        // Scaled in to 0 by the schedule while checks were fast: no flapping back out.
        let d = run(&Round {
            current: 0,
            floor: Some(0),
            history: &[Fast, Down, Down],
            ..ROUND
        });
        assert_eq!(d.action, Action::Nothing);
    }

    #[test]
    fn a_hold_keeps_the_quantity_except_that_an_unhealthy_app_still_scales_out() {
        #[rustfmt::skip]
        type Row = (&'static str, u32, Option<u32>, bool, &'static [Outcome], Decision);
        let table: [Row; 6] = [
            (
                "a pending edge is skipped",
                4,
                Some(2),
                true,
                &[Fast],
                Decision::just(Action::Skip(Skip::Hold)),
            ),
            (
                "scale-in is skipped",
                4,
                Some(2),
                false,
                &[Fast, Fast, Fast],
                Decision::just(Action::Skip(Skip::Hold)),
            ),
            (
                "floor healing is skipped",
                1,
                Some(2),
                false,
                &[Ok],
                Decision::just(Action::Skip(Skip::Hold)),
            ),
            (
                "nothing to do: nothing said",
                2,
                Some(2),
                false,
                &[Ok],
                Decision::just(Action::Nothing),
            ),
            (
                "unhealthy: out, and the hold ends",
                3,
                Some(2),
                false,
                &[Down],
                Decision {
                    action: scale(5, Reason::Down),
                    handles_edge: false,
                    ends_hold: true,
                    size: None,
                },
            ),
            (
                "unhealthy at max: the hold stays",
                5,
                Some(2),
                false,
                &[Down],
                Decision::just(Action::Nothing),
            ),
        ];
        for (name, current, floor, edge_pending, history, want) in table {
            let hold = Some(current);
            let d = run(&Round {
                current,
                floor,
                edge_pending,
                history,
                hold,
                ..ROUND
            });
            assert_eq!(d, want, "{name}");
        }
    }

    #[test]
    fn a_held_scale_in_edge_without_scale_in_is_done_at_the_first_healthy_check() {
        let off = Thresholds {
            scale_in_after: None,
            ..LIMITS
        };
        let round = Round {
            current: 5,
            limits: off,
            ..ROUND
        };
        let mut s = streaks(&[Down]);
        s.held_scale_in = true;
        assert_eq!(run_with(&round, &s).action, Action::Nothing);
        s.record(Ok);
        assert_eq!(run_with(&round, &s).action, scale(2, Reason::Schedule));
        // With scale-in on, calm decides instead.
        assert_eq!(
            run_with(
                &Round {
                    limits: LIMITS,
                    ..round
                },
                &s
            )
            .action,
            Action::Nothing
        );
        s.scaled();
        assert!(!s.held_scale_in);
    }

    #[test]
    fn calm_is_counted_since_the_last_scale() {
        let round = Round {
            current: 5,
            ..ROUND
        };
        let mut s = streaks(&[Fast, Fast]);
        s.scaled();
        s.record(Fast);
        s.record(Fast);
        assert_eq!(run_with(&round, &s).action, Action::Nothing);
        s.record(Fast);
        assert_eq!(run_with(&round, &s).action, scale(2, Reason::ScaleIn));
    }

    fn load(desired: u32, scale_in_to: Option<u32>) -> Option<Load> {
        Some(Load {
            desired,
            recent: desired,
            scale_in_to,
            reason: Reason::Load,
        })
    }

    /// What the load needed lately (`recent`), asking for nothing more now.
    fn recent(recent: u32, reason: Reason) -> Option<Load> {
        Some(Load {
            desired: 0,
            recent,
            scale_in_to: None,
            reason,
        })
    }

    fn minute(requests: u64, errors: u64, h12: u64, p95_ms: u32) -> crate::traffic::minute::Minute {
        crate::traffic::minute::Minute {
            app: "shop".into(),
            process: "web".into(),
            minute: "2026-11-30T14:03:00Z".parse().unwrap(),
            requests,
            p50_ms: Some(p95_ms / 2),
            p95_ms: Some(p95_ms),
            p99_ms: Some(p95_ms),
            errors,
            h10: 0,
            h12,
            h13: 0,
            s2xx: requests - errors,
            s3xx: 0,
            s4xx: 0,
            s5xx: errors,
            busy: 1.0,
            dynos: 2,
        }
    }

    #[test]
    fn a_minute_of_traffic_is_a_check() {
        use std::time::Duration;
        let slow = Duration::from_secs(5);
        let fast = Some(Duration::from_secs(1));
        let outcome = |m| traffic_check(&m, 0.05, slow, fast).map(|p| p.outcome);
        // 10 % H12s: down; 1 %: not.
        assert_eq!(outcome(minute(600, 60, 60, 400)), Some(Down));
        assert_eq!(outcome(minute(600, 6, 6, 400)), Some(Fast));
        assert_eq!(
            outcome(minute(100, 5, 0, 400)),
            Some(Down),
            "5 % is the threshold"
        );
        assert_eq!(outcome(minute(100, 4, 0, 400)), Some(Fast));
        assert_eq!(outcome(minute(600, 0, 0, 5_001)), Some(Slow));
        assert_eq!(outcome(minute(600, 0, 0, 5_000)), Some(Ok));
        assert_eq!(outcome(minute(600, 0, 0, 999)), Some(Fast));
        assert_eq!(outcome(minute(600, 0, 0, 1_000)), Some(Ok));
        // A quiet minute is no check, even all errors.
        assert_eq!(outcome(minute(19, 19, 19, 30_000)), None);
        assert_eq!(outcome(minute(20, 20, 20, 30_000)), Some(Down));
        let p = traffic_check(&minute(600, 60, 60, 400), 0.05, slow, fast).unwrap();
        assert_eq!(
            p.error,
            "60 of 600 requests failed (10.0 %: h10=0 h12=60 h13=0)"
        );
        assert_eq!(p.latency, Duration::from_millis(400));
        assert_eq!(
            traffic_check(&minute(600, 0, 0, 400), 0.05, slow, None).map(|p| p.outcome),
            Some(Ok)
        );
    }

    #[test]
    fn dynos_for_load_is_little_s_law_over_capacity() {
        // 600 requests a minute at 400 ms: busy 4; 2 at once per dyno, half of it: 4 dynos.
        assert_eq!(dynos_for(4.0, 2, 0.5), 4);
        assert_eq!(dynos_for(4.01, 2, 0.5), 5);
        assert_eq!(dynos_for(0.1, 5, 0.7), 1);
        assert_eq!(dynos_for(0.0, 5, 0.7), 0);
        assert_eq!(dynos_for(f64::NAN, 5, 0.7), 0);
        assert_eq!(
            dynos_for(f64::INFINITY, 5, 0.7),
            0,
            "a damaged figure needs nothing"
        );
        assert_eq!(dynos_for(-3.0, 5, 0.7), 0);
        assert_eq!(dynos_for(1e300, 5, 0.7), crate::schedule::MAX_QUANTITY);
        assert_eq!(dynos_for(3.0, 0, 0.7), 0);
        // Exactly at capacity is enough (no dyno for floating-point dust).
        assert_eq!(dynos_for(2.8, 4, 0.7), 1);
    }

    #[test]
    fn load_scales_out_at_once_and_in_after_calm_minutes_never_below_the_floor() {
        type Row = (
            &'static str,
            u32,
            Option<u32>,
            Option<Load>,
            &'static [Outcome],
            Action,
        );
        #[rustfmt::skip]
        let table: [Row; 13] = [
            ("more traffic: out to what it needs", 2, Some(2), load(4, None), &[Ok], scale(4, Reason::Load)),
            ("capped at max", 2, Some(2), load(9, None), &[Ok], scale(5, Reason::Load)),
            ("at what it needs: nothing", 4, Some(2), load(4, None), &[Ok], Action::Nothing),
            ("below current, not yet calm long enough", 4, Some(2), load(1, None), &[Ok], Action::Nothing),
            ("calm minutes: in to the most they needed", 5, Some(2), load(1, Some(3)), &[Ok], scale(3, Reason::Load)),
            ("calm minutes that needed what runs: nothing", 5, Some(2), load(1, Some(5)), &[Ok], Action::Nothing),
            ("never below the floor", 5, Some(2), load(0, Some(1)), &[Ok], scale(2, Reason::Load)),
            ("on load, fast checks do not scale in: the traffic does", 5, Some(2), load(1, None), &[Fast, Fast, Fast], Action::Nothing),
            ("below the floor is the floor's job", 1, Some(2), load(0, None), &[Ok], scale(2, Reason::Floor)),
            ("needing just the floor is the floor's job too", 1, Some(2), load(2, None), &[Ok], scale(2, Reason::Floor)),
            ("an unhealthy app still goes to max", 2, Some(2), load(3, None), &[Down], scale(5, Reason::Down)),
            ("below what the load's last minutes needed: the load's reason", 1, Some(2), recent(3, Reason::Queue), &[Ok], scale(3, Reason::Queue)),
            ("below the schedule alone: the floor's", 1, Some(3), recent(3, Reason::Queue), &[Ok], scale(3, Reason::Floor)),
        ];
        for (name, current, floor, load, history, want) in table {
            let d = run(&Round {
                current,
                floor,
                load,
                history,
                ..ROUND
            });
            assert_eq!(d.action, want, "{name}");
        }
        // At startup a floor the load raised is still the startup's.
        let d = run(&Round {
            current: 1,
            floor: Some(2),
            load: recent(3, Reason::Queue),
            history: &[Ok],
            startup: true,
            ..ROUND
        });
        assert_eq!(d.action, scale(3, Reason::Startup));
        // A worker's queue asks the same way, and its scales say so.
        let queue = |l: Option<Load>| {
            l.map(|l| Load {
                reason: Reason::Queue,
                ..l
            })
        };
        let out = run(&Round {
            current: 2,
            floor: Some(2),
            load: queue(load(4, None)),
            history: &[Ok],
            ..ROUND
        });
        assert_eq!(out.action, scale(4, Reason::Queue));
        let calm = run(&Round {
            current: 5,
            floor: Some(2),
            load: queue(load(1, Some(3))),
            history: &[Ok],
            ..ROUND
        });
        assert_eq!(calm.action, scale(3, Reason::Queue));
        // Low traffic while the app fails is no calm: at max, it stays.
        let d = run(&Round {
            current: 5,
            floor: Some(2),
            load: load(0, Some(0)),
            history: &[Down],
            ..ROUND
        });
        assert_eq!(d.action, Action::Nothing);
        // A scale-in edge does not go below what the last minutes needed.
        let dip = Some(Load {
            desired: 0,
            recent: 3,
            scale_in_to: None,
            reason: Reason::Load,
        });
        let d = run(&Round {
            current: 5,
            floor: Some(1),
            edge_pending: true,
            load: dip,
            history: &[Ok],
            ..ROUND
        });
        assert_eq!(d.action, scale(3, Reason::Schedule));
        // A scale-in edge does not go below what the traffic needs.
        let d = run(&Round {
            current: 5,
            floor: Some(1),
            edge_pending: true,
            load: load(3, None),
            history: &[Ok],
            ..ROUND
        });
        assert_eq!(d.action, scale(3, Reason::Schedule));
        // A hold keeps the hand-set quantity against load too; max still wins when unhealthy.
        let d = run(&Round {
            current: 2,
            hold: Some(2),
            load: load(4, None),
            history: &[Ok],
            ..ROUND
        });
        assert_eq!(d.action, Action::Skip(Skip::Hold));
    }

    #[test]
    fn streaks_count_consecutive_outcomes() {
        let s = streaks(&[Down, Slow, Down]);
        assert_eq!((s.unhealthy, s.fast_since_scale), (3, 0));
        let s = streaks(&[Down, Fast, Fast]);
        assert_eq!((s.unhealthy, s.fast_since_scale), (0, 2));
        assert!(!s.last_unhealthy());
        assert!(streaks(&[Slow]).last_unhealthy());
        assert!(!Streaks::default().last_unhealthy());
    }

    fn perf_m() -> Option<Size> {
        Some(Size::parse("performance-m").unwrap())
    }

    #[test]
    fn an_edge_sends_its_size_with_its_quantity_or_alone() {
        let edge = Round {
            edge_pending: true,
            size: perf_m(),
            history: &[Fast],
            ..ROUND
        };
        // Same quantity: the size alone changes (a PATCH to the quantity that runs).
        let d = run(&Round { current: 2, ..edge });
        assert_eq!(d.action, scale(2, Reason::Schedule));
        assert_eq!((d.size, d.handles_edge), (perf_m(), true));
        // Up and down.
        let d = run(&Round { current: 1, ..edge });
        assert_eq!((d.action, d.size), (scale(2, Reason::Schedule), perf_m()));
        let d = run(&Round { current: 4, ..edge });
        assert_eq!((d.action, d.size), (scale(2, Reason::Schedule), perf_m()));
        // At startup, a missed edge's size goes too.
        let d = run(&Round {
            current: 1,
            startup: true,
            ..edge
        });
        assert_eq!((d.action, d.size), (scale(2, Reason::Startup), perf_m()));
        let d = run(&Round {
            current: 2,
            startup: true,
            ..edge
        });
        assert_eq!((d.action, d.size), (scale(2, Reason::Startup), perf_m()));
        // The formation runs the size already: nothing to send (the caller leaves it None).
        let d = run(&Round {
            current: 2,
            size: None,
            ..edge
        });
        assert_eq!((d.action, d.size), (Action::Skip(Skip::AtTarget), None));
        // A held scale-in edge keeps its size for the scale-in that carries it out.
        let held = run(&Round {
            current: 5,
            history: &[Down],
            ..edge
        });
        assert_eq!(
            (held.action, held.size),
            (Action::Skip(Skip::Unhealthy), None)
        );
        let mut s = streaks(&[Down]);
        s.held_scale_in = true;
        for _ in 0..3 {
            s.record(Fast);
        }
        let later = Round {
            current: 5,
            edge_pending: false,
            ..edge
        };
        let d = run_with(&later, &s);
        assert_eq!((d.action, d.size), (scale(2, Reason::ScaleIn), perf_m()));
        let no_scale_in = Thresholds {
            scale_in_after: None,
            ..LIMITS
        };
        let d = run_with(
            &Round {
                limits: no_scale_in,
                ..later
            },
            &s,
        );
        assert_eq!((d.action, d.size), (scale(2, Reason::Schedule), perf_m()));
        // A hold skips the edge, size and all.
        let d = run(&Round {
            current: 4,
            hold: Some(4),
            ..edge
        });
        assert_eq!((d.action, d.size), (Action::Skip(Skip::Hold), None));
    }

    #[test]
    fn only_an_edge_changes_a_size() {
        // Every round shape, with an edge naming a size the formation does not run: the
        // fail-safe, load, the floor's heal and a calm scale-in without a held edge never send
        // it; whatever sends it carries out an edge.
        let histories: [&'static [Outcome]; 5] =
            [&[], &[Down], &[Slow], &[Fast, Fast, Fast], &[Ok]];
        let loads = [None, load(5, None), load(1, Some(1)), load(3, Some(2))];
        let mut sent = 0;
        for current in 0..=6 {
            for floor in [None, Some(0), Some(2), Some(4)] {
                for edge_pending in [false, true] {
                    for history in histories {
                        for startup in [false, true] {
                            for hold in [None, Some(3)] {
                                for load in loads {
                                    let r = Round {
                                        current,
                                        floor,
                                        edge_pending,
                                        history,
                                        startup,
                                        hold,
                                        load,
                                        size: perf_m(),
                                        ..ROUND
                                    };
                                    let d = run(&r);
                                    if d.size.is_none() {
                                        continue;
                                    }
                                    sent += 1;
                                    let Action::Scale { reason, .. } = d.action else {
                                        panic!("a size without a scale: {d:?}");
                                    };
                                    assert!(
                                        matches!(reason, Reason::Schedule | Reason::Startup),
                                        "{reason} sent a size"
                                    );
                                    assert!(d.handles_edge, "{d:?}");
                                    let plain = run(&Round { size: None, ..r });
                                    if plain.action != Action::Skip(Skip::AtTarget) {
                                        assert_eq!(plain.action, d.action);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(sent > 50, "{sent}");
        // Without a size nothing ever carries one.
        let d = run(&Round {
            edge_pending: true,
            current: 1,
            ..ROUND
        });
        assert_eq!(d.size, None);
    }

    #[test]
    fn names_are_the_contract_s() {
        let reasons = [
            Reason::Startup,
            Reason::Schedule,
            Reason::Down,
            Reason::Slow,
            Reason::Floor,
            Reason::ScaleIn,
        ];
        let names: Vec<String> = reasons.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            names,
            ["startup", "schedule", "down", "slow", "floor", "scale_in"]
        );
        assert_eq!(reasons.iter().filter(|r| r.is_scale_out()).count(), 2);
        let skips = [
            Skip::AtTarget,
            Skip::Unhealthy,
            Skip::AboveFloor,
            Skip::NoFloor,
            Skip::Hold,
        ];
        let names: Vec<&str> = skips.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            ["at_target", "unhealthy", "above_floor", "no_floor", "hold"]
        );
    }
}
