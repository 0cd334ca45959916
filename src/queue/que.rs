//! Que 1.x and 2.x, read straight from the app's Postgres: what Que's own `job_stats` and
//! `job_states` introspection shows, in one read-only transaction of two statements.
//!
//! The tables and their meaning, from Que's own source (que-rb/que 2.4.1, migrations 4 to 7:
//! Que 1.x runs schema 4, 2.x schema 7):
//! - `que_jobs` (`lib/que/migrations/4/up.sql`): one row per job, `queue` (`'default'`),
//!   `run_at` (`timestamptz`: the time it may run, `now()` at the enqueue, a retry's time after
//!   an error), `finished_at` and `expired_at` (NULL until then; Que destroys a job that
//!   succeeds unless it asked to be kept), `id` (`bigserial`). Partial index `que_poll_idx` on
//!   `(queue, priority, run_at, id)` (2.x: `(job_schema_version, queue, priority, run_at, id)`,
//!   `6/up.sql`) `WHERE finished_at IS NULL AND expired_at IS NULL`: the unfinished jobs only.
//! - Ready: the poller's own condition (`lib/que/poller.rb`, `poll_jobs`): `run_at <= now()`,
//!   `finished_at IS NULL AND expired_at IS NULL`, and not locked. A job is taken by a locker
//!   with `pg_try_advisory_lock(id)` (`locker.rb`'s `lock_jobs`), held until the job is done:
//!   `pg_locks` rows of `locktype = 'advisory'` whose key is the id
//!   (`(classid::bigint << 32) + objid`, `lib/que/utils/introspection.rb`), in this database
//!   (a bigint key has `objsubid = 1`). A job waits since its `run_at`: a retried or scheduled
//!   job from when it became due.
//! - Running: the locked jobs (`job_states`: what Que itself calls working; a locker also locks
//!   the few jobs it buffers for its workers, `maximum_buffer_size`, 8). Per process,
//!   `que_lockers` (`4/up.sql`, `locker.rb`'s `register_locker`): `pid` (the locker's backend),
//!   `worker_count` (its worker threads), `ruby_hostname` (`Socket.gethostname`). A row whose
//!   backend is gone is a locker that died (`clean_lockers`: `NOT EXISTS` in
//!   `pg_stat_activity`): left out.
//!
//! So: depth and latency per queue through `que_poll_idx`; busy = the locks held by the live
//! lockers of the target's dynos ([`super::pg::busy`]); concurrency = a dyno's `worker_count`.
//! Que keeps no counter of finished jobs: no `done_counter`.
//!
//! Untrusted input: names are cut at 512 bytes, counts below 0 read as 0, a time that is not a
//! time makes that queue's latency None — never a panic. At most [`MAX_QUEUES`] queues (more is
//! refused: name them in AUTOSCALE_QUEUES) and [`MAX_PROCESSES`] lockers per read.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::pg::{self, Pg, Ready, Worker, MAX_NAME, MAX_PROCESSES};
use super::sidekiq::MAX_QUEUES;
use super::{Error, Queue, Totals};

/// A Que store: the app's Postgres (`DATABASE_URL`).
#[derive(Debug)]
pub struct Que {
    pg: Pg,
}

impl Que {
    /// A store at `url` (`postgres://`); nothing is sent before the first [`Que::read`].
    /// Connects, statements and the whole read are bounded by `timeout` (the read by a second
    /// more).
    pub fn new(url: &str, timeout: Duration) -> Result<Que, Error> {
        Ok(Que {
            pg: Pg::new(url, timeout)?,
        })
    }

    /// The URL as it may be printed.
    pub fn shown(&self) -> &str {
        self.pg.shown()
    }

