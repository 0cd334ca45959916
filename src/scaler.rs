//! Apply: the one task that owns the scaling state and talks to the formation.
//!
//! Cron edges and checks only send [`Message`]s here, so an edge and a failed check that coincide
//! are handled one after the other: a GET and a PATCH are never interleaved with another pair.
//! Every decision starts from a fresh GET of the formation (someone may have scaled by hand), and
//! a PATCH is sent only when the quantity differs.

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Level;

use crate::config::Target;
use crate::heroku::{ApiError, Client};
use crate::notify::{Kind, Notice, Notifier, STILL_UNHEALTHY_AFTER};
use crate::policy::{decide, Action, Reason, Streaks, Trigger};
use crate::probe::Probe;

/// What wakes the scaler.
#[derive(Debug, Clone)]
pub enum Message {
    /// A schedule entry fired at `at` (its scheduled instant).
    Edge { at: DateTime<Utc>, entry: usize },
    /// A check finished.
    Check(Probe),
    /// The check interval passed with checks off: hold the floor all the same.
    Tick,
}

/// The scaler's state: one target, its check streaks and the last refusal seen.
pub struct Scaler {
    client: Client,
    target: Target,
    streaks: Streaks,
    /// Heroku's last 422 message: the same refusal is logged once, not at every check.
    last_rejection: Option<String>,
    notifier: Notifier,
    /// The current run of unhealthy checks, for alerts.
    trouble: Option<Trouble>,
    last_probe: Option<Probe>,
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

impl Scaler {
    pub fn new(client: Client, target: Target, notifier: Notifier) -> Self {
        Scaler {
            client,
            target,
            streaks: Streaks::default(),
            last_rejection: None,
            notifier,
            trouble: None,
            last_probe: None,
        }
    }

    fn notice(&self, kind: Kind) -> Notice {
        Notice {
            dry_run: self.target.dry_run,
            ..Notice::new(kind, &self.target.app, &self.target.process)
        }
    }

    /// Alerts for the course of an outage: still unhealthy at max, and recovery.
    fn track_trouble(&mut self, probe: &Probe, current: Option<u32>, floor: Option<u32>) {
        let max = self.target.thresholds.max;
        if probe.outcome.is_unhealthy() {
            let scale_out_after = self.target.thresholds.scale_out_after;
            let unhealthy = self.streaks.unhealthy;
            let t = self.trouble.get_or_insert(Trouble {
                since: Utc::now(),
                checks: 0,
                at_max: 0,
                alerted: false,
            });
            t.checks += 1;
            let at_max = current.is_some_and(|c| c >= max);
            if at_max {
                t.at_max += 1;
            }
            // Already at the maximum when the outage counts: nothing to scale out to, so no
            // scale-out alert would come; say so at once.
            let kind = if at_max && unhealthy == scale_out_after {
                Some(Kind::DownAtMax)
            } else if t.at_max >= STILL_UNHEALTHY_AFTER {
                Some(Kind::StillUnhealthy)
            } else {
                None
            };
            if let Some(kind) = kind {
                t.alerted = true;
                self.notifier.notify(Notice {
                    reason: probe.outcome.to_string(),
                    to: current,
                    status: probe.status.map(|s| s.to_string()).unwrap_or_default(),
                    latency_ms: Some(probe.latency_ms() as u64),
                    message: probe.error.clone(),
                    ..self.notice(kind)
                });
            }
        } else if let Some(t) = self.trouble.take().filter(|t| t.alerted) {
            let minutes = (Utc::now() - t.since).num_seconds() as f64 / 60.0;
            let calm = match (self.target.thresholds.scale_in_after, floor, current) {
                (Some(n), Some(f), Some(c)) if c > f => {
                    format!(" It runs {c} dynos and returns to the schedule's {f} after {n} fast checks.")
                }
                _ => String::new(),
            };
            self.notifier.notify(Notice {
                reason: probe.outcome.to_string(),
                status: probe.status.map(|s| s.to_string()).unwrap_or_default(),
                latency_ms: Some(probe.latency_ms() as u64),
                from: current,
                message: format!(
                    "The outage lasted {minutes:.1} minutes ({} failed checks).{calm}",
                    t.checks
                ),
                ..self.notice(Kind::Recovered)
            });
        }
    }

