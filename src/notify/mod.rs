//! Alerts: tell a human when something breaks — webhook (Slack or JSON), email, SMS.
//!
//! The scaler hands a [`Notice`] to [`Notifier::notify`], which never blocks and never fails: a
//! dispatcher task beside the scaler throttles repeats and sends through every channel at once,
//! each send with a timeout and a bounded retry. Scaling never waits for an alert.

mod channels;
pub mod settings;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::event::{Event, NotifyResult};
use crate::history::{AlertRow, HistoryHandle};
pub use channels::Channel;
pub use settings::{NotifyConfig, NotifyOn};

/// Checks at the maximum that are still unhealthy before "scaling out did not help" is sent.
pub const STILL_UNHEALTHY_AFTER: u32 = 3;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The fail-safe scaled out (app down or slow).
    ScaleOut,
    /// Unhealthy while already at the maximum: there is nothing to scale out to.
    DownAtMax,
    /// Still unhealthy at the maximum: scaling out did not help. The one that must wake someone.
    StillUnhealthy,
    /// Healthy again after trouble.
    Recovered,
    /// A scale failed after retries (token revoked, no access, refused by Heroku, Heroku down).
    ScaleFailed,
    /// The API cannot be used at all (reading the formation failed: a revoked token, a deleted
    /// app, Heroku down), so nothing can be scaled.
    ApiFailed,
    /// Started in a way that leaves the app unprotected (checks off, an ignored variable).
    RiskyStart,
    /// Someone set a quantity by hand: kept for AUTOSCALE_MANUAL_HOLD.
    ManualHold,
    /// The daemon started paused (AUTOSCALE_PAUSE_UNTIL): it decides, but sends nothing.
    Paused,
    /// Any other scale (schedule, floor, scale-in): sent with AUTOSCALE_NOTIFY_ON=all.
    Scale,
    /// A worker's job queue store cannot be read: nothing is scaled in on it until it can.
    QueueLost,
    /// `autoscale notify-test`.
    Test,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ScaleOut => "scale_out",
            Kind::DownAtMax => "down_at_max",
            Kind::StillUnhealthy => "still_unhealthy",
            Kind::Recovered => "recovered",
            Kind::ScaleFailed => "scale_failed",
            Kind::ApiFailed => "api_failed",
            Kind::RiskyStart => "risky_start",
            Kind::ManualHold => "manual_hold",
            Kind::Paused => "paused",
            Kind::Scale => "scale",
            Kind::QueueLost => "queue_lost",
            Kind::Test => "test",
        }
    }

    /// The kinds a notice of this kind ends: after a recovery, the next outage is news at once.
    fn ends(self) -> &'static [Kind] {
        match self {
            Kind::Recovered => &[
                Kind::ScaleOut,
                Kind::DownAtMax,
                Kind::StillUnhealthy,
                Kind::ScaleFailed,
            ],
            Kind::ScaleOut | Kind::DownAtMax | Kind::StillUnhealthy => &[Kind::Recovered],
            _ => &[],
        }
    }
}

/// One alert, with the facts every channel renders.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub kind: Kind,
    pub app: String,
    pub process: String,
    pub at: DateTime<Utc>,
    /// The scale reason (down, slow, schedule, ...) or the check outcome.
    pub reason: String,
    pub from: Option<u32>,
    pub to: Option<u32>,
    /// HTTP status of the check or of the API, as text ("" when none).
    pub status: String,
    pub latency_ms: Option<u64>,
    /// The detail: the check's error, Heroku's message, the warning.
    pub message: String,
    pub dry_run: bool,
}

impl Notice {
    pub fn new(kind: Kind, app: &str, process: &str) -> Notice {
        Notice {
            kind,
            app: app.to_owned(),
            process: process.to_owned(),
            at: Utc::now(),
            reason: String::new(),
            from: None,
            to: None,
            status: String::new(),
            latency_ms: None,
            message: String::new(),
            dry_run: false,
        }
    }

