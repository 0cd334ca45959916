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

/// A check's result waiting for the next round.
#[derive(Debug, Default)]
struct Pending {
    /// Outcomes in order, oldest first (counted into the streaks).
    outcomes: Vec<Outcome>,
    /// The latest probe, with its details (what the probe line and alerts show).
    latest: Option<(Probe, u64)>,
    /// Finished minutes of traffic, oldest first (a few at most: a round takes them all).
    minutes: Vec<Minute>,
}

/// Traffic minutes kept per target between two rounds.
const PENDING_MINUTES: usize = 16;

#[derive(Debug, Default)]
struct InboxState {
    checks: Vec<Pending>,
    edge: bool,
    /// The traffic stream's state: connected (and the latest minute it closed), or away.
    traffic: Option<TrafficState>,
}

/// What the app's traffic stream last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrafficState {
    /// Connected; every minute up to this one (its start) is closed: a minute without a line
    /// had no traffic.
    Through(DateTime<Utc>),
    /// Lost or off: missing minutes say nothing.
    Away,
}

/// What wakes an app's loop. Senders never wait; the loop takes everything at once.
#[derive(Debug)]
pub struct Inbox {
    state: Mutex<InboxState>,
    notify: Notify,
    /// Set by a check task that found its URL unusable (a null or non-http web_url).
    checks_off: Vec<AtomicBool>,
    /// Each target's process when it reads traffic (router lines are per process).
    traffic: Vec<Option<String>>,
    /// Rounds finished, for callers that drive the loop step by step (replay, tests).
    rounds: std::sync::atomic::AtomicU64,
    round_done: Notify,
}

impl Inbox {
    fn new(traffic: Vec<Option<String>>) -> Inbox {
        let targets = traffic.len();
        Inbox {
            state: Mutex::new(InboxState {
                checks: (0..targets).map(|_| Pending::default()).collect(),
                edge: false,
                traffic: None,
            }),
            notify: Notify::new(),
            checks_off: (0..targets).map(|_| AtomicBool::new(false)).collect(),
            traffic,
            rounds: std::sync::atomic::AtomicU64::new(0),
            round_done: Notify::new(),
        }
    }

    fn take(&self) -> InboxState {
        let mut state = self.state.lock().expect("inbox lock");
        let targets = state.checks.len();
        std::mem::replace(
            &mut *state,
            InboxState {
                checks: (0..targets).map(|_| Pending::default()).collect(),
                edge: false,
                traffic: None,
            },
        )
    }
}

/// The handle checks and edges use to reach an app's loop. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppHandle {
    inbox: Arc<Inbox>,
}

impl AppHandle {
    /// A check of target `index` finished, `late_ms` after its slot.
    pub fn check(&self, index: usize, probe: Probe, late_ms: u64) {
        {
            let mut state = self.inbox.state.lock().expect("inbox lock");
            let Some(slot) = state.checks.get_mut(index) else {
                return;
            };
            if slot.outcomes.len() >= PENDING_OUTCOMES {
                slot.outcomes.remove(0);
            }
            slot.outcomes.push(probe.outcome);
            slot.latest = Some((probe, late_ms));
        }
        self.inbox.notify.notify_one();
    }

    /// A minute of the app's traffic finished; it goes to the target of its process.
    pub fn traffic(&self, minute: Minute) {
        let Some(index) = self
            .inbox
            .traffic
            .iter()
            .position(|p| p.as_deref() == Some(minute.process.as_str()))
        else {
            return;
        };
        {
            let mut state = self.inbox.state.lock().expect("inbox lock");
            let slot = &mut state.checks[index];
            if slot.minutes.len() >= PENDING_MINUTES {
                slot.minutes.remove(0);
            }
            slot.minutes.push(minute);
        }
        self.inbox.notify.notify_one();
    }

