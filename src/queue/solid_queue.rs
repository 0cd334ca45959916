//! Solid Queue, read straight from its Postgres (often its own `queue` database): what Mission
//! Control's queues page shows, in one read-only transaction of indexed statements.
//!
//! The tables and their meaning, from Solid Queue's own source (rails/solid_queue, main, 1.x;
//! schema: `lib/generators/solid_queue/install/templates/db/queue_schema.rb`):
//! - `solid_queue_ready_executions` (`queue_name`, `created_at`): the jobs a worker may claim
//!   now, deleted as they are claimed. A queue's size and latency are Solid Queue's own
//!   (`app/models/solid_queue/queue.rb`): `ReadyExecution.queued_as(name).count` and
//!   `now - minimum(:created_at)` — a scheduled job's ready row is written when the dispatcher
//!   moves it, so it counts from when it became due.
//! - `solid_queue_scheduled_executions` (`queue_name`, `scheduled_at`; index
//!   `index_solid_queue_dispatch_all` on `scheduled_at, priority, job_id`): jobs for later. Those
//!   due (`scope :due`: `scheduled_at <= now`, `scheduled_execution.rb`) and not yet moved by the
//!   dispatcher (a stopped or late dispatcher) wait too: counted as ready, waiting since
//!   `scheduled_at`.
//! - `solid_queue_claimed_executions` (`job_id`, `process_id`; index on `process_id, job_id`):
//!   the jobs running, each on the process (`solid_queue_processes`: `hostname` from
//!   `Socket.gethostname`, `kind`, `last_heartbeat_at`, `metadata` JSON with a Worker's
//!   `thread_pool_size`, `lib/solid_queue/worker.rb`). A process whose heartbeat is older than
//!   `process_alive_threshold` (5 minutes by default, `lib/solid_queue.rb`) is dead: Solid
//!   Queue prunes it and fails its claimed jobs (`process/prunable.rb`); this reader leaves it
//!   out at once.
//! - `solid_queue_pauses` (`queue_name`): a paused queue's jobs are not claimed
//!   (`queue_selector.rb`: `eligible_queues - paused_queues`). **Decision:** they are not
//!   waiting for a worker — more dynos would not run them — so a paused queue is listed with its
//!   figures but left out of the totals the policy scales on (depth and latency).
//! - `solid_queue_blocked_executions` (jobs waiting for a concurrency-control semaphore) wait
//!   for another job, not for a worker: not counted as ready.
//! - Jobs done: Solid Queue keeps no counter, but every job takes its id from the
//!   `solid_queue_jobs` sequence and then sits in exactly one of the ready, scheduled, claimed
//!   and blocked tables until it finishes or fails (`job/executable.rb`'s
//!   `prepare_for_execution`): the sequence's last value minus those four counts is the jobs
//!   that left them — finished, failed or discarded — a counter that only a failed job retried
//!   by hand (back to ready) moves back. Read only when this session may read the sequence.
//!
//! Untrusted input: names are cut at 512 bytes, counts below 0 read as 0, a time that is not a
//! time makes that queue's latency None, metadata that is not Solid Queue's gives no
//! concurrency — never a panic. At most [`MAX_QUEUES`] queues (more is refused: name them in
//! AUTOSCALE_QUEUES) and [`MAX_PROCESSES`] processes per read.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::pg::{self, Pg, Ready, Worker, MAX_NAME, MAX_PROCESSES};
use super::sidekiq::MAX_QUEUES;
use super::{Error, Queue, Totals};

/// The largest process `metadata` parsed (a few dozen bytes in Solid Queue).
const MAX_METADATA: usize = 64 * 1024;

/// A Solid Queue store.
#[derive(Debug)]
pub struct SolidQueue {
    pg: Pg,
}

impl SolidQueue {
    /// A store at `url` (`postgres://`); nothing is sent before the first
    /// [`SolidQueue::read`]. Connects, statements and the whole read are bounded by `timeout`
    /// (the read by a second more).
    pub fn new(url: &str, timeout: Duration) -> Result<SolidQueue, Error> {
        Ok(SolidQueue {
            pg: Pg::new(url, timeout)?,
        })
    }

    /// The URL as it may be printed.
    pub fn shown(&self) -> &str {
        self.pg.shown()
    }