    /// What the check saw, in words: "HTTP 500 in 12 ms", "timeout: ... after 10000 ms".
    fn symptom(&self) -> String {
        let mut s = if !self.message.is_empty() {
            self.message.clone()
        } else if !self.status.is_empty() {
            format!("HTTP {}", self.status)
        } else {
            self.reason.clone()
        };
        if let Some(ms) = self.latency_ms {
            let _ = write!(s, " in {ms} ms");
        }
        s
    }

    /// A one-line subject (email) / headline.
    pub fn subject(&self) -> String {
        let app = &self.app;
        let dry = if self.dry_run { " (dry run)" } else { "" };
        match self.kind {
            Kind::ScaleOut => format!(
                "{app} is {}: scaled {} out to {}{dry}",
                self.reason,
                self.process,
                self.to.unwrap_or(0)
            ),
            Kind::DownAtMax => format!(
                "{app} is {} at the maximum of {} {} dynos",
                self.reason,
                self.to.unwrap_or(0),
                self.process
            ),
            Kind::StillUnhealthy => format!(
                "{app} is still {} at the maximum of {} {} dynos",
                self.reason,
                self.to.unwrap_or(0),
                self.process
            ),
            Kind::Recovered => format!("{app} is healthy again"),
            Kind::ScaleFailed => format!(
                "{app}: scaling {} to {} failed",
                self.process,
                self.to.unwrap_or(0)
            ),
            Kind::ApiFailed => format!("{app}: autoscale cannot use the Heroku API"),
            Kind::RiskyStart => format!("{app}: autoscale started unprotected"),
            Kind::ManualHold => format!(
                "{app}: {} set to {} by hand, kept",
                self.process,
                self.to.unwrap_or(0)
            ),
            Kind::Paused => format!("{app}: autoscale is paused for {}", self.process),
            Kind::Scale => format!(
                "{app}: {} scaled from {} to {} ({}){dry}",
                self.process,
                self.from.unwrap_or(0),
                self.to.unwrap_or(0),
                self.reason
            ),
            Kind::QueueLost => format!("{app}: the {} job queue cannot be read", self.process),
            Kind::Test => format!("{app}: autoscale test message"),
        }
    }

    /// One readable paragraph: what happened and what was done.
    pub fn text(&self) -> String {
        let when = self.at.format("%Y-%m-%d %H:%M:%S UTC");
        let app = &self.app;
        let p = &self.process;
        let dry = if self.dry_run {
            " This is a dry run: nothing was actually scaled."
        } else {
            ""
        };
        match self.kind {
            Kind::ScaleOut => format!(
                "{app} is {} ({}) at {when}. autoscale scaled {p} out from {} to {} dynos at once, and will scale back in to the schedule after a run of fast checks.{dry}",
                self.reason,
                self.symptom(),
                self.from.unwrap_or(0),
                self.to.unwrap_or(0)
            ),
            Kind::DownAtMax => format!(
                "{app} is {} ({}) at {when}, and {p} already runs the maximum of {} dynos: there is nothing to scale out to. Someone should look at the app (or raise AUTOSCALE_MAX).",
                self.reason,
                self.symptom(),
                self.to.unwrap_or(0)
            ),
            Kind::StillUnhealthy => format!(
                "{app} is still {} ({}) at {when}, although {p} runs at the maximum of {} dynos for {STILL_UNHEALTHY_AFTER} checks or more. Scaling out did not help: someone should look at the app.",
                self.reason,
                self.symptom(),
                self.to.unwrap_or(0)
            ),
            Kind::Recovered => format!(
                "{app} is healthy again at {when} ({}). {}",
                self.symptom(),
                self.message_or("")
            ),
            Kind::ScaleFailed => format!(
                "autoscale could not scale {app} {p} from {} to {} at {when} ({}): HTTP {} {}. The app stays at {} dynos; autoscale keeps trying at the next check.",
                self.from.unwrap_or(0),
                self.to.unwrap_or(0),
                self.reason,
                if self.status.is_empty() { "-" } else { &self.status },
                self.message,
                self.from.unwrap_or(0)
            ),
            Kind::ApiFailed => format!(
                "autoscale cannot read the {p} formation of {app} at {when}: HTTP {} {}. Nothing can be scaled until this is fixed (a revoked token? run `autoscale check`).",
                if self.status.is_empty() { "-" } else { &self.status },
                self.message
            ),
            Kind::RiskyStart => format!("autoscale started for {app} {p} at {when}, but: {}", self.message),
            Kind::ManualHold | Kind::Paused => self.message.clone(),
            Kind::Scale => format!(
                "autoscale scaled {app} {p} from {} to {} dynos at {when} ({}).{dry}",
                self.from.unwrap_or(0),
                self.to.unwrap_or(0),
                self.reason
            ),
            Kind::QueueLost => format!(
                "autoscale cannot read the job queue of {app} {p} at {when}: {}. {p} keeps its dynos (nothing is scaled in on missing data) and follows its schedule until the queue can be read again.",
                self.message
            ),
            Kind::Test => format!(
                "This is a test message from autoscale for {app} {p}, sent at {when}. If you read this, alerts reach you."
            ),
        }
        .trim()
        .to_owned()
    }