    /// The traffic stream's state changed: minutes up to `through` are closed, or it is away.
    pub fn traffic_state(&self, state: TrafficState) {
        self.inbox.state.lock().expect("inbox lock").traffic = Some(state);
        self.inbox.notify.notify_one();
    }

    /// Target `index` has no checks after all (its web_url is null or not http).
    pub fn checks_off(&self, index: usize) {
        if let Some(flag) = self.inbox.checks_off.get(index) {
            flag.store(true, Ordering::Relaxed);
        }
    }

    /// Rounds the loop has finished so far.
    pub fn rounds(&self) -> u64 {
        self.inbox.rounds.load(Ordering::SeqCst)
    }

    /// Waits until the loop has finished more than `after` rounds.
    pub async fn round_after(&self, after: u64) {
        loop {
            let notified = self.inbox.round_done.notified();
            if self.rounds() > after {
                return;
            }
            notified.await;
        }
    }

    /// A schedule edge fired.
    pub fn edge(&self) {
        self.inbox.state.lock().expect("inbox lock").edge = true;
        self.inbox.notify.notify_one();
    }
}

/// An outage as the checks see it.
#[derive(Debug, Clone, Copy)]
struct Trouble {
    since: DateTime<Utc>,
    checks: u32,
    /// Unhealthy checks while already at the maximum: scaling out did not help.
    at_max: u32,
    /// Whether a human was told about this outage (a recovery is news only then).
    alerted: bool,
}

/// The formation state last seen or set: a different one on a later read was set by someone
/// else.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Known {
    quantity: u32,
    updated_at: String,
}

/// One target's memory.
#[derive(Debug)]
struct TargetState {
    target: Target,
    streaks: Streaks,
    trouble: Option<Trouble>,
    last_probe: Option<Probe>,
    /// Heroku's last 422 message: the same refusal is logged once, not at every round.
    last_rejection: Option<String>,
    /// The instant of the latest schedule edge already handled.
    edge_handled: Option<DateTime<Utc>>,
    known: Option<Known>,
    hold: Option<Hold>,
    /// In a dry run, the quantity the daemon would have set: it decides from there, as if.
    virtual_quantity: Option<u32>,
    /// Why the target was disabled (its app or process does not exist).
    disabled: Option<String>,
    /// The last skip logged (reason, current): the same skip is not repeated every round.
    last_skip: Option<(Skip, u32)>,
    /// Whether checks run (a URL is known or pending).
    checks_on: bool,
    /// The pause was said (hold reason=pause); cleared when it ends.
    paused: bool,
    /// The release whose grace was said (hold reason=deploy), by version.
    deploy_said: Option<u64>,
    /// The traffic's need of its latest minutes (minute, dynos), newest last.
    load: std::collections::VecDeque<(DateTime<Utc>, u32)>,
    /// The needs of the minutes closed since the last scale, newest last: a calm scale-in on
    /// load counts only these.
    calm: std::collections::VecDeque<u32>,
}

/// Minutes of traffic needs kept per target (a calm scale-in looks at SCALE_IN_AFTER of them).
const LOAD_WINDOW: usize = 64;

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

/// The formation list as last read.
#[derive(Debug)]
struct Cache {
    list: Vec<Formation>,
    etag: Option<String>,
    read_at: Instant,
    reads_since_plain: u32,
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

/// The latest release, cached by ETag.
#[derive(Debug)]
struct ReleaseCache {
    latest: Option<Release>,
    etag: Option<String>,
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
            targets: targets
                .into_iter()
                .map(|target| TargetState {
                    checks_on: target.check.url != CheckUrl::Off,
                    target,
                    streaks: Streaks::default(),
                    trouble: None,
                    last_probe: None,
                    last_rejection: None,
                    edge_handled: None,
                    known: None,
                    hold: None,
                    virtual_quantity: None,
                    disabled: None,
                    last_skip: None,
                    paused: false,
                    deploy_said: None,
                    load: std::collections::VecDeque::new(),
                    calm: std::collections::VecDeque::new(),
                })
                .collect(),
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
                    Some(crate::config::Pause::Until(at)) if t.paused => Some(at),
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
                _ = cancel.cancelled() => return,
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

