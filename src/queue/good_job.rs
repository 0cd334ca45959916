//! GoodJob 3 and 4, read straight from the app's Postgres: what GoodJob's dashboard shows as
//! "queued" and "running", in one read-only transaction of three indexed statements.
//!
//! The tables and their meaning, from GoodJob's own source (bensheldon/good_job; v3.0.0, v3.29.0,
//! v3.99.1, v4.0.0 and main):
//! - `good_jobs` (`lib/generators/good_job/templates/install/migrations/create_good_jobs.rb.erb`):
//!   one row per job (v4; in v3 one per execution, a retry adding a row), `queue_name`,
//!   `scheduled_at`, `performed_at`, `finished_at`, `created_at`; from v3.29 `locked_by_id` (the
//!   `good_job_processes.id` running it). Partial index `index_good_jobs_on_queue_name_and_scheduled_at`
//!   (`queue_name, scheduled_at WHERE finished_at IS NULL`) in every version, and
//!   `index_good_jobs_on_locked_by_id` (`WHERE locked_by_id IS NOT NULL`) from v3.29.
//! - Ready ("queued"): `app/models/good_job/job.rb` (v4) `scope :queued` is
//!   `performed_at IS NULL AND finished_at IS NULL AND scheduled_at <= now`. v4 always sets
//!   `scheduled_at` (`enqueue_args`: the given time, else `now`); v3 leaves it NULL for a job
//!   to run at once and reads `COALESCE(scheduled_at, created_at)` (`execution.rb`'s
//!   `only_scheduled` and `schedule_ordered`): so does this reader. A job's wait counts from
//!   that time: a scheduled or retried job from when it became due.
//! - Running: `scope :running` is `performed_at IS NOT NULL AND finished_at IS NULL`
//!   (`job.rb` v4, `execution.rb` v3). From v3.29 `perform` also sets `locked_by_id` to the
//!   process (`base_execution.rb` v4.0.0, `job.rb` main) and clears it when the job finishes.
//! - Processes: `good_job_processes` (`app/models/good_job/process.rb`): `state` JSON with
//!   `hostname` (`Socket.gethostname`) and `schedulers`, each with `max_threads` (the threads
//!   it runs jobs on: `lib/good_job/scheduler.rb`'s `stats`). From v3.29 a process refreshes its
//!   row every 30 s and one not updated for 5 minutes is expired (`EXPIRED_INTERVAL`).
//!
//! So: depth and latency per queue from `good_jobs` through the partial index; busy = the
//! running jobs locked by the live processes of the target's dynos (before v3.29, which records
//! no process, every running job); concurrency = a dyno's `max_threads` summed over its
//! schedulers and processes. GoodJob keeps no counter of finished jobs (finished rows are kept
//! for `cleanup_preserved_jobs_before_seconds_ago`, or deleted at once when
//! `preserve_job_records` is off; a process's `total_succeeded_executions_count` starts again
//! with it): no `done_counter`.
//!
//! Untrusted input: a NULL queue name reads as `""`, names are cut at 512 bytes, counts below 0
//! read as 0, a time that is not a time makes that queue's latency None, a `state` that is not
//! what GoodJob writes gives no concurrency — never a panic. At most [`MAX_QUEUES`] queues (more
//! is refused: name them in AUTOSCALE_QUEUES) and [`MAX_PROCESSES`] processes per read.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::pg::{self, Pg, Ready, Worker, MAX_NAME, MAX_PROCESSES};
use super::sidekiq::MAX_QUEUES;
use super::{Error, Queue, Totals};

/// `now` in SQL: the bound epoch seconds as the server's UTC `timestamp`.
const NOW: &str = "(to_timestamp($1::float8) AT TIME ZONE 'UTC')";

/// The largest `state->'schedulers'` parsed (a few hundred bytes a scheduler).
const MAX_SCHEDULERS: usize = 64 * 1024;

/// A GoodJob store: the app's Postgres (`DATABASE_URL`).
#[derive(Debug)]
pub struct GoodJob {
    pg: Pg,
}

impl GoodJob {
    /// A store at `url` (`postgres://`); nothing is sent before the first [`GoodJob::read`].
    /// Connects, statements and the whole read are bounded by `timeout` (the read by a second
    /// more).
    pub fn new(url: &str, timeout: Duration) -> Result<GoodJob, Error> {
        Ok(GoodJob {
            pg: Pg::new(url, timeout)?,
        })
    }

    /// The URL as it may be printed.
    pub fn shown(&self) -> &str {
        self.pg.shown()
    }