    fn message_or<'a>(&'a self, default: &'a str) -> &'a str {
        if self.message.is_empty() {
            default
        } else {
            &self.message
        }
    }

    /// The JSON a generic webhook receives: `text` plus the event's fields.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "text": self.text(),
            "app": self.app,
            "process": self.process,
            "event": self.kind.as_str(),
            "reason": self.reason,
            "from": self.from,
            "to": self.to,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "message": self.message,
            "dry_run": self.dry_run,
            "at": self.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
    }

    /// Throttling key: the same condition of the same target again (for failures and
    /// warnings, with the same message). None: never throttled (every scale is news, and so is
    /// each hold). A refused token is one condition for every app.
    fn condition(&self) -> Option<String> {
        let target = format!("{}/{}", self.app, self.process);
        match self.kind {
            Kind::Scale | Kind::Test | Kind::ManualHold => None,
            Kind::Paused => Some(format!("paused:{target}")),
            Kind::ApiFailed if self.status == "401" => Some("api_failed:token".to_owned()),
            Kind::ScaleFailed | Kind::RiskyStart | Kind::ApiFailed => {
                Some(format!("{}:{target}:{}", self.kind.as_str(), self.message))
            }
            k => Some(format!("{}:{target}", k.as_str())),
        }
    }
}

/// Repeats of a condition at most once per period; a change of state always goes through.
/// Conditions are per target: one app's outage never mutes another app's alert.
#[derive(Debug)]
pub struct Throttle {
    repeat: Duration,
    last: HashMap<String, DateTime<Utc>>,
}

impl Throttle {
    pub fn new(repeat: Duration) -> Self {
        Throttle {
            repeat,
            last: HashMap::new(),
        }
    }

    /// Whether `notice` is sent at `now` (the daemon's clock); records it when it is.
    pub fn allow(&mut self, notice: &Notice, now: DateTime<Utc>) -> bool {
        let Some(key) = notice.condition() else {
            return true;
        };
        if let Some(&sent) = self.last.get(&key) {
            if within(sent, now, self.repeat) {
                return false;
            }
        }
        let target = format!(":{}/{}", notice.app, notice.process);
        for ended in notice.kind.ends() {
            let prefix = format!("{}{target}", ended.as_str());
            self.last
                .retain(|k, _| k != &prefix && !k.starts_with(&format!("{prefix}:")));
        }
        // What no longer blocks anything is forgotten: the map stays as small as what is
        // being throttled right now.
        let repeat = self.repeat;
        self.last.retain(|_, sent| within(*sent, now, repeat));
        self.last.insert(key, now);
        true
    }

    /// Conditions remembered (the map must not grow without bound).
    pub fn len(&self) -> usize {
        self.last.len()
    }

    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }
}

/// Whether `now` is less than `repeat` after `sent` (a clock that went back counts as no time).
fn within(sent: DateTime<Utc>, now: DateTime<Utc>, repeat: Duration) -> bool {
    (now - sent).to_std().unwrap_or_default() < repeat
}

