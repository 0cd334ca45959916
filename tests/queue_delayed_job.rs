//! The delayed_job reader against a real Postgres (`AUTOSCALE_TEST_POSTGRES_URL`; `source
//! .ci/postgres`): the table as delayed_job_active_record's migration creates it under Rails 7.1
//! on Postgres, jobs as `Delayed::Job.enqueue` (Active Job's adapter) inserts them and workers
//! reserve them (`reserve_with_scope_using_optimized_postgres`), then the reader's figures
//! asserted exactly. Each test has its own database, `queue_dj_*`.

use std::time::{Duration, Instant};

use autoscale::queue::delayed_job::{self, DelayedJob};
use autoscale::queue::{Error, Queue, Totals};
use sqlx::{Executor, PgConnection};

mod postgres_support;

use postgres_support::*;

const TIMEOUT: Duration = Duration::from_secs(5);

/// `lib/generators/delayed_job/templates/migration.rb` (with `queue`), as Rails 7.1 writes it
/// for Postgres (`t.datetime` is `timestamp(6)`, `t.string` `character varying`, the id a
/// `bigint` from a sequence).
const DELAYED_JOBS: &str = r#"
CREATE TABLE delayed_jobs (
    id bigserial PRIMARY KEY,
    priority integer DEFAULT 0 NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    handler text NOT NULL,
    last_error text,
    run_at timestamp(6) without time zone,
    locked_at timestamp(6) without time zone,
    failed_at timestamp(6) without time zone,
    locked_by character varying,
    queue character varying,
    created_at timestamp(6) without time zone,
    updated_at timestamp(6) without time zone
);
CREATE INDEX delayed_jobs_priority ON delayed_jobs USING btree (priority, run_at);
"#;

/// Active Job's `JobWrapper`, as `Delayed::Job.enqueue` serializes it to YAML.
fn handler(queue: &str) -> String {
    format!(
        "--- !ruby/object:ActiveJob::QueueAdapters::DelayedJobAdapter::JobWrapper\njob_data:\n  job_class: ChargeJob\n  job_id: 0b6c5f8e-3f1a-4a55-9d7e-2c1b0a9f8e7d\n  provider_job_id:\n  queue_name: {queue}\n  priority:\n  arguments:\n  - 42\n  executions: 0\n  exception_executions: {{}}\n  locale: en\n  timezone: UTC\n  enqueued_at: '2026-12-07T09:59:17.750000000Z'\n  scheduled_at:\n"
    )
}

/// `Delayed::Job.enqueue(JobWrapper.new(…), queue:, priority:)`: the insert of every column
/// (Rails 7's `partial_inserts = false`), `run_at` = `db_time_now` (or `enqueue_at`'s time),
/// `ms` before now.
async fn enqueue(c: &mut PgConnection, queue: Option<&str>, run_at: i64) -> i64 {
    let now = ts(run_at.max(0));
    sqlx::query_scalar(
        "INSERT INTO \"delayed_jobs\" (\"priority\", \"attempts\", \"handler\", \"last_error\", \"run_at\", \"locked_at\", \"failed_at\", \"locked_by\", \"queue\", \"created_at\", \"updated_at\") \
         VALUES ($1, $2, $3, $4, $5::text::timestamp, $6::text::timestamp, $7::text::timestamp, $8, $9, $10::text::timestamp, $11::text::timestamp) RETURNING \"id\"",
    )
    .bind(0)
    .bind(0)
    .bind(handler(queue.unwrap_or("default")))
    .bind(None::<String>)
    .bind(ts(run_at))
    .bind(None::<String>)
    .bind(None::<String>)
    .bind(None::<String>)
    .bind(queue)
    .bind(&now)
    .bind(&now)
    .fetch_one(c)
    .await
    .unwrap()
}

/// A worker's reserve: `UPDATE "delayed_jobs" SET locked_at = now, locked_by = NAME WHERE id IN
/// (…)`, `ms` before now.
async fn reserve(c: &mut PgConnection, id: i64, worker: &str, ms: i64) {
    sqlx::query(
        "UPDATE \"delayed_jobs\" SET locked_at = $1::text::timestamp, locked_by = $2 WHERE id IN (SELECT \"delayed_jobs\".\"id\" FROM \"delayed_jobs\" WHERE id = $3 FOR UPDATE)",
    )
    .bind(ts(ms))
    .bind(worker)
    .bind(id)
    .execute(c)
    .await
    .unwrap();
}