    /// Reads the formation list (with the ETag unless `plain`). Errors are logged and told:
    /// 403/404 disable the app's targets; others keep the cache for the next round.
    async fn read(&mut self, plain: bool) -> Result<(), ApiError> {
        let plain = plain
            || self
                .cache
                .as_ref()
                .is_none_or(|c| c.reads_since_plain + 1 >= PLAIN_READ_EVERY);
        let etag = if plain {
            None
        } else {
            self.cache.as_ref().and_then(|c| c.etag.clone())
        };
        match self.client.formations(&self.app, etag.as_deref()).await {
            Ok(Listing::Fresh { list, etag }) => {
                let reads = if plain {
                    0
                } else {
                    self.cache.as_ref().map_or(0, |c| c.reads_since_plain + 1)
                };
                self.cache = Some(Cache {
                    list,
                    etag,
                    read_at: Instant::now(),
                    reads_since_plain: reads,
                });
                Ok(())
            }
            Ok(Listing::NotModified) => {
                if let Some(c) = self.cache.as_mut() {
                    c.read_at = Instant::now();
                    c.reads_since_plain += 1;
                }
                Ok(())
            }
            Err(e) => {
                if matches!(e.status(), Some(403 | 404)) {
                    self.disable_all(&e);
                } else if e.is_cancelled() {
                    e.log(Level::INFO);
                } else {
                    e.log(Level::ERROR);
                    for i in 0..self.targets.len() {
                        self.api_failed(i, &e);
                    }
                }
                Err(e)
            }
        }
    }

    fn disable(&mut self, index: usize, status: Option<u16>, message: &str) {
        let t = &mut self.targets[index];
        if t.disabled.is_some() {
            return;
        }
        t.disabled = Some(message.to_owned());
        let (app, process) = (t.target.app.clone(), t.target.process.clone());
        tracing::error!(
            event = "target_disabled",
            app = %app,
            process = %process,
            status = status.map(|s| s.to_string()).unwrap_or_default(),
            message,
            "this target is not scaled any more; the others go on (heroku ps -a {app} lists the process types)"
        );
        self.notifier.notify(Notice {
            status: status.map(|s| s.to_string()).unwrap_or_default(),
            message: format!(
                "{message} — autoscale stopped scaling {app} {process}; check AUTOSCALE_APP / the target's app and process"
            ),
            ..Notice::new(Kind::ApiFailed, &app, &process)
        });
    }

    /// Nothing can be scaled (the read failed after retries): logged, and a human is told.
    fn api_failed(&self, index: usize, e: &ApiError) {
        let t = &self.targets[index];
        if t.disabled.is_some() {
            return;
        }
        self.notifier.notify(Notice {
            status: e.status().map(|s| s.to_string()).unwrap_or_default(),
            message: e.message().to_owned(),
            dry_run: t.target.dry_run,
            ..Notice::new(Kind::ApiFailed, &t.target.app, &t.target.process)
        });
    }

