//! delayed_job (with its Active Record backend), read straight from the app's Postgres: the jobs
//! a worker would reserve now, and those reserved, in one read-only transaction of two
//! statements.
//!
//! The table and its meaning, from delayed_job's own source (collectiveidea/delayed_job 4.2.0,
//! collectiveidea/delayed_job_active_record 4.1.11):
//! - `delayed_jobs` (`lib/generators/delayed_job/templates/migration.rb`, and
//!   `upgrade_migration.rb` adding `queue`): `priority`, `attempts`, `handler`, `last_error`,
//!   `run_at`, `locked_at`, `failed_at`, `locked_by`, `queue`, `created_at`, `updated_at`
//!   (Rails `datetime`s: UTC in `timestamp without time zone`); index `delayed_jobs_priority`
//!   on `(priority, run_at)`. A job that succeeds is deleted, and one that fails for good too
//!   unless `destroy_failed_jobs` is off (`lib/delayed/worker.rb`): the table is the jobs to
//!   run, those running, and the failures kept.
//! - Ready: `ready_to_run` (`lib/delayed/backend/active_record.rb`): `run_at <= now AND
//!   (locked_at IS NULL OR locked_at < now - max_run_time) AND failed_at IS NULL` — a lock older
//!   than `max_run_time` (4 hours by default, `Worker::DEFAULT_MAX_RUN_TIME`) is a worker that
//!   died holding it, and the job is free again. This reader takes the default. A job waits
//!   since its `run_at` (`now` at the enqueue, `set_default_run_at`; a retry's time after a
//!   failure; the time asked by `enqueue_at`).
//! - Running: the jobs locked within `max_run_time` and not failed; `locked_by` is the worker's
//!   name, `"#{name_prefix}host:#{Socket.gethostname} pid:#{Process.pid}"`
//!   (`lib/delayed/worker.rb`'s `name`; the prefix is `delayed_job.N ` under `script/delayed_job`):
//!   its host is the process's host, by which busy is split by dyno ([`super::pg::busy`]).
//! - Both statements are bounded by `run_at <= now` (a locked job is due: it was reserved
//!   once due), the range of delayed_job's only index, `delayed_jobs_priority`: the jobs
//!   scheduled for later are not read.
//!
//! delayed_job has no table of processes (an idle worker leaves no row) and no counter of jobs
//! done: no concurrency, no `done_counter`. Jobs without a queue (`queue` NULL: no
//! `default_queue_name`) are the queue `""`.
//!
//! Untrusted input: names are cut at 512 bytes, counts below 0 read as 0, a time that is not a
//! time makes that queue's latency None, a `locked_by` that is not a worker's name counts its
//! job as running on no known host — never a panic. At most [`MAX_QUEUES`] queues (more is
//! refused: name them in AUTOSCALE_QUEUES) and [`MAX_PROCESSES`] hosts per read.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::pg::{self, Pg, Ready, Worker, MAX_NAME, MAX_PROCESSES};
use super::sidekiq::MAX_QUEUES;
use super::{Error, Queue, Totals};

/// `now` in SQL: the bound epoch seconds as the server's UTC `timestamp`.
const NOW: &str = "(to_timestamp($1::float8) AT TIME ZONE 'UTC')";

/// delayed_job's `Worker::DEFAULT_MAX_RUN_TIME`: a lock older than this is a dead worker's.
pub const MAX_RUN_TIME: Duration = Duration::from_secs(4 * 3600);

/// A delayed_job store: the app's Postgres (`DATABASE_URL`).
#[derive(Debug)]
pub struct DelayedJob {
    pg: Pg,
}

impl DelayedJob {
    /// A store at `url` (`postgres://`); nothing is sent before the first
    /// [`DelayedJob::read`]. Connects, statements and the whole read are bounded by `timeout`
    /// (the read by a second more).
    pub fn new(url: &str, timeout: Duration) -> Result<DelayedJob, Error> {
        Ok(DelayedJob {
            pg: Pg::new(url, timeout)?,
        })
    }

    /// The URL as it may be printed.
    pub fn shown(&self) -> &str {
        self.pg.shown()
    }

