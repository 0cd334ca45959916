//! One target's memory between rounds: what the policy needs (streaks, holds, the latest edge
//! handled, the traffic's needs), apart from what was already said (so a line or an alert is
//! not repeated every round).

use std::collections::VecDeque;

use super::*;

/// An outage as the checks see it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Trouble {
    pub(super) since: DateTime<Utc>,
    pub(super) checks: u32,
    /// Unhealthy checks while already at the maximum: scaling out did not help.
    pub(super) at_max: u32,
    /// Whether a human was told about this outage (a recovery is news only then).
    pub(super) alerted: bool,
}

/// The formation state last seen or set: a different one on a later read was set by someone
/// else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Known {
    pub(super) quantity: u32,
    pub(super) updated_at: String,
}

/// One target's memory: what the policy decides from, and what was already said.
#[derive(Debug)]
pub(super) struct TargetState {
    pub(super) target: Target,
    pub(super) streaks: Streaks,
    pub(super) trouble: Option<Trouble>,
    pub(super) last_probe: Option<Probe>,
    /// The instant of the latest schedule edge already handled.
    pub(super) edge_handled: Option<DateTime<Utc>>,
    pub(super) known: Option<Known>,
    pub(super) hold: Option<Hold>,
    /// In a dry run, the quantity the daemon would have set: it decides from there, as if.
    pub(super) virtual_quantity: Option<u32>,
    /// Why the target was disabled (its app or process does not exist).
    pub(super) disabled: Option<String>,
    /// Whether checks run (a URL is known or pending).
    pub(super) checks_on: bool,
    /// The traffic's need of its latest minutes (minute, dynos), newest last.
    pub(super) load: VecDeque<(DateTime<Utc>, u32)>,
    /// The needs of the minutes closed since the last scale, newest last: a calm scale-in on
    /// load counts only these.
    pub(super) calm: VecDeque<u32>,
    /// A worker's job queue: its latest read and what it asks for.
    pub(super) queue: QueueMemory,
    /// What was already said, so it is not said again every round.
    pub(super) said: Said,
}

/// A worker's job queue between rounds.
#[derive(Debug, Default)]
pub(super) struct QueueMemory {
    /// The latest read, and when: the next one's rates are counted from it.
    pub(super) last: Option<(crate::queue::Totals, DateTime<Utc>)>,
    /// What the reads so far say of the jobs' service time ([`crate::queue::policy::rates`]).
    pub(super) service: Option<crate::queue::policy::Service>,
    /// Calm reads in a row.
    pub(super) calm: crate::queue::policy::Calm,
    /// What the latest read asks for; None while nothing is known (before the first read, or
    /// with the store lost): then nothing is scaled in.
    pub(super) load: Option<Load>,
    /// During a drain, what the latest read saw on the dynos that will stop, and when.
    pub(super) stopping: Option<(super::StoppingNews, DateTime<Utc>)>,
    /// The drain under way: the scale-in it holds back until the stopping dynos are idle.
    pub(super) drain: Option<Drain>,
    /// The minute its reads are in, until a later one closes it (`event=queue`).
    pub(super) minute: Option<QueueMinute>,
}

/// A worker's queue minute while its reads come: the worst they saw, and the store's counter of
/// jobs done before it and at its latest read.
#[derive(Debug, Clone, Copy)]
pub(super) struct QueueMinute {
    pub(super) minute: DateTime<Utc>,
    pub(super) depth: u64,
    pub(super) latency: std::time::Duration,
    pub(super) busy: Option<u64>,
    pub(super) dynos: u32,
    pub(super) concurrency: u32,
    pub(super) counter_before: Option<u64>,
    pub(super) counter: Option<u64>,
}

/// A scale-in held back while the dynos it stops finish their jobs.
#[derive(Debug, Clone, Copy)]
pub(super) struct Drain {
    pub(super) change: super::apply::Change,
    pub(super) since: DateTime<Utc>,
}

/// What a target's log lines already said: none of it changes a decision, only whether a
/// line is written again.
#[derive(Debug, Default)]
pub(super) struct Said {
    /// Heroku's last 422 message: the same refusal is logged once, not at every round.
    pub(super) rejection: Option<String>,
    /// The last skip logged (reason, current): the same skip is not repeated every round.
    pub(super) skip: Option<(Skip, u32)>,
    /// The pause was said (hold reason=pause); cleared when it ends.
    pub(super) paused: bool,
    /// The release whose grace was said (hold reason=deploy), by version.
    pub(super) deploy: Option<u64>,
}

impl TargetState {
    /// A target as the loop first knows it: nothing seen, nothing said.
    pub(super) fn new(target: Target) -> TargetState {
        TargetState {
            checks_on: target.check.url != CheckUrl::Off,
            target,
            streaks: Streaks::default(),
            trouble: None,
            last_probe: None,
            edge_handled: None,
            known: None,
            hold: None,
            virtual_quantity: None,
            disabled: None,
            load: VecDeque::new(),
            calm: VecDeque::new(),
            queue: QueueMemory::default(),
            said: Said::default(),
        }
    }
}

/// Minutes of traffic needs kept per target (a calm scale-in looks at SCALE_IN_AFTER of them).
pub(super) const LOAD_WINDOW: usize = 64;