/// The scaler's handle: cheap to clone; does nothing when no channel is configured.
#[derive(Debug, Clone)]
pub struct Notifier {
    tx: Option<mpsc::Sender<Notice>>,
    on: NotifyOn,
}

impl Notifier {
    pub fn disabled() -> Self {
        Notifier {
            tx: None,
            on: NotifyOn::Trouble,
        }
    }

    /// A notifier whose notices (after the NOTIFY_ON filter) come out of the receiver instead of
    /// going to channels: `replay` counts the alerts a run would have sent. The receiver must be
    /// drained before `capacity` notices pile up (further ones are dropped, as in the daemon).
    pub fn collecting(on: NotifyOn, capacity: usize) -> (Notifier, mpsc::Receiver<Notice>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (Notifier { tx: Some(tx), on }, rx)
    }

    /// Queues a notice; never waits. Plain scales are dropped unless AUTOSCALE_NOTIFY_ON=all.
    pub fn notify(&self, notice: Notice) {
        let Some(tx) = &self.tx else { return };
        if notice.kind == Kind::Scale && self.on != NotifyOn::All {
            return;
        }
        if tx.try_send(notice).is_err() {
            Event::Notify {
                channel: "all".to_owned(),
                kind: None,
                result: NotifyResult::Dropped,
                attempt: None,
                message: Some("the alert queue is full".to_owned()),
            }
            .emit(tracing::Level::WARN);
        }
    }
}