    fn formation(&self, process: &str) -> Option<&Formation> {
        self.cache
            .as_ref()?
            .list
            .iter()
            .find(|f| f.process == process)
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
            .any(|(i, d)| matches!(d.action, Action::Scale { .. }) && !self.simulated(*i, now));
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

    /// Compares a formation with what was last seen or set: a change by someone else starts a
    /// hold. At the first sight, a quantity set after the latest edge was set on purpose.
    fn observe(&mut self, index: usize, formation: &Formation, now: DateTime<Utc>) {
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
        let since = formation.updated().unwrap_or(now);
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
        t.last_skip = None;
        tracing::info!(
            event = "hold",
            app = %t.target.app,
            process = %t.target.process,
            reason = "manual",
            quantity = formation.quantity,
            until = %until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "a quantity set by someone else is kept"
        );
        self.history.record(hold_row(
            &t.target,
            now,
            HoldReason::Manual,
            formation.quantity,
            Some(until),
            false,
        ));
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
    fn end_holds(&mut self, now: DateTime<Utc>) {
        for t in &mut self.targets {
            if t.hold.is_some_and(|h| h.until <= now) {
                end_hold(t, "expired", &self.history, now);
            }
            let pause = t.target.pause.filter(|p| p.covers(now));
            match (pause, t.paused) {
                (Some(p), false) => {
                    t.paused = true;
                    tracing::info!(
                        event = "hold",
                        app = %t.target.app,
                        process = %t.target.process,
                        reason = "pause",
                        until = %p.until_text(),
                        "paused: every decision is logged (result=paused), nothing is sent"
                    );
                    let until = match p {
                        crate::config::Pause::Until(until) => Some(until),
                        crate::config::Pause::Forever => None,
                    };
                    let quantity = t.known.as_ref().map_or(0, |k| k.quantity);
                    self.history.record(hold_row(
                        &t.target,
                        now,
                        HoldReason::Pause,
                        quantity,
                        until,
                        false,
                    ));
                }
                (None, true) => {
                    t.paused = false;
                    // The formation is the truth again; the schedule applies from here.
                    t.virtual_quantity = None;
                    t.edge_handled = None;
                    t.last_skip = None;
                    tracing::info!(
                        event = "hold_end",
                        app = %t.target.app,
                        process = %t.target.process,
                        reason = "pause",
                        why = "expired"
                    );
                    let quantity = t.known.as_ref().map_or(0, |k| k.quantity);
                    self.history.record(hold_row(
                        &t.target,
                        now,
                        HoldReason::Pause,
                        quantity,
                        None,
                        true,
                    ));
                }
                _ => {}
            }
        }
    }

    /// The app's latest release, asked only when a check looks wrong (ETag-cached, so asking
    /// again costs a 304). A failure keeps what was known: it never blocks a scale-out.
    async fn read_release(&mut self) {
        let etag = self.release.as_ref().and_then(|r| r.etag.clone());
        match self.client.latest_release(&self.app, etag.as_deref()).await {
            Ok(Listing::Fresh { list, etag }) => {
                self.release = Some(ReleaseCache {
                    latest: list.into_iter().next(),
                    etag,
                });
            }
            Ok(Listing::NotModified) => {}
            Err(e) => e.log(if e.is_cancelled() {
                Level::INFO
            } else {
                Level::WARN
            }),
        }
    }

    /// The latest release, when it is recent enough that `target`'s unhealthy checks are its
    /// start-up and not an outage: (release, end of the grace).
    fn in_deploy_grace(
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

    /// Counts a target's checks and traffic minutes into its streaks, logs each, tracks trouble
    /// for alerts, and keeps the traffic's needs for scaling on load.
    fn record_checks(
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
        } = pending;
        if let Some((probe, late_ms)) = latest {
            self.record(index, probe, &outcomes, "probe", late_ms, current, now);
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
                self.record(index, probe, &outcome, "traffic", 0, current, now);
            }
        }
    }

    /// The stream closed minutes up to `state`'s: each target scaling on load counts their
    /// needs (a minute without a line needed nothing) towards its calm.
    fn minutes_closed(&mut self, state: TrafficState) {
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
    fn load(&self, index: usize, current: u32) -> Option<Load> {
        let t = &self.targets[index];
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
        })
    }

