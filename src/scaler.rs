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
use crate::policy::{decide, Action, Reason, Streaks, Trigger};
use crate::probe::Probe;

/// What wakes the scaler.
#[derive(Debug, Clone)]
pub enum Message {
    /// A schedule entry fired at `at` (its scheduled instant).
    Edge { at: DateTime<Utc>, entry: usize },
    /// A check finished.
    Check(Probe),
}

/// The scaler's state: one target, its check streaks and the last refusal seen.
pub struct Scaler {
    client: Client,
    target: Target,
    streaks: Streaks,
    /// Heroku's last 422 message: the same refusal is logged once, not at every check.
    last_rejection: Option<String>,
}

impl Scaler {
    pub fn new(client: Client, target: Target) -> Self {
        Scaler {
            client,
            target,
            streaks: Streaks::default(),
            last_rejection: None,
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
        if floor.is_none() {
            tracing::warn!(
                event = "scale_skip",
                reason = "no_floor",
                current,
                "no schedule entry fired in the last 8 days: nothing to hold at startup"
            );
            return Ok(());
        }
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
        }
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
        let current = match formation {
            Ok(f) => f.quantity,
            Err(e) => {
                e.log(Level::ERROR);
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
        self.formation().await.map_err(|e| e.log(Level::ERROR))
    }

    async fn apply(&mut self, current: u32, action: Action, trigger: &'static str) {
        match action {
            Action::Nothing => {}
            Action::Skip(skip) => {
                tracing::info!(
                    event = "scale_skip",
                    reason = skip.as_str(),
                    current,
                    trigger
                );
            }
            Action::Scale { to, reason } => self.scale(current, to, reason).await,
        }
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
                if repeated {
                    tracing::debug!(event = "scale", from, to, reason = reason.as_str(), result = "error", status = %status, message = %message);
                } else {
                    tracing::error!(event = "scale", from, to, reason = reason.as_str(), result = "error", status = %status, message = %message);
                }
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
    if probe.outcome.is_unhealthy() {
        tracing::warn!(event = "probe", status = %status, latency_ms, outcome, error, current = %current, floor = %floor);
    } else {
        tracing::info!(event = "probe", status = %status, latency_ms, outcome, error, current = %current, floor = %floor);
    }
}
