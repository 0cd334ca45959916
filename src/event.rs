//! The daemon's events, typed: one [`Event`] variant per `event=` name of the contract, with its
//! fields. An event writes its own logfmt line (through tracing, so that the log filter and any
//! captured subscriber still see it) and reads it back ([`Event::parse`]), so that a name or a
//! field that the contract does not have cannot be written by mistake.
//!
//! Logs are an interface (contract.md, "Logs"; the README's table): operators alert on these lines
//! and `chart`, `replay` and `demo` read them back. The names, the fields, their order and the
//! format of their values are what the tracing macros wrote before this module existed:
//!
//! ```text
//! ts=2026-11-30T15:00:33.710Z level=info event=scale app=shop process=web from=2 to=4 reason=down result=ok
//! ```
//!
//! # How an event reaches the line
//!
//! [`Event::emit`] logs one tracing event (at the level the caller chooses) with three fields:
//! `event` (the name), `logfmt` (the event's other pairs, already quoted, in their order) and,
//! when the line has one, `message`. [`crate::logfmt::Logfmt`] writes `logfmt` verbatim right
//! after `event=`, and `message` last, as for every line. The events keep going through tracing:
//! `AUTOSCALE_LOG` filters them by level (their target is `autoscale::event`), and tests that
//! install [`crate::logfmt::Captured`] read them as before.
//!
//! Fields that are "blank when unknown" (`status=""`, `current=""`) are written empty; fields that
//! are "absent when unknown" (`late_ms`, `merged`, the `status` of a failed scale) are left out.
//! Both are `Option`s here; each variant's doc says which.
//!
//! # Who emits what
//!
//! | event | emitted by |
//! |---|---|
//! | `start`, `budget` (at start), `fatal`, `scheduler_error`, `schedule_done`, `history` (`off`, `closed`), `holidays_feed`, `config_warning` (per target) | `src/daemon.rs` |
//! | `probe`, `scale`, `scale_skip`, `hold`, `hold_end`, `target_disabled` | `src/reconcile.rs` |
//! | `checks_off` | `src/checks.rs` |
//! | `traffic`, `traffic_stream` | `src/traffic/stream.rs` |
//! | `api_error`, `rate_limit` | `src/heroku.rs` |
//! | `budget` (`state=halved\|normal`) | `src/budget.rs` |
//! | `notify` | `src/notify/mod.rs` (`dropped`, `throttled`), `src/notify/channels.rs` (`ok`, `error`) |
//! | `history` (`ok`, `lost`, `refused`), `history_batch` | `src/history/mod.rs`, `src/history/writer.rs` |
//! | `config_warning` (environment) | `src/cli.rs` |
//!
//! (`daemon.rs`, `reconcile.rs`, `checks.rs` and `traffic/stream.rs` still write theirs with
//! tracing macros; the variants here write the same lines and are what they should call.)
//!
//! # Adding an event or a field
//!
//! 1. Add the variant (or the field, at its place in the line) to [`Event`], its name to
//!    [`Event::name`] and [`NAMES`], its pairs to `Event::pairs`, its message (if any) to
//!    [`Event::message`] and its reading to [`Event::from_line`].
//! 2. Add a sample to the tests' `samples()`: the round-trip test then covers it.
//! 3. Document it in the README's "Logs" table (a test compares the names) and in the contract:
//!    a new name or field is a change of the interface; renaming one breaks operators' alerts.

use std::borrow::Cow;
use std::fmt::Display;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use tracing::Level;

use crate::logfmt::{quote, Line};
pub use crate::probe::Outcome;

/// The `event=` names, for readers that match on a name alone (`Line::event() == Some(names::SCALE)`).
pub mod names {
    pub const START: &str = "start";
    pub const BUDGET: &str = "budget";
    pub const PROBE: &str = "probe";
    pub const SCALE: &str = "scale";
    pub const SCALE_SKIP: &str = "scale_skip";
    pub const HOLD: &str = "hold";
    pub const HOLD_END: &str = "hold_end";
    pub const TARGET_DISABLED: &str = "target_disabled";
    pub const API_ERROR: &str = "api_error";
    pub const RATE_LIMIT: &str = "rate_limit";
    pub const NOTIFY: &str = "notify";
    pub const SHUTDOWN: &str = "shutdown";
    pub const TRAFFIC: &str = "traffic";
    pub const TRAFFIC_STREAM: &str = "traffic_stream";
    pub const HOLIDAYS_FEED: &str = "holidays_feed";
    pub const HISTORY: &str = "history";
    pub const HISTORY_BATCH: &str = "history_batch";
    pub const FATAL: &str = "fatal";
    pub const CHECKS_OFF: &str = "checks_off";
    pub const CONFIG_WARNING: &str = "config_warning";
    pub const SCHEDULER_ERROR: &str = "scheduler_error";
    pub const SCHEDULE_DONE: &str = "schedule_done";
}