#[tokio::test]
async fn ready_reserved_failed_and_stale_jobs() {
    let Some((url, mut c)) = database("dj_main").await else {
        return;
    };
    c.execute(DELAYED_JOBS).await.unwrap();
    // `default`: ready since 42.5 s, 20 s, 1 s; one for in an hour; one failed for good (kept:
    // destroy_failed_jobs off); one due 100 s ago that worker.1 runs.
    for age in [42_500, 20_000, 1_000] {
        enqueue(&mut c, Some("default"), age).await;
    }
    enqueue(&mut c, Some("default"), -3_600_000).await;
    let failed = enqueue(&mut c, Some("default"), 900_000).await;
    c.execute(
        format!(
            "UPDATE delayed_jobs SET attempts = 25, failed_at = '{}', last_error = 'boom' WHERE id = {failed}",
            ts(800_000)
        )
        .as_str(),
    )
    .await
    .unwrap();
    let running = enqueue(&mut c, Some("default"), 100_000).await;
    reserve(&mut c, running, "host:worker.1 pid:4", 99_000).await;
    // `mailers`: one ready 3.75 s ago; two run by `script/delayed_job` workers on worker.2.
    enqueue(&mut c, Some("mailers"), 3_750).await;
    for (n, pid) in [(0, 12), (1, 13)] {
        let id = enqueue(&mut c, Some("mailers"), 9_000).await;
        reserve(
            &mut c,
            id,
            &format!("delayed_job.{n} host:worker.2 pid:{pid}"),
            8_000,
        )
        .await;
    }
    // `urgent`: run on urgent.1. No queue: ready since 2 s.
    let urgent = enqueue(&mut c, Some("urgent"), 5_000).await;
    reserve(&mut c, urgent, "host:urgent.1 pid:7", 4_000).await;
    enqueue(&mut c, None, 2_000).await;
    // `reports`: locked 5 hours ago by a worker that died (past max_run_time): ready again,
    // waiting since its run_at. One locked by a name that is not a worker's.
    let stale = enqueue(&mut c, Some("reports"), 18_100_000).await;
    reserve(&mut c, stale, "host:worker.9 pid:3", 18_000_000).await;
    let odd = enqueue(&mut c, Some("reports"), 1_000).await;
    reserve(&mut c, odd, "someone", 500).await;

    let dj = DelayedJob::new(&url, TIMEOUT).unwrap();
    let (queues, totals) = dj.read(None, "worker", now()).await.unwrap();
    assert_eq!(
        queues,
        vec![
            Queue {
                name: "".into(),
                depth: 1,
                latency: Some(Duration::from_secs(2)),
            },
            Queue {
                name: "default".into(),
                depth: 3,
                latency: Some(Duration::from_millis(42_500)),
            },
            Queue {
                name: "mailers".into(),
                depth: 1,
                latency: Some(Duration::from_millis(3_750)),
            },
            Queue {
                name: "reports".into(),
                depth: 1,
                latency: Some(Duration::from_secs(18_100)),
            },
        ]
    );
    assert_eq!(
        totals,
        Totals {
            depth: 6,
            latency: Duration::from_secs(18_100),
            busy: Some(3),
            done_counter: None,
            concurrency: None,
        }
    );
    let (_, urgent) = dj.read(None, "urgent", now()).await.unwrap();
    assert_eq!(urgent.busy, Some(1));
    // During a drain to 1 dyno: worker.2 stops, with its 2 jobs (one host); to 0, worker.1's too.
    let mut store =
        autoscale::queue::Store::open(autoscale::queue::Kind::DelayedJob, &url, false, TIMEOUT)
            .unwrap();
    let draining = store.read(None, "worker", Some(1), now()).await.unwrap();
    assert_eq!(
        draining.stopping.map(|s| (s.busy, s.processes)),
        Some((2, 1))
    );
    let all = store.read(None, "worker", Some(0), now()).await.unwrap();
    assert_eq!(all.stopping.map(|s| s.busy), Some(3));
    let named = ["mailers".to_owned(), "critical".to_owned()];
    let (queues, totals) = dj.read(Some(&named), "worker", now()).await.unwrap();
    assert_eq!(
        queues,
        vec![
            Queue {
                name: "critical".into(),
                depth: 0,
                latency: Some(Duration::ZERO),
            },
            Queue {
                name: "mailers".into(),
                depth: 1,
                latency: Some(Duration::from_millis(3_750)),
            },
        ]
    );
    assert_eq!((totals.depth, totals.busy), (1, Some(3)));
    drop_database(c, "dj_main").await;
}

#[tokio::test]
async fn hosts_not_named_after_dynos_count_every_running_job() {
    let Some((url, mut c)) = database("dj_hosts").await else {
        return;
    };
    c.execute(DELAYED_JOBS).await.unwrap();
    for (n, host) in ["1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901", "a9f8e7d6-c5b4"]
        .iter()
        .enumerate()
    {
        let id = enqueue(&mut c, Some("default"), 10_000).await;
        reserve(&mut c, id, &format!("host:{host} pid:{n}"), 9_000).await;
    }
    let (queues, totals) = DelayedJob::new(&url, TIMEOUT)
        .unwrap()
        .read(None, "worker", now())
        .await
        .unwrap();
    assert!(queues.is_empty());
    assert_eq!((totals.depth, totals.busy), (0, Some(2)));
    drop_database(c, "dj_hosts").await;
}