    /// One read: `queues` (every queue with a ready job when None), and the jobs locked by
    /// workers on `process_type`'s dynos; latencies counted up to `now`.
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
                "no delayed_jobs table with a queue column here (delayed_job's \
                 migrations create it; is this the app's DATABASE_URL?)",
            )
            .await?;
        let at = pg::epoch_seconds(now);
        let statement = ready_sql(queues.is_some());
        let mut query = sqlx::query_as(&statement).persistent(false).bind(at);
        if let Some(names) = queues {
            query = query.bind(names);
        }
        let rows: Vec<(String, Option<i64>, Option<f64>)> =
            query.fetch_all(&mut *tx).await.map_err(fail)?;
        if queues.is_none() && rows.len() > MAX_QUEUES {
            return Err(pg::too_many(self.pg.shown(), "delayed_jobs.queue"));
        }
        let hosts: Vec<(Option<String>, Option<i64>)> = sqlx::query_as(&running_sql())
            .persistent(false)
            .bind(at)
            .fetch_all(&mut *tx)
            .await
            .map_err(fail)?;
        if hosts.len() > MAX_PROCESSES {
            return Err(Error::TooMany {
                url: self.pg.shown().to_owned(),
                key: "delayed_jobs.locked_by",
                max: MAX_PROCESSES,
                hint: "",
            });
        }
        drop(tx);
        let workers: Vec<Worker> = hosts
            .into_iter()
            .map(|(hostname, running)| Worker {
                hostname,
                running: pg::count(running),
                concurrency: None,
            })
            .collect();
        let (busy, _) = pg::busy(&workers, process_type);
        let queues = pg::queues(queues, &by_queue(rows), now);
        let (depth, latency) = pg::sums(&queues, &[]);
        Ok(pg::Read {
            queues,
            totals: Totals {
                depth,
                latency,
                busy: Some(busy),
                done_counter: None,
                concurrency: None,
            },
            workers,
            per_process: true,
        })
    }
}

/// The statements of one read (`$1`: now as epoch seconds, `$2`: the queues asked for), for
/// the tests' `EXPLAIN`.
#[doc(hidden)]
pub fn statements(named: bool) -> Vec<String> {
    vec![ready_sql(named), running_sql()]
}

/// Whether delayed_job's table is here, with the `queue` column (delayed_job 3 on).
const SCHEMA: &str = "SELECT EXISTS (SELECT 1 FROM pg_attribute \
       WHERE attrelid = to_regclass('delayed_jobs') AND attname = 'queue' \
         AND attnum > 0 AND NOT attisdropped)";

/// A lock taken within [`MAX_RUN_TIME`] of `now`: a live worker's.
fn held() -> String {
    format!(
        "locked_at >= {NOW} - interval '{} seconds'",
        MAX_RUN_TIME.as_secs()
    )
}

/// Ready jobs per queue (`ready_to_run` for no worker in particular) among the
/// [`pg::COUNTED`] first enqueued, by id (the primary key); `$2`: the queues asked for. With no
/// more ready jobs than that, every one is counted; with more, the read stops there, and the
/// oldest is the oldest of those (a job retried keeps its id and waits from its new `run_at`).
fn ready_sql(named: bool) -> String {
    format!(
        "SELECT left(coalesce(queue, ''), {MAX_NAME}), count(*), \
                extract(epoch FROM min(run_at))::float8 \
         FROM (SELECT queue, run_at FROM delayed_jobs \
               WHERE failed_at IS NULL AND run_at <= {NOW} \
                 AND (locked_at IS NULL OR NOT ({held})) \
                 {named} \
               ORDER BY id LIMIT {counted}) first \
         GROUP BY queue LIMIT {limit}",
        held = held(),
        named = if named { "AND queue = ANY($2)" } else { "" },
        counted = pg::COUNTED,
        limit = MAX_QUEUES + 1,
    )
}

/// The running jobs per host of the worker that locked them (`host:NAME pid:N` at the end of
/// `locked_by`; NULL when it is not a worker's name). A job is reserved only once due, and a
/// failure that reschedules it unlocks it (`reschedule`, `lib/delayed/worker.rb`): a locked
/// job's `run_at` is past, which lets `delayed_jobs_priority` skip the jobs for later.
fn running_sql() -> String {
    format!(
        "SELECT left(substring(locked_by FROM 'host:(\\S+) pid:[0-9]+$'), {MAX_NAME}), count(*) \
         FROM delayed_jobs \
         WHERE failed_at IS NULL AND run_at <= {NOW} AND locked_at IS NOT NULL AND {held} \
         GROUP BY 1 LIMIT {limit}",
        held = held(),
        limit = MAX_PROCESSES + 1,
    )
}

/// The ready rows by queue name (a name cut to the same prefix twice, or NULL and `""`:
/// added together).
fn by_queue(rows: Vec<(String, Option<i64>, Option<f64>)>) -> BTreeMap<String, Ready> {
    let mut out: BTreeMap<String, Ready> = BTreeMap::new();
    for (name, depth, oldest) in rows {
        let slot = out.entry(name).or_default();
        *slot = slot.merge(Ready {
            depth: pg::count(depth),
            oldest,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_by_queue() {
        let got = by_queue(vec![
            ("".into(), Some(3), Some(20.0)),
            ("a".into(), Some(-2), None),
            ("".into(), Some(1), Some(10.0)),
        ]);
        assert_eq!(
            got.get(""),
            Some(&Ready {
                depth: 4,
                oldest: Some(10.0)
            })
        );
        assert_eq!(got.get("a"), Some(&Ready::default()));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn the_statements_say_what_they_bind() {
        assert!(ready_sql(true).contains("= ANY($2)"));
        assert!(!ready_sql(false).contains("$2"));
        assert!(ready_sql(false).ends_with("LIMIT 1001"));
        assert!(running_sql().ends_with("LIMIT 2001"));
        assert!(held().ends_with("interval '14400 seconds'"));
    }
}