/// Every `event=` name the daemon writes, in the order of [`Event`]'s variants.
pub const NAMES: [&str; 22] = [
    names::START,
    names::BUDGET,
    names::PROBE,
    names::SCALE,
    names::SCALE_SKIP,
    names::HOLD,
    names::HOLD_END,
    names::TARGET_DISABLED,
    names::API_ERROR,
    names::RATE_LIMIT,
    names::NOTIFY,
    names::SHUTDOWN,
    names::TRAFFIC,
    names::TRAFFIC_STREAM,
    names::HOLIDAYS_FEED,
    names::HISTORY,
    names::HISTORY_BATCH,
    names::FATAL,
    names::CHECKS_OFF,
    names::CONFIG_WARNING,
    names::SCHEDULER_ERROR,
    names::SCHEDULE_DONE,
];

/// `result=` of a scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleResult {
    Ok,
    DryRun,
    Paused,
    Error,
    Cancelled,
}

/// `source=` of a probe: the check URL, or a minute of router traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeSource {
    Probe,
    Traffic,
}

/// `reason=` of a hold and of its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldReason {
    Manual,
    Pause,
    Deploy,
}

/// `state=` of the router log stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamState {
    Connected,
    Lost,
    Off,
}

/// `state=` of the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryState {
    Ok,
    Lost,
    Off,
    Closed,
    Refused,
}

/// `result=` of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyResult {
    Ok,
    Error,
    Dropped,
    Throttled,
}

/// `state=` of the budget once running: Heroku's rate limit is low (reads halved) or back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetState {
    Halved,
    Normal,
}

/// Closed sets of values: their text on the line, and back.
macro_rules! words {
    ($($ty:ident { $($variant:ident = $text:literal),+ $(,)? })+) => {$(
        impl $ty {
            /// The value as the line writes it.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }

            /// The value a line wrote, read back.
            pub fn parse(text: &str) -> Option<Self> {
                text.parse().ok()
            }
        }
        impl FromStr for $ty {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($text => Ok($ty::$variant),)+ _ => Err(()) }
            }
        }
        impl Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )+};
}

words! {
    ScaleResult { Ok = "ok", DryRun = "dry_run", Paused = "paused", Error = "error", Cancelled = "cancelled" }
    ProbeSource { Probe = "probe", Traffic = "traffic" }
    HoldReason { Manual = "manual", Pause = "pause", Deploy = "deploy" }
    StreamState { Connected = "connected", Lost = "lost", Off = "off" }
    HistoryState { Ok = "ok", Lost = "lost", Off = "off", Closed = "closed", Refused = "refused" }
    NotifyResult { Ok = "ok", Error = "error", Dropped = "dropped", Throttled = "throttled" }
    BudgetState { Halved = "halved", Normal = "normal" }
}