#[tokio::test]
async fn no_table_and_refused_credentials() {
    let Some((url, c)) = database("dj_none").await else {
        return;
    };
    let e = DelayedJob::new(&url, TIMEOUT)
        .unwrap()
        .read(None, "worker", now())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Read { reason, .. } if reason.contains("delayed_jobs")),
        "{e:?}"
    );
    let mut wrong = url::Url::parse(&url).unwrap();
    wrong.set_password(Some("wrong-pw-1234")).unwrap();
    let e = DelayedJob::new(wrong.as_str(), TIMEOUT)
        .unwrap()
        .read(None, "worker", now())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Refused { .. }), "{e:?}");
    assert!(!e.to_string().contains("wrong-pw-1234"), "{e}");
    drop_database(c, "dj_none").await;
}

/// A table of 200,000 jobs scheduled for later and 2,000 ready: both statements read
/// `delayed_jobs_priority`'s `run_at <= now` part, never the later jobs' rows.
#[tokio::test]
async fn the_statements_plans() {
    let Some((_, mut c)) = database("dj_plans").await else {
        return;
    };
    c.execute(DELAYED_JOBS).await.unwrap();
    let (t, later) = (ts(1_000), ts(-86_400_000));
    c.execute(
        format!(
            "INSERT INTO delayed_jobs (priority, handler, run_at, queue, created_at, updated_at) \
             SELECT 0, 'h', '{later}', 'q' || (n % 20), '{t}', '{t}' FROM generate_series(1, 200000) n; \
             INSERT INTO delayed_jobs (priority, handler, run_at, queue, created_at, updated_at) \
             SELECT 0, 'h', '{t}', 'q' || (n % 20), '{t}', '{t}' FROM generate_series(1, 2000) n; \
             ANALYZE"
        )
        .as_str(),
    )
    .await
    .unwrap();
    for named in [false, true] {
        let plans = plans(&mut c, &delayed_job::statements(named)).await;
        eprintln!("delayed_job plans:\n{plans}");
        assert!(!plans.contains("Seq Scan on delayed_jobs"), "{plans}");
        assert_eq!(plans.matches("delayed_jobs_priority").count(), 2, "{plans}");
    }
    drop_database(c, "dj_plans").await;
}

/// 100 queues × 10,000 ready jobs (1 M): one read (after one to warm the cache), best of 3,
/// printed.
#[tokio::test]
async fn one_read_of_100_queues_and_a_million_jobs() {
    let Some((url, mut c)) = database("dj_million").await else {
        return;
    };
    c.execute(DELAYED_JOBS).await.unwrap();
    // No autovacuum worker (the superuser's) in the database when the test drops it.
    c.execute("ALTER TABLE delayed_jobs SET (autovacuum_enabled = false)")
        .await
        .unwrap();
    let t = ts(60_000);
    let fill = Instant::now();
    c.execute(
        format!(
            "INSERT INTO delayed_jobs (priority, handler, run_at, queue, created_at, updated_at) \
             SELECT 0, '{handler}', '{t}'::timestamp + n * interval '1 microsecond', 'q' || (n % 100), '{t}', '{t}' \
             FROM generate_series(1, 1000000) n; \
             ANALYZE",
            handler = handler("q1").replace('\'', "''")
        )
        .as_str(),
    )
    .await
    .unwrap();
    eprintln!("filled 1 M delayed jobs in {:?}", fill.elapsed());
    // 20 of them running on worker.1.
    c.execute(
        format!(
            "UPDATE delayed_jobs SET locked_at = '{}', \
                    locked_by = 'host:worker.1 pid:' || id WHERE id <= 20",
            ts(1_000)
        )
        .as_str(),
    )
    .await
    .unwrap();
    let dj = DelayedJob::new(&url, Duration::from_secs(30)).unwrap();
    let best = || async {
        dj.read(None, "worker", now()).await.unwrap();
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let started = Instant::now();
            let (queues, totals) = dj.read(None, "worker", now()).await.unwrap();
            best = best.min(started.elapsed());
            // The 10,000 first ready are counted (100 of each queue), the oldest is the oldest.
            assert_eq!((queues.len(), totals.depth), (100, 10_000));
            assert!(queues.iter().all(|q| q.depth == 100), "{queues:?}");
            assert_eq!(totals.latency, Duration::from_secs(60));
            assert_eq!(totals.busy, Some(20));
        }
        best.as_secs_f64() * 1e3
    };
    let bare = best().await;
    eprintln!(
        "delayed_job, 1 M ready:\n{}",
        analyze(&mut c, &delayed_job::statements(false)).await
    );
    // The index docs/workers.md offers the app: its locked jobs alone.
    c.execute(
        "CREATE INDEX index_delayed_jobs_on_locked_at ON delayed_jobs (locked_at) \
         WHERE locked_at IS NOT NULL; ANALYZE delayed_jobs",
    )
    .await
    .unwrap();
    let indexed = best().await;
    let plans = analyze(&mut c, &delayed_job::statements(false)).await;
    eprintln!("delayed_job, 1 M ready, the locked jobs indexed:\n{plans}");
    assert!(plans.contains("index_delayed_jobs_on_locked_at"), "{plans}");
    eprintln!(
        "one read of 100 queues × 10,000 jobs: delayed_job {bare:.1} ms, \
         {indexed:.1} ms with the locked jobs indexed (best of 3)"
    );
    drop_database(c, "dj_million").await;
}
