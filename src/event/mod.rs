//! The daemon's events, typed: one [`Event`] variant per `event=` name of the contract, with its
//! fields. An event writes its own logfmt line (through tracing, so that the log filter and any
//! captured subscriber still see it) and reads it back ([`Event::parse`]), so that a name or a
//! field that the contract does not have cannot be written by mistake.
//!
//! Logs are an interface (contract.md, "Logs"; the table in docs/logs.md): operators alert on these lines
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
//! | `start`, `budget` (at start), `fatal`, `shutdown`, `config_warning` (per target) | `src/daemon/mod.rs`, `src/daemon/startup.rs` |
//! | `scheduler_error`, `schedule_done` | `src/daemon/edges.rs` |
//! | `history` (`off`, `closed`), `holidays_feed` | `src/daemon/recording.rs`, `src/daemon/holidays.rs` |
//! | `probe`, `scale`, `scale_skip`, `hold`, `hold_end` | `src/daemon/app/output.rs` (one place for each line and its history row) |
//! | `target_disabled` | `src/daemon/app/formation.rs` |
//! | `checks_off` | `src/daemon/checks.rs` |
//! | `traffic`, `traffic_stream` | `src/daemon/stream.rs` (a minute's line: `traffic::event::traffic_event`) |
//! | `api_error`, `rate_limit` | `src/heroku.rs` |
//! | `budget` (`state=halved\|normal`) | `src/budget.rs` |
//! | `notify` | `src/notify/mod.rs` (`dropped`, `throttled`), `src/notify/channels.rs` (`ok`, `error`) |
//! | `history` (`ok`, `lost`, `refused`), `history_batch` | `src/history/mod.rs`, `src/history/writer.rs` |
//! | `config_warning` (environment) | `src/cli.rs` |
//!
//! No line is written with a tracing macro and an `event=` of its own: every one is an `Event`.
//! The module is three files: this one (the types), `write.rs` (pairs, message, emit) and
//! `read.rs` (a line read back).
//!
//! # Adding an event or a field
//!
//! 1. Add the variant (or the field, at its place in the line) to [`Event`], its name to
//!    [`Event::name`] and [`NAMES`], its pairs to `Event::pairs` (`write.rs`), its message (if any) to
//!    [`Event::message`] and its reading to [`Event::from_line`] (`read.rs`).
//! 2. Add a sample to the tests' `samples()`: the round-trip test then covers it.
//! 3. Document it in the "Logs" table of docs/logs.md (a test compares the names) and in the contract:
//!    a new name or field is a change of the interface; renaming one breaks operators' alerts.

use std::fmt::Display;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::logfmt::quote;
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
    pub const QUEUE: &str = "queue";
    pub const QUEUE_SOURCE: &str = "queue_source";
    pub const DRAIN: &str = "drain";
}

/// Every `event=` name the daemon writes, in the order of [`Event`]'s variants.
pub const NAMES: [&str; 25] = [
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
    names::QUEUE,
    names::QUEUE_SOURCE,
    names::DRAIN,
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

/// `state=` of a worker's job queue store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueState {
    Ok,
    Lost,
}

/// `state=` of a drain before a worker's scale-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainState {
    Started,
    Done,
    Timeout,
    Cancelled,
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
    QueueState { Ok = "ok", Lost = "lost" }
    DrainState { Started = "started", Done = "done", Timeout = "timeout", Cancelled = "cancelled" }
}

/// One event line of the daemon (see the module docs). Fields are in line order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `start`, one per target (info). `next_quantity` and `concurrency` are blank when unknown;
    /// `fast` and `scale_in_after` are a value or `off`; `traffic` is written `on`/`off`. A
    /// worker on its job queue adds its library (`queue`) and its target (`queue_latency`).
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
        queue: Option<String>,
        queue_latency: Option<String>,
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
        /// The dyno size sent with the quantity (an edge that changes the size), else absent.
        size: Option<String>,
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
    /// `queue` (info): one minute of a worker's job queue, written once the minute is over (at
    /// the first read of a later one, or at shutdown): the worst its reads saw (the most jobs
    /// waiting, summed over its queues; the oldest job; the most running; the most dynos), and
    /// the jobs done in it. `busy` and `done` are blank where the store does not say; each dyno
    /// runs `concurrency` jobs at once (the setting, or as reported).
    Queue {
        app: String,
        process: String,
        minute: DateTime<Utc>,
        depth: u64,
        latency_ms: u64,
        busy: Option<u64>,
        done: Option<u64>,
        dynos: u32,
        concurrency: u32,
    },
    /// `queue_source` (warn when lost, info when ok again): the store of a worker's queue could
    /// not be read, or can again. `reason` only when lost; `url` is shown redacted; `message` is
    /// the line's message.
    QueueSource {
        app: String,
        process: String,
        state: QueueState,
        library: String,
        url: String,
        reason: Option<String>,
        message: Option<String>,
    },
    /// `drain` (info; warn at a timeout): before a worker's scale-in from `from` to `to`, the
    /// processes on the dynos that will stop (`TYPE.(to+1)` and up) are quieted and the PATCH
    /// waits until they run no job (`done`), or AUTOSCALE_DRAIN_TIMEOUT (`timeout`); a scale-out
    /// meanwhile cancels it. `busy` (the jobs they still run) and `waited_ms` are absent at
    /// `started`. `message` is the line's message.
    Drain {
        app: String,
        process: String,
        state: DrainState,
        from: u32,
        to: u32,
        busy: Option<u64>,
        waited_ms: Option<u64>,
        message: Option<String>,
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

mod read;
mod write;

#[cfg(test)]
mod tests;
