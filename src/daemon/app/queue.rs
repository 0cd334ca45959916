//! A worker's job queue in the loop: each read its queue task sends is turned, once, into what
//! it asks of the schedule's policy ([`crate::queue::policy::as_load`]); the calm streak is kept
//! between reads. A lost store forgets the ask: nothing is scaled in on missing data. The first
//! minute of reads is said once it is over (`event=queue`, the worst its reads saw) and kept in
//! the history.

use super::*;
use crate::event::{DrainState, Event};
use crate::history::QueueRow;
use crate::queue::policy::{self as queue_policy, Settings};
use crate::queue::Totals;

impl AppLoop {
    /// One read (or a failed one) of target `index`'s queue, at the quantity `current`.
    pub(super) fn queue_news(
        &mut self,
        index: usize,
        news: QueueNews,
        current: u32,
        now: DateTime<Utc>,
    ) {
        let t = &mut self.targets[index];
        let Some(q) = &t.target.queue else {
            return;
        };
        let QueueNews::Read {
            totals,
            at,
            stopping,
        } = news
        else {
            t.queue.calm = queue_policy::Calm::default();
            t.queue.load = None;
            return;
        };
        let previous = t
            .queue
            .last
            .as_ref()
            .map(|(before, then)| (before, (at - *then).to_std().unwrap_or_default()));
        let reading = totals.reading(previous, t.queue.service);
        t.queue.service = queue_policy::rates(&reading)
            .and_then(|r| r.seen)
            .or(t.queue.service);
        let settings = Settings {
            concurrency: t
                .target
                .traffic
                .concurrency
                .or(totals.concurrency)
                .unwrap_or(crate::queue::DEFAULT_CONCURRENCY),
            latency: q.latency,
            scale_in_after: t.target.thresholds.scale_in_after,
            utilization: t.target.traffic.utilization,
        };
        let view = queue_policy::View {
            reading: Some(&reading),
            settings: &settings,
            current,
            floor: t.target.floor(now).map_or(0, |e| e.quantity),
            max: t.target.thresholds.max,
            calm: t.queue.calm,
        };
        let decision = queue_policy::decide(&view);
        t.queue.calm = decision.calm;
        t.queue.load = Some(queue_policy::as_load(
            &decision, &reading, &settings, current,
        ));
        t.queue.last = Some((totals, at));
        t.queue.stopping = stopping.map(|s| (s, at));
        self.queue_minute(index, &totals, at, current, settings.concurrency);
    }

    /// Counts a read into its minute; a read in a later minute first closes the open one
    /// ([`AppLoop::close_queue_minute`]).
    fn queue_minute(
        &mut self,
        index: usize,
        totals: &Totals,
        at: DateTime<Utc>,
        dynos: u32,
        concurrency: u32,
    ) {
        let minute = crate::traffic::minute::minute_of(at);
        let open = self.targets[index].queue.minute;
        let counter_before = match open {
            Some(m) if m.minute == minute => m.counter_before,
            Some(m) => {
                self.close_queue_minute(index);
                m.counter
            }
            None => None,
        };
        let q = &mut self.targets[index].queue;
        let m = q.minute.get_or_insert(super::target::QueueMinute {
            minute,
            depth: 0,
            latency: Duration::ZERO,
            busy: None,
            dynos: 0,
            concurrency,
            counter_before,
            counter: None,
        });
        m.depth = m.depth.max(totals.depth);
        m.latency = m.latency.max(totals.latency);
        m.busy = m.busy.max(totals.busy);
        m.dynos = m.dynos.max(dynos);
        m.concurrency = concurrency;
        m.counter = totals.done_counter.or(m.counter);
    }

    /// Says target `index`'s open queue minute (`event=queue`) and keeps it in the history.
    pub(super) fn close_queue_minute(&mut self, index: usize) {
        let t = &mut self.targets[index];
        let Some(m) = t.queue.minute.take() else {
            return;
        };
        let done = match (m.counter_before, m.counter) {
            (Some(before), Some(now)) => now.checked_sub(before),
            _ => None,
        };
        let row = QueueRow {
            app: t.target.app.clone(),
            process: t.target.process.clone(),
            minute: m.minute,
            depth: m.depth,
            latency_ms: u64::try_from(m.latency.as_millis()).unwrap_or(u64::MAX),
            busy: m.busy,
            done,
            dynos: m.dynos,
            concurrency: m.concurrency,
        };
        Event::Queue {
            app: row.app.clone(),
            process: row.process.clone(),
            minute: row.minute,
            depth: row.depth,
            latency_ms: row.latency_ms,
            busy: row.busy,
            done: row.done,
            dynos: row.dynos,
            concurrency: row.concurrency,
        }
        .emit(tracing::Level::INFO);
        self.history.record(row);
    }
}

