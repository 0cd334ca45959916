//! Apply: one loop per app, level-triggered, the only owner of its targets' state.
//!
//! ```text
//! edges (cron one-shots) ─┐
//! check results ──────────┼─► Inbox (latest wins) ─► AppLoop::round
//! read timer (budget) ────┘        observe: the formation list, cached by ETag, re-read
//!                                           when the budget allows and before any PATCH
//!                                  decide:  policy::decide for every target
//!                                  apply:   one PATCH for what differs (batch for several)
//! ```
//!
//! Inputs never queue: a check result that arrives while a round is busy is merged into the
//! target's slot (its outcome counted, its details replacing the older ones), so nothing stale
//! is acted on late and a slow API cannot delay a scale-out by more than one round.
//! Every round answers "what should every target run now?", so a lost edge, a failed PATCH or a
//! restart cannot leave a wrong quantity standing; a quantity someone set by hand is the
//! exception, kept for `AUTOSCALE_MANUAL_HOLD`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Level;

use crate::budget::Budget;
use crate::clock::Clock;
use crate::config::{CheckUrl, Target};
use crate::heroku::{ApiError, Client, Formation, Listing, Release, Update};
use crate::history::{HistoryHandle, HoldReason, HoldRow, ProbeRow, ProbeSource, ScaleRow};
use crate::notify::{Kind, Notice, Notifier, STILL_UNHEALTHY_AFTER};
use crate::policy::{decide, Action, Decision, Hold, Load, Reason, Skip, Streaks, View};
use crate::probe::{Outcome, Probe};
use crate::traffic::minute::Minute;

mod alerts;
mod apply;
mod formation;
mod holds;
mod inbox;
mod output;
mod queue;
mod record;
mod target;

use formation::{Cache, ReleaseCache};
use holds::end_hold;
pub use inbox::{AppHandle, Inbox, QueueNews, StoppingNews, TrafficState};
use inbox::{Pending, Taken};
use output::{log_probe, log_skip, say_scale, HoldNews};
use target::{Known, TargetState, Trouble, LOAD_WINDOW};

/// Outcomes kept per target between two rounds (more are merged into the counts' tail).
const PENDING_OUTCOMES: usize = 64;
/// A plain read (no If-None-Match) every so many reads: a stale 304 was once reported on list
/// endpoints (heroku/platform-api#73).
const PLAIN_READ_EVERY: u32 = 20;
/// The latest release is read at most this often: a deploy is still seen within the grace, and
/// an app failing every second for an hour costs 120 calls, not 3,600.
const RELEASE_REREAD: chrono::TimeDelta = chrono::TimeDelta::seconds(30);
/// Heroku refuses formation changes while a preboot release is starting: asked again this often,
/// for at most PREBOOT_PATIENCE, instead of waiting for the next round.
const PREBOOT_RETRY: Duration = Duration::from_secs(15);
const PREBOOT_PATIENCE: Duration = Duration::from_secs(300);
/// What Heroku says then.
const PREBOOT_REFUSAL: &str = "preboot";

/// Why a round runs: the `trigger=` of a skip line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    Startup,
    Edge,
    Check,
    Read,
    HoldEnd,
    /// Heroku refused a PATCH during preboot: asked again 15 s later.
    Retry,
}

impl Wake {
    fn as_str(self) -> &'static str {
        match self {
            Wake::Startup => "startup",
            Wake::Edge => "schedule",
            Wake::Check => "check",
            Wake::Read => "read",
            Wake::HoldEnd => "hold_end",
            Wake::Retry => "retry",
        }
    }
}

/// The loop of one app.
pub struct AppLoop {
    app: String,
    targets: Vec<TargetState>,
    client: Client,
    notifier: Notifier,
    budget: Arc<Budget>,
    clock: Clock,
    inbox: Arc<Inbox>,
    cache: Option<Cache>,
    /// The shortest check interval of the app's targets: one read per round when the budget
    /// allows.
    round: Duration,
    /// Where in its read interval this app's first periodic read falls (0..1): apps started
    /// together do not all read at the same instant ever after.
    read_phase: f64,
    /// A periodic read happened since startup.
    settled: bool,
    /// The traffic stream's state, as it last said.
    traffic: TrafficState,
    /// The app's latest release, as last read (only read when a check looks wrong), and when.
    release: Option<ReleaseCache>,
    release_read_at: Option<DateTime<Utc>>,
    /// When to try a refused PATCH again (preboot), and since when it is refused.
    retry_at: Option<Instant>,
    preboot_since: Option<Instant>,
    /// Where probes, scales and holds are kept (off unless [`AppLoop::set_history`]).
    history: HistoryHandle,
}

/// A startup refusal no retry can fix (a bad token): the daemon exits 1.
#[derive(Debug)]
pub struct Refused(pub ApiError);

