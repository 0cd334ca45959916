//! A job queue kept in this process, read through the same [`super::Store`] calls as the real
//! stores: what `autoscale demo` scales its worker on, with no Redis and no account.
//!
//! A [`Memory`] queue is registered under a store URL ([`Memory::register`]); opening that URL
//! gives it instead of a connection. Nothing else registers one, so a daemon reading real stores
//! never meets it. Jobs wait in order of arrival; each of the worker's dynos works
//! `concurrency` of them at once, `job` long each, once it has booted; the dynos running are
//! told by [`Memory::set_dynos`] (the demo follows the simulated formation). A read quiets the
//! processes of the dynos a drain stops, as Sidekiq's TSTP does: they finish what they run and
//! take nothing new. A dyno stopped while it still runs jobs interrupts them (they go back to
//! the queue, as Sidekiq retries them) and the queue counts them.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::{Queue, Stopping, StoreRead, Totals};

/// The queue's name in every read.
pub const QUEUE: &str = "default";

/// The queues registered in this process, by store URL.
fn registry() -> &'static Mutex<HashMap<String, Memory>> {
    static REGISTRY: OnceLock<Mutex<HashMap<String, Memory>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(HashMap::new()))
}

/// An in-process job queue (cheap to clone: one shared state).
#[derive(Debug, Clone)]
pub struct Memory {
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    concurrency: u32,
    job: Duration,
    boot: Duration,
    /// When each waiting job arrived, oldest first.
    waiting: VecDeque<Instant>,
    /// Jobs running: the dyno's number and when each ends.
    running: Vec<(u32, Instant)>,
    /// Dynos asked for, and when each (numbered from 1) works.
    dynos: Vec<Instant>,
    /// Dynos whose processes were quieted.
    quiet: BTreeSet<u32>,
    done: u64,
    interrupted: u64,
    /// How far the queue has been advanced.
    now: Instant,
    /// What each read saw, oldest first (at most [`MAX_READS`]).
    reads: Vec<Seen>,
}

/// Reads [`Memory::reads`] keeps (an hour of a read a second).
pub const MAX_READS: usize = 3600;

/// What one read through [`Memory::read`] saw, and when (wall clock): the figures the daemon
/// scaled on, which `autoscale demo` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub at: chrono::DateTime<chrono::Utc>,
    /// Jobs waiting, and how long the oldest has.
    pub depth: u64,
    pub latency: Duration,
    /// Jobs running, and the jobs done since the queue started.
    pub busy: u64,
    pub done: u64,
    /// Dynos asked for (booting or working), and the jobs each runs at once.
    pub dynos: u32,
    pub concurrency: u32,
}

/// What the queue has seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub done: u64,
    /// Jobs cut short by their dyno stopping.
    pub interrupted: u64,
    pub waiting: u64,
    pub running: u64,
}

impl Memory {
    /// A queue whose dynos run `concurrency` jobs of `job` each at once, `boot` after they are
    /// asked for; `dynos` run from the start.
    pub fn new(concurrency: u32, job: Duration, boot: Duration, dynos: u32) -> Memory {
        Memory::new_at(concurrency, job, boot, dynos, Instant::now())
    }

    fn new_at(concurrency: u32, job: Duration, boot: Duration, dynos: u32, now: Instant) -> Memory {
        Memory {
            state: Arc::new(Mutex::new(State {
                concurrency: concurrency.max(1),
                job,
                boot,
                waiting: VecDeque::new(),
                running: Vec::new(),
                dynos: vec![now; dynos as usize],
                quiet: BTreeSet::new(),
                done: 0,
                interrupted: 0,
                now,
                reads: Vec::new(),
            })),
        }
    }

    /// Makes `url` open this queue (see the module docs).
    pub fn register(&self, url: &str) {
        registry()
            .lock()
            .expect("queue registry")
            .insert(url.to_owned(), self.clone());
    }

    /// The queue registered under `url`, if any.
    pub fn registered(url: &str) -> Option<Memory> {
        registry().lock().expect("queue registry").get(url).cloned()
    }

    /// Forgets `url`.
    pub fn unregister(url: &str) {
        registry().lock().expect("queue registry").remove(url);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("queue state")
    }

    /// `n` jobs arrive now.
    pub fn push(&self, n: u32) {
        self.push_at(n, Instant::now());
    }

    fn push_at(&self, n: u32, now: Instant) {
        let mut s = self.state();
        s.advance(now);
        s.waiting.extend(std::iter::repeat_n(now, n as usize));
        s.advance(now);
    }

    /// The formation now runs `n` dynos: new ones boot, the highest-numbered stop (as Heroku
    /// stops them), interrupting what they still run.
    pub fn set_dynos(&self, n: u32) {
        self.set_dynos_at(n, Instant::now());
    }