/// One event line of the daemon (see the module docs). Fields are in line order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `start`, one per target (info). `next_quantity` and `concurrency` are blank when unknown;
    /// `fast` and `scale_in_after` are a value or `off`; `traffic` is written `on`/`off`.
    Start {
        version: String,
        app: String,
        process: String,
        schedule: String,
        tz: String,
        max: u32,
        check_url: String,
        interval: String,
        timeout: String,
        slow: String,
        fast: String,
        scale_out_after: u32,
        scale_in_after: String,
        dry_run: bool,
        next_edge: String,
        next_quantity: Option<u32>,
        shard: u32,
        traffic: bool,
        concurrency: Option<u32>,
        utilization: f64,
        error_rate: f64,
    },
    /// `start` when no app of the configuration belongs to this shard (warn), with a message.
    StartIdle { shard: u32 },
    /// `budget` at start (info).
    Budget {
        apps: u64,
        targets: u64,
        calls_per_hour: u64,
        reads_per_hour: u64,
        budget: u64,
        /// Written with two decimals.
        stretch: f64,
        shard: u32,
        shards: u32,
        /// Said (at warn) when the schedules' edges alone need more calls than the budget.
        message: Option<String>,
    },
    /// `budget state=halved|normal` when Heroku's rate limit runs low or recovers (warn), with a
    /// message.
    BudgetRate {
        state: BudgetState,
        remaining: u64,
        reads_per_hour: u64,
        budget: u64,
    },
    /// `probe` (warn when unhealthy, else info). `status`, `current` and `floor` are blank when
    /// unknown; `late_ms` (probes only) and `merged` (when > 1) are absent when `None`.
    Probe {
        app: String,
        process: String,
        source: ProbeSource,
        status: Option<u16>,
        latency_ms: u64,
        outcome: Outcome,
        error: String,
        current: Option<u32>,
        floor: Option<u32>,
        late_ms: Option<u64>,
        merged: Option<u64>,
    },
    /// `scale`. `status` and `message` (the line's message) only with `result=error`; `status`
    /// may be blank.
    Scale {
        app: String,
        process: String,
        from: u32,
        to: u32,
        /// `startup`, `schedule`, `down`, `slow`, `floor`, `scale_in`, `load`, ... (`policy::Reason`).
        reason: String,
        result: ScaleResult,
        status: Option<String>,
        message: Option<String>,
    },
    /// `scale_skip` (warn for `no_floor`, else info).
    ScaleSkip {
        app: String,
        process: String,
        /// `policy::Skip`: `at_target`, `unhealthy`, `above_floor`, `no_floor`, `hold`, `deploy`.
        reason: String,
        current: u32,
        /// What woke the loop (`edge`, `round`, ...).
        trigger: String,
    },
    /// `hold` (info), with a message per reason. `quantity` is absent for a pause, `release`
    /// present for a deploy only. `until` is RFC 3339 (seconds) or `forever`.
    Hold {
        app: String,
        process: String,
        reason: HoldReason,
        quantity: Option<u32>,
        until: String,
        release: Option<u64>,
    },
    /// `hold_end` (info). `quantity` is absent for a pause.
    HoldEnd {
        app: String,
        process: String,
        reason: HoldReason,
        quantity: Option<u32>,
        why: String,
    },
    /// `target_disabled` (error). `status` may be blank; `message` is the line's message.
    TargetDisabled {
        app: String,
        process: String,
        status: String,
        message: String,
    },
    /// `api_error` (at the caller's level; info when a shutdown cancelled the call). `status` is
    /// blank without an answer; `message` is the line's message, written last.
    ApiError {
        app: String,
        method: String,
        path: String,
        status: Option<u16>,
        id: String,
        attempt: u32,
        request_id: String,
        message: String,
    },
    /// `rate_limit` (warn), with a message.
    RateLimit { remaining: u64 },
    /// `notify`. `kind` is absent for `dropped`, `attempt` present for `ok` and `error`, and
    /// `message` (the line's message) for `error` (what failed) and `dropped`.
    Notify {
        /// `webhook`, `email`, `sms`, or `all` (the queue).
        channel: String,
        kind: Option<String>,
        result: NotifyResult,
        attempt: Option<u32>,
        message: Option<String>,
    },
    /// `shutdown` (info).
    Shutdown {
        signal: String,
        clean: bool,
        took_ms: u64,
        api_calls: u64,
    },
    /// `traffic`: one minute of router traffic (info). Quantiles are blank when no request of
    /// the minute has a service time; `busy` is written with two decimals.
    Traffic {
        app: String,
        process: String,
        minute: DateTime<Utc>,
        requests: u64,
        p50_ms: Option<u32>,
        p95_ms: Option<u32>,
        p99_ms: Option<u32>,
        errors: u64,
        h10: u64,
        h12: u64,
        h13: u64,
        busy: f64,
        dynos: u32,
        s2xx: u64,
        s3xx: u64,
        s4xx: u64,
        s5xx: u64,
    },
    /// `traffic_stream`. Each field but `app` and `state` is absent when `None`: `connected` has
    /// none; a stream that ended has `reason` and the counts; a refused or failed session has
    /// `reason` and `status`. `message` is the line's message.
    TrafficStream {
        app: String,
        state: StreamState,
        reason: Option<String>,
        status: Option<u16>,
        lines: Option<u64>,
        router: Option<u64>,
        garbage: Option<u64>,
        late: Option<u64>,
        message: Option<String>,
    },
    /// `holidays_feed` (warn on failure, else info). `reason` only on failure; `message` is the
    /// line's message.
    HolidaysFeed {
        /// `loaded`, `failed` or `pending`.
        state: String,
        url: String,
        holidays: u64,
        reason: Option<String>,
        message: Option<String>,
    },
    /// `history` (see [`History`]).
    History(History),
    /// `history_batch` (debug): a batch written.
    HistoryBatch { rows: u64, ms: u64 },
    /// `fatal` (error): startup refused. `status` and `hint` are absent when `None`; `message`
    /// is the line's message.
    Fatal {
        status: Option<u16>,
        hint: Option<String>,
        message: String,
    },
    /// `checks_off` (warn). `message` (why) is the line's message.
    ChecksOff {
        app: String,
        process: String,
        /// `off` (configured) or `no_web_url`.
        reason: String,
        message: String,
    },
    /// `config_warning` (warn). `app` and `process` are present for a target's warning, absent
    /// for the environment's; `message` is the warning.
    ConfigWarning {
        app: Option<String>,
        process: Option<String>,
        message: String,
    },
    /// `scheduler_error` (warn or error). `message` is the scheduler's error.
    SchedulerError { message: String },
    /// `schedule_done` (info), with a message.
    ScheduleDone,
}