impl AppLoop {
    /// The loop for `targets`, which must all be of one app.
    pub fn new(
        targets: Vec<Target>,
        client: Client,
        notifier: Notifier,
        budget: Arc<Budget>,
        clock: Clock,
    ) -> AppLoop {
        let app = targets.first().map(|t| t.app.clone()).unwrap_or_default();
        let round = round_of(&targets);
        let traffic = targets
            .iter()
            .map(|t| t.traffic.on.then(|| t.process.clone()))
            .collect();
        AppLoop {
            app,
            targets: targets.into_iter().map(TargetState::new).collect(),
            client,
            notifier,
            budget,
            clock,
            inbox: Arc::new(Inbox::new(traffic)),
            cache: None,
            round,
            read_phase: 1.0,
            settled: false,
            traffic: TrafficState::Away,
            release: None,
            release_read_at: None,
            retry_at: None,
            preboot_since: None,
            history: HistoryHandle::off(),
        }
    }

    /// Keeps this app's probes, scales and holds in the history (only queued: the loop never
    /// waits for the database).
    pub fn set_history(&mut self, history: HistoryHandle) {
        self.history = history;
    }

    /// Spreads this app's periodic reads: the first comes after `phase` (0..1) of the read
    /// interval, the next ones a whole interval apart.
    pub fn set_read_phase(&mut self, phase: f64) {
        if phase.is_finite() {
            self.read_phase = phase.clamp(0.05, 1.0);
        }
    }

    pub fn app(&self) -> &str {
        &self.app
    }

    pub fn handle(&self) -> AppHandle {
        AppHandle {
            inbox: self.inbox.clone(),
        }
    }

    /// Whether every target of the app is disabled (unknown app or processes).
    pub fn all_disabled(&self) -> bool {
        self.targets.iter().all(|t| t.disabled.is_some())
    }

    /// Disables every target of the app (it does not exist, or the token may not see it).
    pub fn disable_all(&mut self, e: &ApiError) {
        for i in 0..self.targets.len() {
            self.disable(i, e.status(), e.message());
        }
    }

    /// The first round: reads the formations and brings every target to where it should be.
    /// Only a bad token (401) is returned: it is the same for every app, nothing can work.
    pub async fn startup(&mut self) -> Result<(), Refused> {
        match self.read(true).await {
            Err(e) if e.status() == Some(401) => return Err(Refused(e)),
            _ => {}
        }
        self.round_with(Wake::Startup, Taken::default()).await;
        Ok(())
    }

    /// Runs rounds until `cancel`: on every input, when the budget's read interval passes, and
    /// when a hold ends. A round in progress (a PATCH in flight) is always finished first.
    pub async fn run(mut self, cancel: CancellationToken) {
        loop {
            // Nothing left to look after (the app or its processes do not exist): no more
            // calls for it.
            if self.all_disabled() {
                return;
            }
            let read_due = self.next_read();
            let hold_end = self
                .targets
                .iter()
                .filter_map(|t| t.hold.map(|h| h.until))
                .min()
                .map(|at| self.clock.instant_of(at));
            let pause_end = self
                .targets
                .iter()
                .filter_map(|t| match t.target.pause {
                    Some(crate::config::Pause::Until(at)) if t.said.paused => Some(at),
                    _ => None,
                })
                .min();
            let hold_end = match (hold_end, pause_end.map(|at| self.clock.instant_of(at))) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let retry = self.retry_at;
            let wake = tokio::select! {
                biased;
                _ = cancel.cancelled() => {
                    // A worker's queue minute under way is said as far as it got.
                    for i in 0..self.targets.len() {
                        self.close_queue_minute(i);
                    }
                    return;
                }
                _ = self.inbox.notify.notified() => Wake::Check,
                _ = sleep_until(retry) => Wake::Retry,
                _ = sleep_until(hold_end) => Wake::HoldEnd,
                _ = tokio::time::sleep_until(read_due) => Wake::Read,
            };
            if wake == Wake::Retry {
                self.retry_at = None;
            }
            let taken = self.inbox.take();
            let wake = if taken.edge { Wake::Edge } else { wake };
            let stale = match self.cache.as_ref() {
                None => true,
                Some(_) if wake == Wake::Read => true,
                Some(c) => c.read_at + self.read_interval().mul_f64(0.9) <= Instant::now(),
            };
            if wake == Wake::Read {
                self.settled = true;
            }
            if stale || matches!(wake, Wake::Edge | Wake::Retry) {
                let _ = self.read(false).await;
            }
            self.round_with(wake, Taken::from(taken)).await;
            self.inbox.rounds.fetch_add(1, Ordering::SeqCst);
            self.inbox.round_done.notify_waiters();
        }
    }

    fn read_interval(&self) -> Duration {
        self.budget.read_interval(self.round)
    }

    fn next_read(&self) -> Instant {
        match &self.cache {
            Some(c) if !self.settled => c.read_at + self.read_interval().mul_f64(self.read_phase),
            Some(c) => c.read_at + self.read_interval(),
            None => Instant::now() + Duration::from_secs(1).min(self.round),
        }
    }

