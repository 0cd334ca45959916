//! Job queues (issue "Workers", contract "Job queues"): a worker target scales on its queue,
//! read straight from the queue's own store by the clock dyno — no gem, no agent.
//!
//! - [`policy`]: pure; from one read of the queue (depth, latency, busy, jobs done) to how many
//!   dynos the worker needs (Little's law, module docs).
//! - [`sidekiq`]: Sidekiq 7 and 8, read from Redis in two pipelined round trips.
//! - [`rq`]: RQ 1.x and 2.x, [`bullmq`]: BullMQ 5 and 6, [`celery`]: Celery's Redis broker and
//!   [`resque`]: Resque (those two depth only), read from Redis in pipelined round trips.
//! - [`good_job`]: GoodJob 3 and 4, [`solid_queue`]: Solid Queue, [`que`]: Que 1.x and 2.x, and
//!   [`delayed_job`]: delayed_job 4, read from Postgres in one read-only transaction each.
//! - [`Totals`]: what one read of any store gives for one target, and how two of them make the
//!   policy's [`policy::Reading`].
//!
//! A queue URL carries the store's password: it is only ever shown redacted
//! ([`crate::http::redact_secret`]).

use std::time::Duration;

use chrono::{DateTime, Utc};

pub mod bullmq;
pub mod celery;
pub mod delayed_job;
pub mod good_job;
pub mod memory;
mod pg;
pub mod policy;
pub mod que;
pub mod recorded;
mod redis;
pub mod resque;
pub mod rq;
pub mod sidekiq;
pub mod sim;
pub mod solid_queue;

/// What every reader answers with, and how it fails.
pub use sidekiq::{Error, Queue, Stopping};

/// The libraries this version reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sidekiq,
    GoodJob,
    SolidQueue,
    Rq,
    Que,
    DelayedJob,
    Bullmq,
    Celery,
    Resque,
}

/// An open store of one of the libraries read: the same calls whatever the library.
#[derive(Debug)]
pub enum Store {
    Sidekiq(sidekiq::Sidekiq),
    GoodJob(good_job::GoodJob),
    SolidQueue(solid_queue::SolidQueue),
    /// An in-process queue registered under the URL ([`memory`]: the demo's).
    Memory(memory::Memory, String),
    Rq(rq::Rq),
    Que(que::Que),
    DelayedJob(delayed_job::DelayedJob),
    Bullmq(bullmq::Bullmq),
    Celery(celery::Celery),
    Resque(resque::Resque),
}

/// One read of a store for one process type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRead {
    /// Every queue read (for `check`).
    pub queues: Vec<Queue>,
    /// The sums for the process type.
    pub totals: Totals,
    /// During a drain: what runs on the dynos that stop (after they were sent the quiet signal).
    pub stopping: Option<Stopping>,
    /// Values that were not what the library writes (left out, counted).
    pub unreadable: u32,
}

impl Store {
    /// A store of `kind` at `url` (nothing is sent yet). Every read is bounded by `timeout`.
    pub fn open(
        kind: Kind,
        url: &str,
        verify_tls: bool,
        timeout: Duration,
    ) -> Result<Store, Error> {
        if let Some(queue) = memory::Memory::registered(url) {
            return Ok(Store::Memory(queue, crate::http::redact_secret(url)));
        }
        match kind {
            Kind::Sidekiq => sidekiq::Sidekiq::new(url, verify_tls, timeout).map(Store::Sidekiq),
            Kind::GoodJob => good_job::GoodJob::new(url, timeout).map(Store::GoodJob),
            Kind::SolidQueue => solid_queue::SolidQueue::new(url, timeout).map(Store::SolidQueue),
            Kind::Rq => rq::Rq::new(url, verify_tls, timeout).map(Store::Rq),
            Kind::Que => que::Que::new(url, timeout).map(Store::Que),
            Kind::DelayedJob => delayed_job::DelayedJob::new(url, timeout).map(Store::DelayedJob),
            Kind::Bullmq => bullmq::Bullmq::new(url, verify_tls, timeout).map(Store::Bullmq),
            Kind::Celery => celery::Celery::new(url, verify_tls, timeout).map(Store::Celery),
            Kind::Resque => resque::Resque::new(url, verify_tls, timeout).map(Store::Resque),
        }
    }

    /// The URL as it may be printed.
    pub fn shown(&self) -> &str {
        match self {
            Store::Sidekiq(s) => s.shown(),
            Store::GoodJob(s) => s.shown(),
            Store::SolidQueue(s) => s.shown(),
            Store::Memory(_, shown) => shown,
            Store::Rq(s) => s.shown(),
            Store::Que(s) => s.shown(),
            Store::DelayedJob(s) => s.shown(),
            Store::Bullmq(s) => s.shown(),
            Store::Celery(s) => s.shown(),
            Store::Resque(s) => s.shown(),
        }
    }