    /// One read: `queues` (every queue with an unfinished ready job when None), and the jobs
    /// running on `process_type`'s dynos; latencies counted up to `now`.
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
        let (jobs, locked_by, processes): (bool, bool, bool) = sqlx::query_as(SCHEMA)
            .persistent(false)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?;
        if !jobs || !processes {
            return Err(self.pg.missing(
                "no good_jobs and good_job_processes tables here (GoodJob's \
                         migrations create them; is this the app's DATABASE_URL?)",
            ));
        }
        let at = pg::epoch_seconds(now);
        let rows: Vec<(String, Option<i64>, Option<f64>)> = match queues {
            Some(names) => sqlx::query_as(&ready_sql(true))
                .persistent(false)
                .bind(at)
                .bind(names)
                .fetch_all(&mut *tx)
                .await
                .map_err(fail)?,
            None => sqlx::query_as(&ready_sql(false))
                .persistent(false)
                .bind(at)
                .fetch_all(&mut *tx)
                .await
                .map_err(fail)?,
        };
        if queues.is_none() && rows.len() > MAX_QUEUES {
            return Err(pg::too_many(self.pg.shown(), "good_jobs.queue_name"));
        }
        let ready = by_queue(rows);
        let statement = processes_sql(locked_by);
        let mut query = sqlx::query_as(&statement).persistent(false);
        if locked_by {
            query = query.bind(at);
        }
        let workers: Vec<(Option<String>, Option<String>, Option<i64>)> =
            query.fetch_all(&mut *tx).await.map_err(fail)?;
        if workers.len() > MAX_PROCESSES {
            return Err(Error::TooMany {
                url: self.pg.shown().to_owned(),
                key: "good_job_processes",
                max: MAX_PROCESSES,
                hint: "",
            });
        }
        let workers = workers
            .into_iter()
            .map(|(hostname, schedulers, running)| Worker {
                hostname,
                running: pg::count(running),
                concurrency: schedulers.as_deref().and_then(concurrency),
            })
            .collect::<Vec<_>>();
        let (mut busy, concurrency) = pg::busy(&workers, process_type);
        if !locked_by {
            // Before v3.29 no row says which process runs a job: every running job.
            let running: Option<i64> = sqlx::query_scalar(RUNNING)
                .persistent(false)
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?;
            busy = pg::count(running);
        }
        drop(tx);
        let queues = pg::queues(queues, &ready, now);
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
            per_process: locked_by,
        })
    }
}

/// The statements of one read from v3.29 on (`$1`: now as epoch seconds, `$2`: the queues
/// asked for), for the tests' `EXPLAIN`.
#[doc(hidden)]
pub fn statements(named: bool) -> Vec<String> {
    vec![ready_sql(named), processes_sql(true)]
}

/// Which of GoodJob's tables and columns this database has.
const SCHEMA: &str = "SELECT to_regclass('good_jobs') IS NOT NULL, \
     EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('good_jobs') \
             AND attname = 'locked_by_id' AND attnum > 0 AND NOT attisdropped), \
     to_regclass('good_job_processes') IS NOT NULL";

/// Ready jobs per queue among the [`pg::COUNTED`] oldest: unfinished, not started, due
/// (`queued`), by their due time through `index_good_jobs_on_scheduled_at` (partial, on
/// `finished_at IS NULL`): v4 sets `scheduled_at` on every job; v3's jobs to run at once have
/// none, and count from `created_at` (the second part). With no more ready jobs than that,
/// every one is counted; with more, the read stops there and its oldest is still the oldest.
/// `$2`: the queues asked for.
fn ready_sql(named: bool) -> String {
    let named = if named {
        "AND queue_name = ANY($2)"
    } else {
        ""
    };
    let ready = "finished_at IS NULL AND performed_at IS NULL";
    format!(
        "SELECT left(coalesce(queue_name, ''), {MAX_NAME}), count(*), \
                extract(epoch FROM min(due))::float8 \
         FROM (SELECT queue_name, due FROM ( \
                 (SELECT queue_name, scheduled_at AS due FROM good_jobs \
                  WHERE {ready} AND scheduled_at <= {NOW} {named} \
                  ORDER BY scheduled_at LIMIT {counted}) \
                 UNION ALL \
                 (SELECT queue_name, created_at FROM good_jobs \
                  WHERE {ready} AND scheduled_at IS NULL AND created_at <= {NOW} {named} \
                  ORDER BY created_at LIMIT {counted})) both_parts \
               ORDER BY due LIMIT {counted}) oldest \
         GROUP BY queue_name LIMIT {limit}",
        counted = pg::COUNTED,
        limit = MAX_QUEUES + 1,
    )
}

/// The processes, their schedulers, and (`locking`, from v3.29) the running jobs each has
/// locked, through `index_good_jobs_on_locked_by_id`: the live ones (refreshed within GoodJob's
/// `EXPIRED_INTERVAL`, 5 minutes). Before v3.29 rows are not refreshed (a process deletes its
/// own at exit): every row, no job count.
fn processes_sql(locking: bool) -> String {
    let (running, live) = if locking {
        (
            "(SELECT count(*) FROM good_jobs j WHERE j.locked_by_id = p.id \
               AND j.finished_at IS NULL AND j.performed_at IS NOT NULL)",
            "WHERE p.updated_at > (to_timestamp($1::float8) AT TIME ZONE 'UTC') \
               - interval '5 minutes'",
        )
    } else {
        ("NULL::int8", "")
    };
    format!(
        "SELECT left(p.state->>'hostname', {MAX_NAME}), \
            CASE WHEN jsonb_typeof(p.state->'schedulers') = 'array' \
                  AND octet_length((p.state->'schedulers')::text) <= {MAX_SCHEDULERS} \
                 THEN (p.state->'schedulers')::text END, \
            {running} \
         FROM good_job_processes p {live} LIMIT {limit}",
        limit = MAX_PROCESSES + 1,
    )
}