    /// One read: `queues` (every queue with a ready or due job when None), the jobs running on
    /// `process_type`'s dynos, the jobs done so far; latencies counted up to `now`.
    pub async fn read(
        &self,
        queues: Option<&[String]>,
        process_type: &str,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Queue>, Totals), Error> {
        let read = self.read_all(queues, process_type, now).await?;
        Ok((read.queues, read.totals))
    }

    /// [`Self::read`] with the live processes, for a drain.
    pub(crate) async fn read_all(
        &self,
        queues: Option<&[String]>,
        process_type: &str,
        now: DateTime<Utc>,
    ) -> Result<pg::Read, Error> {
        self.pg
            .bounded(self.read_once(queues, process_type, now))
            .await
    }

    async fn read_once(
        &self,
        queues: Option<&[String]>,
        process_type: &str,
        now: DateTime<Utc>,
    ) -> Result<pg::Read, Error> {
        let fail = |e: sqlx::Error| self.pg.error(&e);
        let mut tx = self.pg.begin().await?;
        self.pg
            .require(
                &mut tx,
                SCHEMA,
                "no solid_queue_* tables here (is this Solid Queue's database? Rails \
                 apps often keep it apart: the `queue` database)",
            )
            .await?;
        let (sequence, scheduled, claimed, blocked): (
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        ) = sqlx::query_as(COUNTER)
            .persistent(false)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?;
        let at = pg::epoch_seconds(now);
        let mut ready: BTreeMap<String, Ready> = BTreeMap::new();
        // Every ready job, for the counter: the per-queue rows' sum when every queue is read.
        let mut waiting = Some(0i64);
        for (statement, due) in [
            (ready_sql(queues.is_some()), false),
            (due_sql(queues.is_some()), true),
        ] {
            let mut query = sqlx::query_as(&statement).persistent(false);
            if due {
                query = query.bind(at);
            }
            if let Some(names) = queues {
                query = query.bind(names);
            }
            let rows: Vec<(String, Option<i64>, Option<f64>)> =
                query.fetch_all(&mut *tx).await.map_err(fail)?;
            if queues.is_none() && rows.len() > MAX_QUEUES {
                return Err(pg::too_many(
                    self.pg.shown(),
                    "solid_queue_ready_executions",
                ));
            }
            for (name, depth, oldest) in rows {
                if !due {
                    waiting = waiting.map(|w| w.saturating_add(depth.unwrap_or(0).max(0)));
                }
                let slot = ready.entry(name).or_default();
                *slot = slot.merge(Ready {
                    depth: pg::count(depth),
                    oldest,
                });
            }
        }
        if queues.is_none() && ready.len() > MAX_QUEUES {
            return Err(pg::too_many(
                self.pg.shown(),
                "solid_queue_ready_executions",
            ));
        }
        // Some queues read, or more ready jobs than one read counts: all of them, for the
        // counter (a count of the table, ~40 ms at a million).
        if queues.is_some() || waiting.is_some_and(|w| w >= pg::COUNTED as i64) {
            waiting = sqlx::query_scalar(READY)
                .persistent(false)
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?;
        }
        let paused: Vec<String> = sqlx::query_scalar(PAUSES)
            .persistent(false)
            .fetch_all(&mut *tx)
            .await
            .map_err(fail)?;
        let workers: Vec<(Option<String>, Option<String>, Option<i64>)> =
            sqlx::query_as(&processes_sql())
                .persistent(false)
                .bind(at)
                .fetch_all(&mut *tx)
                .await
                .map_err(fail)?;
        if workers.len() > MAX_PROCESSES {
            return Err(Error::TooMany {
                url: self.pg.shown().to_owned(),
                key: "solid_queue_processes",
                max: MAX_PROCESSES,
                hint: "",
            });
        }
        drop(tx);
        let workers: Vec<Worker> = workers
            .into_iter()
            .map(|(hostname, metadata, running)| Worker {
                hostname,
                running: pg::count(running),
                concurrency: metadata.as_deref().and_then(thread_pool_size),
            })
            .collect();
        let (busy, concurrency) = pg::busy(&workers, process_type);
        let queues = pg::queues(queues, &ready, now);
        let (depth, latency) = pg::sums(&queues, &paused);
        Ok(pg::Read {
            queues,
            totals: Totals {
                depth,
                latency,
                busy: Some(busy),
                done_counter: done(sequence, [waiting, scheduled, claimed, blocked]),
                concurrency,
            },
            workers,
            per_process: true,
        })
    }
}