    fn floor(&self, at: DateTime<Utc>) -> Option<u32> {
        self.target.schedule.floor(at).map(|e| e.quantity)
    }

    /// Startup: scale up to the floor, never down (a manual scale-out survives a restart).
    /// Only a configuration error (401/403/404) is returned; other failures are logged and the
    /// first check heals the floor.
    pub async fn startup(&mut self) -> Result<(), ApiError> {
        let formation = match self.formation().await {
            Ok(f) => f,
            Err(e) if e.is_configuration() => return Err(e),
            Err(e) => {
                e.log(Level::ERROR);
                return Ok(());
            }
        };
        let current = formation.quantity;
        let floor = self.floor(Utc::now());
        let action = decide(
            Trigger::Startup,
            current,
            floor,
            &self.streaks,
            &self.target.thresholds,
        );
        self.apply(current, action, "startup").await;
        Ok(())
    }

    /// Handles messages until the channel closes or shutdown is asked. A message being handled
    /// (a PATCH in flight) is always finished first.
    pub async fn run(mut self, mut rx: mpsc::Receiver<Message>, cancel: CancellationToken) {
        loop {
            let message = tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                m = rx.recv() => match m {
                    Some(m) => m,
                    None => break,
                },
            };
            self.handle(message).await;
        }
    }

    pub async fn handle(&mut self, message: Message) {
        match message {
            Message::Edge { at, entry } => self.edge(at, entry).await,
            Message::Check(probe) => self.check(probe).await,
            Message::Tick => self.tick().await,
        }
    }

    async fn tick(&mut self) {
        let Ok(formation) = self.logged_formation().await else {
            return;
        };
        let floor = self.floor(Utc::now());
        let action = decide(
            Trigger::Tick,
            formation.quantity,
            floor,
            &self.streaks,
            &self.target.thresholds,
        );
        self.apply(formation.quantity, action, "tick").await;
    }

    async fn edge(&mut self, at: DateTime<Utc>, entry: usize) {
        // The schedule's quantity at the edge's instant: when two entries fire together, the
        // later one in the list wins whatever order their jobs ran in.
        let quantity = self
            .floor(at)
            .unwrap_or(self.target.schedule.entries()[entry].quantity);
        let Ok(formation) = self.logged_formation().await else {
            return;
        };
        let action = decide(
            Trigger::Edge { quantity },
            formation.quantity,
            Some(quantity),
            &self.streaks,
            &self.target.thresholds,
        );
        self.apply(formation.quantity, action, "schedule").await;
    }

    async fn check(&mut self, probe: Probe) {
        self.streaks.record(probe.outcome);
        let floor = self.floor(Utc::now());
        let formation = self.formation().await;
        let current = formation.as_ref().ok().map(|f| f.quantity);
        log_probe(&probe, current, floor);
        self.track_trouble(&probe, current, floor);
        self.last_probe = Some(probe.clone());
        let current = match formation {
            Ok(f) => f.quantity,
            Err(e) => {
                self.api_failed(&e);
                return;
            }
        };
        let action = decide(
            Trigger::Check(probe.outcome),
            current,
            floor,
            &self.streaks,
            &self.target.thresholds,
        );
        self.apply(current, action, "check").await;
    }

    async fn formation(&self) -> Result<crate::heroku::Formation, ApiError> {
        self.client
            .formation(&self.target.app, &self.target.process)
            .await
    }

    async fn logged_formation(&self) -> Result<crate::heroku::Formation, ()> {
        self.formation().await.map_err(|e| self.api_failed(&e))
    }

