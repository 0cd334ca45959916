//! The Que reader against a real Postgres (`AUTOSCALE_TEST_POSTGRES_URL`; `source
//! .ci/postgres`): the schema as `Que.migrate!` creates it (2.x: migrations 1–7; 1.0: 1–4),
//! jobs as `Que::Job.enqueue` inserts them, lockers as they register and lock jobs (advisory
//! locks held on their own connections), then the reader's figures asserted exactly. Each test
//! has its own database, `queue_que_*`.

use std::time::{Duration, Instant};

use autoscale::queue::que::{self, Que};
use autoscale::queue::{Error, Queue, Totals};
use sqlx::Executor;

mod postgres_support;
mod que_support;

use postgres_support::*;
use que_support::*;

const TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn que_2_ready_jobs_locks_and_lockers() {
    let Some((url, mut c)) = database("que_2").await else {
        return;
    };
    migrate(&mut c, 7).await;
    // `default`: ready jobs due 42.5 s, 20 s and 1 s ago; one due 100 s ago that a worker.1
    // locker holds (running); one for in an hour; one finished, one expired; one that failed
    // once and is due again since 10 s.
    let oldest_locked = enqueue2(&mut c, "default", &ts(100_000)).await;
    for age in [42_500, 20_000, 1_000] {
        enqueue2(&mut c, "default", &ts(age)).await;
    }
    enqueue2(&mut c, "default", &ts(-3_600_000)).await;
    let finished = enqueue2(&mut c, "default", &ts(500_000)).await;
    let expired = enqueue2(&mut c, "default", &ts(400_000)).await;
    let errored = enqueue2(&mut c, "default", &ts(10_000)).await;
    c.execute(
        format!(
            "UPDATE que_jobs SET finished_at = now() WHERE id = {finished}; \
             UPDATE que_jobs SET expired_at = now(), error_count = 16 WHERE id = {expired}; \
             UPDATE que_jobs SET error_count = 1, last_error_message = 'Timeout::Error' WHERE id = {errored}"
        )
        .as_str(),
    )
    .await
    .unwrap();
    // `mailers`: one ready 3.75 s ago, two locked by worker.2's locker.
    enqueue2(&mut c, "mailers", &ts(3_750)).await;
    let m1 = enqueue2(&mut c, "mailers", &ts(9_000)).await;
    let m2 = enqueue2(&mut c, "mailers", &ts(8_000)).await;
    // `reports`: every job locked (by urgent.1).
    let r1 = enqueue2(&mut c, "reports", &ts(60_000)).await;
    let _w1 = locker(&url, "worker.1", &[oldest_locked]).await;
    let _w2 = locker(&url, "worker.2", &[m1, m2]).await;
    let _u1 = locker(&url, "urgent.1", &[r1]).await;
    // A locker that died without cleaning up: its backend is gone.
    c.execute(
        "INSERT INTO que_lockers (pid, worker_count, worker_priorities, ruby_pid, ruby_hostname, listening, queues, job_schema_version) \
         VALUES (2147483000, 6, '{10,30,50,NULL,NULL,NULL}', 9, 'worker.9', true, '{default}', 2)",
    )
    .await
    .unwrap();
    // An advisory lock on a ready job's id, in another database of the cluster: not Que's.
    let mut elsewhere = connect(&admin_url().unwrap()).await;
    let errored_elsewhere: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(errored)
        .fetch_one(&mut elsewhere)
        .await
        .unwrap();
    assert!(errored_elsewhere);

    let que = Que::new(&url, TIMEOUT).unwrap();
    let (queues, totals) = que.read(None, "worker", now()).await.unwrap();
    assert_eq!(
        queues,
        vec![
            Queue {
                name: "default".into(),
                depth: 4,
                latency: Some(Duration::from_millis(42_500)),
            },
            Queue {
                name: "mailers".into(),
                depth: 1,
                latency: Some(Duration::from_millis(3_750)),
            },
        ]
    );
    assert_eq!(
        totals,
        Totals {
            depth: 5,
            latency: Duration::from_millis(42_500),
            busy: Some(3),
            done_counter: None,
            concurrency: Some(6),
        }
    );
    // During a drain to 1 dyno: worker.2's locker stops, with its 2 jobs; to 0, worker.1's too.
    let mut store =
        autoscale::queue::Store::open(autoscale::queue::Kind::Que, &url, false, TIMEOUT).unwrap();
    let draining = store.read(None, "worker", Some(1), now()).await.unwrap();
    assert_eq!(
        draining.stopping.map(|s| (s.busy, s.processes)),
        Some((2, 1))
    );
    let all = store.read(None, "worker", Some(0), now()).await.unwrap();
    assert_eq!(all.stopping.map(|s| s.busy), Some(3));
    let (_, urgent) = que.read(None, "urgent", now()).await.unwrap();
    assert_eq!((urgent.busy, urgent.concurrency), (Some(1), Some(6)));
    // Named: a queue without a ready job is listed, empty.
    let named = ["reports".to_owned(), "mailers".to_owned()];
    let (queues, totals) = que.read(Some(&named), "worker", now()).await.unwrap();
    assert_eq!(
        queues,
        vec![
            Queue {
                name: "mailers".into(),
                depth: 1,
                latency: Some(Duration::from_millis(3_750)),
            },
            Queue {
                name: "reports".into(),
                depth: 0,
                latency: Some(Duration::ZERO),
            },
        ]
    );
    assert_eq!(totals.depth, 1);
    drop(elsewhere);
    drop_database(c, "que_2").await;
}