/// The fields of an `event=history` line. Each field but `state` is absent when `None`: `ok` at
/// start has `dropped`, `store`, `schema_version`, `retention_days`; `ok` after an outage
/// `dropped`, `store`; `lost` `reason`, `dropped`, `store`; `refused` `target_id`, `stored_app`,
/// `stored_process`; `closed` `written`, `dropped`, `invalid`, `clean`. `message` is the line's
/// message. Build one with [`History::new`] and struct update syntax.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub state: HistoryState,
    pub reason: Option<String>,
    pub target_id: Option<i64>,
    pub stored_app: Option<String>,
    pub stored_process: Option<String>,
    pub written: Option<u64>,
    pub dropped: Option<u64>,
    pub invalid: Option<u64>,
    pub store: Option<String>,
    pub schema_version: Option<i64>,
    pub retention_days: Option<u32>,
    pub clean: Option<bool>,
    pub message: Option<String>,
}

impl History {
    /// `state=` and no other field.
    pub fn new(state: HistoryState) -> History {
        History {
            state,
            reason: None,
            target_id: None,
            stored_app: None,
            stored_process: None,
            written: None,
            dropped: None,
            invalid: None,
            store: None,
            schema_version: None,
            retention_days: None,
            clean: None,
            message: None,
        }
    }
}

/// The pairs of a line, in order, values unquoted.
struct Pairs(Vec<(&'static str, String)>);

impl Pairs {
    fn put(&mut self, key: &'static str, value: impl Display) -> &mut Self {
        self.0.push((key, value.to_string()));
        self
    }

    /// Left out when `None`.
    fn opt<T: Display>(&mut self, key: &'static str, value: &Option<T>) -> &mut Self {
        if let Some(v) = value {
            self.put(key, v);
        }
        self
    }

    /// Written empty when `None`.
    fn blank<T: Display>(&mut self, key: &'static str, value: &Option<T>) -> &mut Self {
        match value {
            Some(v) => self.put(key, v),
            None => self.put(key, ""),
        }
    }
}

/// Reads fields of a parsed line.
struct Read<'a>(&'a Line);

impl Read<'_> {
    fn s(&self, key: &str) -> Option<String> {
        self.0.get(key).map(str::to_owned)
    }

    fn n<T: FromStr>(&self, key: &str) -> Option<T> {
        self.0.get(key)?.parse().ok()
    }

    /// An absent field is `Some(None)`; one that does not parse makes the line unreadable.
    fn opt<T: FromStr>(&self, key: &str) -> Option<Option<T>> {
        match self.0.get(key) {
            None => Some(None),
            Some(v) => v.parse().ok().map(Some),
        }
    }

    /// A blank field is `Some(None)`; an absent one makes the line unreadable.
    fn blank<T: FromStr>(&self, key: &str) -> Option<Option<T>> {
        match self.0.get(key)? {
            "" => Some(None),
            v => v.parse().ok().map(Some),
        }
    }

    fn on_off(&self, key: &str) -> Option<bool> {
        match self.0.get(key)? {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        }
    }
}