    /// One read: `queues` (None: every queue of the store), the figures of `process_type`'s
    /// dynos; with `drain_to`, what runs on its dynos numbered above is said (Sidekiq's
    /// processes there are quieted first; the Postgres libraries' cannot be asked to, and a
    /// drain waits for a read in which they run no job).
    pub async fn read(
        &mut self,
        queues: Option<&[String]>,
        process_type: &str,
        drain_to: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<StoreRead, Error> {
        match self {
            Store::Sidekiq(s) => {
                let snapshot = s.read(queues, now).await?;
                let stopping = match drain_to {
                    Some(keep) => {
                        let stopping = snapshot.stopping(process_type, keep);
                        s.quiet(&stopping.loud).await?;
                        Some(stopping)
                    }
                    None => None,
                };
                Ok(StoreRead {
                    totals: snapshot.totals(process_type),
                    queues: snapshot.queues,
                    stopping,
                    unreadable: snapshot.unreadable,
                })
            }
            Store::GoodJob(s) => Ok(s
                .read_all(queues, process_type, now)
                .await?
                .store_read(process_type, drain_to)),
            Store::SolidQueue(s) => Ok(s
                .read_all(queues, process_type, now)
                .await?
                .store_read(process_type, drain_to)),
            Store::Memory(q, _) => Ok(q.read(drain_to)),
            Store::Rq(s) => s.read(queues, process_type, now).await,
            Store::Que(s) => Ok(s
                .read_all(queues, process_type, now)
                .await?
                .store_read(process_type, drain_to)),
            Store::DelayedJob(s) => Ok(s
                .read_all(queues, process_type, now)
                .await?
                .store_read(process_type, drain_to)),
            Store::Bullmq(s) => s.read(queues, now).await,
            Store::Celery(s) => s.read(queues).await,
            Store::Resque(s) => s.read(queues, process_type, now).await,
        }
    }
}

/// The URL of a store given as `$NAME`: the app's config var, read through the Platform API
/// (`GET /apps/{app}/config-vars`). The error is one line that may be printed.
pub async fn config_var_url(
    client: &crate::heroku::Client,
    app: &str,
    name: &str,
) -> Result<String, String> {
    match client.config_var(app, name).await {
        Ok(Some(url)) => Ok(url),
        Ok(None) => Err(format!(
            "{app} has no config var {name} (set AUTOSCALE_QUEUE_URL to the var that holds the store's URL)"
        )),
        Err(e) => Err(format!("reading the config var {name}: {}", e.message())),
    }
}

/// The jobs one worker dyno runs at once when neither AUTOSCALE_CONCURRENCY nor the store says:
/// Sidekiq's own default (5 since 7.0).
pub const DEFAULT_CONCURRENCY: u32 = 5;

/// One read of a store for one target: sums over its queues, the largest latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Jobs ready to run.
    pub depth: u64,
    /// The age of the oldest ready job (zero when none waits).
    pub latency: Duration,
    /// Jobs running on the target's dynos, where the store records it.
    pub busy: Option<u64>,
    /// The store's counter of jobs finished (Sidekiq's `stat:processed`), where it keeps one:
    /// two reads' difference is the jobs done between them.
    pub done_counter: Option<u64>,
    /// The jobs one of the target's processes runs at once, as they report it (the largest),
    /// where the store says: AUTOSCALE_CONCURRENCY's value when it is not set.
    pub concurrency: Option<u32>,
}

impl Totals {
    /// The policy's reading: this read, and what changed since `previous` (a read `elapsed`
    /// earlier), with what the reads before it said of the service time (`service`:
    /// [`policy::Rates::seen`] of the previous reading). Jobs done are the counter's difference; a
    /// counter that went back (Sidekiq's stats reset by hand) or that either read lacks says
    /// nothing about the rates.
    pub fn reading(
        &self,
        previous: Option<(&Totals, Duration)>,
        service: Option<policy::Service>,
    ) -> policy::Reading {
        let since = previous.and_then(|(before, elapsed)| {
            let done = self.done_counter?.checked_sub(before.done_counter?)?;
            Some(policy::Since {
                done,
                elapsed,
                depth: before.depth,
                busy: before.busy,
                service,
            })
        });
        policy::Reading {
            depth: self.depth,
            latency: self.latency,
            busy: self.busy,
            since,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: Totals = Totals {
        depth: 540,
        latency: Duration::from_secs(40),
        busy: Some(20),
        done_counter: Some(1_000),
        concurrency: Some(10),
    };

    const NOW: Totals = Totals {
        depth: 600,
        latency: Duration::from_secs(45),
        busy: Some(20),
        done_counter: Some(1_040),
        concurrency: Some(10),
    };

    #[test]
    fn two_reads_make_a_reading() {
        // The service time the reads before settled on goes along.
        let seen = Some(policy::Service {
            slot_seconds: 450.0,
            jobs: 100.0,
        });
        let r = NOW.reading(Some((&BEFORE, Duration::from_secs(10))), seen);
        assert_eq!(
            r,
            policy::Reading {
                depth: 600,
                latency: Duration::from_secs(45),
                busy: Some(20),
                since: Some(policy::Since {
                    done: 40,
                    elapsed: Duration::from_secs(10),
                    depth: 540,
                    busy: Some(20),
                    service: seen,
                }),
            }
        );
        // The counter standing still: no job done, still a window.
        assert_eq!(
            BEFORE
                .reading(Some((&BEFORE, Duration::from_secs(10))), None)
                .since
                .map(|s| s.done),
            Some(0)
        );
    }

    #[test]
    fn no_window_without_a_counter_going_forward() {
        assert_eq!(NOW.reading(None, None).since, None);
        // Reset by hand: the counter went back.
        let reset = Totals {
            done_counter: Some(3),
            ..NOW
        };
        assert_eq!(
            reset
                .reading(Some((&BEFORE, Duration::from_secs(10))), None)
                .since,
            None
        );
        let blind = Totals {
            done_counter: None,
            ..NOW
        };
        assert_eq!(
            blind
                .reading(Some((&BEFORE, Duration::from_secs(10))), None)
                .since,
            None
        );
        assert_eq!(
            NOW.reading(Some((&blind, Duration::from_secs(10))), None)
                .since,
            None
        );
    }
}