#[tokio::test]
async fn que_1_0_schema() {
    let Some((url, mut c)) = database("que_1").await else {
        return;
    };
    migrate(&mut c, 4).await;
    let running = enqueue1(&mut c, "default", &ts(30_000)).await;
    enqueue1(&mut c, "default", &ts(12_000)).await;
    // Hosts named by the platform, not after dynos: every locker's jobs are busy.
    let _l = locker_of(
        &url,
        "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901",
        &[running],
        false,
    )
    .await;
    let (queues, totals) = Que::new(&url, TIMEOUT)
        .unwrap()
        .read(None, "worker", now())
        .await
        .unwrap();
    assert_eq!(
        queues,
        vec![Queue {
            name: "default".into(),
            depth: 1,
            latency: Some(Duration::from_secs(12)),
        }]
    );
    assert_eq!((totals.busy, totals.concurrency), (Some(1), None));
    drop_database(c, "que_1").await;
}

#[tokio::test]
async fn no_que_tables_and_refused_credentials() {
    let Some((url, mut c)) = database("que_none").await else {
        return;
    };
    let e = Que::new(&url, TIMEOUT)
        .unwrap()
        .read(None, "worker", now())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Read { reason, .. } if reason.contains("que_jobs")),
        "{e:?}"
    );
    // Que 0.x (schema 3: no finished_at): not read.
    migrate(&mut c, 3).await;
    let e = Que::new(&url, TIMEOUT)
        .unwrap()
        .read(None, "worker", now())
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Read { .. }), "{e:?}");
    let mut wrong = url::Url::parse(&url).unwrap();
    wrong.set_password(Some("wrong-pw-1234")).unwrap();
    let e = Que::new(wrong.as_str(), TIMEOUT)
        .unwrap()
        .read(None, "worker", now())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Refused { .. }), "{e:?}");
    assert!(!e.to_string().contains("wrong-pw-1234"), "{e}");
    drop_database(c, "que_none").await;
}

/// A busy app's table: 200,000 expired or kept finished jobs, 2,000 unfinished. The ready
/// statement goes through `que_poll_idx`, never the whole table.
#[tokio::test]
async fn the_statements_use_que_poll_idx() {
    let Some((_, mut c)) = database("que_plans").await else {
        return;
    };
    migrate(&mut c, 7).await;
    let t = ts(1_000);
    c.execute(
        format!(
            "SET que.skip_notify = 'true'; \
             INSERT INTO que_jobs (queue, priority, run_at, job_class, args, kwargs, data, job_schema_version, finished_at) \
             SELECT 'q' || (n % 20), 100, '{t}+00', 'J', '[]', '{{}}', '{{}}', 2, '{t}+00' FROM generate_series(1, 200000) n; \
             INSERT INTO que_jobs (queue, priority, run_at, job_class, args, kwargs, data, job_schema_version) \
             SELECT 'q' || (n % 20), 100, '{t}+00', 'J', '[]', '{{}}', '{{}}', 2 FROM generate_series(1, 2000) n; \
             ANALYZE"
        )
        .as_str(),
    )
    .await
    .unwrap();
    for named in [true, false] {
        let plans = plans(&mut c, &que::statements(named)).await;
        eprintln!("Que plans:\n{plans}");
        assert!(!plans.contains("Seq Scan on que_jobs"), "{plans}");
        assert!(plans.contains("que_poll_idx"), "{plans}");
    }
    drop_database(c, "que_plans").await;
}

/// 100 queues × 10,000 ready jobs (1 M), 20 lockers' rows: one read (after one to warm the
/// cache), best of 3, printed.
#[tokio::test]
async fn one_read_of_100_queues_and_a_million_jobs() {
    let Some((url, mut c)) = database("que_million").await else {
        return;
    };
    migrate(&mut c, 7).await;
    // No autovacuum worker (the superuser's) in the database when the test drops it.
    c.execute("ALTER TABLE que_jobs SET (autovacuum_enabled = false)")
        .await
        .unwrap();
    let t = ts(60_000);
    let fill = Instant::now();
    c.execute(
        format!(
            "SET que.skip_notify = 'true'; \
             INSERT INTO que_jobs (queue, priority, run_at, job_class, args, kwargs, data, job_schema_version) \
             SELECT 'q' || (n % 100), 100, '{t}+00'::timestamptz + n * interval '1 microsecond', \
                    'ChargeCreditCard', '[{{\"user_id\":42}}]', '{{}}', '{{}}', 2 \
             FROM generate_series(1, 1000000) n; \
             ANALYZE"
        )
        .as_str(),
    )
    .await
    .unwrap();
    eprintln!("filled 1 M Que jobs in {:?}", fill.elapsed());
    let mut lockers = Vec::new();
    for n in 1..=20 {
        lockers.push(locker(&url, &format!("worker.{n}"), &[]).await);
    }
    let que = Que::new(&url, Duration::from_secs(30)).unwrap();
    que.read(None, "worker", now()).await.unwrap();
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let (queues, totals) = que.read(None, "worker", now()).await.unwrap();
        best = best.min(started.elapsed());
        // The 10,000 first enqueued are counted (100 of each queue), the oldest is the oldest.
        assert_eq!((queues.len(), totals.depth), (100, 10_000));
        assert!(queues.iter().all(|q| q.depth == 100), "{queues:?}");
        assert_eq!(totals.latency, Duration::from_secs(60));
        assert_eq!(totals.concurrency, Some(6));
    }
    eprintln!(
        "one read of 100 queues × 10,000 jobs: Que {:.1} ms (best of 3)",
        best.as_secs_f64() * 1e3
    );
    eprintln!(
        "Que, 1 M ready:\n{}",
        analyze(&mut c, &que::statements(false)).await
    );
    for l in lockers {
        sqlx::Connection::close(l).await.unwrap();
    }
    drop_database(c, "que_million").await;
}