/// The statements of one read, for the tests' `EXPLAIN`: the counter's, then the ready jobs'
/// (`$1`: the queues asked for), the due jobs' and the processes' (`$1`: now as epoch seconds,
/// `$2`: the queues asked for).
#[doc(hidden)]
pub fn statements(named: bool) -> Vec<String> {
    vec![
        COUNTER.to_owned(),
        ready_sql(named),
        due_sql(named),
        processes_sql(),
    ]
}

/// Whether Solid Queue's tables are here (the six this reader reads).
const SCHEMA: &str = "SELECT to_regclass('solid_queue_jobs') IS NOT NULL \
       AND to_regclass('solid_queue_ready_executions') IS NOT NULL \
       AND to_regclass('solid_queue_scheduled_executions') IS NOT NULL \
       AND to_regclass('solid_queue_claimed_executions') IS NOT NULL \
       AND to_regclass('solid_queue_blocked_executions') IS NOT NULL \
       AND to_regclass('solid_queue_processes') IS NOT NULL \
       AND to_regclass('solid_queue_pauses') IS NOT NULL";

/// The jobs' sequence (its last value, when this session may read it) and the jobs still in
/// three of the four tables a job waits or runs in (the ready ones are counted per queue).
const COUNTER: &str = "SELECT \
       (SELECT CASE WHEN s IS NOT NULL AND has_sequence_privilege(s, 'SELECT') \
                    THEN pg_sequence_last_value(s::regclass) END \
          FROM (SELECT pg_get_serial_sequence('solid_queue_jobs', 'id') AS s) seq), \
       (SELECT count(*) FROM solid_queue_scheduled_executions), \
       (SELECT count(*) FROM solid_queue_claimed_executions), \
       (SELECT count(*) FROM solid_queue_blocked_executions)";

/// Every ready job, when the queues read are only some or the ready ones more than counted.
const READY: &str = "SELECT count(*) FROM solid_queue_ready_executions";

/// The paused queues.
const PAUSES: &str = "SELECT left(queue_name, 512) FROM solid_queue_pauses LIMIT 1001";

fn named(asked: bool, param: u8) -> String {
    if asked {
        format!("WHERE queue_name = ANY(${param})")
    } else {
        String::new()
    }
}

/// Ready jobs per queue among the [`pg::COUNTED`] oldest, as `Queue#size` and
/// `Queue#latency` count them: the oldest by their id (a ready execution's id and its
/// `created_at` both come from its insert), through the table's primary key. `$1`: the queues
/// asked for.
fn ready_sql(asked: bool) -> String {
    format!(
        "SELECT left(queue_name, {MAX_NAME}), count(*), extract(epoch FROM min(created_at))::float8 \
         FROM (SELECT queue_name, created_at FROM solid_queue_ready_executions {named} \
               ORDER BY id LIMIT {counted}) oldest \
         GROUP BY queue_name LIMIT {limit}",
        named = named(asked, 1),
        counted = pg::COUNTED,
        limit = MAX_QUEUES + 1,
    )
}

/// Scheduled jobs due and not moved yet, per queue, among the [`pg::COUNTED`] due first
/// (through `index_solid_queue_dispatch_all`); `$1`: now, `$2`: the queues asked for.
fn due_sql(asked: bool) -> String {
    format!(
        "SELECT left(queue_name, {MAX_NAME}), count(*), extract(epoch FROM min(scheduled_at))::float8 \
         FROM (SELECT queue_name, scheduled_at FROM solid_queue_scheduled_executions \
               WHERE scheduled_at <= (to_timestamp($1::float8) AT TIME ZONE 'UTC') {named} \
               ORDER BY scheduled_at LIMIT {counted}) due \
         GROUP BY queue_name LIMIT {limit}",
        named = if asked { "AND queue_name = ANY($2)" } else { "" },
        counted = pg::COUNTED,
        limit = MAX_QUEUES + 1,
    )
}

