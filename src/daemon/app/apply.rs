//! Apply: the decisions carried out — skips logged once, one PATCH (a batch for several
//! targets) for what differs, and every scale said in the log, the history and the alerts.

use super::queue::DrainEnd;
use super::*;
use crate::event::{DrainState, ScaleResult};

/// A scale a round decided: which target, from what, to what, and why.
#[derive(Debug, Clone, Copy)]
pub(super) struct Change {
    pub(super) index: usize,
    pub(super) from: u32,
    pub(super) to: u32,
    pub(super) reason: Reason,
    pub(super) decision: Decision,
}

impl Change {
    /// The size the PATCH sends (an edge's, when the formation runs another).
    pub(super) fn size(&self) -> Option<crate::size::Size> {
        self.decision.size
    }
}

impl AppLoop {
    /// Carries the decisions out: logs skips, sends one PATCH for what differs.
    pub(super) async fn apply(
        &mut self,
        decisions: Vec<(usize, Decision)>,
        now: DateTime<Utc>,
        wake: Wake,
    ) {
        let mut scales: Vec<Change> = Vec::new();
        for (i, d) in decisions {
            let formation = self
                .formation(&self.targets[i].target.process)
                .cloned()
                .expect("decided on a formation");
            let current = self.current(i, &formation);
            let edge_at = self.targets[i].target.floor(now).map(|e| e.at);
            match d.action {
                Action::Nothing => {}
                Action::Skip(skip) => {
                    let t = &mut self.targets[i];
                    if d.handles_edge {
                        t.edge_handled = edge_at;
                    }
                    if skip == Skip::Unhealthy {
                        t.streaks.held_scale_in = true;
                    }
                    // Edges and startup always say why; a hold or a wait is said once.
                    let repeat = t.said.skip == Some((skip, current));
                    if d.handles_edge || wake == Wake::Startup || !repeat {
                        log_skip(&t.target, skip, current, wake);
                    }
                    t.said.skip = Some((skip, current));
                }
                Action::Scale { to, reason } => {
                    let change = Change {
                        index: i,
                        from: current,
                        to,
                        reason,
                        decision: d,
                    };
                    if self.targets[i].queue.drain.is_some() {
                        // A drain under way: a scale-out cancels it; anything else waits
                        // for it (below).
                        if to > current {
                            self.end_drain(i, DrainState::Cancelled, now);
                            scales.push(change);
                        }
                    } else if self.drains(i, current, to, now) {
                        self.start_drain(change, now);
                    } else {
                        scales.push(change);
                    }
                }
            }
        }
        // Drains that are over: their scale-in, from what runs now.
        for i in 0..self.targets.len() {
            if scales.iter().any(|c| c.index == i) {
                continue;
            }
            let Some(end) = self.drain_ready(i, now) else {
                continue;
            };
            let Some(drain) = self.targets[i].queue.drain else {
                continue;
            };
            // Someone set a quantity meanwhile: theirs is kept, the drain's scale-in is not made.
            if self.targets[i].hold.is_some() {
                self.end_drain(i, DrainState::Cancelled, now);
                continue;
            }
            let Some(current) = self
                .formation(&self.targets[i].target.process)
                .map(|f| self.current(i, f))
            else {
                continue;
            };
            let state = match end {
                DrainEnd::Done => DrainState::Done,
                DrainEnd::Timeout { .. } => DrainState::Timeout,
            };
            self.end_drain(i, state, now);
            if drain.change.to < current {
                scales.push(Change {
                    from: current,
                    ..drain.change
                });
            }
        }
        if scales.is_empty() {
            return;
        }
        let real: Vec<&Change> = scales
            .iter()
            .filter(|c| !self.simulated(c.index, now))
            .collect();
        let result: Result<Vec<Formation>, ApiError> = match real.as_slice() {
            [] => Ok(Vec::new()),
            [c] => {
                let process = self.targets[c.index].target.process.clone();
                self.client
                    .scale(&self.app, &process, c.to, c.size())
                    .await
                    .map(|f| vec![f])
            }
            many => {
                let updates: Vec<Update> = many
                    .iter()
                    .map(|c| Update {
                        process: self.targets[c.index].target.process.clone(),
                        quantity: c.to,
                        size: c.size().map(crate::size::Size::name),
                    })
                    .collect();
                self.client.scale_batch(&self.app, &updates).await
            }
        };
        for c in scales {
            let (i, to) = (c.index, c.to);
            let edge_at = self.targets[i].target.floor(now).map(|e| e.at);
            if self.simulated(i, now) {
                let t = &mut self.targets[i];
                t.virtual_quantity = Some(to);
                let result = if t.target.dry_run {
                    ScaleResult::DryRun
                } else {
                    ScaleResult::Paused
                };
                self.scaled(&c, edge_at, result);
                continue;
            }
            match &result {
                Ok(updated) => {
                    let process = self.targets[i].target.process.clone();
                    let set = updated.iter().find(|f| f.process == process).cloned();
                    if let Some(f) = set {
                        self.targets[i].known = Some(Known {
                            quantity: f.quantity,
                            updated_at: f.updated_at.clone(),
                        });
                        self.update_cache(f);
                    }
                    self.targets[i].said.rejection = None;
                    self.preboot_since = None;
                    self.scaled(&c, edge_at, ScaleResult::Ok);
                }
                Err(e) => self.scale_failed(&c, e),
            }
        }
    }