/// How a drain ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DrainEnd {
    /// The stopping dynos are quiet and run no job.
    Done,
    /// AUTOSCALE_DRAIN_TIMEOUT passed: scaled in anyway, with `busy` jobs (where known).
    Timeout { busy: Option<u64> },
}

impl AppLoop {
    /// Whether target `index`'s scale-in must drain first: a worker with AUTOSCALE_DRAIN=on,
    /// really scaling in (a dry run or a pause quiets nothing).
    pub(super) fn drains(&self, index: usize, from: u32, to: u32, now: DateTime<Utc>) -> bool {
        to < from
            && !self.simulated(index, now)
            && self.targets[index]
                .target
                .queue
                .as_ref()
                .is_some_and(|q| q.drain && q.library.drains())
    }

    /// Whether target `index`'s drain is over: a read made after it began saw the stopping
    /// dynos quiet and idle, or the timeout passed.
    pub(super) fn drain_ready(&self, index: usize, now: DateTime<Utc>) -> Option<DrainEnd> {
        let t = &self.targets[index];
        let drain = t.queue.drain?;
        let seen = self.stopping_seen(index, &drain);
        if seen.is_some_and(|s| s.busy == 0 && s.loud == 0) {
            return Some(DrainEnd::Done);
        }
        let timeout = t.target.queue.as_ref().map(|q| q.drain_timeout)?;
        let waited = (now - drain.since).to_std().unwrap_or_default();
        (waited >= timeout).then_some(DrainEnd::Timeout {
            busy: seen.map(|s| s.busy),
        })
    }

    /// What the latest read made after `drain` began saw on its stopping dynos.
    fn stopping_seen(&self, index: usize, drain: &super::target::Drain) -> Option<StoppingNews> {
        self.targets[index]
            .queue
            .stopping
            .filter(|(s, at)| s.keep == drain.change.to && *at > drain.since)
            .map(|(s, _)| s)
    }

    /// Begins a drain: the queue task quiets the processes on the dynos numbered above
    /// `change.to`; the scale-in waits.
    pub(super) fn start_drain(&mut self, change: super::apply::Change, now: DateTime<Utc>) {
        let i = change.index;
        let t = &mut self.targets[i];
        t.queue.drain = Some(super::target::Drain { change, since: now });
        t.queue.stopping = None;
        self.inbox.drains[i].send_replace(Some(change.to));
        self.say_drain(i, DrainState::Started, change.from, change.to, None, None);
    }

    /// Ends target `index`'s drain (the orders to its queue task too) and says how.
    pub(super) fn end_drain(&mut self, index: usize, state: DrainState, now: DateTime<Utc>) {
        let Some(drain) = self.targets[index].queue.drain.take() else {
            return;
        };
        self.inbox.drains[index].send_replace(None);
        let busy = match state {
            DrainState::Done => Some(0),
            _ => self.stopping_seen(index, &drain).map(|s| s.busy),
        };
        let waited = u64::try_from((now - drain.since).num_milliseconds()).unwrap_or(0);
        self.say_drain(
            index,
            state,
            drain.change.from,
            drain.change.to,
            busy,
            Some(waited),
        );
    }

    fn say_drain(
        &self,
        index: usize,
        state: DrainState,
        from: u32,
        to: u32,
        busy: Option<u64>,
        waited_ms: Option<u64>,
    ) {
        let t = &self.targets[index].target;
        let (level, message) = match state {
            DrainState::Started => (
                Level::INFO,
                match t.queue.as_ref().map(|q| q.library) {
                    Some(crate::config::queue::Library::Sidekiq) | None => format!(
                        "quieting the workers on {}.{} and up: the scale-in waits until they run no job",
                        t.process,
                        to + 1
                    ),
                    Some(library) => format!(
                        "the scale-in waits for a read in which the workers on {}.{} and up run no job ({library}'s cannot be asked to stop taking jobs)",
                        t.process,
                        to + 1
                    ),
                },
            ),
            DrainState::Done => (
                Level::INFO,
                "the stopping dynos run no job: scaling in".to_owned(),
            ),
            DrainState::Timeout => (
                Level::WARN,
                "AUTOSCALE_DRAIN_TIMEOUT passed: scaling in with jobs still running".to_owned(),
            ),
            DrainState::Cancelled => (
                Level::INFO,
                "a scale-out cancels the drain (the quieted workers stay quiet until their dynos restart)"
                    .to_owned(),
            ),
        };
        Event::Drain {
            app: t.app.clone(),
            process: t.process.clone(),
            state,
            from,
            to,
            busy,
            waited_ms,
            message: Some(message),
        }
        .emit(level);
    }
}