    fn set_dynos_at(&self, n: u32, now: Instant) {
        let mut s = self.state();
        s.advance(now);
        let n = n as usize;
        if n > s.dynos.len() {
            let boot = now + s.boot;
            s.dynos.resize(n, boot);
        } else if n < s.dynos.len() {
            s.dynos.truncate(n);
            let keep = n as u32;
            let (stopped, kept): (Vec<_>, Vec<_>) =
                s.running.drain(..).partition(|(dyno, _)| *dyno > keep);
            s.running = kept;
            s.interrupted += stopped.len() as u64;
            for _ in stopped {
                s.waiting.push_front(now);
            }
            s.quiet.retain(|d| *d <= keep);
        }
        s.advance(now);
    }

    pub fn tally(&self) -> Tally {
        self.tally_at(Instant::now())
    }

    fn tally_at(&self, now: Instant) -> Tally {
        let mut s = self.state();
        s.advance(now);
        Tally {
            done: s.done,
            interrupted: s.interrupted,
            waiting: s.waiting.len() as u64,
            running: s.running.len() as u64,
        }
    }

    /// One read, as a store's: with `drain_to`, the processes of the dynos above it are quieted
    /// and what they still run is said.
    pub fn read(&self, drain_to: Option<u32>) -> StoreRead {
        let read = self.read_at(drain_to, Instant::now());
        self.seen(&read, chrono::Utc::now());
        read
    }

    /// Keeps what `read` saw at `at` (see [`Memory::reads`]).
    fn seen(&self, read: &StoreRead, at: chrono::DateTime<chrono::Utc>) {
        let mut s = self.state();
        if s.reads.len() >= MAX_READS {
            return;
        }
        let seen = Seen {
            at,
            depth: read.totals.depth,
            latency: read.totals.latency,
            busy: read.totals.busy.unwrap_or(0),
            done: read.totals.done_counter.unwrap_or(0),
            dynos: s.dynos.len() as u32,
            concurrency: s.concurrency,
        };
        s.reads.push(seen);
    }

    /// What each read saw so far, oldest first: the first [`MAX_READS`].
    pub fn reads(&self) -> Vec<Seen> {
        self.state().reads.clone()
    }

    fn read_at(&self, drain_to: Option<u32>, now: Instant) -> StoreRead {
        let mut s = self.state();
        s.advance(now);
        let stopping = drain_to.map(|keep| {
            let above: Vec<u32> = (keep + 1..=s.dynos.len() as u32).collect();
            s.quiet.extend(above.iter().copied());
            Stopping {
                busy: s.running.iter().filter(|(d, _)| *d > keep).count() as u64,
                loud: Vec::new(),
                processes: above.len() as u32,
            }
        });
        let latency = s
            .waiting
            .front()
            .map_or(Duration::ZERO, |at| now.saturating_duration_since(*at));
        let depth = s.waiting.len() as u64;
        StoreRead {
            queues: vec![Queue {
                name: QUEUE.to_owned(),
                depth,
                latency: Some(latency),
            }],
            totals: Totals {
                depth,
                latency,
                busy: Some(s.running.len() as u64),
                done_counter: Some(s.done),
                concurrency: Some(s.concurrency),
            },
            stopping,
            unreadable: 0,
        }
    }
}

impl State {
    /// Jobs end and start up to `now`, event by event (a job ending, a dyno ready), in order.
    fn advance(&mut self, now: Instant) {
        while let Some(at) = self
            .running
            .iter()
            .map(|(_, end)| *end)
            .chain(self.dynos.iter().copied())
            .filter(|t| *t > self.now && *t <= now)
            .min()
        {
            self.now = at;
            self.step(at);
        }
        self.now = self.now.max(now);
        self.step(self.now);
    }