/// Starts the dispatcher on `tasks`; returns the handle for the scaler. Every alert sent (not
/// throttled) is also kept in `history`.
/// Sends are stamped and throttled on the daemon's `clock`.
pub fn start(
    config: &NotifyConfig,
    tasks: &TaskTracker,
    history: HistoryHandle,
    clock: Clock,
) -> Notifier {
    if config.is_empty() {
        return Notifier::disabled();
    }
    let channels = Channel::all(config);
    let (tx, mut rx) = mpsc::channel::<Notice>(64);
    let mut throttle = Throttle::new(config.repeat);
    let sends = tasks.clone();
    tasks.spawn(async move {
        while let Some(mut notice) = rx.recv().await {
            notice.at = clock.now();
            if !throttle.allow(&notice, notice.at) {
                Event::Notify {
                    channel: "all".to_owned(),
                    kind: Some(notice.kind.as_str().to_owned()),
                    result: NotifyResult::Throttled,
                    attempt: None,
                    message: None,
                }
                .emit(tracing::Level::DEBUG);
                continue;
            }
            history.record(AlertRow {
                app: notice.app.clone(),
                process: notice.process.clone(),
                at: notice.at,
                kind: notice.kind.as_str().to_owned(),
                message: notice.text(),
            });
            for channel in &channels {
                let channel = channel.clone();
                let notice = notice.clone();
                sends.spawn(async move {
                    channel.send_logged(&notice).await;
                });
            }
        }
    });
    Notifier {
        tx: Some(tx),
        on: config.on,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(kind: Kind) -> Notice {
        Notice {
            reason: "down".into(),
            from: Some(1),
            to: Some(3),
            status: "500".into(),
            latency_ms: Some(12),
            message: "HTTP 500".into(),
            at: "2026-11-30T14:02:00Z".parse().unwrap(),
            ..Notice::new(kind, "shop", "web")
        }
    }

    #[test]
    fn an_outage_is_one_down_and_one_still_down_then_recovery_resets() {
        let mut t = Throttle::new(Duration::from_secs(1800));
        let t0: DateTime<Utc> = "2026-12-01T03:00:00Z".parse().unwrap();
        let mut sent = Vec::new();
        let script: &[(Kind, i64)] = &[
            (Kind::ScaleOut, 0),
            (Kind::StillUnhealthy, 180),
            (Kind::StillUnhealthy, 360),
            (Kind::StillUnhealthy, 540),
            (Kind::StillUnhealthy, 720),
            (Kind::StillUnhealthy, 900),
            (Kind::StillUnhealthy, 1080),
            (Kind::StillUnhealthy, 1260),
            (Kind::StillUnhealthy, 1440),
            (Kind::StillUnhealthy, 1620),
        ];
        for &(kind, s) in script {
            if t.allow(&notice(kind), t0 + chrono::Duration::seconds(s)) {
                sent.push(kind);
            }
        }
        // Ten failed checks: one "down" and one "still down", not ten.
        assert_eq!(sent, [Kind::ScaleOut, Kind::StillUnhealthy]);
        let later: &[(Kind, i64)] = &[
            // 30 minutes after the last one sent, the same condition goes again.
            (Kind::StillUnhealthy, 180 + 1800),
            // Recovery is a change of state: sent, and the next outage is sent at once.
            (Kind::Recovered, 2200),
            (Kind::ScaleOut, 2300),
            (Kind::Recovered, 2400),
        ];
        for &(kind, s) in later {
            if t.allow(&notice(kind), t0 + chrono::Duration::seconds(s)) {
                sent.push(kind);
            }
        }
        assert_eq!(
            &sent[2..],
            [
                Kind::StillUnhealthy,
                Kind::Recovered,
                Kind::ScaleOut,
                Kind::Recovered
            ]
        );
    }

    #[test]
    fn conditions_are_per_target_and_the_map_stays_small() {
        let mut t = Throttle::new(Duration::from_secs(1800));
        let t0: DateTime<Utc> = "2026-12-01T03:00:00Z".parse().unwrap();
        let of = |app: &str, kind| Notice {
            app: app.into(),
            ..notice(kind)
        };
        // App A's outage does not mute app B's scale-out.
        assert!(t.allow(&of("a", Kind::ScaleOut), t0));
        assert!(t.allow(&of("b", Kind::ScaleOut), t0));
        assert!(!t.allow(&of("a", Kind::ScaleOut), t0 + chrono::Duration::seconds(60)));
        // A's recovery clears A's conditions only.
        assert!(t.allow(
            &of("a", Kind::Recovered),
            t0 + chrono::Duration::seconds(120)
        ));
        assert!(t.allow(
            &of("a", Kind::ScaleOut),
            t0 + chrono::Duration::seconds(180)
        ));
        assert!(!t.allow(
            &of("b", Kind::ScaleOut),
            t0 + chrono::Duration::seconds(180)
        ));
        // A refused token is one condition for every app.
        let token = |app: &str| Notice {
            status: "401".into(),
            ..of(app, Kind::ApiFailed)
        };
        assert!(t.allow(&token("a"), t0));
        assert!(!t.allow(&token("b"), t0 + chrono::Duration::seconds(1)));
        // Every scale is sent and none is remembered: NOTIFY_ON=all never grows the map.
        let before = t.len();
        for i in 0..1000 {
            assert!(t.allow(&of("a", Kind::Scale), t0 + chrono::Duration::seconds(i)));
        }
        assert_eq!(t.len(), before);
        // What no longer blocks anything is forgotten.
        assert!(t.allow(
            &of("c", Kind::ScaleOut),
            t0 + chrono::Duration::seconds(7200)
        ));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn texts_say_what_happened_and_what_was_done() {
        let n = notice(Kind::ScaleOut);
        assert_eq!(
            n.text(),
            "shop is down (HTTP 500 in 12 ms) at 2026-11-30 14:02:00 UTC. autoscale scaled web out from 1 to 3 dynos at once, and will scale back in to the schedule after a run of fast checks."
        );
        assert_eq!(n.subject(), "shop is down: scaled web out to 3");
        let j = n.json();
        assert_eq!(j["event"], "scale_out");
        assert_eq!(j["to"], 3);
        assert_eq!(j["at"], "2026-11-30T14:02:00Z");
        let failed = Notice {
            status: "422".into(),
            message: "Cannot update to more than 1 Eco size dynos per process type.".into(),
            ..notice(Kind::ScaleFailed)
        };
        assert!(
            failed
                .text()
                .contains("HTTP 422 Cannot update to more than 1 Eco"),
            "{}",
            failed.text()
        );
        assert!(notice(Kind::StillUnhealthy)
            .text()
            .contains("someone should look"));
    }
}