    pub(super) fn scaled(
        &mut self,
        change: &Change,
        edge_at: Option<DateTime<Utc>>,
        result: ScaleResult,
    ) {
        let Change {
            index,
            from,
            to,
            reason,
            decision: d,
        } = *change;
        let now = self.clock.now();
        let t = &mut self.targets[index];
        t.streaks.scaled();
        t.calm.clear();
        t.said.skip = None;
        if d.handles_edge {
            t.edge_handled = edge_at;
        }
        if d.ends_hold {
            end_hold(t, "unhealthy", &self.history, now);
        }
        say_scale(
            &self.history,
            &t.target,
            now,
            change,
            result,
            None,
            Level::INFO,
        );
        let kind = if reason.is_scale_out() {
            Kind::ScaleOut
        } else {
            Kind::Scale
        };
        let mut notice = Notice {
            reason: reason.to_string(),
            from: Some(from),
            to: Some(to),
            dry_run: t.target.dry_run,
            ..Notice::new(kind, &t.target.app, &t.target.process)
        };
        if kind == Kind::ScaleOut {
            if let Some(trouble) = &mut t.trouble {
                trouble.alerted = true;
            }
            if let Some(p) = &t.last_probe {
                notice.status = p.status.map(|s| s.to_string()).unwrap_or_default();
                notice.latency_ms = Some(p.latency_ms() as u64);
                notice.message = p.error.clone();
            }
            // It was a deploy, and it stayed unhealthy past the grace: say so.
            let release = self.release.as_ref().and_then(|r| r.latest.as_ref());
            if let (Some(r), Some(said)) = (release, t.said.deploy) {
                if r.version == said {
                    notice.message = format!(
                        "{} — after release v{} ({}, created {}), still unhealthy past the deploy grace of {}",
                        notice.message,
                        r.version,
                        r.description,
                        r.created_at,
                        humantime::format_duration(t.target.deploy_grace)
                    );
                }
            }
        }
        self.notifier.notify(notice);
    }

    pub(super) fn scale_failed(&mut self, change: &Change, e: &ApiError) {
        let Change {
            index,
            from,
            to,
            reason,
            ..
        } = *change;
        let t = &mut self.targets[index];
        let (app, process) = (t.target.app.clone(), t.target.process.clone());
        if e.is_cancelled() {
            // The shutdown stopped it: nothing failed, nobody is told.
            say_scale(
                &self.history,
                &t.target,
                self.clock.now(),
                change,
                ScaleResult::Cancelled,
                None,
                Level::INFO,
            );
            return;
        }
        // During preboot Heroku refuses formation changes for a while: asked again every 15 s
        // (for at most 5 minutes) instead of at the next round.
        if e.status() == Some(422) && e.message().contains(PREBOOT_REFUSAL) {
            let since = *self.preboot_since.get_or_insert_with(Instant::now);
            if since.elapsed() < PREBOOT_PATIENCE {
                self.retry_at = Some(Instant::now() + PREBOOT_RETRY);
            }
        }
        let t = &mut self.targets[index];
        // Heroku refusing the same thing again (e.g. Eco dynos cannot go above 1) is logged
        // once per change of message, not at every round.
        let repeated = e.status() == Some(422) && t.said.rejection.as_deref() == Some(e.message());
        if e.status() == Some(422) {
            t.said.rejection = Some(e.message().to_owned());
        }
        let level = if repeated { Level::DEBUG } else { Level::ERROR };
        e.log(level);
        let status = e.status().map(|s| s.to_string()).unwrap_or_default();
        let message = e.message();
        say_scale(
            &self.history,
            &t.target,
            self.clock.now(),
            change,
            ScaleResult::Error,
            Some((status.clone(), message.to_owned())),
            level,
        );
        if !repeated {
            self.notifier.notify(Notice {
                reason: reason.to_string(),
                from: Some(from),
                to: Some(to),
                status,
                message: message.to_owned(),
                dry_run: t.target.dry_run,
                ..Notice::new(Kind::ScaleFailed, &app, &process)
            });
        }
    }
}
