//! What a round learns from its inputs: every check and traffic minute is counted into the
//! target's streaks and logged; the traffic's needs are kept for scaling on load.

use super::*;

/// One check as a round counts it: a probe (with every outcome that arrived since the last
/// round, and how late its slot was), or a minute of traffic judged as a check.
pub(super) struct Check<'a> {
    pub(super) probe: Probe,
    pub(super) outcomes: &'a [Outcome],
    pub(super) source: ProbeSource,
    pub(super) late_ms: u64,
}

impl AppLoop {
    /// Counts a target's checks and traffic minutes into its streaks, logs each, tracks trouble
    /// for alerts, and keeps the traffic's needs for scaling on load.
    pub(super) fn record_checks(
        &mut self,
        index: usize,
        pending: Pending,
        current: Option<u32>,
        now: DateTime<Utc>,
    ) {
        let Pending {
            outcomes,
            latest,
            minutes,
            queue: _,
        } = pending;
        if let Some((probe, late_ms)) = latest {
            let check = Check {
                probe,
                outcomes: &outcomes,
                source: ProbeSource::Probe,
                late_ms,
            };
            self.record(index, check, current, now);
        }
        for minute in minutes {
            let t = &mut self.targets[index];
            let settings = t.target.traffic;
            if let Some(c) = settings.concurrency {
                let desired = crate::policy::dynos_for(minute.busy, c, settings.utilization);
                if t.load.len() >= LOAD_WINDOW {
                    t.load.pop_front();
                }
                t.load.push_back((minute.minute, desired));
            }
            let check = crate::policy::traffic_check(
                &minute,
                settings.error_rate,
                t.target.check.slow,
                t.target.check.fast,
            );
            if let Some(probe) = check {
                let outcome = [probe.outcome];
                let check = Check {
                    probe,
                    outcomes: &outcome,
                    source: ProbeSource::Traffic,
                    late_ms: 0,
                };
                self.record(index, check, current, now);
            }
        }
    }

    /// The stream closed minutes up to `state`'s: each target scaling on load counts their
    /// needs (a minute without a line needed nothing) towards its calm.
    pub(super) fn minutes_closed(&mut self, state: TrafficState) {
        let TrafficState::Through(through) = state else {
            return;
        };
        let from = match self.traffic {
            TrafficState::Through(before) if before < through => (before
                + chrono::Duration::minutes(1))
            .max(through - chrono::Duration::minutes(LOAD_WINDOW as i64 - 1)),
            TrafficState::Through(_) => return,
            TrafficState::Away => through,
        };
        for t in &mut self.targets {
            if t.target.traffic.concurrency.is_none() {
                continue;
            }
            let mut minute = from;
            while minute <= through {
                let need = t
                    .load
                    .iter()
                    .rev()
                    .find(|(m, _)| *m == minute)
                    .map_or(0, |&(_, d)| d);
                if t.calm.len() >= LOAD_WINDOW {
                    t.calm.pop_front();
                }
                t.calm.push_back(need);
                minute += chrono::Duration::minutes(1);
            }
        }
    }

    /// What the traffic asks for now: the latest closed minute's need, and what a calm
    /// scale-in may go down to (the most the last SCALE_IN_AFTER minutes needed, when every one
    /// needed less than runs; a minute without a line needed nothing). None without
    /// CONCURRENCY, or while the stream is away: the schedule and the checks decide alone then.
    pub(super) fn load(&self, index: usize, current: u32) -> Option<Load> {
        let t = &self.targets[index];
        // A worker scales on its queue: what its latest read asks for, or — nothing known —
        // what runs (nothing is scaled in on missing data).
        if t.target.queue.is_some() {
            return Some(t.queue.load.unwrap_or(Load {
                desired: 0,
                recent: current,
                scale_in_to: None,
                reason: Reason::Queue,
            }));
        }
        t.target.traffic.concurrency?;
        let TrafficState::Through(latest) = self.traffic else {
            return None;
        };
        let need = |minute: DateTime<Utc>| {
            t.load
                .iter()
                .rev()
                .find(|(m, _)| *m == minute)
                .map_or(0, |&(_, d)| d)
        };
        let desired = need(latest);
        let n = i64::from(t.target.thresholds.scale_in_after.unwrap_or(3));
        let recent = (0..n)
            .map(|k| need(latest - chrono::Duration::minutes(k)))
            .max()
            .unwrap_or(desired);
        let scale_in_to = t.target.thresholds.scale_in_after.and_then(|n| {
            let n = n as usize;
            (t.calm.len() >= n && t.calm.iter().rev().take(n).all(|d| *d < current))
                .then(|| t.calm.iter().rev().take(n).copied().max().unwrap_or(0))
        });
        Some(Load {
            desired,
            recent,
            scale_in_to,
            reason: Reason::Load,
        })
    }

    /// One check (a probe, or a minute of traffic) of a target.
    pub(super) fn record(
        &mut self,
        index: usize,
        check: Check<'_>,
        current: Option<u32>,
        now: DateTime<Utc>,
    ) {
        let grace = self
            .in_deploy_grace(&self.targets[index].target, now)
            .map(|(r, until)| (r.version, until));
        let t = &mut self.targets[index];
        let floor = t.target.floor(now).map(|e| e.quantity);
        log_probe(&t.target, &check, current, floor);
        let Check {
            probe,
            outcomes,
            source,
            ..
        } = check;
        self.history.record(ProbeRow {
            app: t.target.app.clone(),
            process: t.target.process.clone(),
            at: now,
            source,
            outcome: probe.outcome,
            status: probe.status.map(u32::from),
            latency_ms: Some(u32::try_from(probe.latency_ms()).unwrap_or(u32::MAX)),
        });
        if let (Some((version, until)), true) = (grace, probe.outcome.is_unhealthy()) {
            // A deploy or restart is starting: its errors are not an outage (yet).
            if t.said.deploy != Some(version) {
                t.said.deploy = Some(version);
                HoldNews {
                    target: &t.target,
                    reason: HoldReason::Deploy,
                    quantity: Some(current.unwrap_or(0)),
                    kept: current.unwrap_or(0),
                    until: Some(until),
                    release: Some(version),
                }
                .started(&self.history, now);
            }
            log_skip(&t.target, Skip::Deploy, current.unwrap_or(0), Wake::Check);
            t.last_probe = Some(probe);
            return;
        }
        for outcome in outcomes {
            t.streaks.record(*outcome);
        }
        // Quiet minutes while the app fails are no calm: it is counted again from here.
        if outcomes.iter().any(|o| o.is_unhealthy()) {
            t.calm.clear();
        }
        self.track_trouble(index, &probe, current, floor, now);
        self.targets[index].last_probe = Some(probe);
    }
}