    /// Reading the formation failed after retries: nothing can be scaled. Logged, and a human
    /// is told (a revoked token must not fail silently).
    fn api_failed(&self, e: &ApiError) {
        e.log(Level::ERROR);
        self.notifier.notify(Notice {
            status: e.status().map(|s| s.to_string()).unwrap_or_default(),
            message: e.message().to_owned(),
            ..self.notice(Kind::ApiFailed)
        });
    }

    async fn apply(&mut self, current: u32, action: Action, trigger: &'static str) {
        match action {
            Action::Nothing => {}
            Action::Skip(skip) => {
                if skip == crate::policy::Skip::Unhealthy {
                    self.streaks.held_scale_in = true;
                }
                // Nothing fired in the lookback window: worth a warning, the daemon holds nothing.
                let level = if skip == crate::policy::Skip::NoFloor {
                    Level::WARN
                } else {
                    Level::INFO
                };
                crate::event_at!(
                    level,
                    event = "scale_skip",
                    reason = skip.as_str(),
                    current,
                    trigger
                );
            }
            Action::Scale { to, reason } => self.scale(current, to, reason).await,
        }
    }

    /// The alert for a scale that happened (or would have, in a dry run).
    fn scaled_notice(&mut self, from: u32, to: u32, reason: Reason) {
        let kind = match reason {
            Reason::Down | Reason::Slow => Kind::ScaleOut,
            _ => Kind::Scale,
        };
        let mut notice = Notice {
            reason: reason.to_string(),
            from: Some(from),
            to: Some(to),
            ..self.notice(kind)
        };
        if kind == Kind::ScaleOut {
            if let Some(t) = &mut self.trouble {
                t.alerted = true;
            }
        }
        if let (Kind::ScaleOut, Some(p)) = (kind, &self.last_probe) {
            notice.status = p.status.map(|s| s.to_string()).unwrap_or_default();
            notice.latency_ms = Some(p.latency_ms() as u64);
            notice.message = p.error.clone();
        }
        self.notifier.notify(notice);
    }

    async fn scale(&mut self, from: u32, to: u32, reason: Reason) {
        self.streaks.scaled();
        if self.target.dry_run {
            tracing::info!(
                event = "scale",
                from,
                to,
                reason = reason.as_str(),
                result = "dry_run"
            );
            self.scaled_notice(from, to, reason);
            return;
        }
        let result = self
            .client
            .scale(&self.target.app, &self.target.process, to)
            .await;
        match result {
            Ok(formation) => {
                self.last_rejection = None;
                tracing::info!(
                    event = "scale",
                    from,
                    to = formation.quantity,
                    reason = reason.as_str(),
                    result = "ok"
                );
                self.scaled_notice(from, formation.quantity, reason);
            }
            Err(e) => {
                // Heroku refusing the same thing again (e.g. Eco dynos cannot go above 1) is
                // logged once per change of message, not at every check.
                let repeated =
                    e.status() == Some(422) && self.last_rejection.as_deref() == Some(e.message());
                if e.status() == Some(422) {
                    self.last_rejection = Some(e.message().to_owned());
                }
                let level = if repeated { Level::DEBUG } else { Level::ERROR };
                e.log(level);
                let status = e.status().map(|s| s.to_string()).unwrap_or_default();
                let message = e.message();
                self.notifier.notify(Notice {
                    reason: reason.to_string(),
                    from: Some(from),
                    to: Some(to),
                    status: status.clone(),
                    message: message.to_owned(),
                    ..self.notice(Kind::ScaleFailed)
                });
                crate::event_at!(level, event = "scale", from, to, reason = reason.as_str(), result = "error", status = %status, message = %message);
            }
        }
    }
}

/// One `event=probe` line: warn when unhealthy so a log alert can key on the level too.
fn log_probe(probe: &Probe, current: Option<u32>, floor: Option<u32>) {
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
    crate::event_at!(level, event = "probe", status = %status, latency_ms, outcome, error, current = %current, floor = %floor);
}