    /// One read: `queues` (every queue with a ready job when None), and the jobs locked by the
    /// lockers on `process_type`'s dynos; latencies counted up to `now`.
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
                "no que_jobs table of Que 1.x or 2.x (with finished_at and expired_at) \
                 and no que_lockers here (is this the app's DATABASE_URL?)",
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
            return Err(pg::too_many(self.pg.shown(), "que_jobs.queue"));
        }
        let lockers: Vec<(Option<String>, Option<i32>, Option<i64>)> =
            sqlx::query_as(&lockers_sql())
                .persistent(false)
                .fetch_all(&mut *tx)
                .await
                .map_err(fail)?;
        if lockers.len() > MAX_PROCESSES {
            return Err(Error::TooMany {
                url: self.pg.shown().to_owned(),
                key: "que_lockers",
                max: MAX_PROCESSES,
                hint: "",
            });
        }
        drop(tx);
        let workers: Vec<Worker> = lockers.into_iter().map(worker).collect();
        let (busy, concurrency) = pg::busy(&workers, process_type);
        let queues = pg::queues(queues, &by_queue(rows), now);
        let (depth, latency) = pg::sums(&queues, &[]);
        Ok(pg::Read {
            queues,
            totals: Totals {
                depth,
                latency,
                busy: Some(busy),
                done_counter: None,
                concurrency,
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
    vec![ready_sql(named), lockers_sql()]
}

/// Whether Que's tables of 1.x or 2.x are here (`que_jobs` with `finished_at` and
/// `expired_at`, from schema 4; `que_lockers`).
const SCHEMA: &str = "SELECT to_regclass('que_jobs') IS NOT NULL \
       AND to_regclass('que_lockers') IS NOT NULL \
       AND (SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass('que_jobs') \
            AND attname IN ('finished_at', 'expired_at') AND attnum > 0 AND NOT attisdropped) = 2";

/// The advisory locks on bigint keys held in this database: the ids of the jobs locked.
const LOCKED: &str = "SELECT (l.classid::bigint << 32) + l.objid::bigint AS id FROM pg_locks l \
       WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())";

/// Ready jobs per queue among the [`pg::COUNTED`] first enqueued: unfinished, unexpired, due,
/// not locked, by id (the primary key; Que numbers its jobs as they are enqueued); `$2`: the
/// queues asked for. With no more ready jobs than that, every one is counted; with more, the
/// read stops there, and the oldest is the oldest of those (a job retried keeps its number and
/// waits from its new `run_at`: only 10,000 retried jobs at once could hide an older one).
fn ready_sql(named: bool) -> String {
    format!(
        "WITH locked AS MATERIALIZED ({LOCKED}) \
         SELECT left(queue, {MAX_NAME}), count(*), extract(epoch FROM min(run_at))::float8 \
         FROM (SELECT j.queue, j.run_at FROM que_jobs j \
               WHERE j.finished_at IS NULL AND j.expired_at IS NULL \
                 AND j.run_at <= to_timestamp($1::float8) \
                 AND NOT EXISTS (SELECT 1 FROM locked WHERE locked.id = j.id) \
                 {named} \
               ORDER BY j.id LIMIT {counted}) first \
         GROUP BY queue LIMIT {limit}",
        named = if named { "AND j.queue = ANY($2)" } else { "" },
        counted = pg::COUNTED,
        limit = MAX_QUEUES + 1,
    )
}

/// The live lockers (their backend still connected), their workers, and the job locks each
/// holds.
fn lockers_sql() -> String {
    format!(
        "WITH locks AS MATERIALIZED (SELECT l.pid, count(*) AS n FROM pg_locks l \
            WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted \
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
            GROUP BY l.pid) \
         SELECT left(q.ruby_hostname, {MAX_NAME}), q.worker_count, coalesce(locks.n, 0) \
         FROM que_lockers q LEFT JOIN locks ON locks.pid = q.pid \
         WHERE EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = q.pid) \
         LIMIT {limit}",
        limit = MAX_PROCESSES + 1,
    )
}

/// A locker's row: its host, its workers (a count below 0 says nothing), its locks.
fn worker((hostname, workers, locks): (Option<String>, Option<i32>, Option<i64>)) -> Worker {
    Worker {
        hostname,
        running: pg::count(locks),
        concurrency: workers.and_then(|w| u32::try_from(w).ok()),
    }
}

/// The ready rows by queue name (a name cut to the same prefix twice: added together).
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
    fn a_lockers_row() {
        assert_eq!(
            worker((Some("worker.1".into()), Some(6), Some(2))),
            Worker {
                hostname: Some("worker.1".into()),
                running: 2,
                concurrency: Some(6),
            }
        );
        assert_eq!(
            worker((None, Some(-1), Some(-3))),
            Worker {
                hostname: None,
                running: 0,
                concurrency: None,
            }
        );
        assert_eq!(worker((None, None, None)).concurrency, None);
    }

    #[test]
    fn rows_by_queue() {
        let got = by_queue(vec![
            ("default".into(), Some(3), Some(20.0)),
            ("a".into(), Some(-2), None),
            ("default".into(), Some(1), Some(10.0)),
        ]);
        assert_eq!(
            got.get("default"),
            Some(&Ready {
                depth: 4,
                oldest: Some(10.0)
            })
        );
        assert_eq!(got.get("a"), Some(&Ready::default()));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn the_statements_filter_named_queues_only_when_asked() {
        assert!(ready_sql(true).contains("= ANY($2)"));
        assert!(!ready_sql(false).contains("$2"));
        assert!(ready_sql(false).ends_with("LIMIT 1001"));
        assert!(lockers_sql().ends_with("LIMIT 2001"));
    }
}