    /// One round over every target.
    async fn round_with(&mut self, wake: Wake, taken: Taken) {
        let now = self.clock.now();
        self.end_holds(now);
        let mut checks = taken.checks;
        checks.resize_with(self.targets.len(), Pending::default);
        // The release matters only where an unhealthy check could scale out (below the
        // maximum): at the maximum, or healthy, it changes nothing and costs a call.
        let looks_wrong = checks.iter().zip(&self.targets).any(|(p, t)| {
            !t.target.deploy_grace.is_zero()
                && p.latest
                    .as_ref()
                    .is_some_and(|(probe, _)| probe.outcome.is_unhealthy())
                && self
                    .formation(&t.target.process)
                    .is_none_or(|f| f.quantity < t.target.thresholds.max)
        });
        let due = self
            .release_read_at
            .is_none_or(|at| now - at >= RELEASE_REREAD);
        if looks_wrong && due {
            self.release_read_at = Some(now);
            self.read_release().await;
        }
        // Observe: what runs, what was set by someone else, what the checks said.
        for (i, pending) in checks.into_iter().enumerate() {
            if self.targets[i].disabled.is_some() {
                continue;
            }
            let Some(formation) = self.formation(&self.targets[i].target.process).cloned() else {
                if self.cache.is_some() {
                    let process = self.targets[i].target.process.clone();
                    self.disable(
                        i,
                        Some(404),
                        &format!("the app has no {process:?} process type"),
                    );
                }
                // Without a formation the checks are still logged and alerted.
                self.record_checks(i, pending, None, now);
                continue;
            };
            self.observe(i, &formation, now);
            let mut pending = pending;
            if let Some(news) = pending.queue.take() {
                self.queue_news(i, news, self.current(i, &formation), now);
            }
            self.record_checks(i, pending, Some(self.current(i, &formation)), now);
        }
        // Minutes the stream closed count once their figures (recorded above) are in.
        if let Some(traffic) = taken.traffic {
            self.minutes_closed(traffic);
            self.traffic = traffic;
        }
        if self.cache.is_none() {
            return;
        }
        let mut decisions = self.decide_all(now, wake);
        let wants_patch = decisions
            .iter()
            .any(|(i, d)| matches!(d.action, Action::Scale { .. }) && !self.simulated(*i, now))
            || (0..self.targets.len()).any(|i| self.drain_ready(i, now).is_some());
        // Always read before a PATCH: the decision is made again on what runs now.
        let fresh = self
            .cache
            .as_ref()
            .is_some_and(|c| c.read_at.elapsed() < Duration::from_secs(1));
        if wants_patch && !fresh {
            if self.read(false).await.is_err() {
                return;
            }
            for i in 0..self.targets.len() {
                if let Some(f) = self.formation(&self.targets[i].target.process).cloned() {
                    self.observe(i, &f, now);
                }
            }
            decisions = self.decide_all(now, wake);
        }
        self.apply(decisions, now, wake).await;
    }

    /// The quantity the target runs, as far as its decisions go (a dry run decides from what
    /// it would have set).
    fn current(&self, index: usize, formation: &Formation) -> u32 {
        self.targets[index]
            .virtual_quantity
            .unwrap_or(formation.quantity)
    }

    /// Decided and logged but not sent: a dry run, or a pause in force.
    fn simulated(&self, index: usize, now: DateTime<Utc>) -> bool {
        let t = &self.targets[index].target;
        t.dry_run || t.pause.is_some_and(|p| p.covers(now))
    }

    fn decide_all(&self, now: DateTime<Utc>, wake: Wake) -> Vec<(usize, Decision)> {
        let mut out = Vec::new();
        for (i, t) in self.targets.iter().enumerate() {
            if t.disabled.is_some() {
                continue;
            }
            let Some(formation) = self.formation(&t.target.process) else {
                continue;
            };
            let latest = t.target.floor(now);
            let current = self.current(i, formation);
            // Only an edge changes a size, and only when the formation runs another one.
            let size = latest
                .and_then(|e| e.size)
                .filter(|s| !s.is(&formation.size));
            let view = View {
                current,
                floor: latest.map(|e| e.quantity),
                edge_pending: latest.is_some_and(|e| t.edge_handled != Some(e.at)),
                streaks: &t.streaks,
                limits: &t.target.thresholds,
                checks_on: t.checks_on && !self.inbox.checks_off[i].load(Ordering::Relaxed),
                startup: wake == Wake::Startup,
                hold: t.hold,
                load: self.load(i, current),
                size,
            };
            out.push((i, decide(&view)));
        }
        out
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The shortest check interval of the targets (checks off count at their interval too: the
/// floor is held that often).
pub fn round_of(targets: &[Target]) -> Duration {
    targets
        .iter()
        .map(|t| t.check.interval)
        .min()
        .unwrap_or(Duration::from_secs(180))
}