    /// At `at`: the jobs ending then are done, and each waiting job goes to the working, loud
    /// dyno with the most free slots (the highest-numbered of equals), as idle Sidekiq processes
    /// all wait on the queue: the jobs spread over the dynos.
    fn step(&mut self, at: Instant) {
        let before = self.running.len();
        self.running.retain(|(_, end)| *end > at);
        self.done += (before - self.running.len()) as u64;
        while !self.waiting.is_empty() {
            let free = |dyno: u32| {
                let busy = self.running.iter().filter(|(d, _)| *d == dyno).count();
                (self.concurrency as usize).saturating_sub(busy)
            };
            let best = (1..=self.dynos.len() as u32)
                .filter(|d| self.dynos[*d as usize - 1] <= at && !self.quiet.contains(d))
                .map(|d| (free(d), d))
                .filter(|(f, _)| *f > 0)
                .max();
            let Some((_, dyno)) = best else {
                return;
            };
            self.waiting.pop_front();
            self.running.push((dyno, at + self.job));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn jobs_run_on_the_working_dynos_in_order_and_are_counted_done() {
        let t0 = Instant::now();
        // 1 dyno of 2 slots, jobs of 1 s.
        let q = Memory::new_at(2, S, 2 * S, 1, t0);
        q.push_at(5, t0);
        let r = q.read_at(None, t0);
        assert_eq!((r.totals.depth, r.totals.busy), (3, Some(2)));
        assert_eq!(r.totals.latency, Duration::ZERO);
        assert_eq!(r.totals.concurrency, Some(2));
        // At 1.5 s two are done, two more run, one waits 1.5 s.
        let r = q.read_at(None, t0 + S * 3 / 2);
        assert_eq!(r.totals.done_counter, Some(2));
        assert_eq!((r.totals.depth, r.totals.busy), (1, Some(2)));
        assert_eq!(r.totals.latency, S * 3 / 2);
        assert_eq!(r.queues[0].name, QUEUE);
        assert_eq!(q.tally_at(t0 + 3 * S).done, 5);
        assert_eq!(q.tally_at(t0 + 3 * S).waiting, 0);
    }

    #[test]
    fn each_read_is_kept_with_what_it_saw_up_to_a_cap() {
        let q = Memory::new(5, S, S, 2);
        q.push(7);
        let r = q.read(None);
        let seen = q.reads();
        assert_eq!(seen.len(), 1);
        let s = seen[0];
        assert_eq!((s.depth, s.busy, s.done), (0, 7, 0));
        assert_eq!(r.totals.busy, Some(7));
        assert_eq!((s.dynos, s.concurrency), (2, 5));
        assert!(s.at <= chrono::Utc::now());
        q.set_dynos(1);
        q.read(Some(1));
        assert_eq!(q.reads()[1].dynos, 1);
        for _ in 0..MAX_READS {
            q.read(None);
        }
        assert_eq!(q.reads().len(), MAX_READS);
    }

    #[test]
    fn new_dynos_work_once_booted_and_stopped_ones_interrupt_their_jobs() {
        let t0 = Instant::now();
        let q = Memory::new_at(1, 10 * S, 2 * S, 1, t0);
        q.push_at(3, t0);
        q.set_dynos_at(3, t0);
        // Booting: still one job running.
        assert_eq!(q.read_at(None, t0 + S).totals.busy, Some(1));
        // Booted at 2 s: three run.
        assert_eq!(q.read_at(None, t0 + 2 * S).totals.busy, Some(3));
        // Down to 1: the two jobs on dynos 2 and 3 are cut short and wait again.
        q.set_dynos_at(1, t0 + 3 * S);
        let t = q.tally_at(t0 + 3 * S);
        assert_eq!((t.interrupted, t.waiting, t.running), (2, 2, 1));
    }

    #[test]
    fn a_drain_quiets_the_stopping_dynos_which_finish_and_take_nothing_new() {
        let t0 = Instant::now();
        let q = Memory::new_at(1, 10 * S, S, 3, t0);
        q.push_at(3, t0);
        let r = q.read_at(Some(1), t0 + S);
        let stopping = r.stopping.unwrap();
        assert_eq!((stopping.busy, stopping.processes), (2, 2));
        assert!(stopping.loud.is_empty(), "quiet at once");
        // More jobs come: dynos 2 and 3 take none once theirs are done.
        q.push_at(4, t0 + 2 * S);
        let r = q.read_at(Some(1), t0 + 10 * S);
        assert_eq!(r.stopping.unwrap().busy, 0);
        assert_eq!(r.totals.busy, Some(1), "dyno 1 works on");
        q.set_dynos_at(1, t0 + 10 * S);
        assert_eq!(q.tally_at(t0 + 10 * S).interrupted, 0);
        // A new dyno 2 later is loud again.
        q.set_dynos_at(2, t0 + 11 * S);
        assert_eq!(q.read_at(None, t0 + 12 * S).totals.busy, Some(2));
    }

    #[test]
    fn a_registered_url_opens_the_queue() {
        let url = "redis://memory-test.invalid/3";
        assert!(Memory::registered(url).is_none());
        let q = Memory::new(5, S, S, 1);
        q.register(url);
        let store = super::super::Store::open(super::super::Kind::Sidekiq, url, false, S).unwrap();
        assert_eq!(store.shown(), url);
        assert!(matches!(store, super::super::Store::Memory(..)));
        Memory::unregister(url);
        assert!(Memory::registered(url).is_none());
    }
}

#[cfg(test)]
mod spread {
    use super::*;

    #[test]
    fn a_trickle_spreads_over_the_dynos_so_the_highest_run_jobs() {
        let t0 = Instant::now();
        let q = Memory::new_at(5, Duration::from_millis(1500), Duration::ZERO, 6, t0);
        for i in 0..20 {
            q.push_at(1, t0 + Duration::from_millis(500 * i));
        }
        let r = q.read_at(Some(4), t0 + Duration::from_millis(9_700));
        eprintln!("{:?} {:?}", r.totals, r.stopping);
        assert!(r.stopping.unwrap().busy > 0);
    }
}