/// Before v3.29: every running job.
const RUNNING: &str =
    "SELECT count(*) FROM good_jobs WHERE finished_at IS NULL AND performed_at IS NOT NULL";

/// The ready rows by queue name (a name cut to the same prefix twice: added together).
fn by_queue(rows: Vec<(String, Option<i64>, Option<f64>)>) -> BTreeMap<String, Ready> {
    let mut out: BTreeMap<String, Ready> = BTreeMap::new();
    for (name, depth, oldest) in rows {
        let r = Ready {
            depth: pg::count(depth),
            oldest,
        };
        let slot = out.entry(name).or_default();
        *slot = slot.merge(r);
    }
    out
}

#[derive(Deserialize)]
struct Scheduler {
    max_threads: Option<serde_json::Value>,
}

/// The jobs a process runs at once: its schedulers' `max_threads` summed. None when the JSON
/// is not GoodJob's (too long, not an array of objects) or no scheduler says.
fn concurrency(schedulers: &str) -> Option<u32> {
    if schedulers.len() > MAX_SCHEDULERS {
        return None;
    }
    let schedulers: Vec<Scheduler> = serde_json::from_str(schedulers).ok()?;
    let threads: Vec<u32> = schedulers
        .iter()
        .filter_map(|s| s.max_threads.as_ref()?.as_u64())
        .filter_map(|n| u32::try_from(n).ok())
        .collect();
    if threads.is_empty() {
        return None;
    }
    Some(threads.into_iter().fold(0u32, u32::saturating_add))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_is_the_schedulers_threads() {
        // v4's `state.schedulers` (scheduler.rb's stats), two pools: "queues: 'mailers:2;*:5'".
        let two = r#"[{"name":"GoodJob::Scheduler(queues=mailers max_threads=2)","queues":"mailers","max_threads":2,"active_threads":0,"available_threads":2,"max_cache":10000,"active_cache":0,"available_cache":10000,"empty_executions_count":3,"errored_executions_count":0,"succeeded_executions_count":7,"total_executions_count":10,"execution_at":null,"check_queue_at":null},{"name":"GoodJob::Scheduler(queues=* max_threads=5)","queues":"*","max_threads":5}]"#;
        assert_eq!(concurrency(two), Some(7));
        assert_eq!(concurrency(r#"[{"max_threads":5}]"#), Some(5));
        assert_eq!(concurrency(r#"[{"max_threads":5},{"name":"x"}]"#), Some(5));
        assert_eq!(
            concurrency(r#"[{"max_threads":4294967295},{"max_threads":1}]"#),
            Some(u32::MAX)
        );
        for bad in [
            "[]",
            "{}",
            "[1]",
            r#"[{"max_threads":-1}]"#,
            r#"[{"max_threads":"5"}]"#,
            r#"[{"max_threads":2.5}]"#,
            r#"[{"max_threads":4294967296}]"#,
            "[",
            "",
        ] {
            assert_eq!(concurrency(bad), None, "{bad}");
        }
        let long = format!(
            r#"[{{"max_threads":5,"pad":"{}"}}]"#,
            "x".repeat(MAX_SCHEDULERS)
        );
        assert_eq!(concurrency(&long), None);
        let within = format!(
            r#"[{{"max_threads":5,"pad":"{}"}}]"#,
            "x".repeat(MAX_SCHEDULERS - 40)
        );
        assert_eq!(concurrency(&within), Some(5));
    }

    #[test]
    fn rows_by_queue() {
        let got = by_queue(vec![
            ("default".into(), Some(3), Some(20.0)),
            ("a".into(), Some(-2), None),
            ("default".into(), Some(1), Some(10.0)),
        ]);
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            vec![
                (
                    "a".to_owned(),
                    Ready {
                        depth: 0,
                        oldest: None
                    }
                ),
                (
                    "default".to_owned(),
                    Ready {
                        depth: 4,
                        oldest: Some(10.0)
                    }
                ),
            ]
        );
    }

    #[test]
    fn the_ready_statement_filters_named_queues_only_when_asked() {
        assert!(ready_sql(true).contains("= ANY($2)"));
        assert!(!ready_sql(false).contains("$2"));
        assert!(ready_sql(false).ends_with("LIMIT 1001"));
        assert!(processes_sql(true).contains("$1"));
        assert!(!processes_sql(false).contains("$1"));
        assert!(processes_sql(false).ends_with("LIMIT 2001"));
    }
}