    /// One check (a probe, or a minute of traffic) of a target.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        index: usize,
        probe: Probe,
        outcomes: &[Outcome],
        source: &'static str,
        late_ms: u64,
        current: Option<u32>,
        now: DateTime<Utc>,
    ) {
        let grace = self
            .in_deploy_grace(&self.targets[index].target, now)
            .map(|(r, until)| (r.version, until));
        let t = &mut self.targets[index];
        let floor = t.target.floor(now).map(|e| e.quantity);
        log_probe(
            &t.target,
            &probe,
            source,
            current,
            floor,
            late_ms,
            outcomes.len(),
        );
        self.history.record(ProbeRow {
            app: t.target.app.clone(),
            process: t.target.process.clone(),
            at: now,
            source: if source == "traffic" {
                ProbeSource::Traffic
            } else {
                ProbeSource::Probe
            },
            outcome: probe.outcome,
            status: probe.status.map(u32::from),
            latency_ms: Some(u32::try_from(probe.latency_ms()).unwrap_or(u32::MAX)),
        });
        if let (Some((version, until)), true) = (grace, probe.outcome.is_unhealthy()) {
            // A deploy or restart is starting: its errors are not an outage (yet).
            if t.deploy_said != Some(version) {
                t.deploy_said = Some(version);
                tracing::info!(
                    event = "hold",
                    app = %t.target.app,
                    process = %t.target.process,
                    reason = "deploy",
                    quantity = current.unwrap_or(0),
                    until = %until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    release = version,
                    "unhealthy checks right after a release do not scale out"
                );
                self.history.record(hold_row(
                    &t.target,
                    now,
                    HoldReason::Deploy,
                    current.unwrap_or(0),
                    Some(until),
                    false,
                ));
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

    /// Alerts for the course of an outage: at max from the start, still unhealthy at max,
    /// recovery.
    fn track_trouble(
        &mut self,
        index: usize,
        probe: &Probe,
        current: Option<u32>,
        floor: Option<u32>,
        now: DateTime<Utc>,
    ) {
        let t = &mut self.targets[index];
        let max = t.target.thresholds.max;
        let base = Notice {
            dry_run: t.target.dry_run,
            reason: probe.outcome.to_string(),
            status: probe.status.map(|s| s.to_string()).unwrap_or_default(),
            latency_ms: Some(probe.latency_ms() as u64),
            ..Notice::new(Kind::Recovered, &t.target.app, &t.target.process)
        };
        if probe.outcome.is_unhealthy() {
            let scale_out_after = t.target.thresholds.scale_out_after;
            let unhealthy = t.streaks.unhealthy;
            let trouble = t.trouble.get_or_insert(Trouble {
                since: now,
                checks: 0,
                at_max: 0,
                alerted: false,
            });
            trouble.checks += 1;
            let at_max = current.is_some_and(|c| c >= max);
            if at_max {
                trouble.at_max += 1;
            }
            // Already at the maximum when the outage counts: nothing to scale out to, so no
            // scale-out alert would come; say so at once.
            let kind = if at_max && unhealthy == scale_out_after {
                Some(Kind::DownAtMax)
            } else if trouble.at_max >= STILL_UNHEALTHY_AFTER {
                Some(Kind::StillUnhealthy)
            } else {
                None
            };
            if let Some(kind) = kind {
                trouble.alerted = true;
                self.notifier.notify(Notice {
                    kind,
                    to: current,
                    message: probe.error.clone(),
                    ..base
                });
            }
        } else if let Some(trouble) = t.trouble.take().filter(|t| t.alerted) {
            let minutes = (now - trouble.since).num_seconds() as f64 / 60.0;
            let calm = match (t.target.thresholds.scale_in_after, floor, current) {
                (Some(n), Some(f), Some(c)) if c > f => {
                    format!(" It runs {c} dynos and returns to the schedule's {f} after {n} fast checks.")
                }
                _ => String::new(),
            };
            self.notifier.notify(Notice {
                from: current,
                message: format!(
                    "The outage lasted {minutes:.1} minutes ({} failed checks).{calm}",
                    trouble.checks
                ),
                ..base
            });
        }
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
            };
            out.push((i, decide(&view)));
        }
        out
    }

    /// Carries the decisions out: logs skips, sends one PATCH for what differs.
    async fn apply(&mut self, decisions: Vec<(usize, Decision)>, now: DateTime<Utc>, wake: Wake) {
        let mut scales: Vec<(usize, u32, u32, Reason, Decision)> = Vec::new();
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
                    let repeat = t.last_skip == Some((skip, current));
                    if d.handles_edge || wake == Wake::Startup || !repeat {
                        log_skip(&t.target, skip, current, wake);
                    }
                    t.last_skip = Some((skip, current));
                }
                Action::Scale { to, reason } => scales.push((i, current, to, reason, d)),
            }
        }
        if scales.is_empty() {
            return;
        }
        let real: Vec<&(usize, u32, u32, Reason, Decision)> = scales
            .iter()
            .filter(|(i, ..)| !self.simulated(*i, now))
            .collect();
        let result: Result<Vec<Formation>, ApiError> = match real.as_slice() {
            [] => Ok(Vec::new()),
            [(i, _, to, ..)] => {
                let process = self.targets[*i].target.process.clone();
                self.client
                    .scale(&self.app, &process, *to)
                    .await
                    .map(|f| vec![f])
            }
            many => {
                let updates: Vec<Update> = many
                    .iter()
                    .map(|(i, _, to, ..)| Update {
                        process: self.targets[*i].target.process.clone(),
                        quantity: *to,
                    })
                    .collect();
                self.client.scale_batch(&self.app, &updates).await
            }
        };
        for (i, from, to, reason, d) in scales {
            let edge_at = self.targets[i].target.floor(now).map(|e| e.at);
            if self.simulated(i, now) {
                let t = &mut self.targets[i];
                t.virtual_quantity = Some(to);
                let result = if t.target.dry_run {
                    "dry_run"
                } else {
                    "paused"
                };
                self.scaled(i, from, to, reason, d, edge_at, result);
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
                    self.targets[i].last_rejection = None;
                    self.preboot_since = None;
                    self.scaled(i, from, to, reason, d, edge_at, "ok");
                }
                Err(e) => self.scale_failed(i, from, to, reason, e),
            }
        }
    }

    fn update_cache(&mut self, formation: Formation) {
        if let Some(c) = self.cache.as_mut() {
            match c.list.iter_mut().find(|f| f.process == formation.process) {
                Some(f) => *f = formation,
                None => c.list.push(formation),
            }
            // The list changed: the old ETag no longer describes it.
            c.etag = None;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn scaled(
        &mut self,
        index: usize,
        from: u32,
        to: u32,
        reason: Reason,
        d: Decision,
        edge_at: Option<DateTime<Utc>>,
        result: &'static str,
    ) {
        let now = self.clock.now();
        let t = &mut self.targets[index];
        t.streaks.scaled();
        t.calm.clear();
        t.last_skip = None;
        if d.handles_edge {
            t.edge_handled = edge_at;
        }
        if d.ends_hold {
            end_hold(t, "unhealthy", &self.history, now);
        }
        self.history
            .record(scale_row(&t.target, now, from, to, reason, result));
        tracing::info!(
            event = "scale",
            app = %t.target.app,
            process = %t.target.process,
            from,
            to,
            reason = reason.as_str(),
            result
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
            if let (Some(r), Some(said)) = (release, t.deploy_said) {
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

    fn scale_failed(&mut self, index: usize, from: u32, to: u32, reason: Reason, e: &ApiError) {
        let t = &mut self.targets[index];
        let (app, process) = (t.target.app.clone(), t.target.process.clone());
        if e.is_cancelled() {
            // The shutdown stopped it: nothing failed, nobody is told.
            tracing::info!(event = "scale", app = %app, process = %process, from, to, reason = reason.as_str(), result = "cancelled");
            self.history.record(scale_row(
                &t.target,
                self.clock.now(),
                from,
                to,
                reason,
                "cancelled",
            ));
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
        let repeated = e.status() == Some(422) && t.last_rejection.as_deref() == Some(e.message());
        if e.status() == Some(422) {
            t.last_rejection = Some(e.message().to_owned());
        }
        let level = if repeated { Level::DEBUG } else { Level::ERROR };
        e.log(level);
        let status = e.status().map(|s| s.to_string()).unwrap_or_default();
        let message = e.message();
        crate::event_at!(level, event = "scale", app = %app, process = %process, from, to, reason = reason.as_str(), result = "error", status = %status, message = %message);
        self.history.record(scale_row(
            &t.target,
            self.clock.now(),
            from,
            to,
            reason,
            "error",
        ));
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

/// What a round took from the inbox.
#[derive(Debug, Default)]
pub(crate) struct Taken {
    checks: Vec<Pending>,
    traffic: Option<TrafficState>,
}

impl From<InboxState> for Taken {
    fn from(state: InboxState) -> Taken {
        Taken {
            checks: state.checks,
            traffic: state.traffic,
        }
    }
}

fn end_hold(t: &mut TargetState, why: &str, history: &HistoryHandle, now: DateTime<Utc>) {
    if let Some(h) = t.hold.take() {
        tracing::info!(
            event = "hold_end",
            app = %t.target.app,
            process = %t.target.process,
            reason = "manual",
            quantity = h.quantity,
            why
        );
        history.record(hold_row(
            &t.target,
            now,
            HoldReason::Manual,
            h.quantity,
            Some(h.until),
            true,
        ));
        // The schedule resumes: its latest edge applies again.
        t.edge_handled = None;
        t.last_skip = None;
    }
}

/// The history's row of an `event=hold` (`ended` false) or `event=hold_end` line.
fn hold_row(
    target: &Target,
    at: DateTime<Utc>,
    reason: HoldReason,
    quantity: u32,
    until: Option<DateTime<Utc>>,
    ended: bool,
) -> HoldRow {
    HoldRow {
        app: target.app.clone(),
        process: target.process.clone(),
        at,
        reason,
        quantity,
        until,
        ended,
    }
}

/// The history's row of an `event=scale` line.
fn scale_row(
    target: &Target,
    at: DateTime<Utc>,
    from: u32,
    to: u32,
    reason: Reason,
    result: &str,
) -> ScaleRow {
    ScaleRow {
        app: target.app.clone(),
        process: target.process.clone(),
        at,
        from,
        to,
        reason: reason.as_str().to_owned(),
        result: result.to_owned(),
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

fn log_skip(target: &Target, skip: Skip, current: u32, wake: Wake) {
    // Nothing fired in the lookback window: worth a warning, the daemon holds nothing.
    let level = if skip == Skip::NoFloor {
        Level::WARN
    } else {
        Level::INFO
    };
    crate::event_at!(
        level,
        event = "scale_skip",
        app = %target.app,
        process = %target.process,
        reason = skip.as_str(),
        current,
        trigger = wake.as_str()
    );
}

/// One `event=probe` line: warn when unhealthy so a log alert can key on the level too.
fn log_probe(
    target: &Target,
    probe: &Probe,
    source: &'static str,
    current: Option<u32>,
    floor: Option<u32>,
    late_ms: u64,
    merged: usize,
) {
    let status = probe.status.map(|s| s.to_string()).unwrap_or_default();
    let current = current.map(|c| c.to_string()).unwrap_or_default();
    let floor = floor.map(|f| f.to_string()).unwrap_or_default();
    let latency_ms = probe.latency_ms() as u64;
    let outcome = probe.outcome.as_str();
    let error = probe.error.as_str();
    let level = if probe.outcome.is_unhealthy() {
        Level::WARN
    } else {
        Level::INFO
    };
    // `merged` > 1 when a round was slow and several checks arrived: all were counted.
    let merged = (merged > 1).then_some(merged as u64);
    let late_ms = (source == "probe").then_some(late_ms);
    crate::event_at!(level, event = "probe", app = %target.app, process = %target.process, source, status = %status, latency_ms, outcome, error, current = %current, floor = %floor, late_ms, merged);
}