impl Event {
    /// The `event=` name.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Start { .. } | Event::StartIdle { .. } => names::START,
            Event::Budget { .. } | Event::BudgetRate { .. } => names::BUDGET,
            Event::Probe { .. } => names::PROBE,
            Event::Scale { .. } => names::SCALE,
            Event::ScaleSkip { .. } => names::SCALE_SKIP,
            Event::Hold { .. } => names::HOLD,
            Event::HoldEnd { .. } => names::HOLD_END,
            Event::TargetDisabled { .. } => names::TARGET_DISABLED,
            Event::ApiError { .. } => names::API_ERROR,
            Event::RateLimit { .. } => names::RATE_LIMIT,
            Event::Notify { .. } => names::NOTIFY,
            Event::Shutdown { .. } => names::SHUTDOWN,
            Event::Traffic { .. } => names::TRAFFIC,
            Event::TrafficStream { .. } => names::TRAFFIC_STREAM,
            Event::HolidaysFeed { .. } => names::HOLIDAYS_FEED,
            Event::History(_) => names::HISTORY,
            Event::HistoryBatch { .. } => names::HISTORY_BATCH,
            Event::Fatal { .. } => names::FATAL,
            Event::ChecksOff { .. } => names::CHECKS_OFF,
            Event::ConfigWarning { .. } => names::CONFIG_WARNING,
            Event::SchedulerError { .. } => names::SCHEDULER_ERROR,
            Event::ScheduleDone => names::SCHEDULE_DONE,
        }
    }

    /// The line's `message` (written last), if it has one: a fixed text for a human, or a
    /// field of the event (an error's message, a warning).
    pub fn message(&self) -> Option<Cow<'_, str>> {
        fn fixed(text: &'static str) -> Option<Cow<'static, str>> {
            Some(Cow::Borrowed(text))
        }
        fn field(text: &Option<String>) -> Option<Cow<'_, str>> {
            text.as_deref().map(Cow::Borrowed)
        }
        match self {
            Event::StartIdle { .. } => {
                fixed("no app of the configuration belongs to this shard: nothing to do")
            }
            Event::BudgetRate { state, .. } => Some(Cow::Borrowed(match state {
                BudgetState::Halved => "Heroku's rate limit is low: formation reads halved",
                BudgetState::Normal => "Heroku's rate limit is back: formation reads as planned",
            })),
            Event::Scale { message, .. } | Event::Budget { message, .. } => field(message),
            Event::Hold { reason, .. } => fixed(match reason {
                HoldReason::Manual => "a quantity set by someone else is kept",
                HoldReason::Pause => {
                    "paused: every decision is logged (result=paused), nothing is sent"
                }
                HoldReason::Deploy => "unhealthy checks right after a release do not scale out",
            }),
            Event::TargetDisabled { message, .. }
            | Event::ApiError { message, .. }
            | Event::Fatal { message, .. }
            | Event::ChecksOff { message, .. }
            | Event::ConfigWarning { message, .. }
            | Event::SchedulerError { message } => Some(Cow::Borrowed(message)),
            Event::RateLimit { .. } => fixed("few Heroku API requests left this hour"),
            Event::Notify { message, .. }
            | Event::TrafficStream { message, .. }
            | Event::HolidaysFeed { message, .. }
            | Event::History(History { message, .. }) => field(message),
            Event::ScheduleDone => fixed("no entry of this app's schedules fires again"),
            Event::Start { .. }
            | Event::Probe { .. }
            | Event::ScaleSkip { .. }
            | Event::HoldEnd { .. }
            | Event::Shutdown { .. }
            | Event::Traffic { .. }
            | Event::HistoryBatch { .. } => None,
        }
    }

    /// The pairs after `event=` and before `message=`, in line order, values unquoted.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut p = Pairs(Vec::with_capacity(16));
        match self {
            Event::Start {
                version,
                app,
                process,
                schedule,
                tz,
                max,
                check_url,
                interval,
                timeout,
                slow,
                fast,
                scale_out_after,
                scale_in_after,
                dry_run,
                next_edge,
                next_quantity,
                shard,
                traffic,
                concurrency,
                utilization,
                error_rate,
            } => {
                p.put("version", version)
                    .put("app", app)
                    .put("process", process)
                    .put("schedule", schedule)
                    .put("tz", tz)
                    .put("max", max)
                    .put("check_url", check_url)
                    .put("interval", interval)
                    .put("timeout", timeout)
                    .put("slow", slow)
                    .put("fast", fast)
                    .put("scale_out_after", scale_out_after)
                    .put("scale_in_after", scale_in_after)
                    .put("dry_run", dry_run)
                    .put("next_edge", next_edge)
                    .blank("next_quantity", next_quantity)
                    .put("shard", shard)
                    .put("traffic", if *traffic { "on" } else { "off" })
                    .blank("concurrency", concurrency)
                    .put("utilization", utilization)
                    .put("error_rate", error_rate);
            }
            Event::StartIdle { shard } => {
                p.put("shard", shard);
            }
            Event::Budget {
                apps,
                targets,
                calls_per_hour,
                reads_per_hour,
                budget,
                stretch,
                shard,
                shards,
                ..
            } => {
                p.put("apps", apps)
                    .put("targets", targets)
                    .put("calls_per_hour", calls_per_hour)
                    .put("reads_per_hour", reads_per_hour)
                    .put("budget", budget)
                    .put("stretch", format!("{stretch:.2}"))
                    .put("shard", shard)
                    .put("shards", shards);
            }
            Event::BudgetRate {
                state,
                remaining,
                reads_per_hour,
                budget,
            } => {
                p.put("state", state)
                    .put("remaining", remaining)
                    .put("reads_per_hour", reads_per_hour)
                    .put("budget", budget);
            }
            Event::Probe {
                app,
                process,
                source,
                status,
                latency_ms,
                outcome,
                error,
                current,
                floor,
                late_ms,
                merged,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("source", source)
                    .blank("status", status)
                    .put("latency_ms", latency_ms)
                    .put("outcome", outcome)
                    .put("error", error)
                    .blank("current", current)
                    .blank("floor", floor)
                    .opt("late_ms", late_ms)
                    .opt("merged", merged);
            }
            Event::Scale {
                app,
                process,
                from,
                to,
                reason,
                result,
                status,
                message: _,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("from", from)
                    .put("to", to)
                    .put("reason", reason)
                    .put("result", result)
                    .opt("status", status);
            }
            Event::ScaleSkip {
                app,
                process,
                reason,
                current,
                trigger,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("reason", reason)
                    .put("current", current)
                    .put("trigger", trigger);
            }
            Event::Hold {
                app,
                process,
                reason,
                quantity,
                until,
                release,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("reason", reason)
                    .opt("quantity", quantity)
                    .put("until", until)
                    .opt("release", release);
            }
            Event::HoldEnd {
                app,
                process,
                reason,
                quantity,
                why,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("reason", reason)
                    .opt("quantity", quantity)
                    .put("why", why);
            }
            Event::TargetDisabled {
                app,
                process,
                status,
                message: _,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("status", status);
            }
            Event::ApiError {
                app,
                method,
                path,
                status,
                id,
                attempt,
                request_id,
                message: _,
            } => {
                p.put("app", app)
                    .put("method", method)
                    .put("path", path)
                    .blank("status", status)
                    .put("id", id)
                    .put("attempt", attempt)
                    .put("request_id", request_id);
            }
            Event::RateLimit { remaining } => {
                p.put("remaining", remaining);
            }
            Event::Notify {
                channel,
                kind,
                result,
                attempt,
                message: _,
            } => {
                p.put("channel", channel)
                    .opt("kind", kind)
                    .put("result", result)
                    .opt("attempt", attempt);
            }
            Event::Shutdown {
                signal,
                clean,
                took_ms,
                api_calls,
            } => {
                p.put("signal", signal)
                    .put("clean", clean)
                    .put("took_ms", took_ms)
                    .put("api_calls", api_calls);
            }
            Event::Traffic {
                app,
                process,
                minute,
                requests,
                p50_ms,
                p95_ms,
                p99_ms,
                errors,
                h10,
                h12,
                h13,
                busy,
                dynos,
                s2xx,
                s3xx,
                s4xx,
                s5xx,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("minute", minute.to_rfc3339_opts(SecondsFormat::Secs, true))
                    .put("requests", requests)
                    .blank("p50_ms", p50_ms)
                    .blank("p95_ms", p95_ms)
                    .blank("p99_ms", p99_ms)
                    .put("errors", errors)
                    .put("h10", h10)
                    .put("h12", h12)
                    .put("h13", h13)
                    .put("busy", format!("{busy:.2}"))
                    .put("dynos", dynos)
                    .put("s2xx", s2xx)
                    .put("s3xx", s3xx)
                    .put("s4xx", s4xx)
                    .put("s5xx", s5xx);
            }
            Event::TrafficStream {
                app,
                state,
                reason,
                status,
                lines,
                router,
                garbage,
                late,
                message: _,
            } => {
                p.put("app", app)
                    .put("state", state)
                    .opt("reason", reason)
                    .opt("status", status)
                    .opt("lines", lines)
                    .opt("router", router)
                    .opt("garbage", garbage)
                    .opt("late", late);
            }
            Event::HolidaysFeed {
                state,
                url,
                holidays,
                reason,
                message: _,
            } => {
                p.put("state", state)
                    .put("url", url)
                    .put("holidays", holidays)
                    .opt("reason", reason);
            }
            Event::History(History {
                state,
                reason,
                target_id,
                stored_app,
                stored_process,
                written,
                dropped,
                invalid,
                store,
                schema_version,
                retention_days,
                clean,
                message: _,
            }) => {
                p.put("state", state)
                    .opt("reason", reason)
                    .opt("target_id", target_id)
                    .opt("stored_app", stored_app)
                    .opt("stored_process", stored_process)
                    .opt("written", written)
                    .opt("dropped", dropped)
                    .opt("invalid", invalid)
                    .opt("store", store)
                    .opt("schema_version", schema_version)
                    .opt("retention_days", retention_days)
                    .opt("clean", clean);
            }
            Event::HistoryBatch { rows, ms } => {
                p.put("rows", rows).put("ms", ms);
            }
            Event::Fatal {
                status,
                hint,
                message: _,
            } => {
                p.opt("status", status).opt("hint", hint);
            }
            Event::ChecksOff {
                app,
                process,
                reason,
                message: _,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("reason", reason);
            }
            Event::ConfigWarning {
                app,
                process,
                message: _,
            } => {
                p.opt("app", app).opt("process", process);
            }
            Event::SchedulerError { message: _ } | Event::ScheduleDone => {}
        }
        p.0
    }

    /// The pairs of [`Event::pairs`] as logfmt text (`k=v k="a b"`), as the line shows them.
    pub fn pairs_text(&self) -> String {
        let mut text = String::with_capacity(128);
        for (key, value) in self.pairs() {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(key);
            text.push('=');
            text.push_str(&quote(&value));
        }
        text
    }

    /// Logs the event at `level` through tracing: one line `ts=… level=… event=<name> <pairs>
    /// message=…` under [`crate::logfmt::Logfmt`] (see the module docs).
    pub fn emit(&self, level: Level) {
        let name = self.name();
        let pairs = self.pairs_text();
        let pairs = pairs.as_str();
        let message = self.message();
        let message = message.as_deref();
        match level {
            Level::ERROR => tracing::error!(event = name, logfmt = pairs, message),
            Level::WARN => tracing::warn!(event = name, logfmt = pairs, message),
            Level::INFO => tracing::info!(event = name, logfmt = pairs, message),
            Level::DEBUG => tracing::debug!(event = name, logfmt = pairs, message),
            _ => tracing::trace!(event = name, logfmt = pairs, message),
        }
    }

    /// Reads an event back from a whole log line (`ts=… level=… event=…`, as printed, or after
    /// the prefix `heroku logs` adds has been cut); `None` for another line, an unknown name or
    /// a line without the event's fields.
    pub fn parse(line: &str) -> Option<Event> {
        Event::from_line(&Line::parse(line)?)
    }

    /// [`Event::parse`] of an already parsed line. Extra fields are ignored (lines of a newer
    /// version); a missing field, or a value that does not read, makes it `None`.
    pub fn from_line(line: &Line) -> Option<Event> {
        let r = Read(line);
        let message = || r.s("message");
        Some(match line.event()? {
            names::START if line.get("app").is_none() => Event::StartIdle {
                shard: r.n("shard")?,
            },
            names::START => Event::Start {
                version: r.s("version")?,
                app: r.s("app")?,
                process: r.s("process")?,
                schedule: r.s("schedule")?,
                tz: r.s("tz")?,
                max: r.n("max")?,
                check_url: r.s("check_url")?,
                interval: r.s("interval")?,
                timeout: r.s("timeout")?,
                slow: r.s("slow")?,
                fast: r.s("fast")?,
                scale_out_after: r.n("scale_out_after")?,
                scale_in_after: r.s("scale_in_after")?,
                dry_run: r.n("dry_run")?,
                next_edge: r.s("next_edge")?,
                next_quantity: r.blank("next_quantity")?,
                shard: r.n("shard")?,
                traffic: r.on_off("traffic")?,
                concurrency: r.blank("concurrency")?,
                utilization: r.n("utilization")?,
                error_rate: r.n("error_rate")?,
            },
            names::BUDGET if line.get("state").is_some() => Event::BudgetRate {
                state: r.n("state")?,
                remaining: r.n("remaining")?,
                reads_per_hour: r.n("reads_per_hour")?,
                budget: r.n("budget")?,
            },
            names::BUDGET => Event::Budget {
                apps: r.n("apps")?,
                targets: r.n("targets")?,
                calls_per_hour: r.n("calls_per_hour")?,
                reads_per_hour: r.n("reads_per_hour")?,
                budget: r.n("budget")?,
                stretch: r.n("stretch")?,
                shard: r.n("shard")?,
                shards: r.n("shards")?,
                message: line.get("message").map(str::to_owned),
            },
            names::PROBE => Event::Probe {
                app: r.s("app")?,
                process: r.s("process")?,
                source: r.n("source")?,
                status: r.blank("status")?,
                latency_ms: r.n("latency_ms")?,
                outcome: r.n("outcome")?,
                error: r.s("error")?,
                current: r.blank("current")?,
                floor: r.blank("floor")?,
                late_ms: r.opt("late_ms")?,
                merged: r.opt("merged")?,
            },
            names::SCALE => Event::Scale {
                app: r.s("app")?,
                process: r.s("process")?,
                from: r.n("from")?,
                to: r.n("to")?,
                reason: r.s("reason")?,
                result: r.n("result")?,
                status: r.s("status"),
                message: message(),
            },
            names::SCALE_SKIP => Event::ScaleSkip {
                app: r.s("app")?,
                process: r.s("process")?,
                reason: r.s("reason")?,
                current: r.n("current")?,
                trigger: r.s("trigger")?,
            },
            names::HOLD => Event::Hold {
                app: r.s("app")?,
                process: r.s("process")?,
                reason: r.n("reason")?,
                quantity: r.opt("quantity")?,
                until: r.s("until")?,
                release: r.opt("release")?,
            },
            names::HOLD_END => Event::HoldEnd {
                app: r.s("app")?,
                process: r.s("process")?,
                reason: r.n("reason")?,
                quantity: r.opt("quantity")?,
                why: r.s("why")?,
            },
            names::TARGET_DISABLED => Event::TargetDisabled {
                app: r.s("app")?,
                process: r.s("process")?,
                status: r.s("status")?,
                message: message()?,
            },
            names::API_ERROR => Event::ApiError {
                app: r.s("app")?,
                method: r.s("method")?,
                path: r.s("path")?,
                status: r.blank("status")?,
                id: r.s("id")?,
                attempt: r.n("attempt")?,
                request_id: r.s("request_id")?,
                message: message()?,
            },
            names::RATE_LIMIT => Event::RateLimit {
                remaining: r.n("remaining")?,
            },
            names::NOTIFY => Event::Notify {
                channel: r.s("channel")?,
                kind: r.s("kind"),
                result: r.n("result")?,
                attempt: r.opt("attempt")?,
                message: message(),
            },
            names::SHUTDOWN => Event::Shutdown {
                signal: r.s("signal")?,
                clean: r.n("clean")?,
                took_ms: r.n("took_ms")?,
                api_calls: r.n("api_calls")?,
            },
            names::TRAFFIC => Event::Traffic {
                app: r.s("app")?,
                process: r.s("process")?,
                minute: DateTime::parse_from_rfc3339(line.get("minute")?)
                    .ok()?
                    .with_timezone(&Utc),
                requests: r.n("requests")?,
                p50_ms: r.blank("p50_ms")?,
                p95_ms: r.blank("p95_ms")?,
                p99_ms: r.blank("p99_ms")?,
                errors: r.n("errors")?,
                h10: r.n("h10")?,
                h12: r.n("h12")?,
                h13: r.n("h13")?,
                busy: r.n("busy")?,
                dynos: r.n("dynos")?,
                s2xx: r.n("s2xx")?,
                s3xx: r.n("s3xx")?,
                s4xx: r.n("s4xx")?,
                s5xx: r.n("s5xx")?,
            },
            names::TRAFFIC_STREAM => Event::TrafficStream {
                app: r.s("app")?,
                state: r.n("state")?,
                reason: r.s("reason"),
                status: r.opt("status")?,
                lines: r.opt("lines")?,
                router: r.opt("router")?,
                garbage: r.opt("garbage")?,
                late: r.opt("late")?,
                message: message(),
            },
            names::HOLIDAYS_FEED => Event::HolidaysFeed {
                state: r.s("state")?,
                url: r.s("url")?,
                holidays: r.n("holidays")?,
                reason: r.s("reason"),
                message: message(),
            },
            names::HISTORY => Event::History(History {
                state: r.n("state")?,
                reason: r.s("reason"),
                target_id: r.opt("target_id")?,
                stored_app: r.s("stored_app"),
                stored_process: r.s("stored_process"),
                written: r.opt("written")?,
                dropped: r.opt("dropped")?,
                invalid: r.opt("invalid")?,
                store: r.s("store"),
                schema_version: r.opt("schema_version")?,
                retention_days: r.opt("retention_days")?,
                clean: r.opt("clean")?,
                message: message(),
            }),
            names::HISTORY_BATCH => Event::HistoryBatch {
                rows: r.n("rows")?,
                ms: r.n("ms")?,
            },
            names::FATAL => Event::Fatal {
                status: r.opt("status")?,
                hint: r.s("hint"),
                message: message()?,
            },
            names::CHECKS_OFF => Event::ChecksOff {
                app: r.s("app")?,
                process: r.s("process")?,
                reason: r.s("reason")?,
                message: message()?,
            },
            names::CONFIG_WARNING => Event::ConfigWarning {
                app: r.s("app"),
                process: r.s("process"),
                message: message()?,
            },
            names::SCHEDULER_ERROR => Event::SchedulerError {
                message: message()?,
            },
            names::SCHEDULE_DONE => Event::ScheduleDone,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests;
