//! Holds: a quantity set by someone else is kept for AUTOSCALE_MANUAL_HOLD, a pause decides
//! without sending, unhealthy checks right after a release (the deploy grace) do not scale out.

use super::*;

impl AppLoop {
    /// Compares a formation with what was last seen or set: a change by someone else starts a
    /// hold. At the first sight, a quantity set after the latest edge was set on purpose.
    pub(super) fn observe(&mut self, index: usize, formation: &Formation, now: DateTime<Utc>) {
        let t = &mut self.targets[index];
        let manual_hold = t.target.manual_hold;
        let seen = Known {
            quantity: formation.quantity,
            updated_at: formation.updated_at.clone(),
        };
        let latest_edge = t.target.floor(now);
        let changed_by_someone = match &t.known {
            None => {
                // After a restart: set after the latest edge means deliberate, and the edge
                // counts as handled (the human acted after it).
                let after_edge = match (formation.updated(), latest_edge) {
                    (Some(updated), Some(edge)) => updated > edge.at,
                    _ => false,
                };
                if after_edge {
                    t.edge_handled = latest_edge.map(|e| e.at);
                }
                after_edge && latest_edge.is_some_and(|e| e.quantity != formation.quantity)
            }
            Some(known) => known.updated_at != seen.updated_at && known.quantity != seen.quantity,
        };
        t.known = Some(seen);
        if !changed_by_someone {
            return;
        }
        // Someone else set it: the dry run's pretence ends, the new quantity is the truth.
        t.virtual_quantity = None;
        if manual_hold.is_zero() {
            return;
        }
        // Heroku's clock is trusted up to ours: a change dated in the future holds from now,
        // never until a far-away date.
        let since = formation.updated().map_or(now, |u| u.min(now));
        let until =
            since + chrono::Duration::from_std(manual_hold).unwrap_or(chrono::Duration::MAX);
        if until <= now {
            return;
        }
        t.hold = Some(Hold {
            quantity: formation.quantity,
            until,
        });
        // Calm and trouble are counted afresh from the change: a hold is overridden only by
        // unhealthy checks that came after it.
        t.streaks.scaled();
        t.streaks.unhealthy = 0;
        t.said.skip = None;
        HoldNews {
            target: &t.target,
            reason: HoldReason::Manual,
            quantity: Some(formation.quantity),
            kept: formation.quantity,
            until: Some(until),
            release: None,
        }
        .started(&self.history, now);
        self.notifier.notify(Notice {
            to: Some(formation.quantity),
            message: format!(
                "{} {} was set to {} by someone else at {}; autoscale keeps it until {} (AUTOSCALE_MANUAL_HOLD), then the schedule resumes. An unhealthy app still scales out.",
                t.target.app,
                t.target.process,
                formation.quantity,
                since.format("%Y-%m-%d %H:%M:%S UTC"),
                until.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            ..Notice::new(Kind::ManualHold, &t.target.app, &t.target.process)
        });
    }

    /// Holds whose time is up end; the schedule then resumes (its latest edge applies again).
    pub(super) fn end_holds(&mut self, now: DateTime<Utc>) {
        for t in &mut self.targets {
            if t.hold.is_some_and(|h| h.until <= now) {
                end_hold(t, "expired", &self.history, now);
            }
            let pause = t.target.pause.filter(|p| p.covers(now));
            match (pause, t.said.paused) {
                (Some(p), false) => {
                    t.said.paused = true;
                    let until = match p {
                        crate::config::Pause::Until(until) => Some(until),
                        crate::config::Pause::Forever => None,
                    };
                    HoldNews {
                        target: &t.target,
                        reason: HoldReason::Pause,
                        quantity: None,
                        kept: t.known.as_ref().map_or(0, |k| k.quantity),
                        until,
                        release: None,
                    }
                    .started(&self.history, now);
                }
                (None, true) => {
                    t.said.paused = false;
                    // The formation is the truth again; the schedule applies from here.
                    t.virtual_quantity = None;
                    t.edge_handled = None;
                    t.said.skip = None;
                    HoldNews {
                        target: &t.target,
                        reason: HoldReason::Pause,
                        quantity: None,
                        kept: t.known.as_ref().map_or(0, |k| k.quantity),
                        until: None,
                        release: None,
                    }
                    .ended(&self.history, now, "expired");
                }
                _ => {}
            }
        }
    }

    /// The latest release, when it is recent enough that `target`'s unhealthy checks are its
    /// start-up and not an outage: (release, end of the grace).
    pub(super) fn in_deploy_grace(
        &self,
        target: &Target,
        now: DateTime<Utc>,
    ) -> Option<(&Release, DateTime<Utc>)> {
        if target.deploy_grace.is_zero() {
            return None;
        }
        let release = self.release.as_ref()?.latest.as_ref()?;
        let created = release.created()?;
        let until = created + chrono::Duration::from_std(target.deploy_grace).ok()?;
        (created <= now + chrono::Duration::seconds(60) && now < until).then_some((release, until))
    }
}

pub(super) fn end_hold(
    t: &mut TargetState,
    why: &str,
    history: &HistoryHandle,
    now: DateTime<Utc>,
) {
    if let Some(h) = t.hold.take() {
        HoldNews {
            target: &t.target,
            reason: HoldReason::Manual,
            quantity: Some(h.quantity),
            kept: h.quantity,
            until: Some(h.until),
            release: None,
        }
        .ended(history, now, why);
        // The schedule resumes: its latest edge applies again.
        t.edge_handled = None;
        t.said.skip = None;
    }
}
