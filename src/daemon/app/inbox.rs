//! What wakes an app's loop, and what it takes when it wakes: check results, traffic minutes,
//! the stream's state and edges, merged per target (latest wins, a bounded tail of outcomes),
//! never queued. Senders never wait.

use super::*;

/// A check's result waiting for the next round.
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// Outcomes in order, oldest first (counted into the streaks).
    pub(super) outcomes: Vec<Outcome>,
    /// The latest probe, with its details (what the probe line and alerts show).
    pub(super) latest: Option<(Probe, u64)>,
    /// Finished minutes of traffic, oldest first (a few at most: a round takes them all).
    pub(super) minutes: Vec<Minute>,
    /// The worker's job queue, as its latest read said (latest wins).
    pub(super) queue: Option<QueueNews>,
}

/// What runs on the dynos a drain's scale-in stops, as a read saw it (after it quieted them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoppingNews {
    /// The drain's quantity: dynos numbered above it stop.
    pub keep: u32,
    /// Jobs they run.
    pub busy: u64,
    /// Processes not quiet yet.
    pub loud: u32,
}

/// What a worker's queue task says after a read of its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueNews {
    /// The store was read at `at`.
    Read {
        totals: crate::queue::Totals,
        at: DateTime<Utc>,
        /// During a drain: what still runs on the dynos that will stop.
        stopping: Option<StoppingNews>,
    },
    /// The store could not be read: nothing is known.
    Lost,
}

/// Traffic minutes kept per target between two rounds.
pub(super) const PENDING_MINUTES: usize = 16;

#[derive(Debug, Default)]
pub(super) struct InboxState {
    pub(super) checks: Vec<Pending>,
    pub(super) edge: bool,
    /// The traffic stream's state: connected (and the latest minute it closed), or away.
    pub(super) traffic: Option<TrafficState>,
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
    pub(super) state: Mutex<InboxState>,
    pub(super) notify: Notify,
    /// Set by a check task that found its URL unusable (a null or non-http web_url).
    pub(super) checks_off: Vec<AtomicBool>,
    /// Each target's process when it reads traffic (router lines are per process).
    pub(super) traffic: Vec<Option<String>>,
    /// Per target, the drain its queue task carries out: quiet the processes on dynos numbered
    /// above this quantity (None: no drain).
    pub(super) drains: Vec<tokio::sync::watch::Sender<Option<u32>>>,
    /// Rounds finished, for callers that drive the loop step by step (replay, tests).
    pub(super) rounds: std::sync::atomic::AtomicU64,
    pub(super) round_done: Notify,
}

impl Inbox {
    pub(super) fn new(traffic: Vec<Option<String>>) -> Inbox {
        let targets = traffic.len();
        Inbox {
            state: Mutex::new(InboxState {
                checks: (0..targets).map(|_| Pending::default()).collect(),
                edge: false,
                traffic: None,
            }),
            notify: Notify::new(),
            checks_off: (0..targets).map(|_| AtomicBool::new(false)).collect(),
            drains: (0..targets)
                .map(|_| tokio::sync::watch::Sender::new(None))
                .collect(),
            traffic,
            rounds: std::sync::atomic::AtomicU64::new(0),
            round_done: Notify::new(),
        }
    }

    pub(super) fn take(&self) -> InboxState {
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
    pub(super) inbox: Arc<Inbox>,
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

    /// Target `index`'s job queue was read (or could not be).
    pub fn queue(&self, index: usize, news: QueueNews) {
        {
            let mut state = self.inbox.state.lock().expect("inbox lock");
            let Some(slot) = state.checks.get_mut(index) else {
                return;
            };
            slot.queue = Some(news);
        }
        self.inbox.notify.notify_one();
    }

    /// Target `index`'s drain orders, for its queue task: quiet the processes on dynos numbered
    /// above the quantity it holds.
    pub fn drain_orders(&self, index: usize) -> tokio::sync::watch::Receiver<Option<u32>> {
        match self.inbox.drains.get(index) {
            Some(sender) => sender.subscribe(),
            None => tokio::sync::watch::Sender::new(None).subscribe(),
        }
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

/// What a round took from the inbox.
#[derive(Debug, Default)]
pub(super) struct Taken {
    pub(super) checks: Vec<Pending>,
    pub(super) traffic: Option<TrafficState>,
}

impl From<InboxState> for Taken {
    fn from(state: InboxState) -> Taken {
        Taken {
            checks: state.checks,
            traffic: state.traffic,
        }
    }
}