/// The live processes (a heartbeat within `process_alive_threshold`'s default, 5 minutes), a
/// Worker's metadata, and the jobs each has claimed (through
/// `index_solid_queue_claimed_executions_on_process_id_and_job_id`).
fn processes_sql() -> String {
    format!(
        "SELECT left(p.hostname, {MAX_NAME}), \
            CASE WHEN p.kind = 'Worker' AND octet_length(p.metadata) <= {MAX_METADATA} \
                 THEN p.metadata END, \
            (SELECT count(*) FROM solid_queue_claimed_executions c WHERE c.process_id = p.id) \
         FROM solid_queue_processes p \
         WHERE p.last_heartbeat_at > (to_timestamp($1::float8) AT TIME ZONE 'UTC') \
               - interval '5 minutes' \
         LIMIT {limit}",
        limit = MAX_PROCESSES + 1,
    )
}

/// Jobs that left the queue so far: the sequence's last value (None: not readable, or no job
/// yet taken a number) minus the jobs still waiting or running. None when the difference is
/// negative (not what Solid Queue writes: a sequence reset by hand).
fn done(sequence: Option<i64>, still: [Option<i64>; 4]) -> Option<u64> {
    let issued = u64::try_from(sequence?).ok()?;
    let still = still
        .into_iter()
        .fold(0u64, |sum, n| sum.saturating_add(pg::count(n)));
    issued.checked_sub(still)
}

#[derive(Deserialize)]
struct Metadata {
    thread_pool_size: Option<serde_json::Value>,
}

/// A Worker's threads (`metadata.thread_pool_size`); None when the metadata is not Solid
/// Queue's JSON.
fn thread_pool_size(metadata: &str) -> Option<u32> {
    if metadata.len() > MAX_METADATA || !metadata.trim_start().starts_with('{') {
        return None;
    }
    let m: Metadata = serde_json::from_str(metadata).ok()?;
    u32::try_from(m.thread_pool_size?.as_u64()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workers_threads() {
        // worker.rb's metadata (with poller.rb's polling_interval).
        assert_eq!(
            thread_pool_size(r#"{"polling_interval":0.1,"queues":"*","thread_pool_size":3}"#),
            Some(3)
        );
        assert_eq!(thread_pool_size(r#" {"thread_pool_size":0}"#), Some(0));
        assert_eq!(
            thread_pool_size(r#"{"thread_pool_size":4294967295}"#),
            Some(u32::MAX)
        );
        for bad in [
            "{}",
            r#"{"thread_pool_size":-1}"#,
            r#"{"thread_pool_size":"3"}"#,
            r#"{"thread_pool_size":3.5}"#,
            r#"{"thread_pool_size":4294967296}"#,
            "[3]",
            "{",
            "",
            "null",
        ] {
            assert_eq!(thread_pool_size(bad), None, "{bad}");
        }
        let long = format!(
            r#"{{"thread_pool_size":3,"queues":"{}"}}"#,
            "q".repeat(MAX_METADATA)
        );
        assert_eq!(thread_pool_size(&long), None);
        let within = format!(
            r#"{{"thread_pool_size":3,"queues":"{}"}}"#,
            "q".repeat(MAX_METADATA - 40)
        );
        assert_eq!(thread_pool_size(&within), Some(3));
    }

    #[test]
    fn done_is_the_sequence_less_what_still_waits_or_runs() {
        assert_eq!(
            done(Some(1_000), [Some(10), Some(5), Some(3), Some(2)]),
            Some(980)
        );
        assert_eq!(
            done(Some(20), [Some(10), Some(5), Some(3), Some(2)]),
            Some(0)
        );
        assert_eq!(done(Some(19), [Some(10), Some(5), Some(3), Some(2)]), None);
        assert_eq!(done(None, [Some(0); 4]), None);
        assert_eq!(done(Some(-1), [Some(0); 4]), None);
        assert_eq!(done(Some(7), [None, Some(-3), None, None]), Some(7));
        assert_eq!(
            done(Some(i64::MAX), [Some(i64::MAX); 4]),
            None,
            "a sum past u64 is refused, not wrapped"
        );
    }

    #[test]
    fn statements_bind_what_they_use() {
        assert!(ready_sql(true).contains("ANY($1)"));
        assert!(!ready_sql(false).contains('$'));
        assert!(due_sql(true).contains("ANY($2)"));
        assert!(!due_sql(false).contains("$2"));
        assert!(due_sql(false).contains("$1"));
        assert!(ready_sql(false).ends_with("LIMIT 1001"));
        assert!(processes_sql().ends_with("LIMIT 2001"));
    }
}
